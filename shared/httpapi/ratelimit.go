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

// hourlyCap caps what one inviter (token subject) starts in a clock hour.
type hourlyCap struct {
	key     string // the counter key's prefix
	noun    string // what it counts, in the message
	perHour int    // negative: no cap
}

// chargeValid counts a request to create reqs against a's cap c, and refuses it
// rate_limited, with Retry-After, past the cap. Only a request that passes validation
// is counted: one the service will refuse is let through uncounted, for the service
// to say what is wrong with it, so that refused requests never use up an inviter's
// hour.
func (s *server) chargeValid(ctx context.Context, a invite.Actor, c hourlyCap, reqs ...invite.CreateRequest) error {
	if c.perHour < 0 || !s.validForCreate(a, reqs...) {
		return nil
	}
	now := s.now()
	n, reset, err := s.counter.Incr(ctx, c.key+":"+a.Sub, capWindow, now)
	if err != nil {
		return fmt.Errorf("count %s of %s: %w", c.noun, a.Sub, err)
	}
	if n > c.perHour {
		return &invite.Error{Code: invite.CodeRateLimited, RetryAfter: max(reset.Sub(now), time.Second),
			Message: fmt.Sprintf("at most %d %s per hour per inviter", c.perHour, c.noun)}
	}
	return nil
}

// validForCreate reports whether the service would take reqs past validation (the
// permission, each request, the batch as a whole) before it looks anything up.
func (s *server) validForCreate(a invite.Actor, reqs ...invite.CreateRequest) bool {
	return a.Has(invite.PermCreate) && len(s.svc.ValidateBatch(a, reqs)) == 0
}
