package auth0sim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// managementToken runs the client-credentials exchange the way go-auth0 does.
func managementToken(t *testing.T, sim *Sim) string {
	t.Helper()
	resp, body := postForm(t, sim.BaseURL()+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {sim.opts.ClientID},
		"client_secret": {sim.opts.ClientSecret}, "audience": {sim.BaseURL() + "/api/v2/"},
	}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: got status %d, want 200: %s", resp.StatusCode, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token response %s: %v", body, err)
	}
	return tok.AccessToken
}

func postForm(t *testing.T, u string, form url.Values, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, http.DefaultClient, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

// api calls the Management API with a token and returns status and decoded body.
func api(t *testing.T, sim *Sim, token, method, path string, body any) (*http.Response, map[string]any, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, sim.BaseURL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, raw := do(t, http.DefaultClient, req)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp, m, raw
}

func TestTokenExchange(t *testing.T) {
	sim := NewTestServer(t, Options{})
	basic := func(id, secret string) http.Header {
		return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}}
	}
	aud := sim.BaseURL() + "/api/v2/"
	tests := []struct {
		name       string
		form       url.Values
		header     http.Header
		json       string
		wantStatus int
		wantError  string
	}{
		{name: "form body", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"doorman-m2m"}, "client_secret": {"doorman-m2m-secret"}, "audience": {aud}}, wantStatus: 200},
		{name: "basic auth", form: url.Values{"grant_type": {"client_credentials"}, "audience": {aud}}, header: basic("doorman-m2m", "doorman-m2m-secret"), wantStatus: 200},
		{name: "json body", json: `{"grant_type":"client_credentials","client_id":"doorman-m2m","client_secret":"doorman-m2m-secret","audience":"` + aud + `"}`, wantStatus: 200},
		{name: "wrong secret in body", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"doorman-m2m"}, "client_secret": {"nope"}}, wantStatus: 401, wantError: "access_denied"},
		{name: "wrong secret in basic", form: url.Values{"grant_type": {"client_credentials"}}, header: basic("doorman-m2m", "nope"), wantStatus: 401, wantError: "access_denied"},
		{name: "unknown client", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"other"}, "client_secret": {"doorman-m2m-secret"}}, wantStatus: 401, wantError: "access_denied"},
		{name: "other audience", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"doorman-m2m"}, "client_secret": {"doorman-m2m-secret"}, "audience": {"https://elsewhere/"}}, wantStatus: 403, wantError: "access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			var body []byte
			if tt.json != "" {
				req, _ := http.NewRequest(http.MethodPost, sim.BaseURL()+"/oauth/token", strings.NewReader(tt.json))
				req.Header.Set("Content-Type", "application/json")
				resp, body = do(t, http.DefaultClient, req)
			} else {
				resp, body = postForm(t, sim.BaseURL()+"/oauth/token", tt.form, tt.header)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if tt.wantError != "" {
				if m["error"] != tt.wantError {
					t.Errorf("got error %v, want %s", m["error"], tt.wantError)
				}
				return
			}
			if m["token_type"] != "Bearer" || m["expires_in"] != float64(86400) || m["access_token"] == "" || m["scope"] == "" {
				t.Errorf("got token response %s, want Bearer, expires_in 86400, a token and a scope", body)
			}
			api, _, _ := api(t, sim, m["access_token"].(string), "GET", "/api/v2/roles", nil)
			if api.StatusCode != 200 {
				t.Errorf("got status %d with the new token, want 200", api.StatusCode)
			}
		})
	}
	if got := sim.Calls("POST", "/oauth/token"); got != len(tests) {
		t.Errorf("got %d token requests counted, want %d", got, len(tests))
	}
}

