package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

const (
	whToken = "logstream-secret-0123456789-abcdefgh"
	whAuth  = "Bearer " + whToken
	// The ids the events/logstream fixtures carry; the world below maps them to the
	// ids of its own users and invitations.
	fxAnnUser   = "auth0|677f2c9e8b1d4a0071a3c5e2"
	fxBobUser   = "auth0|677f31a2c4e8d90070b2f1a9"
	fxOrg       = "org_W8nQ3vJm5kTz2LpX"
	fxInvite    = "uinv_Xp3rT8mQ2vLk9WzA"
	fixturesDir = "../../events/logstream"
)

// whWorld is a tenant with three invitations the fixtures are about: an application
// invitation for Ann, and organization invitations for Bob (already a member in
// Auth0, as after accepting) and for Carol (whose Auth0 invitation the fi fixtures
// name).
type whWorld struct {
	ctx      context.Context
	store    *inmem.Store
	idp      *inmem.Identity
	mail     *inmem.Mailer
	handler  http.Handler
	ann      string // invitation ids
	bob      string
	carol    string
	carolInv string // Carol's Auth0 invitation id at the start
	replacer *strings.Replacer
}

type whClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *whClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

type whRand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (s *whRand) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(p)
}

// failingLookup is an EventStore whose Lookup fails while fail is set.
type failingLookup struct {
	*inmem.Store
	mu   sync.Mutex
	fail int
}

func (f *failingLookup) Lookup(ctx context.Context, k invite.LookupKeys) (*invite.Lookup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return nil, invite.Errorf(invite.CodeUpstream, "the database is throttling reads")
	}
	return f.Store.Lookup(ctx, k)
}

// newWorld builds the world; it is deterministic, so that two worlds have the same ids.
func newWorld(t testing.TB, events invite.EventStore) *whWorld {
	t.Helper()
	clk := &whClock{t: time.Date(2026, 1, 2, 8, 0, 0, 0, time.UTC)}
	w := &whWorld{ctx: context.Background(), store: inmem.NewStore(), mail: inmem.NewMailer()}
	w.idp = inmem.NewIdentity(clk.Now)
	w.idp.AddRoles("rol_viewer")
	w.idp.AddOrganization(invite.Organization{ID: fxOrg, Name: "acme-corp", DisplayName: "Acme Corp"})
	svc, err := invite.NewService(invite.Config{
		Store: w.store, Batches: inmem.NewBatches(), Identity: w.idp, Mailer: w.mail, Now: clk.Now,
		Rand:          &whRand{r: rand.NewChaCha8([32]byte{9})},
		PublicBaseURL: "https://doorman.example.com",
		Ceiling:       invite.Ceiling{Roles: []string{"rol_viewer"}},
	})
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	admin := invite.Actor{Sub: "auth0|admin", Name: "Ada", Permissions: []string{invite.PermCreate, invite.PermAdmin}}
	create := func(email, org string) *invite.Invitation {
		c, err := svc.Create(w.ctx, admin, invite.CreateRequest{Email: email, OrganizationID: org, Roles: []string{"rol_viewer"}, SendEmail: true})
		if err != nil {
			t.Fatalf("Create(%s): %v", email, err)
		}
		return c.Invitation
	}
	ann := create("ann.invitee@example.com", "")
	bob := create("bob@example.org", fxOrg)
	carol := create("carol@example.net", fxOrg)
	bobUser := w.idp.AddUser("bob@example.org", 1)
	if err := w.idp.AcceptOrgInvitation(fxOrg, bob.Auth0InvitationID, bobUser); err != nil {
		t.Fatalf("AcceptOrgInvitation: %v", err)
	}
	w.ann, w.bob, w.carol, w.carolInv = ann.ID, bob.ID, carol.ID, carol.Auth0InvitationID
	w.replacer = strings.NewReplacer(fxAnnUser, ann.Auth0UserID, fxBobUser, bobUser, fxInvite, carol.Auth0InvitationID)
	if events == nil {
		events = w.store
	}
	acceptor, err := invite.NewAcceptor(invite.AcceptorConfig{Service: svc, Store: events})
	if err != nil {
		t.Fatalf("NewAcceptor: %v", err)
	}
	w.handler, err = httpapi.NewWebhook(httpapi.WebhookConfig{Acceptor: acceptor, Token: whToken, Decode: app.DecodeLogStream})
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	return w
}

// fixture reads an events/logstream file with the world's ids in place of the
// fixture's.
func (w *whWorld) fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return []byte(w.replacer.Replace(string(b)))
}

type whResponse struct {
	status int
	header http.Header
	body   []byte
}

