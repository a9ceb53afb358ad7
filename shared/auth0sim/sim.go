package auth0sim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Options configure a Sim. Zero values take the documented defaults.
type Options struct {
	// ClientID and ClientSecret are the Management API M2M client's credentials;
	// defaults "doorman-m2m" and "doorman-m2m-secret".
	ClientID, ClientSecret string
	// Audience is the API audience of tokens minted for test users; default
	// "https://doorman.local/api".
	Audience string
	// Connection is the database connection's name; default
	// "Username-Password-Authentication".
	Connection string
	// RateLimit is the Management API's requests per second (default 2, a free
	// tenant's); negative means unlimited. Burst is the bucket size (default 10).
	RateLimit float64
	Burst     int
	// TokenTTL is the M2M access token lifetime (expires_in); default 24h.
	TokenTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Rand is the source of ids, tickets and log-stream chaos; default crypto/rand.
	Rand io.Reader
	// LogStream, when set, receives the tenant's log events.
	LogStream *LogStream
	Logger    *slog.Logger
	// LoginPermissions returns the permissions claim of the access token a user signed
	// in through /authorize gets for Audience (what Auth0's RBAC with "Add Permissions
	// in the Access Token" puts there); nil gives none.
	LoginPermissions func(email string) []string
	// LoginHint, when set, is shown on the login page (a local run's credentials).
	LoginHint string
}

// Fault makes a route misbehave. Status answers with that status (and an Auth0-shaped
// error body) instead of the real handler; Latency delays the answer; Drop hijacks and
// closes the connection without answering; RetryAfter adds a Retry-After header (in
// seconds) to a Status answer. Count is how many requests it affects; 0 is forever.
type Fault struct {
	Status     int
	Count      int
	Latency    time.Duration
	Drop       bool
	RetryAfter int
}

// Sim is the Auth0 stand-in. It is an http.Handler; all methods are safe for
// concurrent use.
type Sim struct {
	opts   Options
	now    func() time.Time
	rndMu  sync.Mutex // a leaf lock: Rand need not be safe for concurrent use
	rnd    io.Reader
	log    *slog.Logger
	key    *rsa.PrivateKey
	kid    string
	routes *http.ServeMux // Management API and token endpoint: counted, faultable
	pages  *http.ServeMux // discovery, JWKS and HTML pages

	baseURL atomic.Value // string; apart from mu, as handlers read it while holding mu

	mu       sync.Mutex
	st       state
	calls    map[string]int
	limited  int // requests the rate limit refused, since ResetCalls
	faults   map[string]*Fault
	rps      float64
	burst    int
	tokens   float64
	refilled time.Time

	stream *streamer
}

// New builds a Sim. It panics only if the platform cannot generate an RSA key.
func New(opts Options) *Sim {
	if opts.ClientID == "" {
		opts.ClientID = "doorman-m2m"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "doorman-m2m-secret"
	}
	if opts.Audience == "" {
		opts.Audience = "https://doorman.local/api"
	}
	if opts.Connection == "" {
		opts.Connection = "Username-Password-Authentication"
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = 2
	}
	if opts.Burst <= 0 {
		opts.Burst = 10
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("auth0sim: generate signing key: %v", err))
	}
	s := &Sim{
		opts:   opts,
		now:    opts.Now,
		rnd:    opts.Rand,
		log:    opts.Logger,
		key:    key,
		routes: http.NewServeMux(),
		pages:  http.NewServeMux(),
		calls:  map[string]int{},
		faults: map[string]*Fault{},
		rps:    opts.RateLimit,
		burst:  opts.Burst,
		tokens: float64(opts.Burst),
	}
	s.kid = keyID(&key.PublicKey)
	s.refilled = s.now()
	s.st = newState()
	s.st.addConnection(Connection{ID: "con_" + s.randAlnum(16), Name: opts.Connection, Strategy: "auth0"})
	s.registerRoutes()
	if opts.LogStream != nil {
		s.stream = newStreamer(s, *opts.LogStream)
	}
	return s
}

// NewTestServer starts the Sim on an httptest server on 127.0.0.1, sets its base URL
// and closes both when t ends.
func NewTestServer(t testing.TB, opts Options) *Sim {
	t.Helper()
	s := New(opts)
	srv := httptest.NewServer(s)
	s.SetBaseURL(srv.URL)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	return s
}

