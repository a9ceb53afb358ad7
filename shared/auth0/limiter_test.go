package auth0

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// fakeClock is a clock whose After moves it forward at once, so that a single
// goroutine can run minutes of pacing in no time.
type fakeClock struct{ *inmem.Clock }

func newFakeClock() *fakeClock {
	return &fakeClock{inmem.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC))}
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.Advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

func fakeLimiter(clock *fakeClock, rate float64) *Limiter {
	return NewLimiter(LimiterConfig{Rate: rate, Now: clock.Now, After: clock.After})
}

// clockedSim is the stand-in on a fake clock, served in-process without a network.
type clockedSim struct {
	sim   *auth0sim.Sim
	token string
}

func newClockedSim(t *testing.T, clock *fakeClock, rate float64, burst int) *clockedSim {
	t.Helper()
	sim := auth0sim.New(auth0sim.Options{Now: clock.Now, RateLimit: rate, Burst: burst})
	t.Cleanup(sim.Close)
	sim.SetBaseURL("http://auth0sim")
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testSecret}}
	req := httptest.NewRequest(http.MethodPost, "http://auth0sim/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: got %d %s", rec.Code, rec.Body)
	}
	return &clockedSim{sim: sim, token: tok.AccessToken}
}

// get sends one Management API request.
func (s *clockedSim) get() *http.Response {
	req := httptest.NewRequest(http.MethodGet, "http://auth0sim/api/v2/roles", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	rec := httptest.NewRecorder()
	s.sim.ServeHTTP(rec, req)
	return rec.Result()
}

// One client, sequential requests 1ms apart, on a fake clock: what the estimator
// learns, request by request, from the stand-in's headers.
func TestLimiterLearnsTheTenantRate(t *testing.T) {
	tests := []struct {
		name   string
		start  float64 // the limiter's first estimate; 0 is the default, 2
		limit  float64
		burst  int
		dropTo float64 // the tenant's new limit halfway through, if any
		others float64 // requests/s another process sends, unpaced
		warmUp time.Duration
		run    time.Duration
		// want: at most max429 429s; at least minRatio of the limit admitted (others'
		// requests included) after the warm-up; an estimate within ±15% of the rate
		// left by others after at most settle (from the start, or from the drop).
		max429   int
		minRatio float64
		settle   time.Duration
	}{
		{name: "free tenant", limit: 2, burst: 10, warmUp: 10 * time.Second, run: 60 * time.Second, max429: 0, minRatio: 0.95, settle: 10 * time.Second},
		{name: "learns 10 from 2", limit: 10, burst: 10, warmUp: 2 * time.Second, run: 30 * time.Second, max429: 0, minRatio: 0.95, settle: 3 * time.Second},
		{name: "learns 50 from 2", limit: 50, burst: 10, warmUp: 2 * time.Second, run: 30 * time.Second, max429: 0, minRatio: 0.95, settle: 3 * time.Second},
		{name: "learns 15 with a bucket of 30", limit: 15, burst: 30, warmUp: 3 * time.Second, run: 30 * time.Second, max429: 0, minRatio: 0.95, settle: 5 * time.Second},
		{name: "comes down from 100 to 10", start: 100, limit: 10, burst: 10, warmUp: 5 * time.Second, run: 30 * time.Second, max429: 4, minRatio: 0.95, settle: 7 * time.Second},
		{name: "follows a drop from 50 to 10", limit: 50, burst: 10, dropTo: 10, warmUp: 5 * time.Second, run: 40 * time.Second, max429: 3, minRatio: 0.95, settle: 5 * time.Second},
		{name: "leaves room for another process's 10 of 50", limit: 50, burst: 10, others: 10, warmUp: 3 * time.Second, run: 30 * time.Second, max429: 1, minRatio: 0.95, settle: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			srv := newClockedSim(t, clock, tt.limit, tt.burst)
			l := fakeLimiter(clock, tt.start)
			begin := clock.Now()
			measureFrom, limit, changed := begin.Add(tt.warmUp), tt.limit, begin
			if tt.dropTo > 0 {
				measureFrom = begin.Add(tt.run/2 + tt.warmUp)
			}
			var admitted, limited, othersLimited int
			var outside time.Time // when the estimate was last out of bounds
			othersNext := begin
			for clock.Now().Before(begin.Add(tt.run)) {
				if tt.dropTo > 0 && limit != tt.dropTo && !clock.Now().Before(begin.Add(tt.run/2)) {
					limit, changed = tt.dropTo, clock.Now()
					srv.sim.SetRateLimit(limit, tt.burst)
				}
				if err := l.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
				for tt.others > 0 && !othersNext.After(clock.Now()) {
					served := srv.get().StatusCode != http.StatusTooManyRequests
					if !served {
						othersLimited++
					} else if !clock.Now().Before(measureFrom) {
						admitted++
					}
					othersNext = othersNext.Add(time.Duration(float64(time.Second) / tt.others))
				}
				clock.Advance(time.Millisecond)
				resp := srv.get()
				l.Observe(resp)
				switch {
				case resp.StatusCode == http.StatusTooManyRequests:
					limited++
				case !clock.Now().Before(measureFrom):
					admitted++
				}
				if r, want := l.Stats().Rate, limit-tt.others; r < 0.85*want || r > 1.15*want {
					outside = clock.Now()
				}
			}
			ratio := float64(admitted) / clock.Now().Sub(measureFrom).Seconds() / limit
			settled := max(outside.Sub(changed), 0)
			st := l.Stats()
			t.Logf("limit %g req/s: %.2f of it admitted after the warm-up, %d 429s (others' %d), estimate %.2f req/s within 15%% after %v",
				limit, ratio, limited, othersLimited, st.Rate, settled.Round(10*time.Millisecond))
			if ratio < tt.minRatio || ratio > 1.02 {
				t.Errorf("got %.3f of the limit admitted after the warm-up, want %.2f..1.02", ratio, tt.minRatio)
			}
			if limited > tt.max429 || othersLimited > tt.max429 {
				t.Errorf("got %d 429s, and %d for the other process, want at most %d each", limited, othersLimited, tt.max429)
			}
			if settled > tt.settle {
				t.Errorf("the estimate settled within 15%% of the rate after %v, want at most %v", settled, tt.settle)
			}
			if st.RateLimited != int64(limited) || st.Burst != tt.burst {
				t.Errorf("got stats %+v, want %d 429s and burst %d", st, limited, tt.burst)
			}
		})
	}
}

