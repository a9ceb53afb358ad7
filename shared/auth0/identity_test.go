package auth0

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auth0/go-auth0/management"

	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/invite"
)

const (
	testClientID = "doorman-m2m"
	testSecret   = "doorman-m2m-secret"
	testConn     = "Username-Password-Authentication"
	loginClient  = "app-login-client"
)

// env is an Identity wired to a fresh Auth0 stand-in, with what it sent and logged.
type env struct {
	sim  *auth0sim.Sim
	id   *Identity
	sent *recorder
	logs *syncBuffer
}

type options struct {
	sim    auth0sim.Options
	config func(*Config)
}

func newEnv(t *testing.T, o options) *env {
	t.Helper()
	if o.sim.RateLimit == 0 {
		o.sim.RateLimit = -1
	}
	sim := auth0sim.NewTestServer(t, o.sim)
	rec := &recorder{base: http.DefaultTransport}
	logs := &syncBuffer{}
	cfg := Config{
		Domain:        sim.BaseURL(),
		ClientID:      testClientID,
		ClientSecret:  testSecret,
		Connection:    testConn,
		LoginClientID: loginClient,
		Timeout:       5 * time.Second,
		Logger:        slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTPClient:    &http.Client{Transport: rec},
	}
	if o.config != nil {
		o.config(&cfg)
	}
	id, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{sim: sim, id: id, sent: rec, logs: logs}
}

// recorder keeps the Management API requests' bodies.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []sentRequest
}

type sentRequest struct {
	Method, Path string
	Body         map[string]any
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasPrefix(req.URL.Path, "/api/v2/") {
		s := sentRequest{Method: req.Method, Path: req.URL.Path}
		if req.Body != nil {
			b, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(b))
			_ = json.Unmarshal(b, &s.Body)
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, s)
		r.mu.Unlock()
	}
	return r.base.RoundTrip(req)
}

func (r *recorder) last(t *testing.T, method, pathPrefix string) map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.reqs) - 1; i >= 0; i-- {
		if r.reqs[i].Method == method && strings.HasPrefix(r.reqs[i].Path, pathPrefix) {
			return r.reqs[i].Body
		}
	}
	t.Fatalf("no %s %s was sent", method, pathPrefix)
	return nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// admin is a plain go-auth0 client for arranging what the Sim has no seeding helper
