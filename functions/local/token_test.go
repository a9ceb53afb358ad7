package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/doormanhq/doorman/shared/auth0sim"
)

// TestMintRefusesForeignHosts: a page that rebinds its DNS name to 127.0.0.1 reaches
// the mint from the developer's own browser, so from a loopback address, but names
// itself in Host; only loopback names may mint.
func TestMintRefusesForeignHosts(t *testing.T) {
	sim := auth0sim.NewTestServer(t, auth0sim.Options{})
	h := mintHandler(sim)
	cases := []struct {
		name, remote, host string
		want               int
	}{
		{"localhost", "127.0.0.1:50000", "localhost:8080", http.StatusOK},
		{"localhost without port", "127.0.0.1:50000", "localhost", http.StatusOK},
		{"LOCALHOST", "127.0.0.1:50000", "LOCALHOST:8080", http.StatusOK},
		{"127.0.0.1", "127.0.0.1:50000", "127.0.0.1:8080", http.StatusOK},
		{"[::1]", "[::1]:50000", "[::1]:8080", http.StatusOK},
		{"[::1] without port", "[::1]:50000", "[::1]", http.StatusOK},
		{"rebound name", "127.0.0.1:50000", "evil.example", http.StatusForbidden},
		{"rebound name with port", "127.0.0.1:50000", "evil.example:8080", http.StatusForbidden},
		{"localhost as a subdomain", "127.0.0.1:50000", "localhost.evil.example:8080", http.StatusForbidden},
		{"another loopback address", "127.0.0.1:50000", "127.0.0.2:8080", http.StatusForbidden},
		{"no Host", "127.0.0.1:50000", "", http.StatusForbidden},
		{"remote caller", "192.0.2.7:50000", "localhost:8080", http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tokenPath, strings.NewReader(`{"sub":"auth0|dev"}`))
			req.RemoteAddr, req.Host = tc.remote, tc.host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status: got %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tc.want)
			}
			if minted := strings.HasPrefix(rec.Body.String(), "eyJ"); minted != (tc.want == http.StatusOK) {
				t.Errorf("minted a token: got %v, want %v (%s)", minted, tc.want == http.StatusOK, rec.Body.String())
			}
		})
	}
}

func TestDialAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080",
		"localhost:8080": "localhost:8080",
		":8080":          "127.0.0.1:8080",
		"0.0.0.0:8080":   "127.0.0.1:8080",
		"[::]:8080":      "[::1]:8080",
		"[::1]:8080":     "[::1]:8080",
	} {
		if got := dialAddr(in); got != want {
			t.Errorf("dialAddr(%q): got %q, want %q", in, got, want)
		}
	}
}
