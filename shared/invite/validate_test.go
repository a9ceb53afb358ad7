package invite_test

import (
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

func allowExample(u string) bool {
	return strings.HasPrefix(u, "https://app.example.com/") || strings.HasPrefix(u, "http://localhost")
}

func validRequest() invite.CreateRequest {
	return invite.CreateRequest{Email: "ann@example.com", Name: "Ann", Roles: []string{"rol_a", "rol_b"}, SendEmail: true}
}

func TestValidateCreate(t *testing.T) {
	lim := invite.Limits{RedirectAllowed: allowExample}
	bigMeta := map[string]any{"blob": strings.Repeat("x", invite.MaxMetadataSize)}
	tooManyRoles := make([]string, invite.MaxRoles+1)
	for i := range tooManyRoles {
		tooManyRoles[i] = "rol_" + strings.Repeat("r", i+1)
	}
	tests := []struct {
		name      string
		edit      func(*invite.CreateRequest)
		wantField string // "" means valid
	}{
		{"valid", func(r *invite.CreateRequest) {}, ""},
		{"email missing", func(r *invite.CreateRequest) { r.Email = "  " }, "email"},
		{"email with display name", func(r *invite.CreateRequest) { r.Email = "Ann <ann@example.com>" }, "email"},
		{"email in angle brackets", func(r *invite.CreateRequest) { r.Email = "<ann@example.com>" }, "email"},
		{"email with comment", func(r *invite.CreateRequest) { r.Email = "ann@example.com (Ann)" }, "email"},
		{"email quoted local part", func(r *invite.CreateRequest) { r.Email = `"ann smith"@example.com` }, "email"},
		{"email without at", func(r *invite.CreateRequest) { r.Email = "ann.example.com" }, "email"},
		{"email double dot", func(r *invite.CreateRequest) { r.Email = "ann..b@example.com" }, "email"},
		{"email single-label domain", func(r *invite.CreateRequest) { r.Email = "ann@localhost" }, "email"},
		{"email ip literal", func(r *invite.CreateRequest) { r.Email = "ann@[10.0.0.1]" }, "email"},
		{"email numeric tld", func(r *invite.CreateRequest) { r.Email = "ann@10.0.0.1" }, "email"},
		{"email hyphen label", func(r *invite.CreateRequest) { r.Email = "ann@-example.com" }, "email"},
		{"email CRLF injection", func(r *invite.CreateRequest) { r.Email = "ann@example.com\r\nBcc: eve@example.com" }, "email"},
		{"email unicode local part", func(r *invite.CreateRequest) { r.Email = "änn@example.com" }, "email"},
		{"email local part 65", func(r *invite.CreateRequest) { r.Email = strings.Repeat("a", 65) + "@example.com" }, "email"},
		{"email local part 64", func(r *invite.CreateRequest) { r.Email = strings.Repeat("a", 64) + "@example.com" }, ""},
		{"email 255 long", func(r *invite.CreateRequest) {
			r.Email = "a@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 59) + ".com"
		}, "email"},
		{"email IDN domain", func(r *invite.CreateRequest) { r.Email = "ann@bücher.de" }, ""},
		{"email full-width domain", func(r *invite.CreateRequest) { r.Email = "ann@ｅｘａｍｐｌｅ.com" }, ""},
		{"email domain IDNA refuses: hyphens in 3rd and 4th place", func(r *invite.CreateRequest) { r.Email = "ann@ab--cd.com" }, "email"},
		{"email domain IDNA refuses: bad Punycode", func(r *invite.CreateRequest) { r.Email = "ann@xn--zz.com" }, "email"},
		{"email domain IDNA refuses: disallowed symbol", func(r *invite.CreateRequest) { r.Email = "ann@a⒈b.com" }, "email"},
		{"email IDN domain over the limit in ASCII", func(r *invite.CreateRequest) {
			r.Email = "a@" + strings.Repeat("ü", 60) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + ".com"
		}, "email"},
		{"email trimmed", func(r *invite.CreateRequest) { r.Email = "  ann@Example.COM " }, ""},
		{"name 301", func(r *invite.CreateRequest) { r.Name = strings.Repeat("n", 301) }, "name"},
		{"name 300 runes", func(r *invite.CreateRequest) { r.Name = strings.Repeat("é", 300) }, ""},
		{"name with LF", func(r *invite.CreateRequest) { r.Name = "Ann\nBcc: x" }, "name"},
		{"name with CR", func(r *invite.CreateRequest) { r.Name = "Ann\rX" }, "name"},
		{"name with U+2028", func(r *invite.CreateRequest) { r.Name = "Ann\u2028X" }, "name"},
		{"name with U+2029", func(r *invite.CreateRequest) { r.Name = "Ann\u2029X" }, "name"},
		{"name with NUL", func(r *invite.CreateRequest) { r.Name = "Ann\x00" }, "name"},
		{"organization id malformed", func(r *invite.CreateRequest) { r.OrganizationID = "acme" }, "organization_id"},
		{"organization id valid", func(r *invite.CreateRequest) { r.OrganizationID = "org_abc123" }, ""},
		{"51 roles", func(r *invite.CreateRequest) { r.Roles = tooManyRoles }, "roles"},
		{"50 roles", func(r *invite.CreateRequest) { r.Roles = tooManyRoles[:50] }, ""},
		{"empty role", func(r *invite.CreateRequest) { r.Roles = []string{"rol_a", "rol_b", "rol_c", " "} }, "roles[3]"},
		{"duplicate role", func(r *invite.CreateRequest) { r.Roles = []string{"rol_a", "rol_a"} }, "roles[1]"},
		{"ttl below an hour", func(r *invite.CreateRequest) { r.TTL = 59 * time.Minute }, "ttl_seconds"},
		{"ttl above 30 days", func(r *invite.CreateRequest) { r.TTL = 30*24*time.Hour + time.Second }, "ttl_seconds"},
		{"ttl negative", func(r *invite.CreateRequest) { r.TTL = -time.Hour }, "ttl_seconds"},
		{"ttl one hour", func(r *invite.CreateRequest) { r.TTL = time.Hour }, ""},
		{"ttl 30 days", func(r *invite.CreateRequest) { r.TTL = 30 * 24 * time.Hour }, ""},
		{"app_metadata too big", func(r *invite.CreateRequest) { r.AppMetadata = bigMeta }, "app_metadata"},
		{"user_metadata too big", func(r *invite.CreateRequest) { r.UserMetadata = bigMeta }, "user_metadata"},
		{"app_metadata needsInvitation", func(r *invite.CreateRequest) { r.AppMetadata = map[string]any{"needsInvitation": false} }, "app_metadata"},
		{"app_metadata invitationId", func(r *invite.CreateRequest) { r.AppMetadata = map[string]any{"invitationId": "x"} }, "app_metadata"},
		{"user_metadata reserved", func(r *invite.CreateRequest) { r.UserMetadata = map[string]any{"invitationId": "x"} }, "user_metadata"},
		{"app_metadata not JSON", func(r *invite.CreateRequest) { r.AppMetadata = map[string]any{"f": func() {}} }, "app_metadata"},
		{"metadata fine", func(r *invite.CreateRequest) { r.AppMetadata = map[string]any{"plan": "pro", "n": []any{1.0}} }, ""},
		{"message 501", func(r *invite.CreateRequest) { r.Message = strings.Repeat("m", 501) }, "message"},
		{"message 500", func(r *invite.CreateRequest) { r.Message = strings.Repeat("m", 500) }, ""},
		{"message with CRLF", func(r *invite.CreateRequest) { r.Message = "hi\r\nthere" }, "message"},
		{"message with U+2028", func(r *invite.CreateRequest) { r.Message = "hi\u2028there" }, "message"},
		{"locale bad", func(r *invite.CreateRequest) { r.Locale = "english please" }, "locale"},
		{"locale one letter", func(r *invite.CreateRequest) { r.Locale = "e" }, "locale"},
		{"locale trailing dash", func(r *invite.CreateRequest) { r.Locale = "en-" }, "locale"},
		{"locale underscore", func(r *invite.CreateRequest) { r.Locale = "pt_BR" }, "locale"},
		{"locale pt-BR", func(r *invite.CreateRequest) { r.Locale = "pt-BR" }, ""},
		{"locale zh-Hant-TW", func(r *invite.CreateRequest) { r.Locale = "zh-Hant-TW" }, ""},
		{"redirect relative", func(r *invite.CreateRequest) { r.RedirectURL = "/welcome" }, "redirect_url"},
		{"redirect http", func(r *invite.CreateRequest) { r.RedirectURL = "http://app.example.com/welcome" }, "redirect_url"},
		{"redirect javascript", func(r *invite.CreateRequest) { r.RedirectURL = "javascript:alert(1)" }, "redirect_url"},
		{"redirect with credentials", func(r *invite.CreateRequest) { r.RedirectURL = "https://app.example.com@evil.example/" }, "redirect_url"},
		{"redirect not allowed", func(r *invite.CreateRequest) { r.RedirectURL = "https://evil.example/welcome" }, "redirect_url"},
		{"redirect allowed", func(r *invite.CreateRequest) { r.RedirectURL = "https://app.example.com/welcome" }, ""},
		{"redirect http localhost", func(r *invite.CreateRequest) { r.RedirectURL = "http://localhost:3000/welcome" }, ""},
		{"on_conflict bad", func(r *invite.CreateRequest) { r.OnConflict = "overwrite" }, "on_conflict"},
		{"on_conflict resend", func(r *invite.CreateRequest) { r.OnConflict = "resend" }, ""},
		{"connection with LF", func(r *invite.CreateRequest) { r.Connection = "db\n" }, "connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validRequest()
			tt.edit(&req)
			_, err := invite.ValidateCreate(req, lim)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("ValidateCreate: got %v, want no error", err)
				}
				return
			}
			e := invite.AsError(err)
			if e == nil || e.Code != invite.CodeInvalid {
				t.Fatalf("ValidateCreate: got %v, want invalid_request", err)
			}
			if e.Field != tt.wantField {
				t.Errorf("field: got %q, want %q (%v)", e.Field, tt.wantField, err)
			}
		})
	}
}

