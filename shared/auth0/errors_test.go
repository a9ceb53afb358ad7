package auth0

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// replay serves a token and then one canned Management API answer, the way Auth0
// answers (bodies as in go-auth0's recordings and Auth0's endpoint docs).
func replay(t *testing.T, status int, header http.Header, body string) (*Identity, *syncBuffer) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"at","token_type":"Bearer","expires_in":86400}`))
			return
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	logs := &syncBuffer{}
	id, err := New(context.Background(), Config{
		Domain: srv.URL, ClientID: "c", ClientSecret: "s", Connection: testConn,
		RetryMaxAttempts: 1,
		Logger:           slog.New(slog.NewJSONHandler(logs, nil)),
		Now:              func() time.Time { return time.Unix(1700000000, 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return id, logs
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		header      http.Header
		body        string
		wantCode    invite.Code
		wantMessage string
		wantLog     string
		retryAfter  time.Duration
	}{
		{"400 carries Auth0's message", 400, nil,
			`{"statusCode":400,"error":"Bad Request","message":"Payload validation error: 'Object didn't pass validation for format email: ann' on property email (The user's email).","errorCode":"invalid_body"}`,
			invite.CodeInvalid, "Auth0 rejected the request: Payload validation error: 'Object didn't pass validation for format email: ann' on property email (The user's email).", "", 0},
		{"401 invalid token", 401, nil,
			`{"statusCode":401,"error":"Unauthorized","message":"Invalid token","attributes":{"error":"Invalid token"}}`,
			invite.CodeUpstream, "", `"status":401`, 0},
		{"403 names the missing scope", 403, nil,
			`{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:users","errorCode":"insufficient_scope"}`,
			invite.CodeUpstream, "", `"missing_scope":"read:users"`, 0},
		{"404", 404, nil,
			`{"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}`,
			invite.CodeNotFound, "The user does not exist.", "", 0},
		{"409", 409, nil,
			`{"statusCode":409,"error":"Conflict","message":"The user already exists.","errorCode":"auth0_idp_error"}`,
			invite.CodeConflict, "The user already exists.", "", 0},
		{"429 with Retry-After", 429, http.Header{"Retry-After": {"7"}},
			`{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`,
			invite.CodeRateLimited, "", "", 7 * time.Second},
		{"429 with X-RateLimit-Reset only", 429, http.Header{"X-Ratelimit-Reset": {"1700000012"}, "X-Ratelimit-Remaining": {"0"}},
			`{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`,
			invite.CodeRateLimited, "", "", 12 * time.Second},
		{"500", 500, nil,
			`{"statusCode":500,"error":"Internal Server Error","message":"Internal error"}`,
			invite.CodeUpstream, "Auth0 is unavailable", "", 0},
		{"502 from a proxy, not JSON", 502, nil, `<html>Bad Gateway</html>`,
			invite.CodeUpstream, "Auth0 is unavailable", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, logs := replay(t, tt.status, tt.header, tt.body)
			_, err := id.GetUser(context.Background(), "auth0|1")
			ie := wantCode(t, err, tt.wantCode)
			if tt.wantMessage != "" && ie.Message != tt.wantMessage {
				t.Errorf("got message %q, want %q", ie.Message, tt.wantMessage)
			}
			if ie.RetryAfter != tt.retryAfter {
				t.Errorf("got RetryAfter %v, want %v", ie.RetryAfter, tt.retryAfter)
			}
			if ie.Err == nil || !strings.Contains(ie.Error(), "auth0: get user") {
				t.Errorf("got %q, want the cause wrapped with the operation", ie.Error())
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("logs %s lack %s", logs.String(), tt.wantLog)
			}
		})
	}
}

