package ses

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

var expiry = time.Date(2026, time.November, 24, 14, 30, 0, 0, time.UTC)

// locales are the tags the tests send, one per language, in the forms callers use.
var locales = []struct {
	tag, lang, expires string
}{
	{"en", "en", "24 November 2026 at 14:30 UTC"},
	{"de-CH", "de", "24. November 2026 um 14:30 UTC"},
	{"fr-FR", "fr", "24 novembre 2026 à 14:30 UTC"},
	{"es-419", "es", "24 de noviembre de 2026 a las 14:30 UTC"},
}

func sampleMail(tmpl invite.Template, locale string) invite.Mail {
	return invite.Mail{
		Template:     tmpl,
		To:           "zoe@example.com",
		Locale:       locale,
		InviteeName:  "Zoë O'Brien",
		InviterName:  "Ann Smith",
		TargetName:   "Acme Portal",
		Message:      "Welcome aboard!\nSee you on Monday.",
		Link:         "https://doorman.example.com/i/Tok3n_-abcDEF",
		ExpiresAt:    expiry,
		InvitationID: "inv_123",
	}
}

func TestRenderEveryTemplateAndLocale(t *testing.T) {
	for _, tmpl := range templates {
		for _, loc := range locales {
			t.Run(string(tmpl)+"/"+loc.tag, func(t *testing.T) {
				m := sampleMail(tmpl, loc.tag)
				got, err := render(m)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				checkSubject(t, got.Subject)
				if !strings.Contains(got.Subject, m.TargetName) {
					t.Errorf("subject %q does not name the target %q", got.Subject, m.TargetName)
				}

				htmlWants := []string{
					`<html lang="` + loc.lang + `"`,
					`href="` + m.Link + `"`,
					html.EscapeString(m.InviteeName),
					html.EscapeString(m.TargetName),
					"Welcome aboard!<br>See you on Monday.",
				}
				textWants := []string{
					m.Link, m.InviteeName, m.TargetName,
					"> Welcome aboard!\n> See you on Monday.\n",
					m.InviterName,
				}
				htmlWants = append(htmlWants, html.EscapeString(m.InviterName))
				if tmpl == invite.TemplateAccess {
					// Access does not expire: the date must not appear.
					for _, body := range []string{got.HTML, got.Text} {
						if strings.Contains(body, loc.expires) {
							t.Errorf("access_granted shows the expiry %q", loc.expires)
						}
					}
				} else {
					htmlWants = append(htmlWants, loc.expires)
					textWants = append(textWants, loc.expires)
				}
				for _, want := range htmlWants {
					if !strings.Contains(got.HTML, want) {
						t.Errorf("HTML lacks %q", want)
					}
				}
				for _, want := range textWants {
					if !strings.Contains(got.Text, want) {
						t.Errorf("text lacks %q\n%s", want, got.Text)
					}
				}
				checkNotPasswordReset(t, got)
				checkEmailHTML(t, got.HTML)
			})
		}
	}
}

// checkSubject fails t unless s is a non-empty single line without control
// characters.
func checkSubject(t *testing.T, s string) {
	t.Helper()
	if strings.TrimSpace(s) == "" {
		t.Fatalf("subject is empty")
	}
	if i := strings.IndexFunc(s, invite.BreaksLine); i >= 0 {
		t.Errorf("subject %q has a control character at %d", s, i)
	}
}

// checkNotPasswordReset fails t when an email reads like a password reset, which
// invitees rightly distrust when they did not ask for one.
func checkNotPasswordReset(t *testing.T, e email) {
	t.Helper()
	all := strings.ToLower(e.Subject + "\n" + e.HTML + "\n" + e.Text)
	for _, word := range []string{"password", "reset", "passwort", "zurücksetzen", "mot de passe", "réinitialis", "contraseña", "restablec"} {
		if strings.Contains(all, word) {
			t.Errorf("email mentions %q", word)
		}
	}
}