// answer is a Management API answer with the rate-limit headers.
func answer(status int, limit, remaining int, reset time.Time, retryAfter string) *http.Response {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return &http.Response{StatusCode: status, Header: h, Body: http.NoBody}
}

func TestLimiterObserve(t *testing.T) {
	tests := []struct {
		name string
		// answer is given to Observe after the first Wait (which the limiter admits as
		// a probe of the bucket), at a whole second.
		answer    func(start time.Time) *http.Response
		wantWait  [2]time.Duration // of the Wait that follows
		wantBurst int
	}{
		{"tokens left: no wait", func(s time.Time) *http.Response { return answer(200, 10, 5, s.Add(time.Second), "") },
			[2]time.Duration{0, 0}, 10},
		{"none left: two tokens' time at the pace, as one is kept", func(s time.Time) *http.Response {
			return answer(200, 10, 0, s.Add(time.Second), "")
		}, [2]time.Duration{time.Second, 1200 * time.Millisecond}, 10},
		{"429 waits for Reset", func(s time.Time) *http.Response {
			return answer(http.StatusTooManyRequests, 10, 0, s.Add(3*time.Second), "")
		}, [2]time.Duration{3 * time.Second, 3 * time.Second}, 10},
		{"429 waits Retry-After rather than Reset", func(s time.Time) *http.Response {
			return answer(http.StatusTooManyRequests, 10, 0, s.Add(time.Second), "5")
		}, [2]time.Duration{5 * time.Second, 5 * time.Second}, 10},
		{"429 waits a Retry-After date", func(s time.Time) *http.Response {
			return answer(http.StatusTooManyRequests, 10, 0, s, s.Add(2*time.Second).Format(http.TimeFormat))
		}, [2]time.Duration{2 * time.Second, 2 * time.Second}, 10},
		{"429 waits at most a minute", func(s time.Time) *http.Response {
			return answer(http.StatusTooManyRequests, 10, 0, s.Add(time.Hour), "")
		}, [2]time.Duration{time.Minute, time.Minute}, 10},
		{"Limit sets the bucket size", func(s time.Time) *http.Response { return answer(200, 50, 40, s.Add(time.Second), "") },
			[2]time.Duration{0, 0}, 50},
		{"no rate headers: the pace", func(time.Time) *http.Response {
			return &http.Response{StatusCode: 500, Header: http.Header{}, Body: http.NoBody}
		}, [2]time.Duration{time.Second / 2, 600 * time.Millisecond}, 10},
		{"no answer: the pace", func(time.Time) *http.Response { return nil },
			[2]time.Duration{time.Second / 2, 600 * time.Millisecond}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			l := fakeLimiter(clock, 2) // pace 1.8/s
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			l.Observe(tt.answer(clock.Now()))
			before := clock.Now()
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := clock.Now().Sub(before); got < tt.wantWait[0] || got > tt.wantWait[1] {
				t.Errorf("waited %v, want %v..%v", got, tt.wantWait[0], tt.wantWait[1])
			}
			if got := l.Stats().Burst; got != tt.wantBurst {
				t.Errorf("got burst %d, want %d", got, tt.wantBurst)
			}
		})
	}
}

