package console_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/doormanhq/doorman/shared/console"
)

func TestConsolePageAndAssets(t *testing.T) {
	h, err := console.New(console.Config{Auth0Domain: "acme.eu.auth0.com", ClientID: "spa_client", Audience: "https://doorman.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	page := get("/console")
	csp := page.Header().Get("Content-Security-Policy")
	body := page.Body.String()
	if page.Code != 200 || page.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET /console: status %d Cache-Control %q, want 200 no-cache", page.Code, page.Header().Get("Cache-Control"))
	}
	for _, want := range []string{"script-src 'self';", "style-src 'self';", "connect-src 'self' https://acme.eu.auth0.com;", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).MatchString(body) || strings.Contains(body, "style=") {
		t.Errorf("the page has inline script or style:\n%s", body)
	}
	for _, want := range []string{`data-client-id="spa_client"`, `data-audience="https://doorman.example.com"`, `data-domain="acme.eu.auth0.com"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	refs := regexp.MustCompile(`(?:src|href)="(/console/assets/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) != 3 {
		t.Fatalf("the page references %d assets, want 3:\n%s", len(refs), body)
	}
	for _, ref := range refs {
		if !regexp.MustCompile(`\.[0-9a-f]{12}\.(js|css)$`).MatchString(ref[1]) {
			t.Errorf("asset %s has no content hash in its name", ref[1])
		}
		a := get(ref[1])
		if a.Code != 200 || a.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || a.Body.Len() == 0 {
			t.Errorf("GET %s: status %d Cache-Control %q, %d bytes; want 200, immutable for a year", ref[1], a.Code, a.Header().Get("Cache-Control"), a.Body.Len())
		}
	}
	plain := get("/console/assets/doorman-invitations.js")
	if plain.Code != 200 || plain.Header().Get("Cache-Control") != "public, max-age=300" || plain.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET the plain component name: status %d Cache-Control %q CORS %q, want 200, five minutes, any origin",
			plain.Code, plain.Header().Get("Cache-Control"), plain.Header().Get("Access-Control-Allow-Origin"))
	}
	if rec := get("/console/assets/nope.js"); rec.Code != 404 {
		t.Errorf("GET an unknown asset: status %d, want 404", rec.Code)
	}
}