// for (organization members).
func admin(t *testing.T, sim *auth0sim.Sim) *management.Management {
	t.Helper()
	m, err := management.New(strings.TrimPrefix(sim.BaseURL(), "http://"),
		management.WithInsecure(),
		management.WithClientCredentials(context.Background(), testClientID, testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wantCode(t *testing.T, err error, want invite.Code) *invite.Error {
	t.Helper()
	if got := invite.ErrorCode(err); got != want {
		t.Fatalf("got error %v (code %q), want code %q", err, got, want)
	}
	return invite.AsError(err)
}

// wantCalls checks the Management API calls the Sim received since ResetCalls.
func wantCalls(t *testing.T, sim *auth0sim.Sim, want map[string]int) {
	t.Helper()
	total := 0
	for route, n := range want {
		method, path, _ := strings.Cut(route, " ")
		if got := sim.Calls(method, path); got != n {
			t.Errorf("got %d calls to %s, want %d", got, route, n)
		}
		total += n
	}
	if got := sim.TotalCalls(); got != total {
		t.Errorf("got %d Management API calls in all, want %d", got, total)
	}
}

func TestCreateUser(t *testing.T) {
	e := newEnv(t, options{})
	u, err := e.id.CreateUser(context.Background(), invite.NewUser{
		Email: "ann@example.com", Name: "Ann", InvitationID: "inv_1",
		AppMetadata:  map[string]any{"plan": "pro"},
		UserMetadata: map[string]any{"locale": "fr"},
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, ok := e.sim.User(u.ID)
	if !ok {
		t.Fatalf("user %s not in Auth0", u.ID)
	}
	wantMeta := map[string]any{"plan": "pro", "needsInvitation": true, "invitationId": "inv_1"}
	if got.Email != "ann@example.com" || got.Connection != testConn || got.EmailVerified || !reflect.DeepEqual(got.AppMetadata, wantMeta) {
		t.Errorf("got user %+v, want ann@example.com in %s, unverified, app_metadata %v", got, testConn, wantMeta)
	}
	if u.Email != "ann@example.com" || u.LoginsCount != 0 || !reflect.DeepEqual(u.AppMetadata, wantMeta) {
		t.Errorf("returned %+v", u)
	}
	body := e.sent.last(t, "POST", "/api/v2/users")
	password, _ := body["password"].(string)
	if len(password) < 43 || body["verify_email"] != false || body["email_verified"] != false {
		t.Errorf("sent %v; want a long random password, verify_email=false, email_verified=false", body)
	}
	if logs := e.logs.String(); strings.Contains(logs, password) || strings.Contains(logs, "ann@example.com") {
		t.Errorf("logs hold the password or the email: %s", logs)
	}
	if logs := e.logs.String(); logs != "" {
		t.Errorf("CreateUser logged %s; want nothing: the domain logs the user it created, once", logs)
	}
	wantCalls(t, e.sim, map[string]int{"POST /api/v2/users": 1})

	// Another invited user gets another password.
	if _, err := e.id.CreateUser(context.Background(), invite.NewUser{Email: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	if other := e.sent.last(t, "POST", "/api/v2/users")["password"]; other == password {
		t.Error("two users got the same password")
	}
}

func TestCreateUserThatExistsIsConflict(t *testing.T) {
	e := newEnv(t, options{})
	e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	_, err := e.id.CreateUser(context.Background(), invite.NewUser{Email: "ann@example.com", InvitationID: "inv_1"})
	wantCode(t, err, invite.CodeConflict)
}

func TestFindUserByEmail(t *testing.T) {
	e := newEnv(t, options{})
	e.sim.AddConnection("other-db", "auth0")
	mine := e.sim.AddUser(auth0sim.User{Email: "ann@example.com", LoginsCount: 2, EmailVerified: true})
	e.sim.AddUser(auth0sim.User{Email: "ann@example.com", Connection: "other-db"})
	e.sim.AddUser(auth0sim.User{Email: "elsewhere@example.com", Connection: "other-db"})

	tests := []struct {
		name, email string
		wantID      string
		wantCode    invite.Code
	}{
		{"in the configured connection", "ann@example.com", mine.ID, ""},
		{"matched whatever the case", "Ann@Example.COM", mine.ID, ""},
		{"only in another connection", "elsewhere@example.com", "", invite.CodeNotFound},
		{"nowhere", "nobody@example.com", "", invite.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.sim.ResetCalls()
			u, err := e.id.FindUserByEmail(context.Background(), tt.email)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
			} else if err != nil {
				t.Fatal(err)
			} else if u.ID != tt.wantID || u.LoginsCount != 2 || !u.EmailVerified {
				t.Errorf("got %+v, want %s with 2 logins, verified", u, tt.wantID)
			}
			wantCalls(t, e.sim, map[string]int{"GET /api/v2/users-by-email": 1})
		})
	}
}

func TestGetUser(t *testing.T) {
	e := newEnv(t, options{})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com", LoginsCount: 4})
	got, err := e.id.GetUser(context.Background(), u.ID)
	if err != nil || got.ID != u.ID || got.LoginsCount != 4 || got.Email != "ann@example.com" {
		t.Fatalf("got %+v, %v; want %s with 4 logins", got, err, u.ID)
	}
	_, err = e.id.GetUser(context.Background(), "auth0|missing")
	if ie := wantCode(t, err, invite.CodeNotFound); !strings.Contains(ie.Message, "does not exist") {
		t.Errorf("got message %q, want Auth0's", ie.Message)
	}
	wantCalls(t, e.sim, map[string]int{"GET /api/v2/users/{id}": 2})
}

func TestAssignRoles(t *testing.T) {
	e := newEnv(t, options{})
	admins := e.sim.CreateRole("admin", "Administrators")
	viewers := e.sim.CreateRole("viewer", "Viewers")
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})

	if err := e.id.AssignRoles(context.Background(), u.ID, []string{admins.ID, viewers.ID}); err != nil {
		t.Fatalf("AssignRoles: %v", err)
	}
	if got, want := e.sim.UserRoles(u.ID), []string{admins.ID, viewers.ID}; !reflect.DeepEqual(sorted(got), sorted(want)) {
		t.Errorf("got roles %v, want %v", got, want)
	}
	err := e.id.AssignRoles(context.Background(), u.ID, []string{"rol_doesnotexist"})
	if ie := wantCode(t, err, invite.CodeNotFound); ie.Message != "The role does not exist." {
		t.Errorf("got message %q, want Auth0's %q", ie.Message, "The role does not exist.")
	}
	if err := e.id.AssignRoles(context.Background(), u.ID, nil); err != nil {
		t.Errorf("no roles: %v", err)
	}
	wantCalls(t, e.sim, map[string]int{"POST /api/v2/users/{id}/roles": 2})
}

func TestClearInvitationFlag(t *testing.T) {
	e := newEnv(t, options{})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com", AppMetadata: map[string]any{
		"needsInvitation": true, "invitationId": "inv_1", "plan": "pro",
	}})
	if err := e.id.ClearInvitationFlag(context.Background(), u.ID); err != nil {
		t.Fatalf("ClearInvitationFlag: %v", err)
	}
	got, _ := e.sim.User(u.ID)
	if want := map[string]any{"invitationId": "inv_1", "plan": "pro"}; !reflect.DeepEqual(got.AppMetadata, want) {
		t.Errorf("got app_metadata %v, want %v (needsInvitation removed)", got.AppMetadata, want)
	}
	body := e.sent.last(t, "PATCH", "/api/v2/users/")
	meta, _ := body["app_metadata"].(map[string]any)
	if v, present := meta["needsInvitation"]; !present || v != nil || len(body) != 1 || len(meta) != 1 {
		t.Errorf("sent %v, want exactly {\"app_metadata\":{\"needsInvitation\":null}}", body)
	}
	wantCalls(t, e.sim, map[string]int{"PATCH /api/v2/users/{id}": 1})

	err := e.id.ClearInvitationFlag(context.Background(), "auth0|missing")
	wantCode(t, err, invite.CodeNotFound)
}

