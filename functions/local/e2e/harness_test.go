package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/internal/testsupport/localserve"
	"github.com/doormanhq/doorman/shared/auth0sim"
)

// The stand-in's fixed local credentials (functions/local/config.go).
const (
	simClientID     = "doorman-local-m2m"
	simClientSecret = "doorman-local-m2m-secret-for-the-stand-in-only"
	simLoginClient  = "doorman-local-app"
	simConnection   = "Username-Password-Authentication"
	chromiumPath    = "/usr/bin/chromium"
	// flowPassword is the password flow.mjs sets and signs in with, unless a person
	// brings their own.
	flowPassword = "Correct-Horse-Battery-9"
	// flowTimeout bounds one run of flow.mjs, browser start included.
	flowTimeout = 3 * time.Minute
)

// requireBrowser returns the repository root once Chromium, node and playwright-core
// are there, or skips or fails t as localaws does for the stack.
func requireBrowser(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	var missing []string
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath+" (apt-get install chromium)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "node_modules/playwright-core (npm ci)")
	}
	if len(missing) > 0 {
		msg := "the browser test needs " + strings.Join(missing, ", ")
		if localaws.Required() {
			t.Fatalf("%s, and REQUIRE_LOCAL_STACK is set", msg)
		}
		t.Skipf("skipping: %s; `make test` has them", msg)
	}
	return root
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(mod, []byte("module github.com/doormanhq/doorman\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no doorman go.mod above the test's directory")
		}
		dir = parent
	}
}

// server is a running `functions/local serve` with the stand-in's seed.
type server struct {
	base, ses, token string
	memberRole, org  string
	// app is the operator's application (APPLICATION_URL), where Continue leads an
	// invitee who already has an account.
	app      string
	m2mOnce  sync.Once
	m2mToken string
	m2mErr   error
}

// startServe builds functions/local and runs `serve` on a free port with a table of
// its own, and an application beside it, until the test ends.
func startServe(t *testing.T, root string) *server {
	t.Helper()
	var app string
	ls := localserve.StartBeside(t, root, func(base string) []string {
		app = startApplication(t, base)
		return []string{"APPLICATION_URL=" + app + "/"}
	})
	return &server{base: ls.Base, ses: ls.SES, token: ls.Token, memberRole: ls.MemberRole, org: ls.Org, app: app}
}

// invitation is the part of the API's invitation the test reads.
type invitation struct {
	ID                string `json:"id"`
	Kind              string `json:"kind"`
	Email             string `json:"email"`
	Status            string `json:"status"`
	AcceptedAt        string `json:"accepted_at"`
	Auth0UserID       string `json:"auth0_user_id"`
	Auth0InvitationID string `json:"auth0_invitation_id"`
	Delivery          struct {
		Sends  int    `json:"sends"`
		Status string `json:"status"`
	} `json:"delivery"`
	History []struct {
		Event  string `json:"event"`
		Actor  string `json:"actor"`
		Detail string `json:"detail"`
	} `json:"history"`
}

func (inv invitation) events() []string {
	var out []string
	for _, h := range inv.History {
		out = append(out, h.Event)
	}
	return out
}

func (inv invitation) detailOf(event string) string {
	for _, h := range inv.History {
		if h.Event == event {
			return h.Detail
		}
	}
	return ""
}

// invite creates an invitation through the API as the admin.
func (s *server) invite(t *testing.T, body map[string]any) invitation {
	t.Helper()
	return s.create(t, s.token, body)
}

// create creates an invitation through the API as the token's caller. Besides 201,
// it takes the 202 of a create that Auth0's rate limit (which this test's
// Management API calls share) left to the worker: the email follows all the same.
func (s *server) create(t *testing.T, token string, body map[string]any) invitation {
	t.Helper()
	var inv invitation
	status, _, raw := s.do(t, http.MethodPost, "/v1/invitations", token, body)
	if status != http.StatusCreated && status != http.StatusAccepted {
		t.Fatalf("POST /v1/invitations: status %d, want 201 or 202: %s", status, raw)
	}
	if err := json.Unmarshal(raw, &inv); err != nil {
		t.Fatalf("POST /v1/invitations: decode: %v", err)
	}
	return inv
}