// Close stops the log stream's background delivery. Pending events are dropped; call
// FlushLogs first to deliver them.
func (s *Sim) Close() {
	if s.stream != nil {
		s.stream.close()
	}
}

// SetBaseURL sets the URL the Sim is reached at, e.g. an httptest server's. The issuer
// is u + "/", the Management API audience u + "/api/v2/", and ticket and invitation
// URLs point here.
func (s *Sim) SetBaseURL(u string) {
	s.baseURL.Store(strings.TrimRight(u, "/"))
}

// BaseURL returns the URL set by SetBaseURL.
func (s *Sim) BaseURL() string {
	b, _ := s.baseURL.Load().(string)
	return b
}

// base is the base URL, falling back to the request's host before SetBaseURL, so that
// a Sim mounted without one still issues consistent tokens and links.
func (s *Sim) base(r *http.Request) string {
	b := s.BaseURL()
	if b == "" && r != nil {
		return "http://" + r.Host
	}
	return b
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/v2/") && r.URL.Path != "/oauth/token" {
		s.pages.ServeHTTP(w, r)
		return
	}
	h, pattern := s.route(r)
	if pattern == "" {
		writeError(w, http.StatusNotFound, "Not Found", "")
		return
	}
	s.mu.Lock()
	s.calls[pattern]++
	f := s.takeFault(pattern)
	s.mu.Unlock()
	if f != nil && !s.applyFault(w, r, f) {
		return
	}
	if r.URL.Path == "/oauth/token" {
		h.ServeHTTP(w, r)
		return
	}
	if !s.authorize(w, r) {
		return
	}
	if !s.rateLimit(w) {
		return
	}
	h.ServeHTTP(w, r)
}

// takeFault returns a copy of the route's fault and spends one of its uses. Callers
// hold s.mu.
func (s *Sim) takeFault(pattern string) *Fault {
	f, ok := s.faults[pattern]
	if !ok {
		return nil
	}
	c := *f
	if f.Count > 0 {
		f.Count--
		if f.Count == 0 {
			delete(s.faults, pattern)
		}
	}
	return &c
}

// applyFault acts out f and reports whether the request should still be served.
func (s *Sim) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return false
			}
		}
		// Without a hijackable connection the closest thing is aborting the handler.
		panic(http.ErrAbortHandler)
	}
	if f.Status == 0 {
		return true
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	if f.Status == http.StatusTooManyRequests {
		s.mu.Lock()
		s.refill()
		s.setRateHeaders(w, 0)
		s.mu.Unlock()
		writeError(w, f.Status, "Global limit has been reached", "too_many_requests")
		return false
	}
	writeError(w, f.Status, http.StatusText(f.Status), "")
	return false
}

// InjectFault makes requests to a route misbehave. pathPattern is either the route's
// pattern ("/api/v2/users/{id}") or a concrete path ("/api/v2/users/auth0|1"), which
// selects the route it matches; the fault applies to every path of that route.
func (s *Sim) InjectFault(method, pathPattern string, f Fault) {
	key := s.routeKey(method, pathPattern)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := f
	s.faults[key] = &c
}

// ClearFaults removes every injected fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// Calls returns how many requests reached a route (including those answered with a
// fault, 401 or 429). pathPattern is as in InjectFault; "/oauth/token" counts token
// requests.
func (s *Sim) Calls(method, pathPattern string) int {
	key := s.routeKey(method, pathPattern)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[key]
}

// TotalCalls returns how many Management API requests (under /api/v2) the Sim received.
func (s *Sim) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.calls {
		if strings.Contains(k, " /api/v2/") {
			n += v
		}
	}
	return n
}

// RateLimited returns how many Management API requests the rate limit answered 429
// (injected 429 faults apart). They are among Calls too.
func (s *Sim) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// ResetCalls zeroes the call counters, RateLimited's included.
func (s *Sim) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
	s.limited = 0
}

func (s *Sim) routeKey(method, path string) string {
	key := method + " " + path
	if strings.Contains(path, "{") {
		return key
	}
	req, err := http.NewRequest(method, "http://auth0sim"+path, nil)
	if err != nil {
		return key
	}
	if _, pattern := s.route(req); pattern != "" {
		return pattern
	}
	return key
}

