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
