package auth0

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// LimiterConfig configures a Limiter. Zero values take the defaults.
type LimiterConfig struct {
	// Rate is the first estimate of the tenant's Management API rate, in requests per
	// second, until the answers' headers teach a better one; default 2, a free
	// tenant's.
	Rate float64
	// Burst is the bucket size until an answer's X-RateLimit-Limit gives it; default
	// 10.
	Burst int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// After waits d, as time.After (the default) does; tests give one that moves a
	// fake clock.
	After func(d time.Duration) <-chan time.Time
}

// LimiterStats are a Limiter's counters and current view of the tenant's limit.
type LimiterStats struct {
	Admitted    int64   // requests Wait let through
	RateLimited int64   // 429 answers observed
	Rate        float64 // the learned estimate of the tenant's rate, requests/s
	Pace        float64 // the rate the local bucket refills at between answers
	Burst       int     // the bucket size, from X-RateLimit-Limit
}

// Limiter paces one process's Management API requests so that bulk work runs close
// to the tenant's rate limit without tripping it. Auth0 meters the Management API
// with a token bucket per tenant, and every answer tells its state: X-RateLimit-Limit
// (the bucket size), X-RateLimit-Remaining (the whole tokens left after this request)
// and X-RateLimit-Reset (a unix time); a 429 says "Global limit has been reached".
// It is safe for concurrent use; make one per process and share it, as every
// goroutine's requests draw on the same tenant bucket.
//
// It mirrors the tenant's bucket from the answers rather than trusting a rate:
//
//   - Tokens. Wait spends a local token; the local bucket refills at the pace, 90%
//     of the estimated rate. Concurrent requests reach Auth0 in any order, so the
//     newest view of the bucket is an answer showing no more than any that came back
//     while its request was in flight. It sets the tokens to its Remaining, less every
//     request still in flight (any may yet be counted) and one token left for other
//     processes' odd calls. Older answers only correct that: a request refused, or
//     shown to have been counted already, is given back. So Auth0's own accounting
//     decides how many requests go out, and a pace below the tenant's rate costs
//     little: the next answer shows the tokens it left.
//   - Sharing. Another process sees the same Remaining and may take the same tokens,
//     so only a share of what an answer shows is taken: half at first, growing to all
//     over 10s without a 429, halved when a request sent on such a token is refused.
//     A new limiter, and one whose wait after a 429 is over, sends one request first
//     and lets its answer tell.
//   - 429. Nothing is admitted until Retry-After, else X-RateLimit-Reset (a minute
//     at most). A 429 to a request sent on the pace means the estimate is too high:
//     it is halved, once for the 429s of the requests already in flight.
//   - Rate. Between two answers a and b the server earned Tb - Ta + n tokens, n being
//     the requests it counted in between, and Remaining is T rounded down, so over
//     dt = tb - ta, lower = (Rb - Ra - 1 + n) / dt is below the rate even when the
//     bucket was full and refill was lost, and est = (Rb - Ra + n) / dt is within
//     1/dt of it when the bucket was never full in between (a full bucket answers
//     Remaining Limit-1). The estimate rises at once to the lower bound over windows
//     of at least 1s and 20 requests, and follows est, smoothed over about 2s, over
//     windows of at least 2s and 20 requests, long enough that the rounding costs a
//     few per cent even at 2 req/s. Other processes' requests are not in n: they make
//     the estimate lower, the room they leave. The tokens the answers show are what
//     lift the lower bound, so a limiter started at 2 req/s under sustained load
//     learns 50 in about two seconds, and one started too high comes down through
//     the halvings and est.
//
// It paces the tenant's global bucket; Auth0's few per-endpoint limits are still met
// by go-auth0's retries.
type Limiter struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time

	mu       sync.Mutex
	wake     chan struct{} // closed (and replaced) when waiters may go sooner
	burst    int
	tokens   float64
	refilled time.Time
	blocked  time.Time // nothing is admitted before
	rate     float64   // the estimate
	pace     float64
	learned  time.Time // when est last moved the estimate

	seq         uint64             // of the last admitted request
	inflight    map[uint64]*flight // admitted, not yet observed
	lastCut     uint64             // the last request sent before the last halving
	share       float64            // of the tokens answers show, taken
	shareCut    uint64             // the last request sent before the last cut of share
	shareAt     time.Time          // when share last grew
	bonus       float64            // tokens taken from answers, not yet spent
	served      int64              // answers showing the server counted their request
	samples     []sample
	lastFull    time.Time // of the last answer showing a full bucket
	lastLimited time.Time // of the last 429
	admitted    int64
	rateLimit   int64
}

