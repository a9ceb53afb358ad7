package httpapi

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/doormanhq/doorman/shared/goldentest"
)

// pageVariants are every page the invitee can see: the invitation with its
// Continue button, the ended and unknown links, the error page, and each of them
// with hostile text in every field.
var pageVariants = []struct {
	name string
	data pageData
}{
	{"invitation", pageData{
		Title: "You are invited", Invitation: true, Inviter: "Ada Admin", Target: "Example App",
		Email: "ann@example.com", Expires: "9 June 2025 at 09:00 UTC", ExpiresISO: "2025-06-09T09:00:00Z",
	}},
	{"invitation from someone to an organization", pageData{
		Title: "You are invited", Invitation: true, Inviter: "Someone", Target: "an organization (org_abc123)",
		Email: "zoë.o'brien+test@example.com", Expires: "1 January 2026 at 00:00 UTC", ExpiresISO: "2026-01-01T00:00:00Z",
	}},
	{"invitation with hostile fields", pageData{
		Title: "You are invited", Invitation: true,
		Inviter:    `<script>alert(1)</script> & "Mal" 'o' a+b`,
		Target:     "</title><script>alert(2)</script>",
		Email:      `"><img src=x onerror=alert(3)>@example.com`,
		Expires:    "<b>soon</b>",
		ExpiresISO: `2025-06-09T09:00:00Z" onmouseover="alert(4)`,
	}},
	{"not found", pageData{Title: pageNotFound, Message: "This link is not valid. It may have been replaced by a newer email."}},
	{"gone: withdrawn", pageData{Title: pageGone, Message: "This invitation was withdrawn. Ask Ada Admin if you still need access."}},
	{"gone: expired, hostile inviter", pageData{Title: pageGone, Message: `This invitation expired on 9 June 2025. Ask <script>alert(1)</script> & "Mal" to invite you again.`}},
	{"error", pageData{Title: pageError, Message: "Please try again in a minute. If it keeps happening, quote reference 01JXAMPLE0000000000000000 to the person who invited you."}},
	{"error without message", pageData{Title: pageError}},
}

// TestPageGolden keeps every invitee page byte for byte as it is.
func TestPageGolden(t *testing.T) {
	var b strings.Builder
	for _, v := range pageVariants {
		b.WriteString("===== " + v.name + "\n")
		b.WriteString(renderPage(v.data))
	}
	goldentest.Check(t, filepath.Join("testdata", "golden", "pages.txt"), b.String(), *update)
}

// BenchmarkPage measures rendering the invitee's landing page.
func BenchmarkPage(b *testing.B) {
	d := pageVariants[0].data
	b.ReportAllocs()
	for b.Loop() {
		_ = renderPage(d)
	}
}