// orgByName is routed by hand: ServeMux refuses it next to /organizations/{id}/members
// and the like, as both would match /organizations/name/members.
const orgByName = "GET /api/v2/organizations/name/{name}"

// route finds the handler and pattern of a counted route.
func (s *Sim) route(r *http.Request) (http.Handler, string) {
	const prefix = "/api/v2/organizations/name/"
	if name, ok := strings.CutPrefix(r.URL.Path, prefix); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) && name != "" && !strings.Contains(name, "/") {
		r.SetPathValue("name", name)
		return http.HandlerFunc(s.getOrgByName), orgByName
	}
	// ServeMux sets path values only when it serves the request itself, so the mux,
	// not the handler it found, serves it.
	if _, pattern := s.routes.Handler(r); pattern != "" {
		return s.routes, pattern
	}
	return nil, ""
}

// SetRateLimit changes the Management API's rate limit and refills the bucket.
// A negative rps means unlimited.
func (s *Sim) SetRateLimit(rps float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if burst <= 0 {
		burst = 1
	}
	s.rps, s.burst = rps, burst
	s.tokens = float64(burst)
	s.refilled = s.now()
}

// refill adds the tokens earned since the last refill. Callers hold s.mu.
func (s *Sim) refill() {
	now := s.now()
	if s.rps > 0 {
		s.tokens = math.Min(float64(s.burst), s.tokens+now.Sub(s.refilled).Seconds()*s.rps)
	}
	s.refilled = now
}

// rateLimit spends one token or answers 429 as Auth0 does; every answer carries the
// X-RateLimit-* headers.
func (s *Sim) rateLimit(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rps < 0 {
		s.setRateHeaders(w, s.burst)
		return true
	}
	s.refill()
	if s.tokens < 1 {
		s.limited++
		s.setRateHeaders(w, 0)
		writeError(w, http.StatusTooManyRequests, "Global limit has been reached", "too_many_requests")
		return false
	}
	s.tokens--
	s.setRateHeaders(w, int(math.Floor(s.tokens)))
	return true
}

// setRateHeaders writes Auth0's rate-limit headers. X-RateLimit-Reset is the unix time
// at which the next request will be admitted when none remain, else the time the
// bucket is full again. Callers hold s.mu.
func (s *Sim) setRateHeaders(w http.ResponseWriter, remaining int) {
	now := s.now()
	reset := now
	if s.rps > 0 {
		need := float64(s.burst) - s.tokens
		if remaining == 0 {
			need = 1 - s.tokens
		}
		if need > 0 {
			reset = now.Add(time.Duration(need / s.rps * float64(time.Second)))
		}
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.burst))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(reset.UnixNano())/1e9)), 10))
}

// randAlnum returns n random characters of [A-Za-z0-9], the alphabet of Auth0's ids.
func (s *Sim) randAlnum(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	return s.randFrom(alphabet, n)
}

func (s *Sim) randHex(n int) string { return s.randFrom("0123456789abcdef", n) }

func (s *Sim) randDigits(n int) string { return s.randFrom("0123456789", n) }

func (s *Sim) randFrom(alphabet string, n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, 1)
	limit := 256 - 256%len(alphabet) // rejection sampling keeps the draw uniform
	s.rndMu.Lock()
	defer s.rndMu.Unlock()
	for len(out) < n {
		if _, err := io.ReadFull(s.rnd, buf); err != nil {
			panic(fmt.Sprintf("auth0sim: read randomness: %v", err))
		}
		if int(buf[0]) < limit {
			out = append(out, alphabet[int(buf[0])%len(alphabet)])
		}
	}
	return string(out)
}

// randIntn returns a uniform int in [0, n) from the Sim's randomness.
func (s *Sim) randIntn(n int) int {
	if n <= 1 {
		return 0
	}
	buf := make([]byte, 4)
	s.rndMu.Lock()
	defer s.rndMu.Unlock()
	if _, err := io.ReadFull(s.rnd, buf); err != nil {
		panic(fmt.Sprintf("auth0sim: read randomness: %v", err))
	}
	v := uint32(buf[0])<<24 | uint32(buf[1])<<16 | uint32(buf[2])<<8 | uint32(buf[3])
	return int(uint64(v) * uint64(n) >> 32)
}

// ctxSleep waits d or until ctx ends.
func ctxSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
