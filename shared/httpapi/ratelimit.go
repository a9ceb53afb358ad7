package httpapi

import (
	"context"
	"fmt"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Counter counts events in fixed windows; dynamo.Counter implements it on DynamoDB
// and inmem.Counter in memory.
type Counter interface {
	// Incr adds one to key's count in the window of length window that holds now
	// (windows start at multiples of window since the Unix epoch) and returns the
	// count after it and when the window ends. upstream_unavailable when the store
	// cannot answer.
	Incr(ctx context.Context, key string, window time.Duration, now time.Time) (count int, resetAt time.Time, err error)
}

// capWindow is the length of the per-inviter caps' windows.
const capWindow = time.Hour

// charge counts one more of what (the counter key's prefix; noun names it in the
// message) against a's hourly cap of perHour, and refuses it rate_limited, with
// Retry-After, past the cap. A negative perHour is no cap. Callers charge only a
// request that passed validation (see validForCreate), so that a refused request
// never uses up the inviter's hour.
func (s *server) charge(ctx context.Context, a invite.Actor, key, noun string, perHour int) error {
	if perHour < 0 {
		return nil
	}
	now := s.now()
	n, reset, err := s.counter.Incr(ctx, key+":"+a.Sub, capWindow, now)
	if err != nil {
		return fmt.Errorf("count %s of %s: %w", noun, a.Sub, err)
	}
	if n > perHour {
		return &invite.Error{Code: invite.CodeRateLimited, RetryAfter: max(reset.Sub(now), time.Second),
			Message: fmt.Sprintf("at most %d %s per hour per inviter", perHour, noun)}
	}
	return nil
}

// validForCreate reports whether the service would take reqs past validation (the
// permission, each request, the batch as a whole) before it looks anything up. The
// service checks again and answers the requests that fail with the reason.
func (s *server) validForCreate(a invite.Actor, reqs ...invite.CreateRequest) bool {
	return a.Has(invite.PermCreate) && len(s.svc.ValidateBatch(a, reqs)) == 0
}