func TestMissingScope(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"Insufficient scope, expected any of: create:users", "create:users"},
		{"Insufficient scope; expected any of: create:organization_invitations.", "create:organization_invitations"},
		{"Invalid token", ""},
	}
	for _, tt := range tests {
		if got := missingScope(tt.msg); got != tt.want {
			t.Errorf("missingScope(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

// fakeAuth0 answers every request in process and keeps what was asked.
type fakeAuth0 struct {
	reqs []*http.Request
	form []string
}

func (f *fakeAuth0) RoundTrip(req *http.Request) (*http.Response, error) {
	f.reqs = append(f.reqs, req)
	body := `{"user_id":"auth0|1","email":"a@example.com"}`
	if req.URL.Path == "/oauth/token" {
		_ = req.ParseForm()
		f.form = append(f.form, req.PostForm.Get("audience"))
		body = `{"access_token":"at","token_type":"Bearer","expires_in":86400}`
	}
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req,
	}, nil
}

func TestDomain(t *testing.T) {
	tests := []struct {
		domain, wantToken, wantAPI, wantAudience string
	}{
		{"acme.eu.auth0.com", "https://acme.eu.auth0.com/oauth/token", "https://acme.eu.auth0.com/api/v2/users/auth0%7C1", "https://acme.eu.auth0.com/api/v2/"},
		{"https://acme.eu.auth0.com", "https://acme.eu.auth0.com/oauth/token", "https://acme.eu.auth0.com/api/v2/users/auth0%7C1", "https://acme.eu.auth0.com/api/v2/"},
		{"http://127.0.0.1:8090", "http://127.0.0.1:8090/oauth/token", "http://127.0.0.1:8090/api/v2/users/auth0%7C1", "http://127.0.0.1:8090/api/v2/"},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			fake := &fakeAuth0{}
			ctx, cancel := context.WithCancel(context.Background())
			id, err := New(ctx, Config{Domain: tt.domain, ClientID: "c", ClientSecret: "s", Connection: testConn, HTTPClient: &http.Client{Transport: fake}})
			if err != nil {
				t.Fatal(err)
			}
			cancel() // the start-up context may end; later token fetches must not
			if _, err := id.GetUser(context.Background(), "auth0|1"); err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			var urls []string
			for _, r := range fake.reqs {
				urls = append(urls, r.URL.String())
			}
			if len(urls) != 2 || urls[0] != tt.wantToken || urls[1] != tt.wantAPI {
				t.Errorf("got requests %v, want [%s %s]", urls, tt.wantToken, tt.wantAPI)
			}
			if len(fake.form) != 1 || fake.form[0] != tt.wantAudience {
				t.Errorf("got audience %v, want %s", fake.form, tt.wantAudience)
			}
		})
	}
}

func TestUnreachableAuth0LeavesNoEmailInErrorsOrLogs(t *testing.T) {
	// The token comes; the API call's connection is cut, so the error is a
	// transport error naming the URL, whose query holds the address.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"at","token_type":"Bearer","expires_in":86400}`))
			return
		}
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}))
	t.Cleanup(srv.Close)
	base := srv.URL
	logs := &syncBuffer{}
	id, err := New(context.Background(), Config{
		Domain: base, ClientID: "c", ClientSecret: "s", Connection: testConn, RetryMaxAttempts: 1,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = id.FindUserByEmail(context.Background(), "ann@example.com")
	wantCode(t, err, invite.CodeUpstream)
	if !strings.Contains(err.Error(), "/api/v2/users-by-email") {
		t.Errorf("got %v, want the failed request named", err)
	}
	for _, s := range []string{err.Error(), logs.String()} {
		if strings.Contains(s, "ann") {
			t.Errorf("the address leaked: %s", s)
		}
	}
}

// TestRefusalQuotingTheAddressLeavesItOut: Auth0's 400 quotes the address it
// refused; neither the error (its text is what the domain logs as the cause), nor
// the client's message, nor a log line may carry it, while the status and Auth0's
// error code stay for the operator.
func TestRefusalQuotingTheAddressLeavesItOut(t *testing.T) {
	const addr = "ann.smith+x@example.com"
	createUser := func(id *Identity) error {
		_, err := id.CreateUser(context.Background(), invite.NewUser{Email: addr, InvitationID: "inv1"})
		return err
	}
	tests := []struct {
		name, body string
		call       func(*Identity) error
		wantCode   invite.Code
	}{
		{"create user", `{"statusCode":400,"error":"Bad Request","message":"Payload validation error: 'Object didn't pass validation for format email: ` + addr + `' on property email (The user's email).","errorCode":"invalid_body"}`,
			createUser, invite.CodeInvalid},
		{"users by email", `{"statusCode":400,"error":"Bad Request","message":"Query validation error: 'Object didn't pass validation for format email: \"` + addr + `\"' on property email.","errorCode":"invalid_query_string"}`,
			func(id *Identity) error {
				_, err := id.FindUserByEmail(context.Background(), addr)
				return err
			}, invite.CodeInvalid},
		{"conflict naming the address", `{"statusCode":409,"error":"Conflict","message":"The user ` + addr + ` already exists.","errorCode":"auth0_idp_error"}`,
			createUser, invite.CodeConflict},
		{"server error naming the address", `{"statusCode":503,"error":"Service Unavailable","message":"cannot index <` + addr + `>","errorCode":"unavailable"}`,
			createUser, invite.CodeUpstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want struct {
				Status int    `json:"statusCode"`
				Code   string `json:"errorCode"`
			}
			if err := json.Unmarshal([]byte(tt.body), &want); err != nil {
				t.Fatal(err)
			}
			id, logs := replay(t, want.Status, nil, tt.body)
			err := tt.call(id)
			ie := wantCode(t, err, tt.wantCode)
			// What the domain does with a failure: log it with its cause.
			slog.New(slog.NewJSONHandler(logs, nil)).Error("create failed", "error", err.Error(), "err", err)
			for what, s := range map[string]string{"error": err.Error(), "message": ie.Message, "logs": logs.String()} {
				if strings.Contains(s, addr) || strings.Contains(s, "ann.smith") {
					t.Errorf("%s carries the address: %s", what, s)
				}
			}
			if text := fmt.Sprintf("Auth0 answered %d %s", want.Status, want.Code); !strings.Contains(err.Error(), text) {
				t.Errorf("error %q lacks %q", err.Error(), text)
			}
			if got := status(err); got != want.Status {
				t.Errorf("status(err): got %d, want %d (go-auth0's error stays in the chain)", got, want.Status)
			}
		})
	}
}

