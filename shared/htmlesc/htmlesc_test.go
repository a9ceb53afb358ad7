package htmlesc_test

import (
	"html/template"
	"strings"
	"testing"

	"github.com/doormanhq/doorman/shared/htmlesc"
)

// reference renders s the way Doorman's templates did, in element text, in a quoted
// attribute and in a quoted href, with html/template itself.
var reference = template.Must(template.New("").Parse(
	`<p>{{.}}</p>` + "\x01" + `<p title="{{.}}">` + "\x01" + `<a href="{{.}}">`))

func referenceEscapes(t testing.TB, s string) (text, attr, url string) {
	t.Helper()
	var b strings.Builder
	if err := reference.Execute(&b, s); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(b.String(), "\x01")
	return strings.TrimSuffix(strings.TrimPrefix(parts[0], "<p>"), "</p>"),
		strings.TrimSuffix(strings.TrimPrefix(parts[1], `<p title="`), `">`),
		strings.TrimSuffix(strings.TrimPrefix(parts[2], `<a href="`), `">`)
}

var samples = []string{
	"",
	"Ann Smith",
	"Zoë O'Brien",
	`<script>alert(1)</script> & "Mal" a+b`,
	`"><img src=x onerror=alert(1)>`,
	"NUL\x00byte",
	"bad \xff utf-8 \xc3",
	"\ufdd0 \ufffe noncharacters",
	"https://doorman.example.com/i/Tok3n_-abcDEF",
	`https://doorman.example.com/i/a"b c'd<e>f%41%zz%4é+&x=1#frag`,
	"https://example.com/%",
	"https://example.com/%4",
	"https://example.com/%41",
	"https://example.com/(x)?a=[1]&b=`2`{3}|4\\5^6",
	"javascript:alert(document.cookie)",
	"JaVaScRiPt:alert(1)",
	" javascript:alert(1)",
	"data:text/html,<script>alert(1)</script>",
	"vbscript:msgbox(1)",
	"mailto:ann@example.com",
	"HTTP://EXAMPLE.COM",
	"/relative/path:with-colon",
	"//evil.example.net/x",
	"?q=1#top",
	"\t\n\r\x7f",
}

// TestMatchesHTMLTemplate proves Text and URL write what html/template wrote.
func TestMatchesHTMLTemplate(t *testing.T) {
	for _, s := range samples {
		t.Run(s, func(t *testing.T) { checkAgainstReference(t, s) })
	}
}

func FuzzMatchesHTMLTemplate(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "\x01") {
			t.Skip("the reference's separator")
		}
		checkAgainstReference(t, s)
	})
}

func checkAgainstReference(t *testing.T, s string) {
	t.Helper()
	text, attr, url := referenceEscapes(t, s)
	if got := htmlesc.Text(s); got != text {
		t.Errorf("Text(%q) = %q, html/template wrote %q", s, got, text)
	}
	if got := htmlesc.Text(s); got != attr {
		t.Errorf("Text(%q) = %q, html/template wrote %q in an attribute", s, got, attr)
	}
	if got := htmlesc.URL(s); got != url {
		t.Errorf("URL(%q) = %q, html/template wrote %q", s, got, url)
	}
}

// TestHostileInputIsInert: what an attacker writes in a name or a link can neither
// open a tag, nor leave an attribute, nor become a link that runs script.
func TestHostileInputIsInert(t *testing.T) {
	cases := []string{
		"<script>alert(1)</script>",
		`" onmouseover="alert(1)`,
		`' onmouseover='alert(1)`,
		"javascript:alert(1)",
		"JAVASCRIPT:alert(1)",
		"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
	}
	for _, s := range cases {
		t.Run(s, func(t *testing.T) {
			for _, got := range []string{htmlesc.Text(s), htmlesc.URL(s)} {
				if strings.ContainsAny(got, `<>"'`) {
					t.Errorf("escaped %q still holds markup or a quote: %q", s, got)
				}
			}
			if u := htmlesc.URL(s); strings.Contains(strings.ToLower(s), ":") && u != htmlesc.Unsafe {
				t.Errorf("URL(%q) = %q, want %q", s, u, htmlesc.Unsafe)
			}
		})
	}
}