func TestDeleteUserIfNeverLoggedIn(t *testing.T) {
	tests := []struct {
		name        string
		logins      int
		meta        map[string]any // app_metadata
		gone        bool
		wantDeleted bool
		wantCalls   map[string]int
	}{
		{"never logged in: deleted", 0, map[string]any{"invitationId": "inv_1"}, false, true,
			map[string]int{"GET /api/v2/users/{id}": 1, "DELETE /api/v2/users/{id}": 1}},
		{"logged in: kept", 3, map[string]any{"invitationId": "inv_1"}, false, false,
			map[string]int{"GET /api/v2/users/{id}": 1}},
		{"adopted by a newer invitation: kept", 0, map[string]any{"invitationId": "inv_2", "needsInvitation": true}, false, false,
			map[string]int{"GET /api/v2/users/{id}": 1}},
		{"not Doorman's: kept", 0, nil, false, false,
			map[string]int{"GET /api/v2/users/{id}": 1}},
		{"already gone", 0, nil, true, true,
			map[string]int{"GET /api/v2/users/{id}": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, options{})
			userID := "auth0|gone"
			if !tt.gone {
				userID = e.sim.AddUser(auth0sim.User{Email: "ann@example.com", LoginsCount: tt.logins, AppMetadata: tt.meta}).ID
			}
			deleted, err := e.id.DeleteUserIfNeverLoggedIn(context.Background(), userID, "inv_1")
			if err != nil || deleted != tt.wantDeleted {
				t.Fatalf("got %v, %v; want %v, nil", deleted, err, tt.wantDeleted)
			}
			if _, exists := e.sim.User(userID); exists == tt.wantDeleted {
				t.Errorf("user exists: %v, want %v", exists, !tt.wantDeleted)
			}
			// Whether the user was kept or deleted is the domain's to log, once, with
			// why; the adapter says nothing of it (nor of the email).
			if logs := e.logs.String(); logs != "" {
				t.Errorf("DeleteUserIfNeverLoggedIn logged %s; want nothing", logs)
			}
			wantCalls(t, e.sim, tt.wantCalls)
		})
	}
}

func TestAdoptUser(t *testing.T) {
	tests := []struct {
		name      string
		held      []string // role names the user holds
		adopt     []string // role names it is adopted with
		wantCalls map[string]int
	}{
		{"roles unchanged", []string{"admin"}, []string{"admin"},
			map[string]int{"GET /api/v2/users/{id}/roles": 1, "PATCH /api/v2/users/{id}": 1}},
		{"a role added", []string{"admin"}, []string{"admin", "viewer"},
			map[string]int{"GET /api/v2/users/{id}/roles": 1, "POST /api/v2/users/{id}/roles": 1, "PATCH /api/v2/users/{id}": 1}},
		{"the old invitation's role removed", []string{"admin", "viewer"}, []string{"viewer"},
			map[string]int{"GET /api/v2/users/{id}/roles": 1, "DELETE /api/v2/users/{id}/roles": 1, "PATCH /api/v2/users/{id}": 1}},
		{"roles replaced", []string{"admin"}, []string{"viewer", "viewer"},
			map[string]int{"GET /api/v2/users/{id}/roles": 1, "POST /api/v2/users/{id}/roles": 1,
				"DELETE /api/v2/users/{id}/roles": 1, "PATCH /api/v2/users/{id}": 1}},
		{"no roles left", []string{"admin", "viewer"}, nil,
			map[string]int{"GET /api/v2/users/{id}/roles": 1, "DELETE /api/v2/users/{id}/roles": 1, "PATCH /api/v2/users/{id}": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, options{})
			ids := map[string]string{}
			for _, name := range []string{"admin", "viewer"} {
				ids[name] = e.sim.CreateRole(name, "").ID
			}
			byName := func(names []string) []string {
				out := []string{}
				for _, n := range names {
					out = append(out, ids[n])
				}
				return out
			}
			u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com", Blocked: true, Roles: byName(tt.held),
				AppMetadata: map[string]any{"invitationId": "inv_1", "plan": "pro"}})
			if err := e.id.AdoptUser(context.Background(), u.ID, "inv_2", byName(tt.adopt)); err != nil {
				t.Fatalf("AdoptUser: %v", err)
			}
			got, _ := e.sim.User(u.ID)
			wantMeta := map[string]any{"invitationId": "inv_2", "needsInvitation": true, "plan": "pro"}
			if got.Blocked || !reflect.DeepEqual(got.AppMetadata, wantMeta) {
				t.Errorf("got blocked %v, app_metadata %v; want unblocked, %v", got.Blocked, got.AppMetadata, wantMeta)
			}
			if want := slices.Compact(sorted(byName(tt.adopt))); !slices.Equal(sorted(got.Roles), want) {
				t.Errorf("got roles %v, want %v", got.Roles, want)
			}
			sent := e.sent.last(t, "PATCH", "/api/v2/users/")
			if want := map[string]any{"blocked": false, "app_metadata": map[string]any{"needsInvitation": true, "invitationId": "inv_2"}}; !reflect.DeepEqual(sent, want) {
				t.Errorf("sent %v\nwant %v", sent, want)
			}
			wantCalls(t, e.sim, tt.wantCalls)
		})
	}
}

