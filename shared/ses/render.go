package ses

import (
	"strings"
	"unicode/utf8"

	"github.com/doormanhq/doorman/shared/htmlesc"
	"github.com/doormanhq/doorman/shared/invite"
)

// The emails Doorman sends, in the order tests walk them.
var templates = []invite.Template{
	invite.TemplateApplication,
	invite.TemplateExistingAccount,
	invite.TemplateOrganization,
	invite.TemplateAccess,
	invite.TemplateReminder,
}

// maxSubjectRunes keeps an absurdly long name from making an absurd subject line.
const maxSubjectRunes = 200

// wording is what the emails say in one language. Its phrases hold the values they
// name in braces ({inviter}, {invitee}, {target}, {expires}) and may set a value
// or words in <strong>…</strong>: the HTML keeps the tags and escapes the values,
// the text drops the tags and writes the values as they are.
type wording struct {
	hello     string // the greeting without a name
	helloName string // the greeting with {invitee}
	linkHint  string // above the link written out under the button
	wrote     string // introduces {inviter}'s message
	emails    map[invite.Template]emailWording
}

// emailWording is what one email says.
type emailWording struct {
	subject   string
	subjectBy string // the subject when the inviter is named; "" when subject serves
	preheader string // the line inboxes show after the subject
	lead      string // what happened
	leadBy    string // what happened, saying {inviter} did it
	note      string // introduces a message from nobody named
	button    string
	linkLine  string // introduces the link in the text body
	after     string // what to expect after following the link; "" for nothing
	expiry    string // until when the link is valid ({expires}); "" for never
	// expiryInLead puts expiry at the end of the lead paragraph rather than in a
	// paragraph of its own.
	expiryInLead bool
	footer       string // why the invitee got this email
}

// wordings are the emails' wording in each language, by language code.
var wordings = map[string]*wording{"en": &english, "de": &german, "fr": &french, "es": &spanish}

// view is what an email shows. Every string in it was cleaned of control
// characters; the HTML escapes them again.
type view struct {
	Lang         string
	InviteeName  string
	InviterName  string
	TargetName   string
	Link         string
	Expires      string // formatted in Lang, in UTC; "" when there is no expiry
	MessageLines []string
}

// email is one rendered email.
type email struct {
	Subject string
	HTML    string
	Text    string
}

// render renders m in its language. An unknown template is invalid_request.
func render(m invite.Mail) (email, error) {
	lang := language(m.Locale)
	w, ok := wordings[lang].emails[m.Template]
	if !ok {
		return email{}, invite.Invalid("template", "unknown email template %q", m.Template)
	}
	v := view{
		Lang:         lang,
		InviteeName:  invite.OneLine(m.InviteeName),
		InviterName:  invite.OneLine(m.InviterName),
		TargetName:   invite.OneLine(m.TargetName),
		Link:         invite.OneLine(m.Link),
		Expires:      formatExpiry(lang, m.ExpiresAt),
		MessageLines: cleanMessage(m.Message),
	}
	if m.Template == invite.TemplateAccess || m.Template == invite.TemplateJoinDenied {
		// Access to an application does not expire; only invitations do.
		v.Expires = ""
	}
	// Access may come without a link (no application URL configured); an invitation
	// is its link.
	linked := v.Link != "" || (m.Template != invite.TemplateAccess && m.Template != invite.TemplateJoinDenied)

	var b strings.Builder
	subject := w.subject
	if v.InviterName != "" && w.subjectBy != "" {
		subject = w.subjectBy
	}
	v.write(&b, subject, false)
	e := email{Subject: cleanSubject(b.String())}

	b.Reset()
	b.Grow(6 << 10)
	v.writeHTML(&b, wordings[lang], &w, e.Subject, linked)
	e.HTML = b.String()

	var t strings.Builder
	t.Grow(1 << 10)
	v.writeText(&t, wordings[lang], &w, linked)
	e.Text = tidyText(t.String())
	return e, nil
}

// writeHTML writes the HTML body: the shell around the greeting, what happened, the
// message, the button and the expiry.
func (v *view) writeHTML(b *strings.Builder, lw *wording, w *emailWording, subject string, linked bool) {
	subject = htmlesc.Text(subject)
	b.WriteString(shellStart)
	b.WriteString(htmlesc.Text(v.Lang))
	b.WriteString(shellTitle)
	b.WriteString(subject)
	b.WriteString(shellPreheader)
	v.write(b, w.preheader, true)
	b.WriteString(shellHeading)
	b.WriteString(subject)
	b.WriteString("</h1>\n")

	b.WriteString(paragraph)
	v.write(b, v.greeting(lw), true)
	b.WriteString("</p>\n" + paragraph)
	v.writeLead(b, w, true)
	b.WriteString("</p>\n")
	if len(v.MessageLines) > 0 {
		b.WriteString(paragraphNote)
		v.write(b, v.messageIntro(lw, w), true)
		b.WriteString("</p>\n" + quoteStart)
		for i, line := range v.MessageLines {
			if i > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(htmlesc.Text(line))
		}
		b.WriteString("</blockquote>\n")
	}
	if linked {
		link := htmlesc.URL(v.Link)
		b.WriteString(buttonStart)
		b.WriteString(link)
		b.WriteString(buttonLabel)
		v.write(b, w.button, true)
		b.WriteString(buttonEnd)
		v.write(b, lw.linkHint, true)
		b.WriteString(linkStart)
		b.WriteString(link)
		b.WriteString(linkText)
		b.WriteString(htmlesc.Text(v.Link))
		b.WriteString(linkEnd)
	}
	if w.after != "" {
		b.WriteString("\n" + paragraph)
		v.write(b, w.after, true)
		b.WriteString("</p>\n")
	}
	if !w.expiryInLead && w.expiry != "" && v.Expires != "" {
		b.WriteString(paragraphFine)
		v.write(b, w.expiry, true)
		b.WriteString("</p>\n")
	}

	b.WriteString(shellFooter)
	v.write(b, w.footer, true)
	b.WriteString(shellEnd)
}

