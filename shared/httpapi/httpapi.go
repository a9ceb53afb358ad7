// Package httpapi is Doorman's HTTP surface: the /v1 JSON API for admins' SPAs, the
// invitee's /i/{token} pages, and the OpenAPI document that describes them. Handlers
// translate between HTTP and invite.Service (decode, authorize, call one method,
// encode); this package alone maps Doorman's error codes to HTTP statuses and writes
// them as application/problem+json. It also owns what only HTTP knows about: the
// Idempotency-Key replay, the per-inviter hourly cap, CORS and the security headers.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/invite"
)

// Defaults of Config.
const (
	DefaultInvitesPerHour  = 100
	DefaultMaxBody         = 64 << 10
	DefaultIdempotencyWait = 5 * time.Second
)

// OrganizationLookup finds an organization's display name for the invitee's page;
// invite.Identity satisfies it. not_found when there is none.
type OrganizationLookup interface {
	Organization(ctx context.Context, orgID string) (*invite.Organization, error)
}

// Config builds the handler. Service, Idempotency and Counter are required.
type Config struct {
	Service     *invite.Service
	Idempotency IdempotencyStore
	Counter     Counter
	// InvitesPerHour caps the invitations one inviter (token subject) creates per
	// clock hour; 0 means DefaultInvitesPerHour, a negative value disables the cap.
	InvitesPerHour int
	// CORSOrigins are the SPA origins allowed to call /v1, exactly as browsers send
	// them ("https://admin.example.com"); each must pass CheckOrigin.
	CORSOrigins []string
	MaxBody     int64 // request body limit in bytes; 0 means DefaultMaxBody
	// MaxBatchBody is the body limit of POST /v1/invitation-batches; 0 means
	// DefaultMaxBatchBody (5 MiB: a thousand invitations with room for metadata, under
	// Lambda's 6 MB payload limit).
	MaxBatchBody int64
	// BatchesPerHour caps the batches one inviter submits per clock hour; 0 means
	// DefaultBatchesPerHour, a negative value disables the cap.
	BatchesPerHour int
	Now            func() time.Time
	Logger         *slog.Logger

	// ApplicationName names the application on the invitee's page (default "the
	// application"); Organizations names organizations there (nil shows a generic
	// phrase).
	ApplicationName string
	Organizations   OrganizationLookup
	// FormActionSources are extra CSP form-action origins of the invitee's page. The
	// Continue form posts to the page itself and is answered with a 303 to Auth0 or
	// the application; Chromium applies form-action to that redirect, so its target
	// must be allowed. "'self' https:" is always allowed; a local run whose Auth0
	// stand-in listens on plain http adds its origin here. Each must pass CheckOrigin.
	FormActionSources []string
	// IdempotencyWait is how long a request waits for an earlier one with the same
	// Idempotency-Key to finish before it is answered 409; 0 means 5 s.
	IdempotencyWait time.Duration
	// NewRequestID makes the id of a request that arrives without one (default: 128
	// random bits in hex).
	NewRequestID func() string

	// Join serves the join flows (access requests, join policy, invite links); nil
	// answers their routes not_found. See JoinConfig (access.go).
	Join JoinConfig
	// Console serves the hosted admin page, GET /console and /console/assets/{name}
	// (shared/console); nil answers them 404.
	Console http.Handler
	// Events serves the webhook endpoints and the event feed; nil answers them 404.
	Events *events.Service
}

type server struct {
	console      http.Handler
	svc          *invite.Service
	idem         IdempotencyStore
	counter      Counter
	invites      hourlyCap
	origins      map[string]bool
	maxBody      int64
	maxBatchBody int64
	batches      hourlyCap
	now          func() time.Time
	log          *slog.Logger
	appName      string
	orgs         OrganizationLookup
	landingCSP   string
	idemWait     time.Duration
	newRequestID func() string
	openapiJSON  func() ([]byte, error)
	mux          *http.ServeMux
	join         joinServer
	events       *events.Service
}

