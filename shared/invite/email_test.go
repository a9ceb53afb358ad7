package invite_test

import (
	"testing"

	"github.com/doormanhq/doorman/shared/invite"
)

// TestEmailKeyPinsASCIIKeys: deployed DynamoDB items (reservations, organization
// lookups, the list index) are keyed by EmailKey, so the key of an ASCII address is
// what it always was, the trimmed address lower-cased.
func TestEmailKeyPinsASCIIKeys(t *testing.T) {
	for in, want := range map[string]string{
		"ann@example.com":                  "ann@example.com",
		" Carol@Example.NET ":              "carol@example.net",
		"Bob.Smith+tag@Mail.Example.co.uk": "bob.smith+tag@mail.example.co.uk",
		"zoe@xn--bcher-kva.example":        "zoe@xn--bcher-kva.example",
		"legacy@ab--cd.example":            "legacy@ab--cd.example", // a domain IDNA refuses
	} {
		if got := invite.EmailKey(in); got != want {
			t.Errorf("EmailKey(%q): got %q, want %q", in, got, want)
		}
	}
}

// TestOneMailboxOneInvitation: full-width, decomposed and Punycode spellings of one
// domain reach one mailbox, so they are one pending invitation, stored and delivered
// in the ASCII form.
func TestOneMailboxOneInvitation(t *testing.T) {
	f := newFixture(t)
	first := f.create(t, appAdmin, appRequest("ann@bücher.example"))
	if got, want := f.stored(t, first.Invitation.ID).Email, "ann@xn--bcher-kva.example"; got != want {
		t.Errorf("stored email: got %q, want %q", got, want)
	}
	for _, spelling := range []string{
		"ann@ｂüｃｈｅｒ.example",
		"ann@bu\u0308cher.example",
		"ann@xn--bcher-kva.example",
		"ANN@BÜCHER.EXAMPLE",
	} {
		_, err := f.svc.Create(f.ctx, appAdmin, appRequest(spelling))
		if e := wantCode(t, err, invite.CodeConflict); e.ExistingID != first.Invitation.ID {
			t.Errorf("%s: ExistingID got %q, want %q", spelling, e.ExistingID, first.Invitation.ID)
		}
	}
	if got := f.store.Len(); got != 1 {
		t.Errorf("stored invitations: got %d, want 1", got)
	}
	if sent := f.mail.Sent(); len(sent) != 1 || sent[0].To != "ann@xn--bcher-kva.example" {
		t.Errorf("sent: got %+v, want one email to ann@xn--bcher-kva.example", sent)
	}
}