// flight is what the answers that came back while a request was in flight showed.
type flight struct {
	leastSeen int  // the least Remaining
	baseline  int  // the Remaining that last set the tokens, this request taken off
	raised    bool // admitted on a token an answer showed, not on the pace
}

// sample is the server's bucket as one answer showed it.
type sample struct {
	at        time.Time
	remaining int
	served    int64 // our requests the server had counted by then (Limiter.served)
}

const (
	defaultLimiterRate = 2
	defaultBurst       = 10
	paceMargin         = 0.9
	minRate            = 0.5
	maxRate            = 10000
	lowerWindow        = time.Second
	lowerRequests      = 20
	estWindow          = 2 * time.Second
	estRequests        = 20
	estSmoothing       = 2 * time.Second
	keepSamples        = 30 * time.Second
	maxSamples         = 4096
	maxBlock           = time.Minute // against an absurd Reset or a skewed clock
	reserve            = 1           // tokens left for other processes' odd calls
	minShare           = 1.0 / 16
	initialShare       = 0.5
	shareRecovery      = 10 * time.Second // from none to all
)

// NewLimiter returns a Limiter that knows nothing of the bucket yet.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Rate <= 0 {
		cfg.Rate = defaultLimiterRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = defaultBurst
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	now := cfg.Now()
	rate := min(max(cfg.Rate, minRate), maxRate)
	return &Limiter{
		now:      cfg.Now,
		after:    cfg.After,
		wake:     make(chan struct{}),
		burst:    cfg.Burst,
		tokens:   1, // a probe: the bucket may be shared, and the first answer shows it
		bonus:    1,
		refilled: now,
		rate:     rate,
		pace:     paceMargin * rate,
		learned:  now,
		share:    initialShare,
		shareAt:  now,
		inflight: map[uint64]*flight{},
	}
}

// WaitError is the Limiter's refusal of a request whose context would end before the
// request may be sent: Wait is how long it would have waited. Nothing was sent.
type WaitError struct{ Wait time.Duration }

func (e *WaitError) Error() string {
	return fmt.Sprintf("auth0: the Management API rate limit admits no request for %v, past the call's deadline", e.Wait.Round(time.Millisecond))
}

// Wait blocks until a Management API request may be sent, or ctx ends (its error is
// returned and nothing is spent); a wait that would outlast ctx's deadline is refused
// at once with a *WaitError. Every Wait that returns nil must be followed by one
// Observe, with the answer or nil.
func (l *Limiter) Wait(ctx context.Context) error {
	_, err := l.admit(ctx)
	return err
}

// Observe reads an answer's rate-limit headers; resp is nil when the request got no
// answer. It pairs with the oldest unobserved Wait; Transport pairs exactly.
func (l *Limiter) Observe(resp *http.Response) {
	l.mu.Lock()
	seq := l.seq
	if len(l.inflight) > 0 {
		seq = math.MaxUint64
		for s := range l.inflight {
			seq = min(seq, s)
		}
	}
	l.mu.Unlock()
	l.observe(seq, resp)
}

// Stats returns the counters and the current estimate.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LimiterStats{Admitted: l.admitted, RateLimited: l.rateLimit, Rate: l.rate, Pace: l.pace, Burst: l.burst}
}

// Transport returns base (http.DefaultTransport when nil) with every request paced by
// l, except token requests, which Auth0 does not count against the Management API.
func (l *Limiter) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &limitedTransport{l: l, base: base}
}

type limitedTransport struct {
	l    *Limiter
	base http.RoundTripper
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/oauth/token") {
		return t.base.RoundTrip(req)
	}
	seq, err := t.l.admit(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		resp = nil
	}
	t.l.observe(seq, resp)
	return resp, err
}

