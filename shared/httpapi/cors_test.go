package httpapi_test

import (
	"testing"

	"github.com/doormanhq/doorman/shared/httpapi"
)

func TestCheckOrigin(t *testing.T) {
	tests := []struct {
		origin string
		ok     bool
	}{
		{"https://admin.example.com", true},
		{"https://admin.example.com:8443", true},
		{"http://localhost:5173", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:3000", true},
		{"https://xn--bcher-kva.example", true},
		{"*", false},
		{"", false},
		{"admin.example.com", false},
		{"https://admin.example.com/", false},
		{"https://admin.example.com/app", false},
		{"https://admin.example.com?", false},
		{"https://admin.example.com?a=1", false},
		{"https://admin.example.com#x", false},
		{"https://user@admin.example.com", false},
		{"https://a;b", false},
		{"https://a,b", false},
		{"http://admin.example.com", false},
		{"http://localhost.example.com", false},
		{"ftp://admin.example.com", false},
		{"data:", false},
	}
	for _, tt := range tests {
		err := httpapi.CheckOrigin(tt.origin)
		if (err == nil) != tt.ok {
			t.Errorf("CheckOrigin(%q) = %v, want ok=%v", tt.origin, err, tt.ok)
		}
	}
}
