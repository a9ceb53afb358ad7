package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

const (
	orgAcme   = "org_acme"
	orgOther  = "org_other"
	baseURL   = "https://doorman.example.com"
	spaOrigin = "https://admin.example.com"
)

var allPerms = []string{invite.PermCreate, invite.PermRead, invite.PermUpdate, invite.PermDelete}

var (
	appAdmin   = httpapi.Claims{Sub: "auth0|admin", Name: "Ada Admin", Permissions: allPerms}
	acmeAdmin  = httpapi.Claims{Sub: "auth0|acme", Name: "Olga Acme", Permissions: allPerms, OrgID: orgAcme}
	otherAdmin = httpapi.Claims{Sub: "auth0|other", Name: "Otto Other", Permissions: allPerms, OrgID: orgOther}
	readOnly   = httpapi.Claims{Sub: "auth0|reader", Name: "Rita Reader", Permissions: []string{invite.PermRead}, Scope: "openid"}
)

// gatedStore is the in-memory store with faults a test can switch on: Create can be
// held until released (a request in flight), and Get can fail or panic.
type gatedStore struct {
	*inmem.Store
	mu      sync.Mutex
	hold    chan struct{} // when set, Create waits until it is closed
	entered chan struct{} // receives once per held Create
	getErr  error
	getBoom bool
	// createErrs fail the next Creates, one each.
	createErrs []error
	// undeliverable holds the email keys Undeliverable reports (dryrun_test.go).
	undeliverable map[string]bool
}

func (g *gatedStore) Create(ctx context.Context, inv *invite.Invitation) error {
	g.mu.Lock()
	hold, entered := g.hold, g.entered
	var fail error
	if len(g.createErrs) > 0 {
		fail, g.createErrs = g.createErrs[0], g.createErrs[1:]
	}
	g.mu.Unlock()
	if hold != nil {
		entered <- struct{}{}
		<-hold
	}
	if fail != nil {
		return fail
	}
	return g.Store.Create(ctx, inv)
}

func (g *gatedStore) Get(ctx context.Context, id string) (*invite.Invitation, error) {
	g.mu.Lock()
	err, boom := g.getErr, g.getBoom
	g.mu.Unlock()
	if boom {
		panic("store: connection pool exhausted at 10.0.3.7:8000")
	}
	if err != nil {
		return nil, err
	}
	return g.Store.Get(ctx, id)
}

// holdCreates makes Create wait until the returned release is called.
func (g *gatedStore) holdCreates() (entered <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	hold, ent := make(chan struct{}), make(chan struct{}, 8)
	g.hold, g.entered = hold, ent
	var once sync.Once
	return ent, func() {
		once.Do(func() {
			g.mu.Lock()
			g.hold = nil
			g.mu.Unlock()
			close(hold)
		})
	}
}

type fixture struct {
	t       testing.TB
	store   *gatedStore
	idp     *inmem.Identity
	mail    *inmem.Mailer
	idem    *inmem.Idempotency
	counter *inmem.Counter
	clock   *inmem.Clock
	logs    *bytes.Buffer
	handler http.Handler
	svc     *invite.Service
	queue   *inmem.Queue // where the service queues batch items; see work
	working bool         // the batch worker runs
}

func allowExample(u string) bool { return strings.HasPrefix(u, "https://app.example.com/") }

func newFixture(t testing.TB, edit ...func(*httpapi.Config)) *fixture {
	t.Helper()
	f := &fixture{
		t:       t,
		store:   &gatedStore{Store: inmem.NewStore()},
		mail:    inmem.NewMailer(),
		counter: inmem.NewCounter(),
		clock:   inmem.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)),
		logs:    &bytes.Buffer{},
	}
	f.idem = inmem.NewIdempotency(f.clock.Now)
	f.idp = inmem.NewIdentity(f.clock.Now)
	f.idp.AddRoles("rol_viewer", "rol_editor")
	f.idp.AddOrganization(invite.Organization{ID: orgAcme, Name: "acme", DisplayName: "Acme Corp"})
	f.idp.AddOrganization(invite.Organization{ID: orgOther, Name: "other", DisplayName: "Other Ltd"})
	// The fixture's inviters hold the roles they grant (Who may grant what).
	held := []string{"rol_viewer", "rol_editor"}
	f.idp.AddInviter(appAdmin.Sub, held, nil)
	f.idp.AddInviter(acmeAdmin.Sub, nil, map[string][]string{orgAcme: held})
	f.idp.AddInviter(otherAdmin.Sub, nil, map[string][]string{orgOther: held})
	f.queue = inmem.NewQueue(inmem.QueueOptions{Visibility: 10 * time.Millisecond})
	log := slog.New(invite.LogHandler(slog.NewJSONHandler(&lockedWriter{w: f.logs}, nil)))
	svc, err := invite.NewService(invite.Config{
		Logger: log,
		Store:  f.store,
		// The dry run asks it which addresses SES refused (dryrun_test.go).
		Deliveries: f.store,
		Batches:    inmem.NewBatches(),
		Queue:      f.queue,
		// Retries within a delivery wait for nothing in tests.
		Sleep:           func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		Identity:        f.idp,
		Mailer:          f.mail,
		Now:             f.clock.Now,
		Rand:            inmem.NewRand([32]byte{7}),
		PublicBaseURL:   baseURL,
		ApplicationName: "Example App",
		ApplicationURL:  "https://app.example.com/",
		LoginClientID:   "client_login",
		RedirectAllowed: allowExample,
		Ceiling:         invite.Ceiling{Roles: []string{"rol_viewer", "rol_editor"}},
	})
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	f.svc = svc
	cfg := httpapi.Config{
		Service:         svc,
		Idempotency:     f.idem,
		Counter:         f.counter,
		CORSOrigins:     []string{spaOrigin},
		Now:             f.clock.Now,
		Logger:          log,
		ApplicationName: "Example App",
		Organizations:   f.idp,
	}
	for _, e := range edit {
		e(&cfg)
	}
	f.handler, err = httpapi.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