func (s *server) invitation(t *testing.T, id string) invitation {
	t.Helper()
	var inv invitation
	s.call(t, http.MethodGet, "/v1/invitations/"+id, s.token, nil, http.StatusOK, &inv)
	return inv
}

// mgmt reads the stand-in's Management API as Doorman does, with an M2M token.
func (s *server) mgmt(t *testing.T, path string, want int, out any) {
	t.Helper()
	s.mgmtDo(t, http.MethodGet, path, nil, want, out)
}

// mgmtDo calls the stand-in's Management API as an operator's back end would.
func (s *server) mgmtDo(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	s.m2mOnce.Do(func() {
		resp, err := http.PostForm(s.base+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {simClientID}, "client_secret": {simClientSecret}, "audience": {s.base + "/api/v2/"}})
		if err != nil {
			s.m2mErr = err
			return
		}
		defer resp.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
			s.m2mErr = fmt.Errorf("status %d, decode: %v", resp.StatusCode, err)
			return
		}
		s.m2mToken = tok.AccessToken
	})
	if s.m2mErr != nil {
		t.Fatalf("M2M token from the stand-in: %v", s.m2mErr)
	}
	s.call(t, method, path, s.m2mToken, body, want, out)
}

// createAccount registers an account in the stand-in through the Management API, as
// an operator's sign-up would, and returns its user id.
func (s *server) createAccount(t *testing.T, email, password string, verified bool) string {
	t.Helper()
	var u struct {
		UserID string `json:"user_id"`
	}
	s.mgmtDo(t, http.MethodPost, "/api/v2/users", map[string]any{"connection": simConnection, "email": email,
		"password": password, "email_verified": verified}, http.StatusCreated, &u)
	return u.UserID
}

// userRoles returns the ids of the user's tenant roles.
func (s *server) userRoles(t *testing.T, userID string) []string {
	t.Helper()
	var roles []struct {
		ID string `json:"id"`
	}
	s.mgmt(t, "/api/v2/users/"+url.PathEscape(userID)+"/roles", http.StatusOK, &roles)
	ids := []string{}
	for _, r := range roles {
		ids = append(ids, r.ID)
	}
	return ids
}

// mintToken has the local server sign an access token for sub with these
// permissions, as Auth0 would for a user of the API.
func (s *server) mintToken(t *testing.T, sub, name string, perms ...string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"sub": sub, "name": name, "permissions": perms, "ttl_seconds": 3600})
	resp, err := http.Post(s.base+"/_local/tokens", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mint a token for %s: status %d: %s", sub, resp.StatusCode, raw)
	}
	return strings.TrimSpace(string(raw))
}

// userByEmail returns the stand-in's user id for email.
func (s *server) userByEmail(t *testing.T, email string) string {
	t.Helper()
	var users []struct {
		UserID string `json:"user_id"`
	}
	s.mgmt(t, "/api/v2/users-by-email?email="+url.QueryEscape(email), http.StatusOK, &users)
	if len(users) != 1 {
		t.Fatalf("users with email %s: got %d, want 1", email, len(users))
	}
	return users[0].UserID
}

// call sends a request with a bearer token, fails t unless the answer has status
// want, decodes its body into out (when not nil) and returns its header.
func (s *server) call(t *testing.T, method, path, token string, body any, want int, out any) http.Header {
	t.Helper()
	status, header, raw := s.do(t, method, path, token, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return header
}

// do sends a request with a bearer token and returns the answer's status, header and
// body.
func (s *server) do(t *testing.T, method, path, token string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := http.DefaultClient
	if strings.HasPrefix(path, "/api/v2/") {
		// The stand-in's Management API limits this test's reads together with
		// Doorman's calls, as a tenant does.
		c = auth0sim.PatientClient()
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, raw
}

// mailTo waits until the local SES holds n emails to the address and returns them,
// oldest first.
func (s *server) mailTo(t *testing.T, to string, n int) []localaws.Email {
	t.Helper()
	return localaws.AwaitEmailsTo(t, s.ses, to, n, 15*time.Second)
}

// linkIn returns the Doorman link in an email's text body.
func (s *server) linkIn(t *testing.T, m localaws.Email) string {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(s.base) + `/i/[A-Za-z0-9_-]+`).FindString(m.Body.Text)
	if link == "" {
		t.Fatalf("the email %q to %v has no %s/i/ link", m.Subject, m.Destination.To, s.base)
	}
	return link
}

// person is one invitee as flow.mjs sees them: the invitation id, the address, the
// emailed link, and the password they sign in with when not the flow's own.
type person struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Link     string `json:"link,omitempty"`
	Password string `json:"password,omitempty"`
}