// checkEmailHTML fails t when the HTML uses what email clients block or strip.
func checkEmailHTML(t *testing.T, h string) {
	t.Helper()
	lower := strings.ToLower(h)
	for _, bad := range []string{"<script", "<img", "<link", "<style", "<iframe", "<form", "javascript:"} {
		if strings.Contains(lower, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	if !strings.HasPrefix(h, "<!DOCTYPE html>") || !strings.HasSuffix(h, "</html>") {
		t.Errorf("HTML is not one whole document: starts %q, ends %q", h[:min(20, len(h))], h[max(0, len(h)-20):])
	}
}

func TestRenderHostileInput(t *testing.T) {
	cases := []struct {
		name string
		edit func(*invite.Mail)
		// inHTML and inText must appear in the HTML and text bodies; notInText in neither.
		inHTML, inText, notInText []string
	}{
		{
			name:   "script tag in inviter name",
			edit:   func(m *invite.Mail) { m.InviterName = "<script>alert(1)</script>" },
			inHTML: []string{"&lt;script&gt;alert(1)&lt;/script&gt;"},
			inText: []string{"<script>alert(1)</script>"},
		},
		{
			name:   "attribute breakout in invitee name",
			edit:   func(m *invite.Mail) { m.InviteeName = `"><img src=x onerror=alert(1)>` },
			inHTML: []string{"&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"},
			inText: []string{`"><img src=x onerror=alert(1)>`},
		},
		{
			name:   "template action in message and target",
			edit:   func(m *invite.Mail) { m.Message = "{{.Link}} {{template \"body\" .}}"; m.TargetName = "Acme {{.Link}}" },
			inHTML: []string{"{{.Link}} {{template &#34;body&#34; .}}", "Acme {{.Link}}"},
			inText: []string{"> {{.Link}} {{template \"body\" .}}", "Acme {{.Link}}"},
		},
		{
			name: "CRLF header injection in names",
			edit: func(m *invite.Mail) {
				m.InviterName = "Ann\r\nBcc: evil@example.net"
				m.TargetName = "Acme\nSubject: hi"
			},
			inHTML:    []string{"Ann Bcc: evil@example.net", "Acme Subject: hi"},
			inText:    []string{"Ann Bcc: evil@example.net", "Acme Subject: hi"},
			notInText: []string{"\nBcc:", "\nSubject:", "\r"},
		},
		{
			name:      "bidi override and NUL in names",
			edit:      func(m *invite.Mail) { m.InviterName = "Ann\u202egnp.exe\x00"; m.InviteeName = "Zoë\u2028Z" },
			inHTML:    []string{"Ann gnp.exe", "Zoë Z"},
			inText:    []string{"Ann gnp.exe", "Zoë Z"},
			notInText: []string{"\u202e", "\x00", "\u2028"},
		},
		{
			name:      "forged link line in message",
			edit:      func(m *invite.Mail) { m.Message = "hi\r\nhttps://evil.example.net/i/x\rbye" },
			inHTML:    []string{"hi<br>https://evil.example.net/i/x<br>bye"},
			inText:    []string{"> hi\n> https://evil.example.net/i/x\n> bye\n"},
			notInText: []string{"\nhttps://evil.example.net"},
		},
	}
	for _, tc := range cases {
		for _, tmpl := range templates {
			for _, loc := range locales {
				t.Run(tc.name+"/"+string(tmpl)+"/"+loc.tag, func(t *testing.T) {
					m := sampleMail(tmpl, loc.tag)
					tc.edit(&m)
					got, err := render(m)
					if err != nil {
						t.Fatalf("render: %v", err)
					}
					checkSubject(t, got.Subject)
					checkEmailHTML(t, got.HTML)
					if n := strings.Count(got.HTML, `href="`); n != 2 {
						t.Errorf("HTML has %d links, want 2 (button and fallback)", n)
					}
					if strings.Contains(got.HTML, "evil.example.net/i/x\"") {
						t.Errorf("message text became a link")
					}
					for _, want := range tc.inHTML {
						if !strings.Contains(got.HTML, want) {
							t.Errorf("HTML lacks %q", want)
						}
					}
					for _, want := range tc.inText {
						if !strings.Contains(got.Text, want) {
							t.Errorf("text lacks %q\n%s", want, got.Text)
						}
					}
					for _, bad := range tc.notInText {
						if strings.Contains(got.Text, bad) || strings.Contains(got.HTML, bad) {
							t.Errorf("body contains %q", bad)
						}
					}
				})
			}
		}
	}
}

func TestRenderWithoutOptionalParts(t *testing.T) {
	wantSubject := map[invite.Template]string{
		invite.TemplateApplication:     "You're invited to Acme Portal",
		invite.TemplateExistingAccount: "You're invited to Acme Portal",
		invite.TemplateOrganization:    "You're invited to join Acme Portal",
		invite.TemplateAccess:          "You now have access to Acme Portal",
		invite.TemplateReminder:        "Reminder: your invitation to Acme Portal expires soon",
	}
	for _, tmpl := range templates {
		t.Run(string(tmpl), func(t *testing.T) {
			m := sampleMail(tmpl, "en")
			m.InviteeName, m.InviterName, m.Message = "", "", " \r\n "
			m.ExpiresAt = time.Time{}
			got, err := render(m)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if got.Subject != wantSubject[tmpl] {
				t.Errorf("subject = %q, want %q", got.Subject, wantSubject[tmpl])
			}
			if !strings.HasPrefix(got.Text, "Hello,\n") {
				t.Errorf("text starts %q, want the bare greeting", got.Text[:min(30, len(got.Text))])
			}
			for _, bad := range []string{"<blockquote", "wrote:", "valid until", " ,", "\n> "} {
				if strings.Contains(got.HTML, bad) || strings.Contains(got.Text, bad) {
					t.Errorf("email contains %q though its part is absent", bad)
				}
			}
			if strings.Contains(got.Text, "\n\n\n") {
				t.Errorf("text has a run of blank lines:\n%s", got.Text)
			}
		})
	}
}

// TestRenderAccessWithoutLink: with no application URL the access notice has no
// link to give; in every language it then shows neither a button nor a link line,
// and still says what happened.
func TestRenderAccessWithoutLink(t *testing.T) {
	// The link's lead-in in each language (the button label, and the text's line
	// before the URL).
	leadIn := map[string]string{"en": "Open Acme Portal", "de": "Acme Portal öffnen", "fr": "Ouvrir Acme Portal", "es": "Abrir Acme Portal"}
	for _, loc := range locales {
		for _, withNote := range []bool{true, false} {
			name := loc.tag + "/with note"
			if !withNote {
				name = loc.tag + "/bare"
			}
			t.Run(name, func(t *testing.T) {
				m := sampleMail(invite.TemplateAccess, loc.tag)
				m.Link = ""
				if !withNote {
					m.InviteeName, m.InviterName, m.Message = "", "", ""
				}
				got, err := render(m)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				if leadIn[loc.lang] == "" {
					t.Fatalf("no lead-in known for %s", loc.lang)
				}
				for _, bad := range []string{"<a ", "href", leadIn[loc.lang], "#ZgotmplZ"} {
					if strings.Contains(got.HTML, bad) {
						t.Errorf("HTML contains %q though there is no link", bad)
					}
				}
				for _, bad := range []string{leadIn[loc.lang], "http", "\n\n\n"} {
					if strings.Contains(got.Text, bad) {
						t.Errorf("text contains %q though there is no link:\n%s", bad, got.Text)
					}
				}
				for _, body := range []string{got.HTML, got.Text} {
					if !strings.Contains(body, html.EscapeString(m.TargetName)) {
						t.Errorf("email does not name %q", m.TargetName)
					}
				}
				if withNote && !strings.Contains(got.Text, "> Welcome aboard!") {
					t.Errorf("text lost the note:\n%s", got.Text)
				}
				checkSubject(t, got.Subject)
				checkNotPasswordReset(t, got)
				checkEmailHTML(t, got.HTML)
			})
		}
	}
}

func TestRenderUnknownTemplate(t *testing.T) {
	_, err := render(sampleMail("welcome_back", "en"))
	if got := invite.ErrorCode(err); got != invite.CodeInvalid {
		t.Fatalf("error code = %q (%v), want %q", got, err, invite.CodeInvalid)
	}
}

func TestRenderLongSubjectIsCut(t *testing.T) {
	m := sampleMail(invite.TemplateApplication, "en")
	m.InviterName = strings.Repeat("Ann ", 100)
	got, err := render(m)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if n := len([]rune(got.Subject)); n > maxSubjectRunes {
		t.Errorf("subject has %d runes, want at most %d", n, maxSubjectRunes)
	}
	if !strings.HasSuffix(got.Subject, "…") {
		t.Errorf("cut subject %q does not end with an ellipsis", got.Subject)
	}
}

func TestLanguage(t *testing.T) {
	cases := []struct{ tag, want string }{
		{"en", "en"},
		{"en-GB", "en"},
		{"de", "de"},
		{"de-CH", "de"},
		{"DE-at", "de"},
		{"fr-FR", "fr"},
		{"fr_CA.UTF-8", "fr"},
		{"es-419", "es"},
		{"es", "es"},
		{"pt-BR", "en"},
		{"deu", "en"},
		{"", "en"},
		{"  fr  ", "fr"},
		{"x-klingon", "en"},
	}
	for _, tc := range cases {
		t.Run(tc.tag, func(t *testing.T) {
			if got := language(tc.tag); got != tc.want {
				t.Errorf("language(%q) = %q, want %q", tc.tag, got, tc.want)
			}
		})
	}
}

func TestFormatExpiry(t *testing.T) {
	cest := time.FixedZone("CEST", 2*60*60)
	cases := []struct {
		name, lang string
		t          time.Time
		want       string
	}{
		{"english", "en", expiry, "24 November 2026 at 14:30 UTC"},
		{"german", "de", expiry, "24. November 2026 um 14:30 UTC"},
		{"french", "fr", expiry, "24 novembre 2026 à 14:30 UTC"},
		{"spanish", "es", expiry, "24 de noviembre de 2026 a las 14:30 UTC"},
		{"french first of month", "fr", time.Date(2026, time.August, 1, 9, 5, 0, 0, time.UTC), "1er août 2026 à 09:05 UTC"},
		{"spanish one o'clock", "es", time.Date(2026, time.March, 2, 1, 5, 0, 0, time.UTC), "2 de marzo de 2026 a la 01:05 UTC"},
		{"german umlaut month", "de", time.Date(2027, time.March, 9, 0, 0, 0, 0, time.UTC), "9. März 2027 um 00:00 UTC"},
		{"other zone is shown in UTC", "en", time.Date(2026, time.June, 1, 1, 30, 0, 0, cest), "31 May 2026 at 23:30 UTC"},
		{"unknown language is English", "pt", expiry, "24 November 2026 at 14:30 UTC"},
		{"zero time", "de", time.Time{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatExpiry(tc.lang, tc.t); got != tc.want {
				t.Errorf("formatExpiry(%q, %v) = %q, want %q", tc.lang, tc.t, got, tc.want)
			}
		})
	}
}

func TestCleanMessage(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"blank", " \r\n\t\n", nil},
		{"one line", "Hi!", []string{"Hi!"}},
		{"paragraphs kept, runs of blank lines collapsed", "\n\nHi!\r\n\r\n\r\nBye\n\n", []string{"Hi!", "", "Bye"}},
		{"lone CR is a break", "a\rb", []string{"a", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := cleanMessage(tc.in)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("cleanMessage(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestWordingPhrases: every language words every email, and its phrases name only
// the values there are and set only <strong> tags, in pairs.
func TestWordingPhrases(t *testing.T) {
	known := map[string]bool{"{inviter}": true, "{invitee}": true, "{target}": true, "{expires}": true}
	for _, lang := range languages {
		lw := wordings[lang]
		if lw == nil {
			t.Fatalf("no wording for %s", lang)
		}
		for _, tmpl := range templates {
			w, ok := lw.emails[tmpl]
			if !ok {
				t.Errorf("%s does not word %s", lang, tmpl)
				continue
			}
			phrases := map[string]string{
				"hello": lw.hello, "helloName": lw.helloName, "linkHint": lw.linkHint, "wrote": lw.wrote,
				"subject": w.subject, "subjectBy": w.subjectBy, "preheader": w.preheader, "lead": w.lead,
				"leadBy": w.leadBy, "note": w.note, "button": w.button, "linkLine": w.linkLine,
				"after": w.after, "expiry": w.expiry, "footer": w.footer,
			}
			for _, name := range []string{"hello", "helloName", "linkHint", "wrote", "subject", "preheader", "lead", "leadBy", "note", "button", "linkLine", "footer"} {
				if phrases[name] == "" {
					t.Errorf("%s/%s: %s is empty", lang, tmpl, name)
				}
			}
			for name, p := range phrases {
				rest, open := p, 0
				for {
					i := strings.IndexAny(rest, "{}<>")
					if i < 0 {
						break
					}
					end := strings.IndexAny(rest[i:], "}>")
					if end < 0 || (rest[i] != '{' && rest[i] != '<') {
						t.Errorf("%s/%s: %s has a stray %q: %q", lang, tmpl, name, rest[i], p)
						break
					}
					token := rest[i : i+end+1]
					switch {
					case token == "<strong>":
						open++
					case token == "</strong>":
						open--
					case !known[token]:
						t.Errorf("%s/%s: %s names %s: %q", lang, tmpl, name, token, p)
					}
					rest = rest[i+end+1:]
				}
				if open != 0 {
					t.Errorf("%s/%s: %s leaves <strong> unbalanced: %q", lang, tmpl, name, p)
				}
			}
			if strings.Contains(w.subject+w.subjectBy, "<") {
				t.Errorf("%s/%s: the subject has a tag", lang, tmpl)
			}
		}
	}
}

// TestRenderHostileLinkIsInert: Send refuses a link that is not https, but should one
// reach the renderer, no scheme that runs code becomes a link, and a link that breaks
// out of its attribute stays inside it, percent-encoded.
func TestRenderHostileLinkIsInert(t *testing.T) {
	cases := []struct {
		name, link, wantHref string
	}{
		{"javascript", "javascript:alert(document.cookie)", "#ZgotmplZ"},
		{"mixed-case javascript", "JaVaScRiPt:alert(1)", "#ZgotmplZ"},
		{"data", "data:text/html,<script>alert(1)</script>", "#ZgotmplZ"},
		{"vbscript", "vbscript:msgbox(1)", "#ZgotmplZ"},
		{"attribute breakout", `https://doorman.example.com/i/x" onclick="alert(1)`, "https://doorman.example.com/i/x%22%20onclick=%22alert%281%29"},
	}
	for _, tc := range cases {
		for _, tmpl := range templates {
			t.Run(tc.name+"/"+string(tmpl), func(t *testing.T) {
				m := sampleMail(tmpl, "en")
				m.Link = tc.link
				got, err := render(m)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				if n := strings.Count(got.HTML, `href="`+tc.wantHref+`"`); n != 2 {
					t.Errorf("HTML has %d links to %q, want 2:\n%s", n, tc.wantHref, got.HTML)
				}
				// The link still shows as text, escaped, under the button.
				for _, bad := range []string{"<script", `" onclick`, "href=\"javascript", "href=\"data", "href=\"vbscript"} {
					if strings.Contains(strings.ToLower(got.HTML), strings.ToLower(bad)) {
						t.Errorf("HTML holds %q", bad)
					}
				}
			})
		}
	}
}