func (w *whWorld) post(auth string, body io.Reader) whResponse {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/auth0/logs", body)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	return whResponse{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func (w *whWorld) get(t testing.TB, id string) *invite.Invitation {
	t.Helper()
	inv, err := w.store.Get(w.ctx, id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return inv
}

// state is what a test compares of the three invitations.
type whState struct {
	Ann, Bob, Carol invite.Status
	AnnPasswordSet  bool
	CarolReissued   bool
}

func (w *whWorld) state(t testing.TB) whState {
	t.Helper()
	ann, bob, carol := w.get(t, w.ann), w.get(t, w.bob), w.get(t, w.carol)
	has := func(inv *invite.Invitation, event string) bool {
		for _, e := range inv.History {
			if e.Event == event {
				return true
			}
		}
		return false
	}
	return whState{
		Ann: ann.Status, Bob: bob.Status, Carol: carol.Status,
		AnnPasswordSet: has(ann, invite.EventPasswordSet),
		CarolReissued:  has(carol, invite.EventReissued) && carol.Auth0InvitationID != w.carolInv,
	}
}

func whResult(t testing.TB, res whResponse) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(res.body, &m); err != nil {
		t.Fatalf("response body %q: %v", res.body, err)
	}
	return m
}

func TestWebhookFixtures(t *testing.T) {
	pending := invite.StatusPending
	accepted := invite.StatusAccepted
	tests := []struct {
		file      string
		want      whState
		malformed float64
	}{
		{"type-s.json", whState{Ann: accepted, Bob: pending, Carol: pending}, 0},
		{"type-scp.json", whState{Ann: pending, Bob: pending, Carol: pending, AnnPasswordSet: true}, 0},
		// A signup without an organization accepts no organization invitation.
		{"type-ss.json", whState{Ann: pending, Bob: pending, Carol: pending}, 0},
		{"type-fi.json", whState{Ann: pending, Bob: pending, Carol: pending, CarolReissued: true}, 0},
		{"type-f.json", whState{Ann: pending, Bob: pending, Carol: pending}, 0},
		{"type-fp.json", whState{Ann: pending, Bob: pending, Carol: pending}, 0},
		{"type-seccft.json", whState{Ann: pending, Bob: pending, Carol: pending}, 0},
		{"format-array.json", whState{Ann: accepted, Bob: accepted, Carol: pending, AnnPasswordSet: true}, 0},
		{"format-lines.jsonl", whState{Ann: pending, Bob: pending, Carol: pending, CarolReissued: true}, 0},
		{"format-object.json", whState{Ann: pending, Bob: accepted, Carol: pending}, 0},
		{"batch-mixed-100.json", whState{Ann: accepted, Bob: pending, Carol: pending}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			w := newWorld(t, nil)
			body := w.fixture(t, tt.file)
			res := w.post(whAuth, bytes.NewReader(body))
			if res.status != http.StatusOK {
				t.Fatalf("status: got %d (%s), want 200", res.status, res.body)
			}
			if got := whResult(t, res)["malformed"]; got != tt.malformed {
				t.Errorf("malformed: got %v, want %v", got, tt.malformed)
			}
			if got := w.state(t); got != tt.want {
				t.Errorf("state: got %+v, want %+v", got, tt.want)
			}
			again := w.post(whAuth, bytes.NewReader(body))
			if again.status != http.StatusOK {
				t.Fatalf("second delivery: got %d (%s), want 200", again.status, again.body)
			}
			if got := whResult(t, again)["applied"]; got != 0.0 {
				t.Errorf("second delivery applied %v events, want 0", got)
			}
			if got := w.state(t); got != tt.want {
				t.Errorf("state after the second delivery: got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// explodingBody fails the test when the handler reads it.
type explodingBody struct{ t *testing.T }

func (b explodingBody) Read([]byte) (int, error) {
	b.t.Error("the body was read before the caller was authenticated")
	return 0, io.ErrUnexpectedEOF
}

func TestWebhookRefusesBeforeReading(t *testing.T) {
	tests := []struct {
		name string
		auth string
	}{
		{"missing", ""},
		{"wrong token", "Bearer logstream-secret-0123456780"},
		{"token without Bearer", whToken},
		{"lower-case scheme", "bearer " + whToken},
		{"a prefix of the token", "Bearer " + whToken[:10]},
		{"the token with more", whAuth + "x"},
	}
	w := newWorld(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := w.post(tt.auth, explodingBody{t})
			if res.status != http.StatusUnauthorized {
				t.Fatalf("status: got %d, want 401", res.status)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type: got %q, want application/problem+json", ct)
			}
			if got := whResult(t, res)["code"]; got != string(invite.CodeUnauth) {
				t.Errorf("code: got %v, want unauthorized", got)
			}
			if bytes.Contains(res.body, []byte(whToken[:10])) {
				t.Errorf("the response echoes the token: %s", res.body)
			}
		})
	}
}

func TestWebhookBodyLimit(t *testing.T) {
	acceptor := func(t *testing.T) *invite.Acceptor {
		w := newWorld(t, nil)
		svc, _ := invite.NewService(invite.Config{Store: w.store, Batches: inmem.NewBatches(), Identity: w.idp, Mailer: w.mail, PublicBaseURL: "https://d.example.com"})
		a, err := invite.NewAcceptor(invite.AcceptorConfig{Service: svc, Store: w.store})
		if err != nil {
			t.Fatalf("NewAcceptor: %v", err)
		}
		return a
	}
	h, err := httpapi.NewWebhook(httpapi.WebhookConfig{Acceptor: acceptor(t), Token: whToken, Decode: app.DecodeLogStream, MaxBody: 1024})
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	big := "[" + strings.Repeat(`{"log_id":"1","data":{"type":"seccft"}},`, 100) + `{"log_id":"2","data":{"type":"seccft"}}]`
	tests := []struct {
		name   string
		body   io.Reader
		status int
	}{
		{"declared too large", strings.NewReader(big), http.StatusRequestEntityTooLarge},
		{"streamed too large", io.MultiReader(strings.NewReader(big)), http.StatusRequestEntityTooLarge},
		{"within the limit", strings.NewReader(`{"log_id":"1","data":{"type":"seccft"}}`), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/auth0/logs", tt.body)
			if _, ok := tt.body.(*strings.Reader); !ok {
				req.ContentLength = -1 // chunked: the limit is found while reading
			}
			req.Header.Set("Authorization", whAuth)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Errorf("status: got %d (%s), want %d", rec.Code, rec.Body, tt.status)
			}
		})
	}
}

func TestWebhookRequests(t *testing.T) {
	tests := []struct {
		name   string
		method string
		body   string
		status int
		code   string
	}{
		{"not a log stream", http.MethodPost, `"hello"`, http.StatusBadRequest, "invalid_request"},
		{"empty body", http.MethodPost, ``, http.StatusBadRequest, "invalid_request"},
		{"GET", http.MethodGet, ``, http.StatusMethodNotAllowed, "invalid_request"},
		{"an empty array", http.MethodPost, `[]`, http.StatusOK, ""},
	}
	w := newWorld(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/webhooks/auth0/logs", strings.NewReader(tt.body))
			req.Header.Set("Authorization", whAuth)
			rec := httptest.NewRecorder()
			w.handler.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status: got %d (%s), want %d", rec.Code, rec.Body, tt.status)
			}
			if tt.code != "" {
				if got := whResult(t, whResponse{body: rec.Body.Bytes()})["code"]; got != tt.code {
					t.Errorf("code: got %v, want %s", got, tt.code)
				}
			}
		})
	}
}