// The newest answer sets the tokens, less every request still in flight and the one
// kept for other processes; an older answer gives back a request it shows was counted
// already, or refused.
func TestLimiterCountsRequestsInFlight(t *testing.T) {
	clock := newFakeClock()
	l := fakeLimiter(clock, 2)
	admit := func(n int) []uint64 {
		t.Helper()
		var seqs []uint64
		for range n {
			seq, err := l.admit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, seq)
		}
		return seqs
	}
	reset := clock.Now().Add(time.Second)
	probe := admit(1)
	clock.Advance(10 * time.Second) // alone for a while, it takes all the tokens it sees
	l.observe(probe[0], answer(200, 10, 9, reset, ""))
	seqs := admit(4)
	steps := []struct {
		name       string
		seq        uint64
		remaining  int
		wantTokens float64
	}{
		{"the second of four: 6 left, 3 in flight, 1 kept", seqs[1], 6, 2},
		{"the first, late, counted before the second", seqs[0], 7, 3},
		{"the fourth: 4 left, 1 in flight, 1 kept", seqs[3], 4, 2},
		{"the third, late, counted before the fourth", seqs[2], 5, 3},
	}
	for _, st := range steps {
		l.observe(st.seq, answer(200, 10, st.remaining, reset, ""))
		if got := l.tokensNow(); got != st.wantTokens {
			t.Errorf("%s: got %v tokens, want %v", st.name, got, st.wantTokens)
		}
	}
	more := admit(2)
	l.observe(more[1], answer(200, 10, 0, reset, ""))
	if got := l.tokensNow(); got != -2 {
		t.Errorf("none left, one in flight, 1 kept: got %v tokens, want -2", got)
	}
	l.observe(more[0], answer(http.StatusTooManyRequests, 10, 0, reset, ""))
	if got := l.tokensNow(); got != -1 {
		t.Errorf("after the one in flight was refused: got %v tokens, want -1", got)
	}
	if st := l.Stats(); st.Admitted != 7 || st.RateLimited != 1 {
		t.Errorf("got %+v, want 7 admitted and 1 rate limited", st)
	}
}

