package storetest

import (
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// testUndeliverable: an address SES refused is known by every spelling of its key, a
// second mark replaces the first, another address is not known, and a mark without
// an address or time is refused.
func testUndeliverable(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	now := f.Clock.Now()
	for _, u := range []invite.UndeliverableAddress{
		{Email: "Bounce@Example.COM", Reason: invite.DeliveryBounced, At: now, MessageID: "m-1"},
		{Email: "bounce@example.com", Reason: invite.DeliveryComplained, At: now.Add(time.Minute), MessageID: "m-2"},
	} {
		if err := f.Store.MarkUndeliverable(ctx, u); err != nil {
			t.Fatalf("MarkUndeliverable(%s): %v", u.Email, err)
		}
	}
	tests := []struct {
		email string
		want  bool
	}{
		{"bounce@example.com", true},
		{"BOUNCE@EXAMPLE.COM", true},
		{"bounce@ｅxample.com", true}, // a full-width letter in the domain: the same mailbox
		{"other@example.com", false},
		{"bounce@example.org", false},
	}
	for _, tt := range tests {
		got, err := f.Store.Undeliverable(ctx, tt.email)
		if err != nil {
			t.Fatalf("Undeliverable(%s): %v", tt.email, err)
		}
		if got != tt.want {
			t.Errorf("Undeliverable(%s) = %v, want %v", tt.email, got, tt.want)
		}
	}
	for _, bad := range []invite.UndeliverableAddress{{Email: "", At: now}, {Email: "a@example.com"}} {
		if err := f.Store.MarkUndeliverable(ctx, bad); !invite.IsCode(err, invite.CodeInvalid) {
			t.Errorf("MarkUndeliverable(%+v) = %v, want invalid_request", bad, err)
		}
	}
	if _, err := f.Store.Undeliverable(ctx, " "); !invite.IsCode(err, invite.CodeInvalid) {
		t.Errorf("Undeliverable(blank) = %v, want invalid_request", err)
	}
}