// An unknown role fails before anything changed: Auth0 assigns all roles or none.
func TestAdoptUserRefused(t *testing.T) {
	e := newEnv(t, options{})
	held := e.sim.CreateRole("admin", "")
	viewer := e.sim.CreateRole("viewer", "")
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com", Blocked: true, Roles: []string{held.ID},
		AppMetadata: map[string]any{"invitationId": "inv_1"}})
	before, _ := e.sim.User(u.ID)

	err := e.id.AdoptUser(context.Background(), u.ID, "inv_2", []string{viewer.ID, "rol_doesnotexist"})
	if ie := wantCode(t, err, invite.CodeNotFound); ie.Message != "The role does not exist." {
		t.Errorf("got message %q, want Auth0's", ie.Message)
	}
	if got, _ := e.sim.User(u.ID); !reflect.DeepEqual(got, before) {
		t.Errorf("got user %+v after a refused adoption, want it unchanged: %+v", got, before)
	}
	wantCalls(t, e.sim, map[string]int{"GET /api/v2/users/{id}/roles": 1, "POST /api/v2/users/{id}/roles": 1})

	e.sim.ResetCalls()
	err = e.id.AdoptUser(context.Background(), "auth0|missing", "inv_2", []string{viewer.ID})
	wantCode(t, err, invite.CodeNotFound)
	wantCalls(t, e.sim, map[string]int{"GET /api/v2/users/{id}/roles": 1})
}

func TestRoles(t *testing.T) {
	e := newEnv(t, options{})
	var want []invite.Role
	tests := []struct {
		name      string
		total     int
		wantPages int
	}{
		{"none", 0, 1},
		{"one", 1, 1},
		{"a full page", 100, 1},
		{"two pages", 150, 2},
		{"two full pages", 200, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := len(want); i < tt.total; i++ {
				r := e.sim.CreateRole(fmt.Sprintf("role-%03d", i), fmt.Sprintf("Role %d", i))
				want = append(want, invite.Role{ID: r.ID, Name: r.Name, Description: r.Description})
			}
			e.sim.ResetCalls()
			got, err := e.id.Roles(context.Background())
			if err != nil {
				t.Fatalf("Roles: %v", err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %d roles %v\nwant %d %v", len(got), got, len(want), want)
			}
			wantCalls(t, e.sim, map[string]int{"GET /api/v2/roles": tt.wantPages})
		})
	}
}

func TestUserRoles(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	var all []invite.Role
	for i := range 150 {
		r := e.sim.CreateRole(fmt.Sprintf("role-%03d", i), "")
		all = append(all, invite.Role{ID: r.ID, Name: r.Name})
	}
	ids := func(roles []invite.Role) []string {
		out := []string{}
		for _, r := range roles {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		name      string
		roles     []invite.Role
		wantPages int
	}{
		{"no roles", nil, 1},
		{"two roles", all[3:5], 1},
		{"150 roles", all, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com", Roles: ids(tt.roles)})
			e.sim.ResetCalls()
			got, err := e.id.UserRoles(ctx, u.ID)
			if err != nil {
				t.Fatalf("UserRoles: %v", err)
			}
			if !reflect.DeepEqual(sorted(ids(got)), sorted(ids(tt.roles))) {
				t.Errorf("got roles %v, want %v", ids(got), ids(tt.roles))
			}
			for _, r := range got {
				if r.Name == "" {
					t.Errorf("got role %+v without its name", r)
				}
			}
			wantCalls(t, e.sim, map[string]int{"GET /api/v2/users/{id}/roles": tt.wantPages})
		})
	}
	e.sim.ResetCalls()
	_, err := e.id.UserRoles(ctx, "auth0|missing")
	if ie := wantCode(t, err, invite.CodeNotFound); ie.Message != "The user does not exist." {
		t.Errorf("got message %q, want Auth0's", ie.Message)
	}
	wantCalls(t, e.sim, map[string]int{"GET /api/v2/users/{id}/roles": 1})
}

func TestBlockUser(t *testing.T) {
	e := newEnv(t, options{})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	if err := e.id.BlockUser(context.Background(), u.ID); err != nil {
		t.Fatalf("BlockUser: %v", err)
	}
	if got, _ := e.sim.User(u.ID); !got.Blocked {
		t.Error("user not blocked")
	}
	wantCalls(t, e.sim, map[string]int{"PATCH /api/v2/users/{id}": 1})
}

func TestPasswordChangeTicket(t *testing.T) {
	tests := []struct {
		name string
		req  invite.TicketRequest
		want map[string]any
	}{
		{"result URL", invite.TicketRequest{ResultURL: "https://app.example.com/welcome", ClientID: "ignored", TTL: 90 * time.Second, MarkVerified: true},
			map[string]any{"result_url": "https://app.example.com/welcome", "ttl_sec": 90.0, "mark_email_as_verified": true}},
		{"client id", invite.TicketRequest{ClientID: "spa-client", MarkVerified: true},
			map[string]any{"client_id": "spa-client", "ttl_sec": 3600.0, "mark_email_as_verified": true}},
		{"the login client by default", invite.TicketRequest{MarkVerified: true},
			map[string]any{"client_id": loginClient, "ttl_sec": 3600.0, "mark_email_as_verified": true}},
		{"not verifying the address", invite.TicketRequest{ClientID: "spa-client"},
			map[string]any{"client_id": "spa-client", "ttl_sec": 3600.0, "mark_email_as_verified": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, options{})
			u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
			tt.req.UserID = u.ID
			ticket, err := e.id.PasswordChangeTicket(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("PasswordChangeTicket: %v", err)
			}
			if !strings.HasPrefix(ticket, e.sim.BaseURL()) || !strings.Contains(ticket, "ticket=") {
				t.Errorf("got ticket URL %q", ticket)
			}
			want := map[string]any{"user_id": u.ID, "includeEmailInRedirect": false}
			for k, v := range tt.want {
				want[k] = v
			}
			if got := e.sent.last(t, "POST", "/api/v2/tickets/password-change"); !reflect.DeepEqual(got, want) {
				t.Errorf("sent %v\nwant %v", got, want)
			}
			if strings.Contains(e.logs.String(), ticket) {
				t.Error("the ticket URL was logged")
			}
			wantCalls(t, e.sim, map[string]int{"POST /api/v2/tickets/password-change": 1})
		})
	}
}