func (l *Limiter) tokensNow() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(l.now())
	return l.tokens
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestLimiterWaitEndsWithContext(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Observe(answer(http.StatusTooManyRequests, 10, 0, time.Now().Add(30*time.Second), "30"))

	// A wait past the deadline is refused at once, saying how long it would be.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	var werr *WaitError
	if err := l.Wait(ctx); !errors.As(err, &werr) || werr.Wait < 29*time.Second || werr.Wait > 30*time.Second {
		t.Errorf("got %v, want a *WaitError of about 30s", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v, want no wait at all", took)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if got := l.Stats().Admitted; got != 1 {
		t.Errorf("got %d admitted, want 1 (the waits that ended admitted nothing)", got)
	}
}

func TestLimiterTransport(t *testing.T) {
	var sent atomic.Int32
	base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		sent.Add(1)
		if req.URL.Path == "/api/v2/fail" {
			return nil, errors.New("connection reset")
		}
		return answer(200, 10, 9, time.Now().Add(time.Second), ""), nil
	})
	tests := []struct {
		name         string
		path         string
		ctx          func() context.Context
		wantErr      bool
		wantSent     int32
		wantAdmitted int64
	}{
		{"a Management API request is paced", "/api/v2/users/auth0%7C1", context.Background, false, 1, 1},
		{"token requests are not", "/oauth/token", context.Background, false, 1, 0},
		{"a failed request is released", "/api/v2/fail", context.Background, true, 1, 1},
		{"an ended context sends nothing", "/api/v2/users", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent.Store(0)
			l := NewLimiter(LimiterConfig{})
			body := &closeRecorder{Reader: strings.NewReader("{}")}
			req, _ := http.NewRequestWithContext(tt.ctx(), http.MethodPost, "https://acme.auth0.com"+tt.path, body)
			resp, err := l.Transport(base).RoundTrip(req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got %v, %v; want an error: %v", resp, err, tt.wantErr)
			}
			if got := sent.Load(); got != tt.wantSent {
				t.Errorf("got %d sent, want %d", got, tt.wantSent)
			}
			if got := l.Stats().Admitted; got != tt.wantAdmitted {
				t.Errorf("got %d admitted, want %d", got, tt.wantAdmitted)
			}
			if tt.wantSent == 0 && !body.closed {
				t.Error("the request body was not closed")
			}
			l.mu.Lock()
			inflight := len(l.inflight)
			l.mu.Unlock()
			if inflight != 0 {
				t.Errorf("got %d requests in flight after the round trip, want 0", inflight)
			}
		})
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error {
	c.closed = true
	return nil
}

// Real time, real HTTP: 8 goroutines (and, in one case, two processes) keep the
// stand-in's bucket busy through Transport. Run with -v for the figures.
func TestLimiterAgainstTheStandIn(t *testing.T) {
	tests := []struct {
		name      string
		limit     float64
		burst     int
		processes int
		warmUp    time.Duration
		measure   time.Duration
		minRatio  float64
		max429    int
	}{
		{"10 req/s", 10, 10, 1, 1500 * time.Millisecond, 2500 * time.Millisecond, 0.9, 3},
		{"50 req/s, learnt from 2", 50, 10, 1, 2 * time.Second, 2500 * time.Millisecond, 0.9, 3},
		{"20 req/s shared by two processes", 20, 10, 2, 2 * time.Second, 2500 * time.Millisecond, 0.9, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := auth0sim.NewTestServer(t, auth0sim.Options{RateLimit: tt.limit, Burst: tt.burst})
			token := simToken(t, sim)
			ctx, cancel := context.WithTimeout(context.Background(), tt.warmUp+tt.measure)
			defer cancel()
			var wg sync.WaitGroup
			limiters := make([]*Limiter, tt.processes)
			for p := range limiters {
				limiters[p] = NewLimiter(LimiterConfig{})
				base := http.DefaultTransport.(*http.Transport).Clone()
				base.MaxIdleConnsPerHost = 8
				t.Cleanup(base.CloseIdleConnections)
				client := &http.Client{Transport: limiters[p].Transport(base)}
				for range 8 {
					wg.Go(func() { hammer(ctx, client, sim.BaseURL()+"/api/v2/roles", token) })
				}
			}
			served := func() int { return sim.Calls("GET", "/api/v2/roles") - sim.RateLimited() }
			time.Sleep(tt.warmUp)
			from, start := served(), time.Now()
			time.Sleep(tt.measure)
			to, elapsed := served(), time.Since(start)
			cancel()
			wg.Wait()

			ratio := float64(to-from) / elapsed.Seconds() / tt.limit
			limited := sim.RateLimited()
			var rates []string
			for _, l := range limiters {
				rates = append(rates, strconv.FormatFloat(l.Stats().Rate, 'f', 1, 64))
			}
			t.Logf("limit %g req/s: %.1f req/s admitted after %v of warm-up, %.2f of the limit; %d 429s in %v; estimates %s req/s",
				tt.limit, float64(to-from)/elapsed.Seconds(), tt.warmUp, ratio, limited, tt.warmUp+tt.measure, strings.Join(rates, ", "))
			if ratio < tt.minRatio {
				t.Errorf("got %.2f of the limit admitted after the warm-up, want at least %.2f", ratio, tt.minRatio)
			}
			if limited > tt.max429 {
				t.Errorf("got %d 429s, want at most %d", limited, tt.max429)
			}
		})
	}
}