// New checks cfg, applies its defaults and returns the handler of every Doorman route
// (see routes).
func New(cfg Config) (http.Handler, error) {
	if cfg.Service == nil || cfg.Idempotency == nil || cfg.Counter == nil {
		return nil, errors.New("httpapi: Service, Idempotency and Counter are required")
	}
	s := &server{
		console:      cfg.Console,
		svc:          cfg.Service,
		idem:         cfg.Idempotency,
		counter:      cfg.Counter,
		invites:      hourlyCap{key: "invites", noun: "invitations", perHour: cfg.InvitesPerHour},
		origins:      map[string]bool{},
		maxBody:      cfg.MaxBody,
		maxBatchBody: cfg.MaxBatchBody,
		batches:      hourlyCap{key: "batches", noun: "batches", perHour: cfg.BatchesPerHour},
		now:          cfg.Now,
		log:          cfg.Logger,
		appName:      cfg.ApplicationName,
		orgs:         cfg.Organizations,
		idemWait:     cfg.IdempotencyWait,
		newRequestID: cfg.NewRequestID,
		events:       cfg.Events,
	}
	for _, o := range cfg.CORSOrigins {
		if err := CheckOrigin(o); err != nil {
			return nil, fmt.Errorf("httpapi: CORS origin %q: %w", o, err)
		}
		s.origins[o] = true
	}
	csp, err := landingCSP(cfg.FormActionSources)
	if err != nil {
		return nil, err
	}
	s.landingCSP = csp
	if s.invites.perHour == 0 {
		s.invites.perHour = DefaultInvitesPerHour
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.maxBatchBody <= 0 {
		s.maxBatchBody = DefaultMaxBatchBody
	}
	if s.batches.perHour == 0 {
		s.batches.perHour = DefaultBatchesPerHour
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	} else {
		// Every line names the request it serves (request_id from the context).
		s.log = slog.New(invite.LogHandler(s.log.Handler()))
	}
	if s.appName == "" {
		s.appName = "the application"
	}
	if s.idemWait <= 0 {
		s.idemWait = DefaultIdempotencyWait
	}
	if s.newRequestID == nil {
		s.newRequestID = randomID
	}
	s.openapiJSON = OpenAPIJSON
	s.join = newJoinServer(cfg.Join)
	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, rt.handler)
	}
	return http.HandlerFunc(s.serveHTTP), nil
}

// route is one operation of the API; the OpenAPI document describes exactly these.
type route struct {
	method, pattern string
	handler         http.Handler
}