func TestWebhookMalformedRecordSkipped(t *testing.T) {
	w := newWorld(t, nil)
	s := w.fixture(t, "type-s.json")
	var compact bytes.Buffer
	if err := json.Compact(&compact, s); err != nil {
		t.Fatalf("compact: %v", err)
	}
	body := `{"log_id":"broken","data":{"type":"s",` + "\n" + compact.String() + "\n" + `{"log_id":"x","data":"not an object"}` + "\n"
	res := w.post(whAuth, strings.NewReader(body))
	if res.status != http.StatusOK {
		t.Fatalf("status: got %d (%s), want 200", res.status, res.body)
	}
	got := whResult(t, res)
	if got["malformed"] != 2.0 || got["applied"] != 1.0 {
		t.Errorf("result: got %v, want 2 malformed and 1 applied", got)
	}
	if st := w.state(t); st.Ann != invite.StatusAccepted {
		t.Errorf("Ann: got %s, want accepted", st.Ann)
	}
}

func TestWebhookTransientFailureThenRetry(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *whWorld, store *failingLookup)
	}{
		{"Auth0 unavailable", func(w *whWorld, _ *failingLookup) { w.idp.FailNext(inmem.OpOrgMember, 1, invite.CodeUpstream) }},
		{"the store unavailable", func(_ *whWorld, store *failingLookup) { store.fail = 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &failingLookup{}
			w := newWorld(t, store)
			store.Store = w.store
			tt.setup(w, store)
			body := w.fixture(t, "format-array.json")
			res := w.post(whAuth, bytes.NewReader(body))
			if res.status != http.StatusServiceUnavailable {
				t.Fatalf("status: got %d (%s), want 503", res.status, res.body)
			}
			if got := whResult(t, res)["code"]; got != string(invite.CodeUpstream) {
				t.Errorf("code: got %v, want upstream_unavailable", got)
			}
			if res.header.Get("Retry-After") == "" {
				t.Errorf("Retry-After: missing")
			}
			if res := w.post(whAuth, bytes.NewReader(body)); res.status != http.StatusOK {
				t.Fatalf("retry: got %d (%s), want 200", res.status, res.body)
			}
			want := whState{Ann: invite.StatusAccepted, Bob: invite.StatusAccepted, Carol: invite.StatusPending, AnnPasswordSet: true}
			if got := w.state(t); got != want {
				t.Errorf("state: got %+v, want %+v", got, want)
			}
		})
	}
}