func TestOrgInvitations(t *testing.T) {
	e := newEnv(t, options{})
	org := e.sim.CreateOrganization("acme", "Acme")
	role := e.sim.CreateRole("member", "")
	conn, _ := e.sim.ConnectionByName(testConn)
	ctx := context.Background()

	created, err := e.id.CreateOrgInvitation(ctx, invite.OrgInvitationRequest{
		OrganizationID: org.ID, Email: "carol@example.com", InviterName: "Ann",
		Connection: testConn, Roles: []string{role.ID}, TTL: 48 * time.Hour,
		AppMetadata: map[string]any{"invitationId": "inv_9"},
	})
	if err != nil {
		t.Fatalf("CreateOrgInvitation: %v", err)
	}
	sent := e.sent.last(t, "POST", "/api/v2/organizations/")
	want := map[string]any{
		"inviter": map[string]any{"name": "Ann"}, "invitee": map[string]any{"email": "carol@example.com"},
		"client_id": loginClient, "connection_id": conn.ID, "ttl_sec": 172800.0,
		"roles": []any{role.ID}, "send_invitation_email": false,
		"app_metadata": map[string]any{"invitationId": "inv_9"},
	}
	if !reflect.DeepEqual(sent, want) {
		t.Errorf("sent %v\nwant %v", sent, want)
	}
	invs := e.sim.OrgInvitations(org.ID)
	if len(invs) != 1 || invs[0].ID != created.ID || invs[0].ConnectionID != conn.ID || !reflect.DeepEqual(invs[0].Roles, []string{role.ID}) {
		t.Fatalf("Auth0 holds %+v, want the created %s", invs, created.ID)
	}
	if created.URL == "" || created.Email != "carol@example.com" || created.OrganizationID != org.ID ||
		created.ExpiresAt.Sub(invs[0].ExpiresAt).Abs() > time.Second {
		t.Errorf("got %+v", created)
	}

	// A second invitation reuses the connection id looked up for the first.
	if _, err := e.id.CreateOrgInvitation(ctx, invite.OrgInvitationRequest{OrganizationID: org.ID, Email: "dan@example.com", Connection: testConn}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, e.sim, map[string]int{"POST /api/v2/organizations/{id}/invitations": 2, "GET /api/v2/connections": 1})

	e.sim.ResetCalls()
	got, err := e.id.GetOrgInvitation(ctx, org.ID, created.ID)
	if err != nil || got.ID != created.ID || got.URL != created.URL || got.Email != "carol@example.com" {
		t.Errorf("GetOrgInvitation: got %+v, %v", got, err)
	}
	if err := e.id.DeleteOrgInvitation(ctx, org.ID, created.ID); err != nil {
		t.Fatalf("DeleteOrgInvitation: %v", err)
	}
	if err := e.id.DeleteOrgInvitation(ctx, org.ID, created.ID); err != nil {
		t.Errorf("deleting it again: got %v, want nil", err)
	}
	_, err = e.id.GetOrgInvitation(ctx, org.ID, created.ID)
	wantCode(t, err, invite.CodeNotFound)
	wantCalls(t, e.sim, map[string]int{
		"GET /api/v2/organizations/{id}/invitations/{inv}":    2,
		"DELETE /api/v2/organizations/{id}/invitations/{inv}": 2,
	})
}

func TestOrgInvitationKeepsTheDoormanID(t *testing.T) {
	tests := []struct {
		name     string
		id       string
		meta     map[string]any
		wantMeta map[string]any
	}{
		{"merged with app_metadata", "inv_1", map[string]any{"plan": "pro"}, map[string]any{"plan": "pro", "invitationId": "inv_1"}},
		{"over a stale one in app_metadata", "inv_1", map[string]any{"invitationId": "old"}, map[string]any{"invitationId": "inv_1"}},
		{"without app_metadata", "inv_1", nil, map[string]any{"invitationId": "inv_1"}},
		{"none", "", map[string]any{"plan": "pro"}, map[string]any{"plan": "pro"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, options{})
			org := e.sim.CreateOrganization("acme", "Acme")
			callerMeta := maps.Clone(tt.meta)
			created, err := e.id.CreateOrgInvitation(context.Background(), invite.OrgInvitationRequest{
				OrganizationID: org.ID, Email: "carol@example.com", InvitationID: tt.id, AppMetadata: tt.meta,
			})
			if err != nil {
				t.Fatalf("CreateOrgInvitation: %v", err)
			}
			if invs := e.sim.OrgInvitations(org.ID); len(invs) != 1 || !reflect.DeepEqual(invs[0].AppMetadata, tt.wantMeta) {
				t.Errorf("Auth0 holds %+v, want app_metadata %v", invs, tt.wantMeta)
			}
			if !reflect.DeepEqual(tt.meta, callerMeta) {
				t.Errorf("the caller's app_metadata became %v, want it untouched (%v)", tt.meta, callerMeta)
			}
			got, err := e.id.GetOrgInvitation(context.Background(), org.ID, created.ID)
			if err != nil {
				t.Fatalf("GetOrgInvitation: %v", err)
			}
			if created.InvitationID != tt.id || got.InvitationID != tt.id {
				t.Errorf("got InvitationID %q on create, %q on get; want %q", created.InvitationID, got.InvitationID, tt.id)
			}
		})
	}
}

