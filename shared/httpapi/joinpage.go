package httpapi

import (
	"io"
	"net/http"
	"strings"

	"github.com/doormanhq/doorman/shared/htmlesc"
)

// The join flows' pages share the invitee page's shell (page.go): the same style,
// headers (pageHeaders) and structure, with form fields styled to match.

// joinPageHeading is pageHeading with the form fields' style; the honeypot field is
// moved off screen and out of the accessibility tree and the tab order.
var joinPageHeading = strings.Replace(pageHeading, "</style>", `label{display:block;font-weight:600;margin:0 0 .25rem}
input,textarea{font:inherit;width:100%;box-sizing:border-box;padding:.6rem .7rem;margin:0 0 1rem;border:1px solid #8a8a96;border-radius:.5rem;background:inherit;color:inherit}
input:focus-visible,textarea:focus-visible{outline:3px solid #f5a300;outline-offset:1px}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
</style>`, 1)

// joinField is one input of a join form.
type joinField struct {
	Name, Label, Type, Autocomplete string
	Required                        bool
	MaxLen                          int
	Multiline                       bool
}

// joinPage is what one page of the join flows shows: paragraphs of text, and a form
// posting to the page itself when Button is set.
type joinPage struct {
	Title  string
	Lines  []string
	Fields []joinField
	Hidden [][2]string // name, value
	Button string
	Note   string
	// Honeypot adds the hidden field people never fill.
	Honeypot bool
}

var (
	emailField = joinField{Name: "email", Label: "Email address", Type: "email", Autocomplete: "email", Required: true, MaxLen: 254}
	nameField  = joinField{Name: "name", Label: "Your name", Type: "text", Autocomplete: "name", MaxLen: 300}
	noteField  = joinField{Name: "note", Label: "A note for the people who decide (optional)", MaxLen: 500, Multiline: true}
)

func renderJoinPage(p joinPage) string {
	var b strings.Builder
	b.Grow(3 << 10)
	title := htmlesc.Text(p.Title)
	b.WriteString(pageStart)
	b.WriteString(title)
	b.WriteString(joinPageHeading)
	b.WriteString(title)
	b.WriteString("</h1>\n")
	for _, l := range p.Lines {
		b.WriteString("<p>" + htmlesc.Text(l) + "</p>\n")
	}
	if p.Button != "" {
		b.WriteString(`<form method="post">` + "\n")
		for _, f := range p.Fields {
			id := "f-" + f.Name
			b.WriteString(`<label for="` + id + `">` + htmlesc.Text(f.Label) + "</label>\n")
			attrs := ` id="` + id + `" name="` + f.Name + `"`
			if f.Autocomplete != "" {
				attrs += ` autocomplete="` + f.Autocomplete + `"`
			}
			if f.MaxLen > 0 {
				attrs += ` maxlength="` + itoa(f.MaxLen) + `"`
			}
			if f.Required {
				attrs += ` required`
			}
			if f.Multiline {
				b.WriteString("<textarea" + attrs + ` rows="3"></textarea>` + "\n")
			} else {
				b.WriteString(`<input type="` + f.Type + `"` + attrs + ">\n")
			}
		}
		for _, h := range p.Hidden {
			b.WriteString(`<input type="hidden" name="` + htmlesc.Text(h[0]) + `" value="` + htmlesc.Text(h[1]) + `">` + "\n")
		}
		if p.Honeypot {
			b.WriteString(`<div class="hp" aria-hidden="true"><label for="f-website">Leave this field empty</label><input type="text" id="f-website" name="website" tabindex="-1" autocomplete="off"></div>` + "\n")
		}
		b.WriteString(`<button type="submit">` + htmlesc.Text(p.Button) + "</button>\n</form>\n")
	}
	if p.Note != "" {
		b.WriteString(`<p class="note">` + htmlesc.Text(p.Note) + "</p>\n")
	}
	b.WriteString(pageEnd)
	return b.String()
}

func itoa(n int) string {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(d[i:])
}

// writeJoinPage answers with a join page, under the invitee page's headers.
func (s *server) writeJoinPage(w http.ResponseWriter, r *http.Request, status int, p joinPage) {
	s.pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, renderJoinPage(p))
	}
}

// checkEmailPage is the one answer to a request or a redemption that was taken,
// whatever became of it.
var checkEmailPage = joinPage{
	Title: "Check your email",
	Lines: []string{
		"If this address may ask to join, we have sent it a message with a link to confirm the request.",
		"The link works for 24 hours. Nothing happens until you follow it.",
	},
}