// admit waits for a token and returns the request's sequence number.
func (l *Limiter) admit(ctx context.Context) (uint64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		l.mu.Lock()
		now := l.now()
		l.refill(now)
		var wait time.Duration
		switch {
		case now.Before(l.blocked):
			wait = l.blocked.Sub(now)
		case l.tokens >= 1:
			l.tokens--
			l.seq++
			f := &flight{leastSeen: math.MaxInt, baseline: math.MaxInt}
			if l.bonus > 0 {
				f.raised = true
				l.bonus = max(0, l.bonus-1)
			}
			l.inflight[l.seq] = f
			l.admitted++
			seq := l.seq
			l.mu.Unlock()
			return seq, nil
		default:
			wait = time.Duration((1 - l.tokens) / l.pace * float64(time.Second))
		}
		wake := l.wake
		l.mu.Unlock()
		if deadline, ok := ctx.Deadline(); ok && wait > time.Until(deadline) || wait > invite.MaxWaitOf(ctx) {
			return 0, &WaitError{Wait: wait}
		}
		select {
		case <-l.after(max(wait, time.Millisecond)):
		case <-wake:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// refill adds the tokens earned at the pace since the last refill, up to what the
// server's bucket can hold beyond the requests in flight. Callers hold l.mu.
func (l *Limiter) refill(now time.Time) {
	if l.refilled.Before(l.blocked) && !now.Before(l.blocked) {
		// Nothing is earned while blocked: other processes may have spent the tokens
		// the wait earned. One request goes first, and its answer tells.
		l.refilled = l.blocked
		if l.tokens < 1 && len(l.inflight) == 0 {
			l.tokens, l.bonus = 1, 1
		}
	}
	if dt := now.Sub(l.refilled); dt > 0 && !now.Before(l.blocked) {
		if limit := float64(l.burst - len(l.inflight)); l.tokens < limit {
			l.tokens = min(limit, l.tokens+dt.Seconds()*l.pace)
		}
	}
	l.refilled = now
}

// observe reads the answer to request seq.
func (l *Limiter) observe(seq uint64, resp *http.Response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.inflight[seq]
	if !ok {
		f = &flight{leastSeen: math.MaxInt, baseline: math.MaxInt}
	}
	delete(l.inflight, seq)
	now := l.now()
	l.refill(now)
	if resp == nil {
		return // unknown whether the server counted it; leaving it out keeps n low
	}
	h := resp.Header
	if limit, err := strconv.Atoi(h.Get("X-RateLimit-Limit")); err == nil && limit > 0 && limit != l.burst {
		l.burst = limit
		l.tokens = min(l.tokens, float64(limit))
		l.signal()
	}
	limited := resp.StatusCode == http.StatusTooManyRequests
	remaining, err := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	switch {
	case limited:
		remaining = 0
	case err != nil || remaining < 0:
		return // answered before the rate limit (a 401, a 5xx): as for no answer
	default:
		l.served++
	}
	for _, other := range l.inflight {
		other.leastSeen = min(other.leastSeen, remaining)
	}
	// Concurrent requests reach the server in any order. An answer showing no more
	// than any that came back while it was in flight is the newest view of the
	// bucket: the tokens are set to it, less every request still in flight, as any
	// may yet be counted. Older answers only correct that: a request the server
	// refused, or counted before the answer that took it off (it shows more than
	// that answer), is given back.
	fresh := remaining <= f.leastSeen
	left := float64(remaining - len(l.inflight) - reserve)
	if fresh && !limited {
		l.share = min(1, l.share+now.Sub(l.shareAt).Seconds()/shareRecovery.Seconds())
		l.shareAt = now
	}
	switch {
	case fresh && left > l.tokens:
		l.raise(left - l.tokens)
	case fresh:
		l.tokens = left
		l.bonus = min(l.bonus, max(l.tokens, 0))
	default:
		countedBefore := !limited && remaining > f.baseline
		if limited || countedBefore {
			l.raise(min(1, left-l.tokens))
		}
		if countedBefore && len(l.samples) > 0 {
			l.samples[len(l.samples)-1].served++ // it was, by that answer
		}
		l.tokens = min(l.tokens, left)
	}
	if fresh {
		for _, other := range l.inflight {
			other.baseline = remaining
		}
	}
	if limited {
		l.rateLimit++
		if until := retryAt(h, now); until.After(l.blocked) {
			l.blocked = until
		}
		switch {
		case f.raised && seq > l.shareCut:
			// Another process took the tokens this answer's predecessors showed.
			l.shareCut = l.seq
			l.share = max(minShare, l.share/2)
			l.shareAt = now
		case !f.raised && seq > l.lastCut:
			// The pace outran the tenant.
			l.lastCut = l.seq // the 429s of requests already sent are this same event
			l.lastLimited = now
			l.setRate(l.rate / 2)
		}
	}
	if !fresh {
		return
	}
	if !limited && remaining >= l.burst-1 {
		l.lastFull = now // the request found the bucket full: refill was lost before it
	}
	l.learn(sample{at: now, remaining: remaining, served: l.served})
}

// learn adds s and moves the estimate by the windows that end at it. Callers hold
// l.mu.
func (l *Limiter) learn(s sample) {
	l.samples = append(l.samples, s)
	drop := 0
	for drop < len(l.samples)-1 && (s.at.Sub(l.samples[drop].at) > keepSamples || len(l.samples)-drop > maxSamples) {
		drop++
	}
	if drop > len(l.samples)/2 {
		l.samples = append(l.samples[:0], l.samples[drop:]...)
	}
	// A window that began before the last 429 could lift the estimate right back
	// over the halving; the bound returns once the window is past it.
	lower := 0.0
	if a, ok := l.windowStart(s, lowerWindow, lowerRequests); ok && !a.at.Before(l.lastLimited) {
		lower = (float64(s.remaining-a.remaining-1) + float64(s.served-a.served)) / s.at.Sub(a.at).Seconds()
	}
	rate := l.rate
	if a, ok := l.windowStart(s, estWindow, estRequests); ok && a.at.After(l.lastFull) {
		dt := s.at.Sub(a.at)
		est := (float64(s.remaining-a.remaining) + float64(s.served-a.served)) / dt.Seconds()
		alpha := 1 - math.Exp(-float64(s.at.Sub(l.learned))/float64(max(estSmoothing, dt)))
		rate += alpha * (est - rate)
		l.learned = s.at
	}
	l.setRate(max(rate, lower))
}

// windowStart is the newest sample at least d and n served requests before s.
func (l *Limiter) windowStart(s sample, d time.Duration, n int64) (sample, bool) {
	for i := len(l.samples) - 1; i >= 0; i-- {
		a := l.samples[i]
		if s.at.Sub(a.at) >= d && s.served-a.served >= n {
			return a, true
		}
	}
	return sample{}, false
}

// raise adds the share of gain tokens an answer showed. Callers hold l.mu.
func (l *Limiter) raise(gain float64) {
	if gain <= 0 {
		return
	}
	gain *= l.share
	l.tokens += gain
	l.bonus += gain
	l.signal()
}

// setRate sets the estimate and the pace. Callers hold l.mu.
func (l *Limiter) setRate(r float64) {
	r = min(max(r, minRate), maxRate)
	if r > l.rate {
		l.signal()
	}
	l.rate = r
	l.pace = paceMargin * r
}

// signal wakes the waiters to look again. Callers hold l.mu.
func (l *Limiter) signal() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// retryAt is when a 429 says to try again: Retry-After (seconds or a date), else
// X-RateLimit-Reset (a unix time); at most maxBlock away.
func retryAt(h http.Header, now time.Time) time.Time {
	var at time.Time
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			at = now.Add(time.Duration(secs) * time.Second)
		} else if t, err := http.ParseTime(v); err == nil {
			at = t
		}
	}
	if at.IsZero() {
		if unix, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			at = time.Unix(unix, 0)
		}
	}
	if limit := now.Add(maxBlock); at.After(limit) {
		at = limit
	}
	return at
}