func TestFindOrgInvitations(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	m := admin(t, e.sim)
	// seed creates n invitations in org, the ones at the given positions for Ann
	// (in varying case) with invitationId "ann-<position>", the others for strangers.
	seed := func(org string, n int, ann ...int) {
		t.Helper()
		for i := range n {
			email, meta := fmt.Sprintf("u%d@example.com", i), map[string]any{"invitationId": fmt.Sprintf("other-%d", i)}
			if slices.Contains(ann, i) {
				email, meta = []string{"ann@example.com", "Ann@Example.COM"}[i%2], map[string]any{"invitationId": fmt.Sprintf("ann-%d", i)}
			}
			inv := &management.OrganizationInvitation{
				Inviter:     &management.OrganizationInvitationInviter{Name: ptr("Bo")},
				Invitee:     &management.OrganizationInvitationInvitee{Email: &email},
				ClientID:    ptr(loginClient),
				AppMetadata: meta,
			}
			if err := m.Organization.CreateInvitation(ctx, org, inv); err != nil {
				t.Fatal(err)
			}
		}
	}
	empty := e.sim.CreateOrganization("empty", "")
	small := e.sim.CreateOrganization("small", "")
	seed(small.ID, 3, 1)
	big := e.sim.CreateOrganization("big", "")
	seed(big.ID, 150, 7, 140)
	full := e.sim.CreateOrganization("full", "")
	seed(full.ID, 200, 199)

	tests := []struct {
		name, org, email string
		want             []string // InvitationIDs, in Auth0's order
		wantCode         invite.Code
		wantPages        int
	}{
		{"no invitations", empty.ID, "ann@example.com", []string{}, "", 1},
		{"one page", small.ID, "ANN@example.com", []string{"ann-1"}, "", 1},
		{"none for that email", small.ID, "carol@example.com", []string{}, "", 1},
		{"matches on both pages", big.ID, "ann@example.com", []string{"ann-7", "ann-140"}, "", 2},
		{"two full pages end with an empty one", full.ID, "ann@example.com", []string{"ann-199"}, "", 3},
		{"unknown organization", "org_nope", "ann@example.com", nil, invite.CodeNotFound, 1},
		{"no email", small.ID, " ", nil, invite.CodeInvalid, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.sim.ResetCalls()
			got, err := e.id.FindOrgInvitations(ctx, tt.org, tt.email)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
			} else if err != nil {
				t.Fatalf("FindOrgInvitations: %v", err)
			} else {
				ids := []string{}
				for _, oi := range got {
					ids = append(ids, oi.InvitationID)
					if oi.ID == "" || oi.URL == "" || oi.OrganizationID != tt.org || invite.EmailKey(oi.Email) != "ann@example.com" {
						t.Errorf("got %+v, want Ann's invitation in %s with its id and URL", oi, tt.org)
					}
				}
				if !slices.Equal(ids, tt.want) {
					t.Errorf("got invitations for %v, want %v", ids, tt.want)
				}
			}
			calls := map[string]int{}
			if tt.wantPages > 0 {
				calls["GET /api/v2/organizations/{id}/invitations"] = tt.wantPages
			}
			wantCalls(t, e.sim, calls)
		})
	}
}

// Auth0 may still list an invitation past its expiry; it can no longer be accepted.
func TestFindOrgInvitationsLeavesOutExpired(t *testing.T) {
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	e := newEnv(t, options{config: func(c *Config) { c.Now = later }}) // the Sim lags 2h
	org := e.sim.CreateOrganization("acme", "Acme")
	for _, ttl := range []time.Duration{time.Hour, 3 * time.Hour} {
		if _, err := e.id.CreateOrgInvitation(context.Background(), invite.OrgInvitationRequest{
			OrganizationID: org.ID, Email: "ann@example.com", TTL: ttl, InvitationID: ttl.String(),
		}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.id.FindOrgInvitations(context.Background(), org.ID, "ann@example.com")
	if err != nil || len(got) != 1 || got[0].InvitationID != (3*time.Hour).String() {
		t.Errorf("got %+v, %v; want only the invitation still open", got, err)
	}
}

func TestOrgInvitationErrors(t *testing.T) {
	e := newEnv(t, options{})
	org := e.sim.CreateOrganization("acme", "Acme")
	tests := []struct {
		name string
		req  invite.OrgInvitationRequest
		want invite.Code
	}{
		{"unknown organization", invite.OrgInvitationRequest{OrganizationID: "org_nope", Email: "c@example.com"}, invite.CodeNotFound},
		{"unknown connection", invite.OrgInvitationRequest{OrganizationID: org.ID, Email: "c@example.com", Connection: "nope"}, invite.CodeInvalid},
		{"unknown role", invite.OrgInvitationRequest{OrganizationID: org.ID, Email: "c@example.com", Roles: []string{"rol_nope"}}, invite.CodeInvalid},
		{"no email", invite.OrgInvitationRequest{OrganizationID: org.ID}, invite.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.id.CreateOrgInvitation(context.Background(), tt.req)
			wantCode(t, err, tt.want)
		})
	}
}

func TestOrgMember(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	org := e.sim.CreateOrganization("acme", "Acme")
	role := e.sim.CreateRole("editor", "")
	member := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	bare := e.sim.AddUser(auth0sim.User{Email: "bob@example.com"})
	outsider := e.sim.AddUser(auth0sim.User{Email: "eve@example.com"})
	m := admin(t, e.sim)
	if err := m.Organization.AddMembers(ctx, org.ID, []string{member.ID, bare.ID}); err != nil {
		t.Fatal(err)
	}
	// Auth0 keeps organization roles of a user who is not a member: they prove nothing.
	for _, uid := range []string{member.ID, outsider.ID} {
		if err := m.Organization.AssignMemberRoles(ctx, org.ID, uid, []string{role.ID}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		userID   string
		want     *invite.Member
		wantCode invite.Code
	}{
		{"member with a role", member.ID, &invite.Member{UserID: member.ID, Email: "ann@example.com", Roles: []string{role.ID}}, ""},
		{"member without roles", bare.ID, &invite.Member{UserID: bare.ID, Email: "bob@example.com", Roles: []string{}}, ""},
		{"not a member, though holding a role", outsider.ID, nil, invite.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.sim.ResetCalls()
			got, err := e.id.OrgMember(ctx, org.ID, tt.userID)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
			} else if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
			wantCalls(t, e.sim, map[string]int{"GET /api/v2/organizations/{id}/members": 1})
		})
	}
	_, err := e.id.OrgMember(ctx, "org_nope", member.ID)
	wantCode(t, err, invite.CodeNotFound)
}