// flowResult is what flow.mjs prints.
type flowResult struct {
	LoginToAcceptedMs  map[string]int `json:"loginToAcceptedMs"`
	RefusedToNewMailMs int            `json:"refusedToNewMailMs"`
	// LoginToNotedMs is from the squatter's login click to owner_unproven in the
	// invitation's history.
	LoginToNotedMs int      `json:"loginToNotedMs"`
	Screenshots    []string `json:"screenshots"`
	// The join scenarios: the text of the page after each request, and the heading
	// after each address was confirmed, by person.
	PageTexts map[string]string `json:"pageTexts"`
	Outcomes  map[string]string `json:"outcomes"`
}

// runFlow runs one scenario of flow.mjs with the people it names (app, org, owner,
// squatter) and returns what it printed.
func (s *server) runFlow(t *testing.T, root, scenario string, people map[string]person) flowResult {
	t.Helper()
	out := filepath.Join(root, "test-output", "e2e")
	// A failed run's screenshots must not pass for this run's.
	old, _ := filepath.Glob(filepath.Join(out, scenario+"-*.png"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	in := map[string]any{
		"base": s.base, "ses": s.ses, "token": s.token, "out": out, "loginClient": simLoginClient,
		"password": flowPassword, "application": s.app,
	}
	for role, p := range people {
		in[role] = p
	}
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "flow.mjs", scenario)
	cmd.Dir = filepath.Join(root, "functions", "local", "e2e")
	cmd.Env = append(os.Environ(), "E2E_INPUT="+string(input), "CHROMIUM="+chromiumPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("flow.mjs %s:\n%s", scenario, stderr.String())
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("flow.mjs %s did not finish within %v", scenario, flowTimeout)
	}
	if err != nil {
		t.Fatalf("flow.mjs %s: %v", scenario, err)
	}
	var res flowResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("flow.mjs %s printed %q: %v", scenario, stdout.String(), err)
	}
	return res
}

// startApplication serves the operator's application as far as an invitee sees it:
// a home page whose "Log in" sends the browser to the stand-in's /authorize, and the
// callback the stand-in sends it back to. It does not exchange the code: Doorman
// learns of the sign-in from the log stream, not from the application.
func startApplication(t *testing.T, auth0 string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		q := url.Values{"client_id": {simLoginClient}, "response_type": {"code"}, "scope": {"openid profile email"},
			"redirect_uri": {"http://" + r.Host + "/callback"}, "state": {appState}}
		appPage(w, http.StatusOK, appPageData{Message: "Sign in to use the application.", LogIn: auth0 + "/authorize?" + q.Encode()})
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get("code") == "" || q.Get("state") != appState {
			appPage(w, http.StatusBadRequest, appPageData{Message: "The sign-in did not come back with a code and this application's state."})
			return
		}
		appPage(w, http.StatusOK, appPageData{Message: "You are signed in."})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

const appState = "e2e-state"

type appPageData struct{ Message, LogIn string }

var appTmpl = template.Must(template.New("app").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>The application</title></head>
<body><h1>The application</h1><p>{{.Message}}</p>{{with .LogIn}}<p><a href="{{.}}">Log in</a></p>{{end}}</body></html>
`))

func appPage(w http.ResponseWriter, status int, d appPageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = appTmpl.Execute(w, d)
}