func TestManagementAPIRejectsBadTokens(t *testing.T) {
	clock := newClock()
	sim := NewTestServer(t, Options{Now: clock.Now, TokenTTL: time.Hour})
	good := managementToken(t, sim)
	userToken, err := sim.MintToken(Claims{Sub: "auth0|x"})
	if err != nil {
		t.Fatal(err)
	}
	other := New(Options{})
	other.SetBaseURL(sim.BaseURL())
	forged, err := other.MintToken(Claims{Sub: "x", Audience: sim.BaseURL() + "/api/v2/"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		advance time.Duration
		wantMsg string
	}{
		{name: "missing", token: "", wantMsg: "Missing authentication"},
		{name: "garbage", token: "abc", wantMsg: "Invalid token"},
		{name: "foreign signature", token: forged, wantMsg: "Invalid signature received for JSON Web Token validation"},
		{name: "wrong audience", token: userToken, wantMsg: "Bad audience: https://doorman.local/api"},
		{name: "expired", token: good, advance: 2 * time.Hour, wantMsg: "Expired token received for JSON Web Token validation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(tt.advance)
			resp, body, raw := api(t, sim, tt.token, "GET", "/api/v2/roles", nil)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("got status %d, want 401: %s", resp.StatusCode, raw)
			}
			if body["message"] != tt.wantMsg || body["error"] != "Unauthorized" || body["statusCode"] != float64(401) {
				t.Errorf("got body %s, want message %q", raw, tt.wantMsg)
			}
		})
	}
}