func TestOrgMemberPagesThroughLargeOrganizations(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	org := e.sim.CreateOrganization("big", "Big")
	var ids []string
	for range 150 {
		ids = append(ids, e.sim.AddUser(auth0sim.User{Email: "u@example.com"}).ID)
	}
	if err := admin(t, e.sim).Organization.AddMembers(ctx, org.ID, ids); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetCalls()
	got, err := e.id.OrgMember(ctx, org.ID, ids[140])
	if err != nil || got.UserID != ids[140] {
		t.Fatalf("got %+v, %v", got, err)
	}
	wantCalls(t, e.sim, map[string]int{"GET /api/v2/organizations/{id}/members": 2})
}

func TestOrganization(t *testing.T) {
	e := newEnv(t, options{})
	org := e.sim.CreateOrganization("acme", "Acme Inc")
	got, err := e.id.Organization(context.Background(), org.ID)
	if want := (&invite.Organization{ID: org.ID, Name: "acme", DisplayName: "Acme Inc"}); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v; want %+v", got, err, want)
	}
	_, err = e.id.Organization(context.Background(), "org_nope")
	if ie := wantCode(t, err, invite.CodeNotFound); ie.Message != "No organization found by that id." {
		t.Errorf("got message %q, want Auth0's", ie.Message)
	}
	wantCalls(t, e.sim, map[string]int{"GET /api/v2/organizations/{id}": 2})
}

// go-auth0's retry transport (rehttp) retries 429s, waiting Retry-After plus 25%,
// clamped to [1s, 10s].
func TestRateLimitedTwiceThenSuccess(t *testing.T) {
	e := newEnv(t, options{})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	e.sim.InjectFault("GET", "/api/v2/users/{id}", auth0sim.Fault{Status: http.StatusTooManyRequests, Count: 2, RetryAfter: 1})
	start := time.Now()
	got, err := e.id.GetUser(context.Background(), u.ID)
	elapsed := time.Since(start)
	if err != nil || got.ID != u.ID {
		t.Fatalf("got %+v, %v; want the user after two 429s", got, err)
	}
	if elapsed < 2500*time.Millisecond {
		t.Errorf("took %v, want at least 2.5s (two Retry-After: 1 waits, padded by 25%%)", elapsed)
	}
	wantCalls(t, e.sim, map[string]int{"GET /api/v2/users/{id}": 3})
}

func TestRateLimitedForGood(t *testing.T) {
	e := newEnv(t, options{config: func(c *Config) { c.RetryMaxAttempts = 2 }})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	e.sim.InjectFault("GET", "/api/v2/users/{id}", auth0sim.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1})
	_, err := e.id.GetUser(context.Background(), u.ID)
	if ie := wantCode(t, err, invite.CodeRateLimited); ie.RetryAfter != time.Second {
		t.Errorf("got RetryAfter %v, want 1s", ie.RetryAfter)
	}
	wantCalls(t, e.sim, map[string]int{"GET /api/v2/users/{id}": 2})
}

