package ses

import (
	"testing"

	"github.com/doormanhq/doorman/shared/invite"
)

// BenchmarkRender measures rendering one email (subject, HTML and text), the work
// Send does before calling SES.
func BenchmarkRender(b *testing.B) {
	mail := sampleMail(invite.TemplateApplication, "de-CH")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render(mail); err != nil {
			b.Fatal(err)
		}
	}
}
