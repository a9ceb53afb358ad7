package config

import (
	"strings"
	"testing"
)

func TestAllowlist(t *testing.T) {
	al, err := ParseAllowlist("https://app.example.com, https://Portal.Example.com/welcome/ ,http://localhost:3000/cb")
	if err != nil {
		t.Fatalf("ParseAllowlist: %v", err)
	}
	tests := []struct {
		url  string
		want bool
	}{
		{"https://app.example.com", true},
		{"https://app.example.com/", true},
		{"https://app.example.com/any/path?x=1#f", true},
		{"https://APP.example.com:443/x", true},
		{"https://app.example.com:8443/x", false},
		{"http://app.example.com/x", false},
		{"https://app.example.com.evil.com/x", false},
		{"https://evil.com/https://app.example.com", false},
		{"https://user@app.example.com/x", false},
		{"https://portal.example.com/welcome", true},
		{"https://portal.example.com/welcome/", true},
		{"https://portal.example.com/welcome/step?x=1", true},
		{"https://portal.example.com/welcomex", false},
		{"https://portal.example.com/", false},
		{"https://portal.example.com/welcome/../admin", false},
		{"https://portal.example.com/welcome/%2E%2E/admin", false},
		{"https://portal.example.com/welcome\\..\\admin", false},
		// A browser reads "\\" as "/" and resolves "%2e" segments; servers may decode
		// "%2f" and "%5c" into separators. Such paths are refused wherever they lead.
		{"https://portal.example.com/welcome/x\\..\\..\\admin", false},
		{"https://portal.example.com/welcome\\step", false},
		{"https://portal.example.com/welcome/step?next=a\\b", false},
		{"https://app.example.com\\@evil.com/", false},
		{"https://portal.example.com/welcome/x%2f..%2f..%2fadmin", false},
		{"https://portal.example.com/welcome/x%2F..%2F..%2Fadmin", false},
		{"https://portal.example.com/welcome/x%5c..%5c..%5cadmin", false},
		{"https://portal.example.com/welcome/x%5C..%5Cadmin", false},
		{"https://portal.example.com/welcome/a%2fb", false},
		{"https://portal.example.com/welcome/.%2e/admin", false},
		{"https://portal.example.com/welcome/%2e./admin", false},
		{"https://portal.example.com/welcome/%2e/step", false},
		{"https://portal.example.com/welcome/%252e%252e/admin", false},
		{"https://portal.example.com/welcome/x%252f..%252fadmin", false},
		{"https://portal.example.com/welcome/x%25252F..", false},
		{"https://app.example.com/%2e%2e/x", false},
		// Plain dot segments are resolved as a browser resolves them, then compared.
		{"https://portal.example.com/welcome/a/../step", true},
		{"https://portal.example.com/welcome/./step", true},
		{"https://portal.example.com/welcome/a/..", true},
		{"https://portal.example.com/welcome/..", false},
		{"https://portal.example.com/welcome/step/../../admin", false},
		{"https://portal.example.com/welcome/../welcome/x", true},
		// Encoded characters other than separators and dots stay allowed, and "%2f"
		// or a backslash in the query or fragment of an origin entry's URL are the
		// application's business, except the backslash, which is refused anywhere.
		{"https://portal.example.com/welcome/caf%C3%A9", true},
		{"https://portal.example.com/welcome/file%2ehtml", true},
		{"https://app.example.com/x?next=%2Fhome%2F..%2Fadmin", true},
		{"https://app.example.com/x#%2f", true},
		{"http://localhost:3000/cb", true},
		{"http://localhost:3000/cb/done", true},
		{"http://localhost:3001/cb", false},
		{"/relative", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := al.Allows(tt.url); got != tt.want {
			t.Errorf("Allows(%q): got %v, want %v", tt.url, got, tt.want)
		}
	}
	if got := (Allowlist{}).Allows("https://app.example.com"); got {
		t.Errorf("zero Allowlist.Allows: got true, want false")
	}
}

func TestBrowserPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a//b", "/a//b"},
		{"/a/./b", "/a/b"},
		{"/a/../b", "/b"},
		{"/a/b/..", "/a/"},
		{"/a/b/.", "/a/b/"},
		{"/..", "/"},
		{"/../../a", "/a"},
		{`/a\..\b`, "/b"},
		{"/a/%2e%2E/b", "/b"},
		{"/a/.%2e/b", "/b"},
		{"/a/%2E./b", "/b"},
		{"/a/%2e/b", "/a/b"},
		{"/a/...", "/a/..."},
		{"/a/%2e%2e%2e", "/a/%2e%2e%2e"},
		{"/a/x%2e", "/a/x%2e"},
	}
	for _, tt := range tests {
		if got := browserPath(tt.in); got != tt.want {
			t.Errorf("browserPath(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAllowlistRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"wildcard", "https://*.example.com", "wildcard"},
		{"http remote", "http://app.example.com", "https"},
		{"relative", "/welcome", "absolute"},
		{"query", "https://app.example.com/?next=1", "query"},
		{"fragment", "https://app.example.com/#x", "fragment"},
		{"credentials", "https://u:p@app.example.com", "credentials"},
		{"dot segment", "https://app.example.com/a/../b", "segments"},
		{"ftp", "ftp://app.example.com", "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAllowlist(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseAllowlist(%q): got %v, want an error about %s", tt.in, err, tt.want)
			}
		})
	}
}