func TestRateLimitedByTheBucket(t *testing.T) {
	// The Sim's own limiter answers with X-RateLimit-Reset and no Retry-After.
	e := newEnv(t, options{sim: auth0sim.Options{RateLimit: 0.5, Burst: 1}, config: func(c *Config) { c.RetryMaxAttempts = 1 }})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	if _, err := e.id.GetUser(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.id.GetUser(context.Background(), u.ID)
	if ie := wantCode(t, err, invite.CodeRateLimited); ie.RetryAfter <= 0 || ie.RetryAfter > 3*time.Second {
		t.Errorf("got RetryAfter %v, want the time to X-RateLimit-Reset (0..3s]", ie.RetryAfter)
	}
}

// Without Retry-After, go-auth0 waits until X-RateLimit-Reset (plus 25%, at least 1s).
func TestRateLimitResetHonoured(t *testing.T) {
	e := newEnv(t, options{sim: auth0sim.Options{RateLimit: 1, Burst: 1}})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	if _, err := e.id.GetUser(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := e.id.GetUser(context.Background(), u.ID); err != nil {
		t.Fatalf("second call: %v", err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("took %v, want the wait for the bucket (>= 1s)", took)
	}
	wantCalls(t, e.sim, map[string]int{"GET /api/v2/users/{id}": 3})
}

func TestUpstreamFailures(t *testing.T) {
	tests := []struct {
		name      string
		fault     auth0sim.Fault
		timeout   time.Duration
		wantCalls int
		maxTime   time.Duration
	}{
		{"persistent 500 is not retried", auth0sim.Fault{Status: 500}, 5 * time.Second, 1, 2 * time.Second},
		{"503", auth0sim.Fault{Status: 503}, 5 * time.Second, 1, 2 * time.Second},
		{"too slow for the deadline", auth0sim.Fault{Latency: 3 * time.Second}, 300 * time.Millisecond, 1, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, options{config: func(c *Config) { c.Timeout = tt.timeout }})
			u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
			e.sim.InjectFault("GET", "/api/v2/users/{id}", tt.fault)
			start := time.Now()
			_, err := e.id.GetUser(context.Background(), u.ID)
			wantCode(t, err, invite.CodeUpstream)
			if took := time.Since(start); took > tt.maxTime {
				t.Errorf("took %v, want under %v", took, tt.maxTime)
			}
			wantCalls(t, e.sim, map[string]int{"GET /api/v2/users/{id}": tt.wantCalls})
		})
	}
}

func TestCallerDeadlineWins(t *testing.T) {
	e := newEnv(t, options{})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	e.sim.InjectFault("GET", "/api/v2/users/{id}", auth0sim.Fault{Latency: 3 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.id.GetUser(ctx, u.ID)
	wantCode(t, err, invite.CodeUpstream)
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v, want about the caller's 200ms", took)
	}
}

func TestWrongClientSecret(t *testing.T) {
	e := newEnv(t, options{config: func(c *Config) {
		c.ClientSecret = "not-the-secret"
		c.RetryMaxAttempts = 1
	}})
	_, err := e.id.GetUser(context.Background(), "auth0|1")
	wantCode(t, err, invite.CodeUpstream)
	logs := e.logs.String()
	if !strings.Contains(logs, "refused Doorman's client credentials") || strings.Contains(logs, "not-the-secret") {
		t.Errorf("want a log line about the refused credentials, without the secret; got %s", logs)
	}
	wantCalls(t, e.sim, map[string]int{})
	// x/oauth2 tries the credentials as Basic auth, then in the form, before giving up.
	if got := e.sim.Calls("POST", "/oauth/token"); got != 2 {
		t.Errorf("got %d token requests, want 2", got)
	}
}

func TestTokenFetchedOnceAcrossCalls(t *testing.T) {
	e := newEnv(t, options{sim: auth0sim.Options{TokenTTL: time.Hour}})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	for range 20 {
		if _, err := e.id.GetUser(context.Background(), u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.sim.Calls("POST", "/oauth/token"); got != 1 {
		t.Errorf("got %d token requests over 20 calls, want 1", got)
	}
}

// x/oauth2's reuse source renews a token 10s before it expires.
func TestTokenRenewedBeforeExpiry(t *testing.T) {
	e := newEnv(t, options{sim: auth0sim.Options{TokenTTL: 11 * time.Second}})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	for range 3 {
		if _, err := e.id.GetUser(context.Background(), u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.sim.Calls("POST", "/oauth/token"); got != 1 {
		t.Fatalf("got %d token requests while fresh, want 1", got)
	}
	time.Sleep(1100 * time.Millisecond) // now within 10s of expiry
	if _, err := e.id.GetUser(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Calls("POST", "/oauth/token"); got != 2 {
		t.Errorf("got %d token requests, want 2 (renewed before expiry)", got)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := New(context.Background(), Config{Domain: "acme.eu.auth0.com", ClientID: "id"})
	if err == nil {
		t.Error("New accepted a config without secret and connection")
	}
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Under an invite.Pause, the first 429 ends the call at once (no retry waits) as
// rate_limited and pauses the unit of work: later calls under it send nothing, while
// calls outside it go on.
func TestPauseStopsAuth0WorkAfterTheFirst429(t *testing.T) {
	e := newEnv(t, options{})
	u := e.sim.AddUser(auth0sim.User{Email: "ann@example.com"})
	e.sim.InjectFault("GET", "/api/v2/users/{id}", auth0sim.Fault{Status: http.StatusTooManyRequests, Count: 1, RetryAfter: 5})
	ctx, pause := invite.WithPause(context.Background())

	start := time.Now()
	_, err := e.id.GetUser(ctx, u.ID)
	wantCode(t, err, invite.CodeRateLimited)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the paused call took %v, want it ended at the 429 (Retry-After 5s)", d)
	}
	if !pause.Paused() {
		t.Fatal("a 429 under the pause did not pause it")
	}
	_, err = e.id.FindUserByEmail(ctx, "ann@example.com")
	if ie := wantCode(t, err, invite.CodeRateLimited); ie.Message != invite.ErrPaused.Message {
		t.Errorf("got %q, want the paused error", ie.Message)
	}
	wantCalls(t, e.sim, map[string]int{"GET /api/v2/users/{id}": 1, "GET /api/v2/users-by-email": 0})

	if _, err := e.id.GetUser(context.Background(), u.ID); err != nil {
		t.Errorf("a call outside the pause: %v, want the user", err)
	}
}