func TestMintedTokenValidatesAgainstJWKS(t *testing.T) {
	sim := NewTestServer(t, Options{})
	issuer, err := url.Parse(sim.BaseURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	provider := jwks.NewCachingProvider(issuer, time.Minute)
	v, err := validator.New(provider.KeyFunc, validator.RS256, issuer.String(), []string{"https://doorman.local/api"},
		validator.WithCustomClaims(func() validator.CustomClaims { return &customClaims{} }))
	if err != nil {
		t.Fatal(err)
	}
	token, err := sim.MintToken(Claims{Sub: "auth0|admin", Permissions: []string{"create:invitations"}, OrgID: "org_1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.ValidateToken(context.Background(), token)
	if err != nil {
		t.Fatalf("validate minted token: %v", err)
	}
	vc := got.(*validator.ValidatedClaims)
	if vc.RegisteredClaims.Subject != "auth0|admin" {
		t.Errorf("got sub %q, want auth0|admin", vc.RegisteredClaims.Subject)
	}
	cc := vc.CustomClaims.(*customClaims)
	if len(cc.Permissions) != 1 || cc.Permissions[0] != "create:invitations" || cc.OrgID != "org_1" {
		t.Errorf("got claims %+v, want permissions [create:invitations] and org_id org_1", cc)
	}
	expired, err := sim.MintToken(Claims{Sub: "auth0|admin", TTL: -time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.ValidateToken(context.Background(), expired); err == nil {
		t.Error("got an expired token accepted, want it rejected")
	}
}

type customClaims struct {
	Permissions []string `json:"permissions"`
	OrgID       string   `json:"org_id"`
}

func (c *customClaims) Validate(context.Context) error { return nil }

func TestRateLimit(t *testing.T) {
	clock := newClock()
	sim := NewTestServer(t, Options{Now: clock.Now, RateLimit: 2, Burst: 3})
	token := managementToken(t, sim)
	for i := range 3 {
		resp, _, raw := api(t, sim, token, "GET", "/api/v2/roles", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: got status %d, want 200: %s", i, resp.StatusCode, raw)
		}
		if got, want := resp.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(2-i); got != want {
			t.Errorf("request %d: got X-RateLimit-Remaining %s, want %s", i, got, want)
		}
		if got := resp.Header.Get("X-RateLimit-Limit"); got != "3" {
			t.Errorf("request %d: got X-RateLimit-Limit %s, want 3", i, got)
		}
	}
	resp, body, raw := api(t, sim, token, "GET", "/api/v2/roles", nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("got status %d after the burst, want 429: %s", resp.StatusCode, raw)
	}
	if body["message"] != "Global limit has been reached" || body["errorCode"] != "too_many_requests" || body["error"] != "Too Many Requests" {
		t.Errorf("got 429 body %s", raw)
	}
	if got := resp.Header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Errorf("got X-RateLimit-Remaining %s on 429, want 0", got)
	}
	wantReset := strconv.FormatInt(clock.Now().Add(500*time.Millisecond).Unix()+1, 10)
	if got := resp.Header.Get("X-RateLimit-Reset"); got != wantReset {
		t.Errorf("got X-RateLimit-Reset %s, want %s (when the next token is earned)", got, wantReset)
	}
	clock.Advance(500 * time.Millisecond)
	if resp, _, raw := api(t, sim, token, "GET", "/api/v2/roles", nil); resp.StatusCode != 200 {
		t.Errorf("got status %d after refill, want 200: %s", resp.StatusCode, raw)
	}
	sim.SetRateLimit(-1, 1)
	for i := range 20 {
		if resp, _, _ := api(t, sim, token, "GET", "/api/v2/roles", nil); resp.StatusCode != 200 {
			t.Fatalf("unlimited request %d: got status %d, want 200", i, resp.StatusCode)
		}
	}
	if got := sim.Calls("GET", "/api/v2/roles"); got != 25 {
		t.Errorf("got %d calls counted, want 25 (429s included)", got)
	}
	if got := sim.RateLimited(); got != 1 {
		t.Errorf("got %d requests rate limited, want 1", got)
	}
	sim.ResetCalls()
	if got := sim.RateLimited(); got != 0 {
		t.Errorf("got %d requests rate limited after ResetCalls, want 0", got)
	}
}

func TestFaults(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: -1})
	token := managementToken(t, sim)
	u := sim.AddUser(User{Email: "ann@example.com", Password: "Secret-pass-1"})
	path := "/api/v2/users/" + url.PathEscape(u.ID)

	t.Run("status with count", func(t *testing.T) {
		sim.InjectFault("GET", "/api/v2/users/{id}", Fault{Status: 503, Count: 2})
		for i := range 2 {
			resp, body, raw := api(t, sim, token, "GET", path, nil)
			if resp.StatusCode != 503 || body["error"] != "Service Unavailable" {
				t.Fatalf("call %d: got %d %s, want 503", i, resp.StatusCode, raw)
			}
		}
		if resp, _, _ := api(t, sim, token, "GET", path, nil); resp.StatusCode != 200 {
			t.Errorf("got %d after the fault's count, want 200", resp.StatusCode)
		}
	})
	t.Run("429 with retry-after on a concrete path", func(t *testing.T) {
		sim.InjectFault("GET", path, Fault{Status: 429, Count: 1, RetryAfter: 3})
		resp, body, _ := api(t, sim, token, "GET", path, nil)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || body["errorCode"] != "too_many_requests" {
			t.Errorf("got %d Retry-After %q body %v, want 429 with Retry-After 3", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if resp.Header.Get("X-RateLimit-Reset") == "" {
			t.Error("got no X-RateLimit-Reset on an injected 429")
		}
	})
	t.Run("latency", func(t *testing.T) {
		sim.InjectFault("GET", "/api/v2/users/{id}", Fault{Latency: 150 * time.Millisecond, Count: 1})
		start := time.Now()
		resp, _, _ := api(t, sim, token, "GET", path, nil)
		if elapsed := time.Since(start); elapsed < 150*time.Millisecond || resp.StatusCode != 200 {
			t.Errorf("got %d after %v, want 200 after at least 150ms", resp.StatusCode, elapsed)
		}
	})
	t.Run("drop", func(t *testing.T) {
		sim.InjectFault("GET", "/api/v2/users/{id}", Fault{Drop: true, Count: 1})
		req, _ := http.NewRequest("GET", sim.BaseURL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		// A fresh connection: Go's transport silently retries idempotent requests
		// that fail on a reused one.
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got status %d, want a dropped connection", resp.StatusCode)
		}
		var urlErr *url.Error
		if !errors.As(err, &urlErr) {
			t.Errorf("got %v, want a transport error", err)
		}
	})
	t.Run("token endpoint", func(t *testing.T) {
		sim.InjectFault("POST", "/oauth/token", Fault{Status: 500, Count: 1})
		resp, _ := postForm(t, sim.BaseURL()+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, nil)
		if resp.StatusCode != 500 {
			t.Errorf("got %d, want 500", resp.StatusCode)
		}
	})
	if got := sim.Calls("GET", "/api/v2/users/{id}"); got != 6 {
		t.Errorf("got %d calls of the route, want 6", got)
	}
	if got := sim.TotalCalls(); got != 6 {
		t.Errorf("got %d Management API calls, want 6", got)
	}
}