func TestValidateCreateNormalizes(t *testing.T) {
	req := validRequest()
	req.Email = "  Ann.Smith@Example.COM "
	got, err := invite.ValidateCreate(req, invite.Limits{})
	if err != nil {
		t.Fatalf("ValidateCreate: %v", err)
	}
	if got.Email != "Ann.Smith@example.com" {
		t.Errorf("email: got %q, want %q", got.Email, "Ann.Smith@example.com")
	}
	if got.TTL != invite.DefaultTTL {
		t.Errorf("ttl: got %s, want %s", got.TTL, invite.DefaultTTL)
	}
	if got.OnConflict != invite.OnConflictError {
		t.Errorf("on_conflict: got %q, want %q", got.OnConflict, invite.OnConflictError)
	}
}

func TestValidateRedirectWithoutAllowList(t *testing.T) {
	err := invite.ValidateRedirectURL("https://app.example.com/", nil)
	if got := invite.AsError(err); got == nil || got.Field != "redirect_url" {
		t.Errorf("got %v, want invalid redirect_url when no allow-list is configured", err)
	}
}

func TestSanitizeHeaderText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Acme Inc", "Acme Inc"},
		{"crlf", "Acme\r\nBcc: eve@example.com", "Acme Bcc: eve@example.com"},
		{"line separator", "Acme\u2028Corp", "Acme Corp"},
		{"tabs and runs", " Acme\t\t Corp ", "Acme Corp"},
		{"long", strings.Repeat("x", 400), strings.Repeat("x", invite.MaxNameLen)},
		// The bidi controls go too: one sanitiser for every single-line text.
		{"bidi override", "Acme\u202egnp.exe", "Acme gnp.exe"},
		{"bidi isolate", "Acme\u2066Corp\u2069", "Acme Corp"},
		{"invalid utf-8", "Acme\xffCorp", "Acme Corp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := invite.SanitizeHeaderText(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "Ann Smith", "Ann Smith"},
		{"empty", "", ""},
		{"crlf", "Ann\r\nSmith", "Ann Smith"},
		{"tabs and runs", "\tAnn   Smith  ", "Ann Smith"},
		{"nul and escape", "Ann\x00\x1b[31mSmith", "Ann [31mSmith"},
		{"line separator", "Ann\u2028Smith", "Ann Smith"},
		{"next line", "Ann\u0085Smith", "Ann Smith"},
		{"bidi override", "abc\u202efdp.exe", "abc fdp.exe"},
		{"invalid utf-8", "Ann\xffSmith", "Ann Smith"},
		{"emoji with joiner kept", "Ann 👩\u200d💻", "Ann 👩\u200d💻"},
		{"long kept", strings.Repeat("x", 400), strings.Repeat("x", 400)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := invite.OneLine(tc.in)
			if got != tc.want {
				t.Errorf("OneLine(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if strings.ContainsFunc(got, invite.BreaksLine) {
				t.Errorf("OneLine(%q) = %q keeps a character that breaks the line", tc.in, got)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"localhost.example.com", false},
		{"example.com", false},
		{"10.0.0.1", false},
		{"0.0.0.0", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := invite.IsLoopback(tt.host); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
