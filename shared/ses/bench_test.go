package ses

import (
	"testing"

	"github.com/doormanhq/doorman/shared/invite"
)

// BenchmarkRender measures rendering one email (subject, HTML and text), the work
// Send does before calling SES.
func BenchmarkRender(b *testing.B) {
	r, err := newRenderer("")
	if err != nil {
		b.Fatal(err)
	}
	mail := sampleMail(invite.TemplateApplication, "de-CH")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.render(mail); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewRenderer measures what New adds to a cold start: parsing every
// template × language and rendering each once.
func BenchmarkNewRenderer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := newRenderer(""); err != nil {
			b.Fatal(err)
		}
	}
}