// records splits a JSON-array fixture into its records.
func records(t *testing.T, body []byte) []json.RawMessage {
	t.Helper()
	var recs []json.RawMessage
	if err := json.Unmarshal(body, &recs); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return recs
}

func TestWebhookDeliveryShapesEndAlike(t *testing.T) {
	want := whState{Ann: invite.StatusAccepted, Bob: invite.StatusAccepted, Carol: invite.StatusPending, AnnPasswordSet: true}
	lines := func(recs ...json.RawMessage) string {
		var b strings.Builder
		for _, r := range recs {
			var c bytes.Buffer
			_ = json.Compact(&c, r)
			b.Write(c.Bytes())
			b.WriteByte('\n')
		}
		return b.String()
	}
	tests := []struct {
		name   string
		bodies func(recs []json.RawMessage) []string
	}{
		{"one array", func(r []json.RawMessage) []string {
			b, _ := json.Marshal(r)
			return []string{string(b)}
		}},
		{"one object each, in reverse: s before scp", func(r []json.RawMessage) []string {
			var out []string
			for i := len(r) - 1; i >= 0; i-- {
				out = append(out, string(r[i]))
			}
			return out
		}},
		{"lines, twice, split differently", func(r []json.RawMessage) []string {
			return []string{lines(r[1]), lines(r...), lines(r[0], r[3]), lines(r[3], r[2], r[1])}
		}},
	}
	var annHistory int
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, nil)
			recs := records(t, w.fixture(t, "format-array.json"))
			if len(recs) != 4 {
				t.Fatalf("format-array.json: got %d records, want scp and s of Ann, an seccft, s of Bob", len(recs))
			}
			for _, body := range tt.bodies(recs) {
				if res := w.post(whAuth, strings.NewReader(body)); res.status != http.StatusOK {
					t.Fatalf("status: got %d (%s), want 200", res.status, res.body)
				}
			}
			if got := w.state(t); got != want {
				t.Errorf("state: got %+v, want %+v", got, want)
			}
			n := len(w.get(t, w.ann).History)
			if i == 0 {
				annHistory = n
			} else if n != annHistory {
				t.Errorf("Ann's history: got %d events, want %d as with one array", n, annHistory)
			}
		})
	}
}

func TestNewWebhookChecksConfig(t *testing.T) {
	w := newWorld(t, nil)
	svc, _ := invite.NewService(invite.Config{Store: w.store, Batches: inmem.NewBatches(), Identity: w.idp, Mailer: w.mail, PublicBaseURL: "https://d.example.com"})
	a, _ := invite.NewAcceptor(invite.AcceptorConfig{Service: svc, Store: w.store})
	tests := []struct {
		name string
		cfg  httpapi.WebhookConfig
	}{
		{"no acceptor", httpapi.WebhookConfig{Token: whToken, Decode: app.DecodeLogStream}},
		{"no decoder", httpapi.WebhookConfig{Acceptor: a, Token: whToken}},
		{"no token", httpapi.WebhookConfig{Acceptor: a, Decode: app.DecodeLogStream}},
		{"short token", httpapi.WebhookConfig{Acceptor: a, Token: "short", Decode: app.DecodeLogStream}},
		{"token one short of the minimum", httpapi.WebhookConfig{Acceptor: a, Decode: app.DecodeLogStream,
			Token: strings.Repeat("t", httpapi.MinWebhookToken-1)}},
		{"token with a space", httpapi.WebhookConfig{Acceptor: a, Token: whToken + " x", Decode: app.DecodeLogStream}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := httpapi.NewWebhook(tt.cfg); err == nil {
				t.Error("got nil error, want the config refused")
			}
		})
	}
	least := httpapi.WebhookConfig{Acceptor: a, Token: strings.Repeat("t", httpapi.MinWebhookToken), Decode: app.DecodeLogStream}
	if _, err := httpapi.NewWebhook(least); err != nil {
		t.Errorf("a token of exactly %d characters: got %v, want it accepted", httpapi.MinWebhookToken, err)
	}
}
