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

// testUpdateDelivery: UpdateDelivery writes a change of the delivery and history as
// Update would, refuses a stale read with conflict, and refuses with invalid_request
// a change of anything Update keeps other items for.
func testUpdateDelivery(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	inv := f.Create(t, f.Invitation("inv_dlv", "ann@example.com"))
	next := inv.Clone()
	next.Delivery.Status, next.Delivery.Undeliverable = invite.DeliveryBounced, "ann@example.com"
	next.Delivery.Applied = []string{"Bounce#fb-1"}
	next.History = append(next.History, invite.Event{Event: invite.EventBounced, At: f.Clock.Now(), Actor: invite.ActorSES, Detail: "permanent (General)"})
	next.Version = inv.Version + 1
	if err := f.Store.UpdateDelivery(ctx, inv, next); err != nil {
		t.Fatalf("UpdateDelivery: %v", err)
	}
	got, err := f.Store.Get(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	SameInvitation(t, got, next)
	stale := next.Clone()
	stale.Delivery.Status = invite.DeliveryComplained
	if err := f.Store.UpdateDelivery(ctx, inv, stale); !invite.IsCode(err, invite.CodeConflict) {
		t.Errorf("UpdateDelivery from a stale read = %v, want conflict", err)
	}
	for name, edit := range map[string]func(*invite.Invitation){
		"status":     func(n *invite.Invitation) { n.Status = invite.StatusRevoked },
		"link token": func(n *invite.Invitation) { n.TokenHash = "hash-other" },
		"Auth0 user": func(n *invite.Invitation) { n.Auth0UserID = "auth0|someone" },
	} {
		bad := got.Clone()
		edit(bad)
		if err := f.Store.UpdateDelivery(ctx, got, bad); !invite.IsCode(err, invite.CodeInvalid) {
			t.Errorf("UpdateDelivery changing the %s = %v, want invalid_request", name, err)
		}
	}
	if again, _ := f.Store.Get(ctx, inv.ID); again.Version != got.Version {
		t.Errorf("version %d after refused updates, want %d", again.Version, got.Version)
	}
}
