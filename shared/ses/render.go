package ses

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/doormanhq/doorman/shared/invite"
)

// templateFiles holds the layouts and, per language directory, three files of each
// email: <template>.subject, <template>.html and <template>.txt.
//
//go:embed templates
var templateFiles embed.FS

// The emails Doorman sends, in the order tests and the trial render walk them.
var templates = []invite.Template{
	invite.TemplateApplication,
	invite.TemplateExistingAccount,
	invite.TemplateOrganization,
	invite.TemplateAccess,
	invite.TemplateReminder,
}

const (
	layoutHTML = "layout.html"
	layoutText = "layout.txt"
	// maxSubjectRunes keeps an absurdly long name from making an absurd subject line.
	maxSubjectRunes = 200
)

// view is what the templates see. Every string in it was cleaned of control
// characters; html/template escapes them again for HTML.
type view struct {
	Lang         string
	Subject      string // the rendered subject, for the HTML title and heading
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

type templateKey struct {
	template invite.Template
	lang     string
}

type templateSet struct {
	subject *texttemplate.Template
	html    *htmltemplate.Template
	text    *texttemplate.Template
}

// renderer holds every template × language, parsed once.
type renderer struct {
	sets map[templateKey]templateSet
}

// newRenderer parses the embedded templates, each replaced by the file of the same
// relative name under overrideDir when there is one. With an override directory it
// also renders every template once with sample data, so that a broken override stops
// the cold start rather than the first send; the embedded templates are proved by the
// tests instead, which keeps that work out of every cold start.
func newRenderer(overrideDir string) (*renderer, error) {
	var override fs.FS
	if overrideDir != "" {
		info, err := os.Stat(overrideDir)
		if err != nil {
			return nil, fmt.Errorf("template directory: %w", err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("template directory %s is not a directory", overrideDir)
		}
		override = os.DirFS(overrideDir)
	}
	read := func(name string) (string, error) {
		if override != nil {
			b, err := fs.ReadFile(override, name)
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("read %s from template directory: %w", name, err)
			}
		}
		b, err := fs.ReadFile(templateFiles, path.Join("templates", name))
		if err != nil {
			return "", fmt.Errorf("read embedded %s: %w", name, err)
		}
		return string(b), nil
	}

	src, err := read(layoutHTML)
	if err != nil {
		return nil, err
	}
	baseHTML, err := htmltemplate.New(layoutHTML).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", layoutHTML, err)
	}
	if src, err = read(layoutText); err != nil {
		return nil, err
	}
	baseText, err := texttemplate.New(layoutText).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", layoutText, err)
	}

	r := &renderer{sets: make(map[templateKey]templateSet, len(templates)*len(languages))}
	for _, lang := range languages {
		for _, tmpl := range templates {
			set, err := parseSet(read, baseHTML, baseText, lang, tmpl)
			if err != nil {
				return nil, err
			}
			r.sets[templateKey{tmpl, lang}] = set
		}
	}
	if override == nil {
		return r, nil
	}
	for key := range r.sets {
		sample := invite.Mail{
			Template: key.template, Locale: key.lang, To: "invitee@example.com",
			InviteeName: "Invitee", InviterName: "Inviter", TargetName: "Target",
			Message: "Message", Link: "https://doorman.example.com/i/sample",
			ExpiresAt: time.Date(2026, time.November, 24, 14, 30, 0, 0, time.UTC),
		}
		if _, err := r.render(sample); err != nil {
			return nil, fmt.Errorf("trial render: %w", err)
		}
	}
	return r, nil
}

func parseSet(read func(string) (string, error), baseHTML *htmltemplate.Template, baseText *texttemplate.Template, lang string, tmpl invite.Template) (templateSet, error) {
	name := func(ext string) string { return lang + "/" + string(tmpl) + ext }
	var set templateSet

	src, err := read(name(".subject"))
	if err != nil {
		return set, err
	}
	if set.subject, err = texttemplate.New(name(".subject")).Parse(src); err != nil {
		return set, fmt.Errorf("parse %s: %w", name(".subject"), err)
	}

	if src, err = read(name(".html")); err != nil {
		return set, err
	}
	if set.html, err = htmltemplate.Must(baseHTML.Clone()).Parse(src); err != nil {
		return set, fmt.Errorf("parse %s: %w", name(".html"), err)
	}

	if src, err = read(name(".txt")); err != nil {
		return set, err
	}
	if set.text, err = texttemplate.Must(baseText.Clone()).Parse(src); err != nil {
		return set, fmt.Errorf("parse %s: %w", name(".txt"), err)
	}
	return set, nil
}

// render renders m in its language. An unknown template is invalid_request.
func (r *renderer) render(m invite.Mail) (email, error) {
	lang := language(m.Locale)
	set, ok := r.sets[templateKey{m.Template, lang}]
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
	if m.Template == invite.TemplateAccess {
		// Access to an application does not expire; only invitations do.
		v.Expires = ""
	}

	var b strings.Builder
	if err := set.subject.Execute(&b, v); err != nil {
		return email{}, fmt.Errorf("render %s/%s subject: %w", lang, m.Template, err)
	}
	v.Subject = cleanSubject(b.String())

	b.Reset()
	b.Grow(6 << 10)
	if err := set.html.ExecuteTemplate(&b, layoutHTML, v); err != nil {
		return email{}, fmt.Errorf("render %s/%s html: %w", lang, m.Template, err)
	}
	html := b.String()

	var t strings.Builder
	t.Grow(1 << 10)
	if err := set.text.ExecuteTemplate(&t, layoutText, v); err != nil {
		return email{}, fmt.Errorf("render %s/%s text: %w", lang, m.Template, err)
	}
	return email{Subject: v.Subject, HTML: html, Text: tidyText(t.String())}, nil
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
// whatever an override template or a name slipped into it.
func cleanSubject(s string) string {
	s = invite.OneLine(s)
	if utf8.RuneCountInString(s) <= maxSubjectRunes {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:maxSubjectRunes-1])) + "…"
}

// tidyText trims trailing spaces from lines (except the "-- " signature separator)
// and collapses runs of blank lines that optional template sections leave behind.
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
