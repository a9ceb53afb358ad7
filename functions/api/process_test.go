package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/doormanhq/doorman/functions/internal/lambdaharness"
	"github.com/doormanhq/doorman/functions/internal/processtest"
	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/auth0sim"
)

const (
	fixtures    = "../../events/apigw"
	simSecret   = "doorman-m2m-secret-0123456789abcdefghijklmnopqrstuvwxyz"
	loginClient = "doorman-login-client"
)

// binaries are built once per test binary, into a directory TestMain removes.
var binaries struct {
	dir   string
	mu    sync.Mutex
	built map[string]string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "doorman-api-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaries.dir, binaries.built = dir, map[string]string{}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bootstrap builds pkg (relative to this directory) as the release build does, for
// the host, once.
func bootstrap(tb testing.TB, pkg string) string {
	tb.Helper()
	binaries.mu.Lock()
	defer binaries.mu.Unlock()
	if p, ok := binaries.built[pkg]; ok {
		return p
	}
	out := filepath.Join(binaries.dir, strings.NewReplacer("/", "_", ".", "_").Replace(pkg))
	if err := os.MkdirAll(out, 0o755); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := lambdaharness.Build(ctx, ".", pkg, out)
	if err != nil {
		tb.Fatal(err)
	}
	binaries.built[pkg] = p
	return p
}

// baseEnv is a complete api configuration; Auth0 and the AWS endpoints are filled in
// by the caller.
func baseEnv() map[string]string {
	return map[string]string{
		"TABLE_NAME":                "doorman-api-test",
		"AWS_REGION":                "us-east-1",
		"AWS_ACCESS_KEY_ID":         "local",
		"AWS_SECRET_ACCESS_KEY":     "local",
		"AUTH0_DOMAIN":              "http://127.0.0.1:9",
		"AUTH0_CLIENT_ID":           "doorman-m2m",
		"AUTH0_CLIENT_SECRET":       simSecret,
		"AUTH0_CONNECTION":          "Username-Password-Authentication",
		"AUTH0_CLIENT_ID_FOR_LOGIN": loginClient,
		"MAIL_FROM":                 "Doorman <invites@example.com>",
		"PUBLIC_BASE_URL":           "https://invite.example.com",
		"CORS_ORIGINS":              "https://admin.example.com",
		"DYNAMODB_ENDPOINT":         "http://127.0.0.1:9",
		"SES_ENDPOINT":              "http://127.0.0.1:9",
		"INVITES_PER_HOUR":          "0",
		"APPLICATION_NAME":          "Acme Portal",
		"GRANTABLE_ROLES":           "member",
	}
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func startAPI(tb testing.TB, env map[string]string) *lambdaharness.Runtime {
	tb.Helper()
	rt, err := lambdaharness.Start(lambdaharness.Options{Binary: bootstrap(tb, "."), Env: envList(env), FunctionName: "doorman-api"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(rt.Stop)
	return rt
}

// event reads a fixture and applies the replacements to its raw text.
func event(tb testing.TB, name string, replace ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return []byte(strings.NewReplacer(replace...).Replace(string(b)))
}

func invoke(tb testing.TB, rt *lambdaharness.Runtime, payload []byte) events.APIGatewayV2HTTPResponse {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := rt.Invoke(ctx, payload)
	if err != nil {
		tb.Fatalf("invoke: %v\nlogs:\n%s", err, rt.Logs())
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil {
		tb.Fatalf("response %s: %v", out, err)
	}
	return res
}

func wantStatus(t *testing.T, res events.APIGatewayV2HTTPResponse, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("status: got %d, want %d; body %s", res.StatusCode, want, res.Body)
	}
}

type invitationBody struct {
	ID                string   `json:"id"`
	Kind              string   `json:"kind"`
	Email             string   `json:"email"`
	Status            string   `json:"status"`
	OrganizationID    string   `json:"organization_id"`
	Roles             []string `json:"roles"`
	Auth0UserID       string   `json:"auth0_user_id"`
	Auth0InvitationID string   `json:"auth0_invitation_id"`
	AcceptURL         string   `json:"accept_url"`
	Delivery          struct {
		Status string `json:"status"`
		Sends  int    `json:"sends"`
	} `json:"delivery"`
	History []struct {
		Event string `json:"event"`
	} `json:"history"`
}

func decode[T any](t *testing.T, res events.APIGatewayV2HTTPResponse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(res.Body), &v); err != nil {
		t.Fatalf("body %q: %v", res.Body, err)
	}
	return v
}

// TestInitFailsNamingTheSetting runs the real binary with one setting missing or
// malformed: it must stop at init, before serving, with a message naming it.
func TestInitFailsNamingTheSetting(t *testing.T) {
	tests := []struct {
		name, variable, value string
	}{
		{"missing table", "TABLE_NAME", ""},
		{"missing Auth0 secret", "AUTH0_CLIENT_SECRET", ""},
		{"malformed public base", "PUBLIC_BASE_URL", "invite.example.com"},
		{"malformed allow-list", "REDIRECT_ALLOWLIST", "https://*.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv()
			env[tt.variable] = tt.value
			rt := startAPI(t, env)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := rt.Invoke(ctx, event(t, "openapi"))
			if !errors.Is(err, lambdaharness.ErrExited) {
				t.Fatalf("got %s, %v; want the process to exit at init", out, err)
			}
			if rt.ExitErr() == nil {
				t.Error("exit status: got 0, want a failure")
			}
			if logs := rt.Logs(); !strings.Contains(logs, tt.variable+":") || !strings.Contains(logs, "init failed") {
				t.Errorf("logs: got %q, want an init failure naming %s", logs, tt.variable)
			}
			if strings.Contains(rt.Logs(), simSecret) {
				t.Error("logs contain the Auth0 client secret")
			}
		})
	}
}

// stack is a running api function against DynamoDB Local (through meter), the local
// SES and the Auth0 stand-in.
type stack struct {
	rt     *lambdaharness.Runtime
	sim    *auth0sim.Sim
	meter  *processtest.TableMeter
	ses    string
	roleID string
	orgID  string
}

// newStack starts the api function on baseEnv with the stack's endpoints, and set
// ("KEY", "value", ...) on top.
func newStack(tb testing.TB, set ...string) *stack {
	tb.Helper()
	h := processtest.NewStack(tb, "api", simSecret)
	env := baseEnv()
	for _, k := range []string{"TABLE_NAME", "DYNAMODB_ENDPOINT", "SES_ENDPOINT", "AUTH0_DOMAIN"} {
		env[k] = h.Env[k]
	}
	for i := 0; i+1 < len(set); i += 2 {
		env[set[i]] = set[i+1]
	}
	return &stack{
		rt:     startAPI(tb, env),
		sim:    h.Sim,
		meter:  h.Meter,
		ses:    h.Env["SES_ENDPOINT"],
		roleID: h.Sim.CreateRole("member", "Can use the application").ID,
		orgID:  h.Sim.CreateOrganization("acme", "Acme Corporation").ID,
	}
}

var linkRE = regexp.MustCompile(`https://invite\.example\.com/i/([A-Za-z0-9_-]+)`)

// TestEndToEnd drives the real bootstrap with the API Gateway fixtures, as API
// Gateway would, through every route.
func TestEndToEnd(t *testing.T) {
	s := newStack(t)
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	adaEmail := "ada+" + run + "@example.com"
	graceEmail := "grace+" + run + "@example.com"
	kathEmail := "katherine+" + run + "@example.com"

	var app, org, quiet invitationBody
	var token string

	t.Run("create application invitation", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "create-application", "ada.lovelace@example.com", adaEmail,
			"rol_EXAMPLEmember000", s.roleID, "4f6d2c1a-9b8e-4f3d-a2c1-0e9f8d7c6b5a", "key-"+run))
		wantStatus(t, res, http.StatusCreated)
		app = decode[invitationBody](t, res)
		if app.Kind != "application" || app.Status != "pending" || app.Email != adaEmail || app.AcceptURL != "" || app.Delivery.Status != "sent" {
			t.Errorf("got %+v, want a pending application invitation for %s, sent, without accept_url", app, adaEmail)
		}
		if got := res.Headers["X-Request-Id"]; got != "Kx3mYhcreateapEjMA=" {
			t.Errorf("X-Request-Id: got %q, want API Gateway's request id", got)
		}
		u, ok := s.sim.UserByEmail(adaEmail)
		if !ok || u.EmailVerified || u.AppMetadata["needsInvitation"] != true || u.AppMetadata["invitationId"] != app.ID {
			t.Errorf("Auth0 user: got %+v (found %v), want an unverified user flagged with invitation %s", u, ok, app.ID)
		}
		if roles := s.sim.UserRoles(u.ID); !slices.Equal(roles, []string{s.roleID}) {
			t.Errorf("Auth0 roles: got %v, want [%s]", roles, s.roleID)
		}
		mails := localaws.EmailsTo(t, s.ses, adaEmail)
		if len(mails) != 1 {
			t.Fatalf("emails to %s: got %d, want 1", adaEmail, len(mails))
		}
		m := linkRE.FindStringSubmatch(mails[0].Body.Text)
		if m == nil || !strings.Contains(mails[0].Body.HTML, m[0]) {
			t.Fatalf("email: got text %q, want the Doorman link in text and HTML", mails[0].Body.Text)
		}
		token = m[1]
	})

	t.Run("idempotent replay", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "create-application", "ada.lovelace@example.com", adaEmail,
			"rol_EXAMPLEmember000", s.roleID, "4f6d2c1a-9b8e-4f3d-a2c1-0e9f8d7c6b5a", "key-"+run))
		wantStatus(t, res, http.StatusCreated)
		if got := decode[invitationBody](t, res); got.ID != app.ID {
			t.Errorf("replay: got id %q, want %q", got.ID, app.ID)
		}
		if n := len(localaws.EmailsTo(t, s.ses, adaEmail)); n != 1 {
			t.Errorf("emails after replay: got %d, want 1", n)
		}
	})

	t.Run("create organization invitation", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "create-organization", "grace.hopper@example.com", graceEmail,
			"rol_EXAMPLEmember000", s.roleID, "org_EXAMPLEacme00000", s.orgID))
		wantStatus(t, res, http.StatusCreated)
		org = decode[invitationBody](t, res)
		if org.Kind != "organization" || org.OrganizationID != s.orgID || org.Auth0InvitationID == "" || org.Status != "pending" {
			t.Errorf("got %+v, want a pending organization invitation of %s with an Auth0 invitation", org, s.orgID)
		}
		invs := s.sim.OrgInvitations(s.orgID)
		if len(invs) != 1 || invs[0].Email != graceEmail || invs[0].ID != org.Auth0InvitationID || !slices.Equal(invs[0].Roles, []string{s.roleID}) {
			t.Errorf("Auth0 org invitations: got %+v, want one for %s with the role", invs, graceEmail)
		}
		mails := localaws.EmailsTo(t, s.ses, graceEmail)
		if len(mails) != 1 || !strings.Contains(mails[0].Body.Text, "Acme Corporation") {
			t.Errorf("emails to %s: got %+v, want one naming Acme Corporation", graceEmail, mails)
		}
	})

	t.Run("create without email, base64 body", func(t *testing.T) {
		// The body is base64: replace the address inside it.
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(event(t, "create-base64"), &ev); err != nil {
			t.Fatal(err)
		}
		ev.Body = base64Std(strings.Replace(unbase64(t, ev.Body), "katherine.johnson@example.com", kathEmail, 1))
		payload, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		res := invoke(t, s.rt, payload)
		wantStatus(t, res, http.StatusCreated)
		quiet = decode[invitationBody](t, res)
		if quiet.Email != kathEmail || !strings.HasPrefix(quiet.AcceptURL, "https://invite.example.com/i/") || quiet.Delivery.Status != "not_sent" {
			t.Errorf("got %+v, want an accept_url and no email", quiet)
		}
	})

	t.Run("list", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "list"))
		wantStatus(t, res, http.StatusOK)
		page := decode[struct {
			Invitations []invitationBody `json:"invitations"`
		}](t, res)
		var ids []string
		for _, inv := range page.Invitations {
			ids = append(ids, inv.ID)
		}
		if !slices.Contains(ids, app.ID) || !slices.Contains(ids, quiet.ID) || slices.Contains(ids, org.ID) {
			t.Errorf("list: got %v, want the application invitations %s and %s and not the organization's", ids, app.ID, quiet.ID)
		}
	})

	t.Run("get", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "get", "01KDQ5V6Y8M2N4P6R8T0W2Y4A6", app.ID))
		wantStatus(t, res, http.StatusOK)
		got := decode[invitationBody](t, res)
		if got.ID != app.ID || len(got.History) < 2 || got.History[0].Event != "created" {
			t.Errorf("get: got %+v, want %s with its history", got, app.ID)
		}
	})

	t.Run("get unknown", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "get"))
		wantStatus(t, res, http.StatusNotFound)
	})

	t.Run("resend", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "resend", "01KDQ5V6Y8M2N4P6R8T0W2Y4A6", quiet.ID))
		wantStatus(t, res, http.StatusOK)
		if got := decode[invitationBody](t, res); got.Delivery.Sends != 1 {
			t.Errorf("resend: got %d sends, want 1", got.Delivery.Sends)
		}
		if n := len(localaws.EmailsTo(t, s.ses, kathEmail)); n != 1 {
			t.Errorf("emails to %s: got %d, want 1", kathEmail, n)
		}
		// The application invitation was just emailed: a resend must wait.
		res = invoke(t, s.rt, event(t, "resend", "01KDQ5V6Y8M2N4P6R8T0W2Y4A6", app.ID))
		wantStatus(t, res, http.StatusTooManyRequests)
		if res.Headers["Retry-After"] == "" || res.Headers["Content-Type"] != "application/problem+json" {
			t.Errorf("resend too soon: got headers %v, want Retry-After and a problem", res.Headers)
		}
	})

	t.Run("ticket", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "tickets", "01KDQ5V6Y8M2N4P6R8T0W2Y4A6", app.ID))
		wantStatus(t, res, http.StatusOK)
		got := decode[invitationBody](t, res)
		if !strings.HasPrefix(got.AcceptURL, "https://invite.example.com/i/") {
			t.Errorf("ticket: got accept_url %q, want a Doorman link", got.AcceptURL)
		}
		token = strings.TrimPrefix(got.AcceptURL, "https://invite.example.com/i/")
	})

	t.Run("landing GET", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "landing-get", "q7Zr2mXw0bV9nL4kJ8hG6fD3sA1pO5iU7yT2rE9wQ0c", token))
		wantStatus(t, res, http.StatusOK)
		if !strings.HasPrefix(res.Headers["Content-Type"], "text/html") || !strings.Contains(res.Body, "Acme Portal") {
			t.Errorf("landing: got %v %.200q, want the HTML page naming the application", res.Headers, res.Body)
		}
	})

	t.Run("landing POST", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "landing-post", "q7Zr2mXw0bV9nL4kJ8hG6fD3sA1pO5iU7yT2rE9wQ0c", token))
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Headers["Location"]; !strings.HasPrefix(loc, s.sim.BaseURL()+"/") || !strings.Contains(loc, "ticket=") {
			t.Errorf("Location: got %q, want an Auth0 password-change ticket", loc)
		}
	})

	t.Run("unknown link", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "landing-get"))
		wantStatus(t, res, http.StatusNotFound)
	})

	t.Run("revoke", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "revoke", "01KDQ5V6Y8M2N4P6R8T0W2Y4A6", org.ID))
		wantStatus(t, res, http.StatusOK)
		if got := decode[invitationBody](t, res); got.Status != "revoked" {
			t.Errorf("revoke: got status %q, want revoked", got.Status)
		}
		if invs := s.sim.OrgInvitations(s.orgID); len(invs) != 0 {
			t.Errorf("Auth0 org invitations after revoke: got %+v, want none", invs)
		}
	})

	t.Run("no claims", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "no-claims"))
		wantStatus(t, res, http.StatusUnauthorized)
		if p := decode[struct{ Code string }](t, res); p.Code != "unauthorized" {
			t.Errorf("code: got %q, want unauthorized", p.Code)
		}
	})

	t.Run("openapi", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "openapi"))
		wantStatus(t, res, http.StatusOK)
		if doc := decode[struct{ OpenAPI string }](t, res); !strings.HasPrefix(doc.OpenAPI, "3.1") {
			t.Errorf("openapi: got version %q, want 3.1", doc.OpenAPI)
		}
	})

	t.Run("malformed event", func(t *testing.T) {
		res := invoke(t, s.rt, event(t, "malformed"))
		wantStatus(t, res, http.StatusBadRequest)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := s.rt.Invoke(ctx, event(t, "malformed-json"))
		var fe *lambdaharness.FunctionError
		if !errors.As(err, &fe) {
			t.Fatalf("not JSON: got %v, want a function error", err)
		}
		// The process lives on.
		wantStatus(t, invoke(t, s.rt, event(t, "openapi")), http.StatusOK)
	})

	if logs := s.rt.Logs(); strings.Contains(logs, token) || strings.Contains(logs, simSecret) {
		t.Error("the function logged a link token or the Auth0 secret")
	}
}