// writeText writes the text body in the order of the HTML one, with the link on a
// line of its own and the message quoted, then the footer after the signature
// separator. tidyText then trims what the absent parts leave.
func (v *view) writeText(b *strings.Builder, lw *wording, w *emailWording, linked bool) {
	v.write(b, v.greeting(lw), false)
	b.WriteString("\n\n")
	v.writeLead(b, w, false)
	b.WriteByte('\n')
	if len(v.MessageLines) > 0 {
		b.WriteByte('\n')
		v.write(b, v.messageIntro(lw, w), false)
		b.WriteByte('\n')
		for _, line := range v.MessageLines {
			b.WriteString("> " + line + "\n")
		}
	}
	b.WriteByte('\n')
	if linked {
		v.write(b, w.linkLine, false)
		b.WriteString("\n" + v.Link + "\n")
	}
	if w.after != "" {
		b.WriteByte('\n')
		v.write(b, w.after, false)
		b.WriteByte('\n')
	}
	if !w.expiryInLead && w.expiry != "" && v.Expires != "" {
		b.WriteByte('\n')
		v.write(b, w.expiry, false)
		b.WriteByte('\n')
	}
	b.WriteString("\n-- \n")
	v.write(b, w.footer, false)
	b.WriteByte('\n')
}

func (v *view) greeting(lw *wording) string {
	if v.InviteeName == "" {
		return lw.hello
	}
	return lw.helloName
}

// writeLead writes what happened, and until when the link is valid when the email
// says so there.
func (v *view) writeLead(b *strings.Builder, w *emailWording, html bool) {
	lead := w.leadBy
	if v.InviterName == "" {
		lead = w.lead
	}
	v.write(b, lead, html)
	if w.expiryInLead && v.Expires != "" {
		b.WriteByte(' ')
		v.write(b, w.expiry, html)
	}
}

func (v *view) messageIntro(lw *wording, w *emailWording) string {
	if v.InviterName == "" {
		return w.note
	}
	return lw.wrote
}

// write writes phrase with its values filled in: escaped and with its <strong> tags
// in HTML, as they are and without the tags in text.
func (v *view) write(b *strings.Builder, phrase string, html bool) {
	for phrase != "" {
		i := strings.IndexAny(phrase, "{<")
		if i < 0 {
			b.WriteString(phrase)
			return
		}
		b.WriteString(phrase[:i])
		phrase = phrase[i:]
		end := strings.IndexAny(phrase, "}>")
		if end < 0 {
			// Not a value or a tag: TestWordingPhrases keeps this from happening.
			b.WriteString(phrase)
			return
		}
		token := phrase[:end+1]
		phrase = phrase[end+1:]
		switch {
		case token[0] == '<':
			if html {
				b.WriteString(token)
			}
		case html:
			b.WriteString(htmlesc.Text(v.value(token)))
		default:
			b.WriteString(v.value(token))
		}
	}
}

// value is the value a phrase names, "" for a name it does not know.
func (v *view) value(name string) string {
	switch name {
	case "{inviter}":
		return v.InviterName
	case "{invitee}":
		return v.InviteeName
	case "{target}":
		return v.TargetName
	case "{expires}":
		return v.Expires
	}
	return ""
}

// cleanMessage splits the personal message into clean lines, keeping the
// inviter's line breaks and at most one blank line between paragraphs.
func cleanMessage(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var lines []string
	blank := false
	for line := range strings.SplitSeq(s, "\n") {
		line = invite.OneLine(line)
		if line == "" {
			blank = len(lines) > 0
			continue
		}
		if blank {
			lines = append(lines, "")
			blank = false
		}
		lines = append(lines, line)
	}
	return lines
}

// cleanSubject makes the rendered subject a single line of at most maxSubjectRunes,
// whatever a name slipped into it.
func cleanSubject(s string) string {
	s = invite.OneLine(s)
	if utf8.RuneCountInString(s) <= maxSubjectRunes {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:maxSubjectRunes-1])) + "…"
}

// tidyText trims trailing spaces from lines (except the "-- " signature separator)
// and collapses runs of blank lines that optional sections leave behind.
func tidyText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		if line != "-- " {
			line = strings.TrimRight(line, " \t")
		}
		if line == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