// work runs the batch worker on the fixture's queue until every queued item has been
// handled; the worker stops when the test ends.
func (f *fixture) work() {
	t := f.t
	t.Helper()
	if !f.working {
		f.working = true
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			f.queue.Run(ctx, 4, f.svc.WorkBatchItem)
		}()
		t.Cleanup(func() {
			cancel()
			<-stopped
		})
	}
	wait, cancelWait := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelWait()
	if err := f.queue.WaitIdle(wait); err != nil {
		t.Fatalf("batch worker: queue not idle: %v (stats %+v)", err, f.queue.Stats())
	}
}

// lockedWriter serializes concurrent log writes into one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// response is what the handler answered.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// call describes one request. Claims nil means an anonymous request.
type call struct {
	Method, Path string
	Body         string
	Claims       *httpapi.Claims
	Header       map[string]string
	// InvalidRequest says the request breaks the OpenAPI document on purpose (an
	// unknown field, a missing token); the document must then reject it too.
	InvalidRequest bool
	// Undocumented says the route is not in the document (a preflight, an unknown
	// path); the document must then not know it.
	Undocumented bool
}

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// router loads the served OpenAPI document once with kin-openapi.
func router(t testing.TB) routers.Router {
	t.Helper()
	specOnce.Do(func() {
		// The invitee's pages are HTML; kin-openapi decodes only what is registered.
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		raw, err := httpapi.OpenAPIJSON()
		if err != nil {
			specErr = err
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(raw)
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			specErr = err
			return
		}
		specRouter, specErr = legacy.NewRouter(doc)
	})
	if specErr != nil {
		t.Fatalf("OpenAPI document: %v", specErr)
	}
	return specRouter
}

func validationOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			if !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
				return errors.New("no bearer token")
			}
			return nil
		},
	}
}

// do sends c through the handler and validates the request and the response against
// the OpenAPI document; every handler test goes through it.
func (f *fixture) do(c call) response {
	t := f.t
	t.Helper()
	req := httptest.NewRequest(c.Method, c.Path, strings.NewReader(c.Body))
	if c.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	if c.Claims != nil {
		req.Header.Set("Authorization", "Bearer test-token")
		req = req.WithContext(httpapi.WithClaims(req.Context(), *c.Claims))
	}

	rt := router(t)
	route, params, err := rt.FindRoute(req)
	var in *openapi3filter.RequestValidationInput
	switch {
	case c.Undocumented:
		if err == nil {
			t.Fatalf("%s %s is in the OpenAPI document, but the test calls it undocumented", c.Method, c.Path)
		}
	case err != nil:
		t.Fatalf("%s %s: not in the OpenAPI document: %v", c.Method, c.Path, err)
	default:
		in = &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: validationOptions()}
		verr := openapi3filter.ValidateRequest(context.Background(), in)
		switch {
		case c.InvalidRequest && verr == nil:
			t.Errorf("%s %s: the OpenAPI document accepts the request the test calls invalid:\n%s", c.Method, c.Path, c.Body)
		case !c.InvalidRequest && verr != nil:
			t.Errorf("%s %s: request does not match the OpenAPI document: %v", c.Method, c.Path, verr)
		}
		// ValidateRequest consumed the body; give the handler a fresh one.
		req.Body = io.NopCloser(strings.NewReader(c.Body))
	}

	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	res := response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}

	if in != nil {
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 res.Status,
			Header:                 res.Header,
			Options:                validationOptions(),
		}
		out.SetBodyBytes(res.Body)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s → %d: response does not match the OpenAPI document: %v\n%s", c.Method, c.Path, res.Status, err, res.Body)
		}
	}
	return res
}

// wantProblem checks a problem+json answer and returns its body.
func wantProblem(t *testing.T, res response, status int, code invite.Code) map[string]any {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status = %d, want %d; body %s", res.Status, status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	p := res.json(t)
	if got := p["code"]; got != string(code) {
		t.Errorf("code = %v, want %s; body %s", got, code, res.Body)
	}
	if got := p["status"]; got != float64(status) {
		t.Errorf("problem status = %v, want %d", got, status)
	}
	if id, _ := p["request_id"].(string); id == "" || id != res.Header.Get("X-Request-Id") {
		t.Errorf("request_id = %q, X-Request-Id = %q; want the same non-empty id", id, res.Header.Get("X-Request-Id"))
	}
	return p
}

func claims(c httpapi.Claims) *httpapi.Claims { return &c }

func createBody(email string, extra ...string) string {
	fields := append([]string{`"email":"` + email + `"`, `"name":"Ann"`, `"roles":["rol_viewer"]`}, extra...)
	return "{" + strings.Join(fields, ",") + "}"
}

// create makes an invitation through the API and returns its JSON.
func (f *fixture) create(c httpapi.Claims, body string) map[string]any {
	f.t.Helper()
	res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: &c})
	if res.Status != http.StatusCreated {
		f.t.Fatalf("create: status %d, want 201; body %s", res.Status, res.Body)
	}
	return res.json(f.t)
}

// token is the link token of an accept_url.
func token(t testing.TB, inv map[string]any) string {
	t.Helper()
	u, _ := inv["accept_url"].(string)
	tok, ok := strings.CutPrefix(u, baseURL+"/i/")
	if !ok {
		t.Fatalf("accept_url = %q, want %s/i/<token>", u, baseURL)
	}
	return tok
}
