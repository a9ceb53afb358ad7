package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/httpapi"
)

func wantPageHeaders(t *testing.T, res response) {
	t.Helper()
	want := map[string]string{
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
		"X-Frame-Options":        "DENY",
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "style-src 'unsafe-inline'", "form-action 'self' https:", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy = %q, want %q in it", csp, d)
		}
	}
}

func TestLandingPage(t *testing.T) {
	hostile := httpapi.Claims{Sub: "auth0|mallory", Name: `<script>alert(1)</script> & "Mal"`, Permissions: allPerms}
	cases := []struct {
		name       string
		claims     httpapi.Claims
		wantTarget string
		wantName   string
	}{
		{"application", appAdmin, "Example App", "Ada Admin"},
		{"organization", acmeAdmin, "Acme Corp", "Olga Acme"},
		{"hostile inviter name is escaped", hostile, "Example App", "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Mal&#34;"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.idp.AddInviter(hostile.Sub, []string{"rol_viewer"}, nil)
			inv := f.create(tc.claims, createBody("ann@example.com", `"send_email":false`))
			res := f.do(call{Method: "GET", Path: "/i/" + token(t, inv)})
			if res.Status != http.StatusOK {
				t.Fatalf("status = %d; %s", res.Status, res.Body)
			}
			wantPageHeaders(t, res)
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			page := string(res.Body)
			wants := []string{tc.wantName, tc.wantTarget, "ann@example.com", `<html lang="en">`, `name="viewport"`,
				`<form method="post">`, `<button type="submit">Continue</button>`,
				"9 June 2025 at 09:00 UTC"}
			for _, w := range wants {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q:\n%s", w, page)
				}
			}
			for _, banned := range []string{"<script", "src=", "href=", "http://", "https://"} {
				if strings.Contains(page, banned) {
					t.Errorf("page holds %q: no scripts and no external assets", banned)
				}
			}
			// A scanner's GET mints nothing.
			if got := len(f.idp.Tickets()); got != 0 {
				t.Errorf("tickets minted by GET = %d, want 0", got)
			}
		})
	}
}

func TestContinue(t *testing.T) {
	cases := []struct {
		name       string
		claims     httpapi.Claims
		wantPrefix string
	}{
		{"application: a password-change ticket", appAdmin, "https://doorman-test.eu.auth0.com/lo/reset?ticket="},
		{"organization: the Auth0 invitation URL", acmeAdmin, "https://doorman-test.eu.auth0.com/login?"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			inv := f.create(tc.claims, createBody("ann@example.com", `"send_email":false`))
			res := f.do(call{Method: "POST", Path: "/i/" + token(t, inv)})
			if res.Status != http.StatusSeeOther {
				t.Fatalf("status = %d, want 303; %s", res.Status, res.Body)
			}
			wantPageHeaders(t, res)
			if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, tc.wantPrefix) {
				t.Errorf("Location = %q, want prefix %q", loc, tc.wantPrefix)
			}
			if strings.Contains(f.logs.String(), "ticket=") || strings.Contains(f.logs.String(), "invitation=") {
				t.Errorf("the log holds the target URL:\n%s", f.logs.String())
			}
		})
	}
}

func TestLandingEndedOrUnknown(t *testing.T) {
	f := newFixture(t)
	revoked := f.create(appAdmin, createBody("rev@example.com", `"send_email":false`))
	res := f.do(call{Method: "DELETE", Path: "/v1/invitations/" + revoked["id"].(string), Claims: claims(appAdmin)})
	if res.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	expiring := f.create(appAdmin, createBody("exp@example.com", `"send_email":false`, `"ttl_seconds":3600`))
	replaced := f.create(appAdmin, createBody("rep@example.com", `"send_email":false`))
	res = f.do(call{Method: "POST", Path: "/v1/invitations/" + replaced["id"].(string) + "/tickets", Claims: claims(appAdmin)})
	if res.Status != http.StatusOK {
		t.Fatalf("ticket: %d %s", res.Status, res.Body)
	}
	f.clock.Advance(2 * time.Hour)

	cases := []struct {
		name     string
		path     string
		status   int
		wantText []string
	}{
		{"revoked", "/i/" + token(t, revoked), http.StatusGone, []string{"withdrawn", "Ada Admin"}},
		{"expired", "/i/" + token(t, expiring), http.StatusGone, []string{"expired", "Ada Admin"}},
		{"replaced link", "/i/" + token(t, replaced), http.StatusNotFound, []string{"not valid"}},
		{"unknown token", "/i/" + strings.Repeat("A", 43), http.StatusNotFound, []string{"not valid"}},
		{"malformed token", "/i/%3Cscript%3E", http.StatusNotFound, []string{"not valid"}},
	}
	for _, tc := range cases {
		for _, method := range []string{"GET", "POST"} {
			t.Run(tc.name+" "+method, func(t *testing.T) {
				res := f.do(call{Method: method, Path: tc.path})
				if res.Status != tc.status {
					t.Fatalf("status = %d, want %d; %s", res.Status, tc.status, res.Body)
				}
				wantPageHeaders(t, res)
				for _, w := range tc.wantText {
					if !strings.Contains(string(res.Body), w) {
						t.Errorf("page lacks %q:\n%s", w, res.Body)
					}
				}
				if strings.Contains(string(res.Body), "<form") {
					t.Error("a page for a dead link offers the Continue button")
				}
			})
		}
	}
	if got := len(f.idp.Tickets()); got != 0 {
		t.Errorf("tickets minted for dead links = %d, want 0", got)
	}
}