// hammer sends GET url until ctx ends.
func hammer(ctx context.Context, client *http.Client, url, token string) {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

func simToken(t *testing.T, sim *auth0sim.Sim) string {
	t.Helper()
	resp, err := http.PostForm(sim.BaseURL()+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: got %d, %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// Through New, the limiter sees every attempt go-auth0 makes, retries included, and
// no token request.
func TestIdentityPacedByTheLimiter(t *testing.T) {
	limiter := NewLimiter(LimiterConfig{Rate: 10})
	e := newEnv(t, options{sim: auth0sim.Options{RateLimit: 10, Burst: 10}, config: func(c *Config) { c.Limiter = limiter }})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	e.sim.InjectFault("GET", "/api/v2/users/{id}", auth0sim.Fault{Status: http.StatusTooManyRequests, Count: 1, RetryAfter: 1})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := e.id.GetUser(context.Background(), u.ID); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := limiter.Stats()
	if got := e.sim.TotalCalls(); st.Admitted != int64(got) || got != 5 {
		t.Errorf("got %d admitted by the limiter and %d calls to Auth0, want 5 of each (one retried)", st.Admitted, got)
	}
	if st.RateLimited != 1 {
		t.Errorf("got %d 429s seen, want 1", st.RateLimited)
	}
	if got := e.sim.Calls("POST", "/oauth/token"); got != 1 {
		t.Errorf("got %d token requests, want 1", got)
	}
	_, err := e.id.GetUser(context.Background(), "auth0|nobody")
	wantCode(t, err, invite.CodeNotFound)
}

// TestRateLimitPastTheDeadline: when Auth0 asks to wait longer than the operation has
// left, or the limiter would, the operation ends at once as rate_limited with the
// wait, instead of sleeping to its deadline and reporting Auth0 unavailable.
func TestRateLimitPastTheDeadline(t *testing.T) {
	limiter := NewLimiter(LimiterConfig{Rate: 10})
	e := newEnv(t, options{config: func(c *Config) { c.Limiter, c.Timeout = limiter, 3*time.Second }})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	e.sim.InjectFault("GET", "/api/v2/users/{id}", auth0sim.Fault{Status: http.StatusTooManyRequests, Count: 1, RetryAfter: 30})

	for _, step := range []struct {
		name      string
		wantCalls int
	}{
		{"Auth0's 429 asks for 30s", 1},
		{"the limiter holds requests for those 30s", 1}, // nothing sent
	} {
		start := time.Now()
		_, err := e.id.GetUser(context.Background(), u.ID)
		took := time.Since(start)
		ie := wantCode(t, err, invite.CodeRateLimited)
		if ie.RetryAfter < 29*time.Second || ie.RetryAfter > 30*time.Second {
			t.Errorf("%s: RetryAfter %v, want about 30s", step.name, ie.RetryAfter)
		}
		if took > time.Second {
			t.Errorf("%s: took %v, want the refusal at once (the timeout is 3s)", step.name, took)
		}
		if got := e.sim.Calls("GET", "/api/v2/users/{id}"); got != step.wantCalls {
			t.Errorf("%s: %d requests reached Auth0, want %d", step.name, got, step.wantCalls)
		}
	}
	if !strings.Contains(e.logs.String(), "rate limited past the call's deadline") {
		t.Errorf("logs lack the warning: %s", e.logs.String())
	}
}