func TestRedactAddresses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"The user does not exist.", "The user does not exist."},
		{"format email: ann@example.com' on property", "format email: [address]' on property"},
		{`"ann@@example.com", <bob@example.org>`, `"[address]", <[address]>`},
		{"format email: ann@ on property", "format email: [address] on property"},
		{"format email: ann' on property", "format email: ann' on property"},
	}
	for _, tt := range tests {
		if got := redactAddresses(tt.in); got != tt.want {
			t.Errorf("redactAddresses(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestPasswordChangeTicketBody checks the ticket request against a server that
// refuses, as Auth0 does, result_url together with client_id.
func TestPasswordChangeTicketBody(t *testing.T) {
	tests := []struct {
		name string
		req  invite.TicketRequest
		want map[string]any
	}{
		{"result URL wins over client id", invite.TicketRequest{UserID: "auth0|1", ResultURL: "https://app.example.com/welcome", ClientID: "spa", TTL: 90 * time.Second, MarkVerified: true},
			map[string]any{"user_id": "auth0|1", "result_url": "https://app.example.com/welcome", "ttl_sec": 90.0, "mark_email_as_verified": true, "includeEmailInRedirect": false}},
		{"client id", invite.TicketRequest{UserID: "auth0|1", ClientID: "spa", TTL: 1500 * time.Millisecond, MarkVerified: true},
			map[string]any{"user_id": "auth0|1", "client_id": "spa", "ttl_sec": 2.0, "mark_email_as_verified": true, "includeEmailInRedirect": false}},
		{"defaults: login client, configured TTL", invite.TicketRequest{UserID: "auth0|1", MarkVerified: true},
			map[string]any{"user_id": "auth0|1", "client_id": loginClient, "ttl_sec": 3600.0, "mark_email_as_verified": true, "includeEmailInRedirect": false}},
		{"not verifying: false is sent, not left out", invite.TicketRequest{UserID: "auth0|1"},
			map[string]any{"user_id": "auth0|1", "client_id": loginClient, "ttl_sec": 3600.0, "mark_email_as_verified": false, "includeEmailInRedirect": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Path == "/oauth/token" {
					_, _ = w.Write([]byte(`{"access_token":"at","token_type":"Bearer","expires_in":86400}`))
					return
				}
				_ = json.NewDecoder(r.Body).Decode(&got)
				if got["result_url"] != nil && got["client_id"] != nil {
					w.WriteHeader(400)
					_, _ = w.Write([]byte(`{"statusCode":400,"error":"Bad Request","message":"Payload validation error: 'The result_url and client_id parameters are mutually exclusive.'","errorCode":"invalid_body"}`))
					return
				}
				w.WriteHeader(201)
				_, _ = w.Write([]byte(`{"ticket":"https://acme.eu.auth0.com/lo/reset?ticket=Zm9vYmFy#"}`))
			}))
			t.Cleanup(srv.Close)
			logs := &syncBuffer{}
			id, err := New(context.Background(), Config{Domain: srv.URL, ClientID: "c", ClientSecret: "s",
				Connection: testConn, LoginClientID: loginClient, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			ticket, err := id.PasswordChangeTicket(context.Background(), tt.req)
			if err != nil || ticket != "https://acme.eu.auth0.com/lo/reset?ticket=Zm9vYmFy#" {
				t.Fatalf("got %q, %v", ticket, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("sent %v\nwant %v", got, tt.want)
			}
			if strings.Contains(logs.String(), "Zm9vYmFy") {
				t.Error("the ticket was logged")
			}
		})
	}
}
