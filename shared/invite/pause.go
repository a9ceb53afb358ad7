package invite

import (
	"context"
	"sync/atomic"
	"time"
)

// A Pause spans the Auth0 work of one unit of work, such as a sweep run: after Auth0's
// first rate_limited answer, every later Identity call under it fails at once with
// rate_limited, so that the rest of the work leaves Auth0 alone. It travels in the
// context; Identity implementations honour it (the Identity port says so), which is
// what keeps it out of every caller and every method.
type Pause struct{ on atomic.Bool }

type pauseKey struct{}

// WithPause returns ctx carrying a new Pause, and the Pause.
func WithPause(ctx context.Context) (context.Context, *Pause) {
	p := &Pause{}
	return context.WithValue(ctx, pauseKey{}, p), p
}

// PauseOf returns the Pause ctx carries, or nil (whose methods say "not paused").
func PauseOf(ctx context.Context) *Pause {
	p, _ := ctx.Value(pauseKey{}).(*Pause)
	return p
}

// Paused reports whether Auth0 work under p has stopped.
func (p *Pause) Paused() bool { return p != nil && p.on.Load() }

// Stop pauses p; a nil Pause ignores it.
func (p *Pause) Stop() {
	if p != nil {
		p.on.Store(true)
	}
}

// ErrPaused is an Identity call's error under a paused Pause.
var ErrPaused = &Error{Code: CodeRateLimited, Message: "Auth0 work is paused after a rate limit"}

type maxWaitKey struct{}

// WithMaxWait returns ctx under which an Identity call waits at most d for Auth0's rate
// limit before it fails with rate_limited: a create that would queue behind a busy
// tenant answers at once and defers instead.
func WithMaxWait(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, maxWaitKey{}, d)
}

// MaxWaitOf is the wait WithMaxWait set, or the longest Duration when none was.
func MaxWaitOf(ctx context.Context) time.Duration {
	if d, ok := ctx.Value(maxWaitKey{}).(time.Duration); ok {
		return d
	}
	return time.Duration(1<<63 - 1)
}