func (s *server) routes() []route {
	rts := []route{
		{http.MethodPost, "/v1/invitations", s.authed(s.idempotent(s.create))},
		{http.MethodGet, "/v1/invitations", s.authed(s.list)},
		{http.MethodGet, "/v1/invitations/{id}", s.authed(s.get)},
		{http.MethodPost, "/v1/invitations/{id}/resend", s.authed(s.idempotent(s.resend))},
		{http.MethodPost, "/v1/invitations/{id}/tickets", s.authed(s.ticket)},
		{http.MethodDelete, "/v1/invitations/{id}", s.authed(s.revoke)},
		{http.MethodPost, "/v1/invitation-batches", s.authed(s.dryRunOr(s.idempotentUpTo(s.maxBatchBody, s.createBatch)))},
		{http.MethodGet, "/v1/invitation-batches/{id}", s.authed(s.getBatch)},
		{http.MethodGet, "/v1/roles", s.authed(s.roles)},
		{http.MethodGet, "/v1/openapi.json", http.HandlerFunc(s.openapi)},
		{http.MethodGet, "/i/{token}", http.HandlerFunc(s.landing)},
		{http.MethodPost, "/i/{token}", http.HandlerFunc(s.continueLink)},
		{http.MethodGet, "/console", http.HandlerFunc(s.serveConsole)},
		{http.MethodGet, "/console/assets/{name}", http.HandlerFunc(s.serveConsole)},
		// Events out: webhook endpoints and the feed.
		{http.MethodPost, "/v1/webhook-endpoints", s.authed(s.createEndpoint)},
		{http.MethodGet, "/v1/webhook-endpoints", s.authed(s.listEndpoints)},
		{http.MethodGet, "/v1/webhook-endpoints/{id}", s.authed(s.getEndpoint)},
		{http.MethodPatch, "/v1/webhook-endpoints/{id}", s.authed(s.updateEndpoint)},
		{http.MethodDelete, "/v1/webhook-endpoints/{id}", s.authed(s.deleteEndpoint)},
		{http.MethodPost, "/v1/webhook-endpoints/{id}/rotate-secret", s.authed(s.rotateEndpoint)},
		{http.MethodPost, "/v1/webhook-endpoints/{id}/replay", s.authed(s.replayEndpoint)},
		{http.MethodGet, "/v1/webhook-endpoints/{id}/attempts", s.authed(s.endpointAttempts)},
		{http.MethodGet, "/v1/events", s.authed(s.feed)},
	}
	return append(rts, s.joinRoutes()...)
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// serveHTTP wraps every request: request id, panic recovery, access log, CORS, and
// problem answers for what the mux does not route.
func (s *server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := s.requestID(r)
	ctx := invite.WithRequestID(r.Context(), id)
	r = r.WithContext(ctx)
	w.Header().Set("X-Request-Id", id)
	sw := &statusWriter{ResponseWriter: w}
	_, pattern := s.mux.Handler(r)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(ctx, "handler panicked", "panic", fmt.Sprint(v))
			if !sw.wrote {
				writeProblem(ctx, sw, problemFor(invite.Errorf(invite.CodeInternal, "")))
			}
		}
		// The path is not logged: /i/{token} carries the invitee's credential.
		s.log.InfoContext(ctx, "request", "method", r.Method, "route", pattern,
			"status", sw.status, "duration_ms", time.Since(start).Milliseconds())
	}()

	api := isAPIPath(r.URL.Path)
	if api && s.cors(sw, r) {
		return
	}
	// The mux would redirect a path with "//", "." or ".." segments to its clean form,
	// in neither of Doorman's formats; no client of Doorman sends one.
	if pattern == "" || !isCleanPath(r.URL.Path) {
		s.unrouted(sw, r, api)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// isCleanPath reports whether p is as the mux's path cleaning leaves it.
func isCleanPath(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

func isAPIPath(p string) bool { return p == "/v1" || len(p) >= 4 && p[:4] == "/v1/" }

// unrouted answers a request no route matches in Doorman's formats, asking the mux
// only whether the path exists under another method.
func (s *server) unrouted(w http.ResponseWriter, r *http.Request, api bool) {
	probe := &headerProbe{h: http.Header{}}
	s.mux.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.h.Get("Allow"))
		writeProblem(r.Context(), w, methodNotAllowed(r.Method))
		return
	}
	if api {
		WriteProblem(r.Context(), w, invite.Errorf(invite.CodeNotFound, "no such resource"))
		return
	}
	s.page(w, r, http.StatusNotFound, pageNotFound, "This link is not valid.", nil)
}

// headerProbe records what the mux would answer, and discards the body.
type headerProbe struct {
	h      http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.h }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(status int)      { p.status = status }

// statusWriter remembers the status for the access log and whether anything was sent.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WithRequestID gives the request the id the platform assigned (API Gateway's
// requestId), which then names it in logs and problem bodies.
func WithRequestID(ctx context.Context, id string) context.Context {
	return invite.WithRequestID(ctx, id)
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string { return invite.RequestID(ctx) }

// requestID takes the platform's id from the context or the X-Request-Id header when
// it is sane, and otherwise makes one.
func (s *server) requestID(r *http.Request) string {
	if id := RequestID(r.Context()); saneRequestID(id) {
		return id
	}
	if id := r.Header.Get("X-Request-Id"); saneRequestID(id) {
		return id
	}
	return s.newRequestID()
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
