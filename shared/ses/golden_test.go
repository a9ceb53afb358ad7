package ses

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/goldentest"
	"github.com/doormanhq/doorman/shared/invite"
)

var update = flag.Bool("update", false, "rewrite the golden emails under testdata/golden")

// goldenVariant is one combination of the optional parts of an email.
type goldenVariant struct {
	name string
	edit func(*invite.Mail)
}

// goldenVariants are every combination of the optional parts tmpl has: inviter
// name, invitee name, personal message, and the expiry (or, for the access notice,
// which never shows an expiry, the link).
func goldenVariants(tmpl invite.Template) []goldenVariant {
	type part struct {
		name string
		drop func(*invite.Mail)
	}
	parts := []part{
		{"inviter", func(m *invite.Mail) { m.InviterName = "" }},
		{"invitee", func(m *invite.Mail) { m.InviteeName = "" }},
		{"message", func(m *invite.Mail) { m.Message = "" }},
		{"expiry", func(m *invite.Mail) { m.ExpiresAt = time.Time{} }},
	}
	if tmpl == invite.TemplateAccess {
		parts[3] = part{"link", func(m *invite.Mail) { m.Link = "" }}
	}
	var out []goldenVariant
	for mask := range 1 << len(parts) {
		var name []string
		var drops []func(*invite.Mail)
		for i, p := range parts {
			if mask&(1<<i) == 0 {
				name = append(name, "+"+p.name)
			} else {
				name = append(name, "-"+p.name)
				drops = append(drops, p.drop)
			}
		}
		out = append(out, goldenVariant{strings.Join(name, " "), func(m *invite.Mail) {
			for _, drop := range drops {
				drop(m)
			}
		}})
	}
	return out
}

// goldenMail is the sample every golden variant starts from: names that need
// escaping in HTML, and a message of two paragraphs with mixed line ends.
func goldenMail(tmpl invite.Template, locale string) invite.Mail {
	m := sampleMail(tmpl, locale)
	m.InviterName = "Ann Smith & Co"
	m.Message = "Welcome aboard!\n\nSee you on Monday.\r\nBring a laptop."
	return m
}

// hostileGolden are inputs an attacker controls, rendered into every template and
// language; their golden files show how each one is escaped or neutralised.
var hostileGolden = []goldenVariant{
	{"markup in every name and the message", func(m *invite.Mail) {
		m.InviteeName = "<script>alert(1)</script>"
		m.InviterName = `"><img src=x onerror=alert(1)> 'quoted' a+b`
		m.TargetName = "</title><script>alert(2)</script>"
		m.Message = "<b>bold</b> & <a href=\"javascript:alert(3)\">click</a>\n{{.Link}} {{template \"body\" .}}"
	}},
	{"javascript link", func(m *invite.Mail) { m.Link = "javascript:alert(document.cookie)" }},
	{"mixed-case javascript link", func(m *invite.Mail) { m.Link = " JaVaScRiPt:alert(1)" }},
	{"data link", func(m *invite.Mail) { m.Link = "data:text/html,<script>alert(1)</script>" }},
	{"link with quotes, spaces and escapes", func(m *invite.Mail) {
		m.Link = `https://doorman.example.com/i/a"b c'd<e>f%41%zz%4é+&x=1#frag`
	}},
}

// renderGolden renders each variant of mail and returns them as one document.
func renderGolden(t *testing.T, base invite.Mail, variants []goldenVariant) string {
	t.Helper()
	var b strings.Builder
	for _, v := range variants {
		m := base
		v.edit(&m)
		e, err := render(m)
		if err != nil {
			t.Fatalf("render %s %s %s: %v", m.Template, m.Locale, v.name, err)
		}
		b.WriteString("===== " + v.name + "\n")
		b.WriteString("----- subject\n" + e.Subject + "\n")
		b.WriteString("----- html\n" + e.HTML + "\n")
		b.WriteString("----- text\n" + e.Text)
	}
	return b.String()
}

// TestRenderGolden keeps every email byte for byte as it is: each template in each
// language, with every combination of its optional parts.
func TestRenderGolden(t *testing.T) {
	for _, loc := range locales {
		for _, tmpl := range templates {
			t.Run(loc.lang+"/"+string(tmpl), func(t *testing.T) {
				got := renderGolden(t, goldenMail(tmpl, loc.tag), goldenVariants(tmpl))
				goldentest.Check(t, filepath.Join("testdata", "golden", loc.lang, string(tmpl)+".txt"), got, *update)
			})
		}
	}
}

// TestRenderGoldenHostile keeps the escaping of hostile input byte for byte as it is.
func TestRenderGoldenHostile(t *testing.T) {
	for _, loc := range locales {
		for _, tmpl := range templates {
			t.Run(loc.lang+"/"+string(tmpl), func(t *testing.T) {
				got := renderGolden(t, goldenMail(tmpl, loc.tag), hostileGolden)
				goldentest.Check(t, filepath.Join("testdata", "golden", "hostile", loc.lang, string(tmpl)+".txt"), got, *update)
			})
		}
	}
}
