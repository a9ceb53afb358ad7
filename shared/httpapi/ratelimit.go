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

const inviteWindow = time.Hour

// allowInvite applies the per-inviter hourly cap on created invitations.
func (s *server) allowInvite(ctx context.Context, a invite.Actor) error {
	if s.invitesPerHour < 0 {
		return nil
	}
	now := s.now()
	n, reset, err := s.counter.Incr(ctx, "invites:"+a.Sub, inviteWindow, now)
	if err != nil {
		return fmt.Errorf("count invitations of %s: %w", a.Sub, err)
	}
	if n > s.invitesPerHour {
		wait := reset.Sub(now)
		if wait < time.Second {
			wait = time.Second
		}
		return &invite.Error{Code: invite.CodeRateLimited, RetryAfter: wait,
			Message: fmt.Sprintf("at most %d invitations per hour per inviter", s.invitesPerHour)}
	}
	return nil
}
