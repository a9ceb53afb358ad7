package auth0sim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestAuthorizationCodeWithPKCE signs in as auth0-spa-js does: /authorize with an S256
// challenge, the login form, the redirect with code and state, and the code exchange,
// which needs the verifier, the same client and redirect_uri, and works once.
func TestAuthorizationCodeWithPKCE(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: -1, Audience: "https://doorman.test/api", LoginHint: "Sign in as admin@example.com.",
		LoginPermissions: func(email string) []string {
			if email == "admin@example.com" {
				return []string{"read:invitations"}
			}
			return nil
		}})
	sim.AddUser(User{Email: "admin@example.com", Password: "Admin-pass-1", EmailVerified: true})
	const verifier = "a-verifier-of-forty-three-characters-or-more-0123"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	redirect := "http://127.0.0.1:9/console"

	// login runs /authorize and the login form, returning the code.
	login := func(t *testing.T, method string) string {
		t.Helper()
		c := browser(t)
		q := url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {redirect}, "state": {"st8"},
			"nonce": {"n0nce"}, "code_challenge": {challenge}, "code_challenge_method": {method}, "audience": {"https://doorman.test/api"},
			"scope": {"openid profile email"}}
		resp, page := get(t, c, sim.BaseURL()+"/authorize?"+q.Encode())
		if method != "S256" {
			if resp.StatusCode != 400 {
				t.Fatalf("/authorize with method %q: status %d, want 400", method, resp.StatusCode)
			}
			return ""
		}
		if !strings.Contains(page, "Sign in as admin@example.com.") {
			t.Errorf("/authorize lacks the login hint:\n%s", page)
		}
		m := regexp.MustCompile(`name="txn" value="([^"]+)"`).FindStringSubmatch(page)
		if resp.StatusCode != 200 || m == nil {
			t.Fatalf("/authorize: status %d, no txn field:\n%s", resp.StatusCode, page)
		}
		resp, page = submit(t, c, sim.BaseURL()+"/login", url.Values{"action": {"login"}, "email": {"admin@example.com"}, "password": {"Admin-pass-1"},
			"client_id": {"spa"}, "redirect_uri": {redirect}, "state": {"st8"}, "txn": {m[1]}})
		to, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 302 || err != nil || !strings.HasPrefix(to.String(), redirect+"?") || to.Query().Get("state") != "st8" {
			t.Fatalf("login: status %d Location %q, want 302 to %s with the state:\n%s", resp.StatusCode, resp.Header.Get("Location"), redirect, page)
		}
		return to.Query().Get("code")
	}
	exchange := func(code, clientID, redirectURI, verifier string) (int, map[string]any) {
		resp, body := postForm(t, sim.BaseURL()+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"client_id": {clientID}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}, nil)
		var out map[string]any
		_ = json.Unmarshal(body, &out)
		return resp.StatusCode, out
	}

	login(t, "plain")
	for _, tc := range []struct{ name, client, redirect, verifier string }{
		{"wrong verifier", "spa", redirect, verifier + "x"},
		{"another client", "other", redirect, verifier},
		{"another redirect_uri", "spa", redirect + "/x", verifier},
	} {
		if status, out := exchange(login(t, "S256"), tc.client, tc.redirect, tc.verifier); status != 403 || out["error"] != "invalid_grant" {
			t.Errorf("%s: status %d %v, want 403 invalid_grant", tc.name, status, out)
		}
	}
	code := login(t, "S256")
	status, out := exchange(code, "spa", redirect, verifier)
	if status != 200 {
		t.Fatalf("exchange: status %d %v, want 200", status, out)
	}
	claims := func(tok any) map[string]any {
		s, _ := tok.(string)
		parts := strings.Split(s, ".")
		if len(parts) != 3 {
			t.Fatalf("token %q is not a JWT", s)
		}
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	access, id := claims(out["access_token"]), claims(out["id_token"])
	if perms, _ := access["permissions"].([]any); access["aud"] != "https://doorman.test/api" || !slices.Contains(perms, any("read:invitations")) {
		t.Errorf("access token claims %v, want the audience and the admin's permissions", access)
	}
	if id["aud"] != "spa" || id["nonce"] != "n0nce" || id["email"] != "admin@example.com" || id["iss"] != sim.BaseURL()+"/" {
		t.Errorf("id token claims %v, want aud spa, the nonce, the email and the issuer", id)
	}
	if status, _ := exchange(code, "spa", redirect, verifier); status != 403 {
		t.Errorf("second exchange of a code: status %d, want 403", status)
	}
}

// TestSilentAuthorize answers prompt=none in an iframe (response_mode=web_message) as
// Auth0 does: a code for the session's user posted to the SPA's origin, or
// login_required without a session.
func TestSilentAuthorize(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: -1})
	sim.AddUser(User{Email: "admin@example.com", Password: "Admin-pass-1", EmailVerified: true})
	q := url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {"http://127.0.0.1:9/console"}, "state": {"s1"},
		"code_challenge": {"x"}, "code_challenge_method": {"S256"}, "prompt": {"none"}, "response_mode": {"web_message"}}
	c := browser(t)
	_, page := get(t, c, sim.BaseURL()+"/authorize?"+q.Encode())
	if !strings.Contains(page, `"error":"login_required"`) || !strings.Contains(page, `"http://127.0.0.1:9"`) {
		t.Errorf("without a session: %s, want login_required posted to http://127.0.0.1:9", page)
	}
	submit(t, c, sim.BaseURL()+"/login", url.Values{"action": {"login"}, "email": {"admin@example.com"}, "password": {"Admin-pass-1"}})
	_, page = get(t, c, sim.BaseURL()+"/authorize?"+q.Encode())
	if !regexp.MustCompile(`"code":"[A-Za-z0-9]{32}"`).MatchString(page) || !strings.Contains(page, `"state":"s1"`) {
		t.Errorf("with a session: %s, want a code and the state", page)
	}
}
