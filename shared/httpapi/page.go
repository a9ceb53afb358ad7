package httpapi

import (
	"strings"

	"github.com/doormanhq/doorman/shared/htmlesc"
)

// The invitee's page in the pieces between the values it holds. Nothing loads from
// elsewhere (see landingCSP): the style is inline and there is no script.
const (
	pageStart = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>`
	// then the title
	pageHeading = `</title>
<style>
body{margin:0;font:1.05rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1f;background:#f4f4f7}
main{max-width:32rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 1rem}
p{margin:0 0 1rem}
button{font:inherit;font-weight:600;width:100%;padding:.8rem 1rem;border:0;border-radius:.5rem;background:#1f4fd1;color:#fff;cursor:pointer}
button:focus-visible{outline:3px solid #f5a300;outline-offset:2px}
.note{color:#55555f;font-size:.95rem}
@media (prefers-color-scheme:dark){body{background:#121216;color:#ececf1}main{background:#1d1d23}.note{color:#b4b4bf}button{background:#4d7cff;color:#000}}
</style>
</head>
<body>
<main>
<h1>`
	// then the title again, and the invitation or the message
	pageEnd = `
</main>
</body>
</html>
`
)

// renderPage writes the invitee's page for d, every value escaped.
func renderPage(d pageData) string {
	var b strings.Builder
	b.Grow(2 << 10)
	title := htmlesc.Text(d.Title)
	b.WriteString(pageStart)
	b.WriteString(title)
	b.WriteString(pageHeading)
	b.WriteString(title)
	b.WriteString("</h1>\n")
	if d.Invitation {
		b.WriteString("\n<p><strong>" + htmlesc.Text(d.Inviter) + "</strong> invited you to join <strong>" + htmlesc.Text(d.Target) + "</strong>.</p>\n")
		b.WriteString("<p>The invitation is for " + htmlesc.Text(d.Email) + ` and is valid until <time datetime="` + htmlesc.Text(d.ExpiresISO) + `">` + htmlesc.Text(d.Expires) + "</time>.</p>\n")
		b.WriteString(`<form method="post">
<button type="submit">Continue</button>
</form>
<p class="note">Continuing takes you to the sign-in page, where you set a password or sign in.</p>
`)
	} else {
		b.WriteString("\n<p>" + htmlesc.Text(d.Message) + "</p>\n")
	}
	b.WriteString(pageEnd)
	return b.String()
}
