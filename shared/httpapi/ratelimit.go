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
	// Add adds n to key's count in the window of length window that holds now
	// (windows start at multiples of window since the Unix epoch) and returns the
	// count after it and when the window ends; a negative n gives back an earlier
	// charge made with the same now. Concurrent adds are never lost.
	// upstream_unavailable when the store cannot answer.
	IncrBy(ctx context.Context, key string, n int, window time.Duration, now time.Time) (count int, resetAt time.Time, err error)
}

// capWindow is the length of the per-inviter caps' windows.
const capWindow = time.Hour

// hourlyCap caps what one inviter (token subject) starts in a clock hour.
type hourlyCap struct {
	key     string // the counter key's prefix
	noun    string // what it counts, in the message
	perHour int    // negative: no cap
}

// charge is what a request costs on one cap: a single create is one invitation, a
// batch is one batch and one invitation per item.
type charge struct {
	cap hourlyCap
	n   int
}

// charged is what a request was charged, to give back if it starts nothing.
type charged struct {
	made []charge
	now  time.Time
}

// chargeValid counts a request to create reqs against a's caps, and refuses it
// rate_limited, with Retry-After, when it would take any of them past its limit.
//
// Only a request that passes validation is counted: one the service will refuse is
// let through uncounted, for the service to say what is wrong with it, so that
// refused requests never use up an inviter's hour. A request refused here costs
// nothing either: each cap is charged first (one atomic add, so that two requests
// racing for the last places cannot both have them) and, past the limit, what this
// request was charged is given back. Until it is, a concurrent request may find the
// cap reached a moment early; the cap errs towards refusing, never towards letting
// more through.
func (s *server) chargeValid(ctx context.Context, a invite.Actor, charges []charge, reqs ...invite.CreateRequest) (charged, error) {
	if !s.validForCreate(a, reqs...) {
		return charged{now: s.now()}, nil
	}
	return s.charge(ctx, a, charges)
}

// charge is chargeValid for a request the service has validated already.
func (s *server) charge(ctx context.Context, a invite.Actor, charges []charge) (charged, error) {
	done := charged{now: s.now()}
	for _, c := range charges {
		if c.cap.perHour < 0 {
			continue
		}
		if c.n > c.cap.perHour {
			s.giveBack(ctx, a, done)
			return charged{}, &invite.Error{Code: invite.CodeRateLimited, Message: fmt.Sprintf(
				"this request starts %d %s, more than the %d one inviter may start per hour; split it", c.n, c.cap.noun, c.cap.perHour)}
		}
		count, reset, err := s.counter.IncrBy(ctx, c.cap.counterKey(a), c.n, capWindow, done.now)
		if err != nil {
			s.giveBack(ctx, a, done)
			return charged{}, fmt.Errorf("count %s of %s: %w", c.cap.noun, a.Sub, err)
		}
		done.made = append(done.made, c)
		if count > c.cap.perHour {
			s.giveBack(ctx, a, done)
			return charged{}, &invite.Error{Code: invite.CodeRateLimited, RetryAfter: max(reset.Sub(done.now), time.Second),
				Message: fmt.Sprintf("at most %d %s per hour per inviter", c.cap.perHour, c.cap.noun)}
		}
	}
	return done, nil
}

// giveBack undoes the charges of a request that starts nothing. A charge that cannot
// be given back stays (the inviter loses that part of the hour), which is logged.
func (s *server) giveBack(ctx context.Context, a invite.Actor, c charged) {
	ctx = context.WithoutCancel(ctx)
	for _, m := range c.made {
		if _, _, err := s.counter.IncrBy(ctx, m.cap.counterKey(a), -m.n, capWindow, c.now); err != nil {
			s.log.ErrorContext(ctx, "cannot give back a refused request's charge", "cap", m.cap.key, "n", m.n, "error", err.Error())
		}
	}
}

func (c hourlyCap) counterKey(a invite.Actor) string { return c.key + ":" + a.Sub }

// validForCreate reports whether the service would take reqs past validation (the
// permission, each request, the batch as a whole) before it looks anything up.
func (s *server) validForCreate(a invite.Actor, reqs ...invite.CreateRequest) bool {
	return a.Has(invite.PermCreate) && len(s.svc.ValidateBatch(a, reqs)) == 0
}
