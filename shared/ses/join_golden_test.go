package ses

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/doormanhq/doorman/shared/goldentest"
	"github.com/doormanhq/doorman/shared/invite"
)

// joinTemplates are the join flows' emails: the verification of a requester's
// address, and the notice that a request was declined.
var joinTemplates = []invite.Template{invite.TemplateJoinVerify, invite.TemplateJoinDenied}

// TestRenderJoinGolden keeps the join flows' emails byte for byte as they are, in
// every language, with and without the requester's name and the reviewer's note, and
// with hostile input.
func TestRenderJoinGolden(t *testing.T) {
	variants := []goldenVariant{
		{"+invitee +message", func(*invite.Mail) {}},
		{"-invitee -message", func(m *invite.Mail) { m.InviteeName, m.Message = "", "" }},
	}
	for _, loc := range locales {
		for _, tmpl := range joinTemplates {
			t.Run(loc.lang+"/"+string(tmpl), func(t *testing.T) {
				base := goldenMail(tmpl, loc.tag)
				base.InviterName = ""
				if tmpl == invite.TemplateJoinDenied {
					base.Link = ""
				} else {
					base.Message = ""
				}
				got := renderGolden(t, base, append(variants, hostileGolden[0]))
				goldentest.Check(t, filepath.Join("testdata", "golden", loc.lang, string(tmpl)+".txt"), got, *update)
			})
		}
	}
}

// TestJoinEmails: the verification email carries its link and expiry; the notice of a
// declined request carries no link and no expiry, and the reviewer's note.
func TestJoinEmails(t *testing.T) {
	for _, loc := range locales {
		v := sampleMail(invite.TemplateJoinVerify, loc.tag)
		e, err := render(v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(e.Text, v.Link) || !strings.Contains(e.HTML, v.Link) {
			t.Errorf("%s: verification email lacks its link", loc.lang)
		}
		d := sampleMail(invite.TemplateJoinDenied, loc.tag)
		d.Link, d.InviterName, d.Message = "", "", "Please use your work address."
		e, err = render(d)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(e.HTML, "<a ") || strings.Contains(e.Text, "https://") {
			t.Errorf("%s: declined notice has a link:\n%s", loc.lang, e.Text)
		}
		if !strings.Contains(e.Text, "Please use your work address.") {
			t.Errorf("%s: declined notice lacks the note:\n%s", loc.lang, e.Text)
		}
	}
}
