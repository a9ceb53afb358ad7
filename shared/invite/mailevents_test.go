package invite_test

import (
	"slices"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// withDeliveries gives the service the in-memory store as its DeliveryStore.
func (f *fixture) withDeliveries(t *testing.T) {
	t.Helper()
	f.rebuild(t, func(c *invite.Config) { c.Deliveries = f.store })
}

// sentEvent is an SES event of type typ about the invitation's current email.
func (f *fixture) sentEvent(t *testing.T, inv *invite.Invitation, typ invite.MailEventType) invite.MailEvent {
	t.Helper()
	if inv.Delivery.MessageID == "" {
		t.Fatalf("invitation %s has no message id", inv.ID)
	}
	return invite.MailEvent{
		Type: typ, MessageID: inv.Delivery.MessageID, InvitationID: inv.ID,
		Recipients: []string{inv.Email}, At: f.clock.Now().Add(2 * time.Second),
	}
}

func entries(inv *invite.Invitation, name string) []invite.Event {
	var out []invite.Event
	for _, e := range inv.History {
		if e.Event == name {
			out = append(out, e)
		}
	}
	return out
}

func TestApplyMailEvent(t *testing.T) {
	permanent := func(e *invite.MailEvent) {
		e.Permanent, e.FeedbackID, e.Detail = true, "fb-1", "permanent (General): smtp; 550 5.1.1 user unknown"
	}
	tests := []struct {
		name          string
		typ           invite.MailEventType
		edit          func(*invite.MailEvent)
		wantStatus    invite.DeliveryStatus
		wantEvent     string
		undeliverable bool
	}{
		{"delivery", invite.MailDelivery, nil, invite.DeliveryDelivered, invite.EventDelivered, false},
		{"permanent bounce", invite.MailBounce, permanent, invite.DeliveryBounced, invite.EventBounced, true},
		{"transient bounce", invite.MailBounce, func(e *invite.MailEvent) { e.FeedbackID, e.Detail = "fb-2", "transient (MailboxFull)" },
			invite.DeliveryBounced, invite.EventBounced, false},
		{"suppressed", invite.MailBounce, func(e *invite.MailEvent) { e.Permanent, e.Suppressed, e.FeedbackID = true, true, "fb-3" },
			invite.DeliverySuppressed, invite.EventSuppressed, true},
		{"complaint", invite.MailComplaint, func(e *invite.MailEvent) { e.FeedbackID = "fb-4" }, invite.DeliveryComplained, invite.EventComplained, true},
		{"delay keeps sent", invite.MailDeliveryDelay, func(e *invite.MailEvent) { e.Detail = "TransientCommunicationFailure" },
			invite.DeliverySent, invite.EventDeliveryDelayed, false},
		{"reject", invite.MailReject, func(e *invite.MailEvent) { e.Detail = "Bad content" }, invite.DeliveryRejected, invite.EventRejected, false},
		{"rendering failure", invite.MailRenderingFailure, nil, invite.DeliveryRejected, invite.EventRenderingFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.withDeliveries(t)
			inv := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation
			e := f.sentEvent(t, inv, tt.typ)
			if tt.edit != nil {
				tt.edit(&e)
			}
			for range 2 { // SES and SNS deliver at least once: the second changes nothing
				if err := f.svc.ApplyMailEvent(f.ctx, e); err != nil {
					t.Fatalf("ApplyMailEvent: %v", err)
				}
			}
			got := f.stored(t, inv.ID)
			if got.Delivery.Status != tt.wantStatus {
				t.Errorf("delivery status %q, want %q", got.Delivery.Status, tt.wantStatus)
			}
			if n := len(entries(got, tt.wantEvent)); n != 1 {
				t.Errorf("%d %s entries, want 1: %+v", n, tt.wantEvent, got.History)
			}
			if got.Version != inv.Version+1 {
				t.Errorf("version %d, want %d: the repeated event must not write again", got.Version, inv.Version+1)
			}
			if got.Undeliverable() != tt.undeliverable {
				t.Errorf("Undeliverable() = %v, want %v", got.Undeliverable(), tt.undeliverable)
			}
			known, err := f.svc.Undeliverable(f.ctx, "ANN@example.com")
			if err != nil || known != tt.undeliverable {
				t.Errorf("Service.Undeliverable = %v, %v; want %v", known, err, tt.undeliverable)
			}
			if got.AwaitsReminder() == tt.undeliverable {
				t.Errorf("AwaitsReminder() = %v with undeliverable %v", got.AwaitsReminder(), tt.undeliverable)
			}
			f.clock.Advance(time.Hour)
			_, err = f.svc.Resend(f.ctx, appAdmin, inv.ID, 0)
			if tt.undeliverable != invite.IsCode(err, invite.CodeUndeliverable) {
				t.Errorf("Resend = %v; undeliverable refusal wanted: %v", err, tt.undeliverable)
			}
			if !tt.undeliverable && err != nil {
				t.Errorf("Resend = %v, want success", err)
			}
		})
	}
}

// TestMailEventsOutOfOrder: a complaint that overtakes its delivery stays the state.
func TestMailEventsOutOfOrder(t *testing.T) {
	f := newFixture(t)
	f.withDeliveries(t)
	inv := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation
	complaint := f.sentEvent(t, inv, invite.MailComplaint)
	complaint.FeedbackID = "fb-c"
	delivery := f.sentEvent(t, inv, invite.MailDelivery)
	delivery.At = complaint.At.Add(-time.Second)
	for _, e := range []invite.MailEvent{complaint, delivery} {
		if err := f.svc.ApplyMailEvent(f.ctx, e); err != nil {
			t.Fatalf("ApplyMailEvent(%s): %v", e.Type, err)
		}
	}
	got := f.stored(t, inv.ID)
	if got.Delivery.Status != invite.DeliveryComplained {
		t.Errorf("delivery status %q, want complained", got.Delivery.Status)
	}
	if len(entries(got, invite.EventDelivered)) != 1 || len(entries(got, invite.EventComplained)) != 1 {
		t.Errorf("history %+v, want one delivered and one complained", got.History)
	}
}

// TestMailEventOfEarlierEmail: after a resend, the first email's bounce marks the
// address but not the current email; an event for an email the invitation does not
// name is retried while it is recent, then dropped.
func TestMailEventOfEarlierEmail(t *testing.T) {
	f := newFixture(t)
	f.withDeliveries(t)
	inv := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation
	first := f.sentEvent(t, inv, invite.MailBounce)
	first.Permanent, first.FeedbackID = true, "fb-old"
	f.clock.Advance(time.Hour)
	resent, err := f.svc.Resend(f.ctx, appAdmin, inv.ID, 0)
	if err != nil {
		t.Fatalf("Resend: %v", err)
	}
	if resent.Delivery.MessageID == inv.Delivery.MessageID {
		t.Fatal("the resend kept the message id")
	}
	if err := f.svc.ApplyMailEvent(f.ctx, first); err != nil {
		t.Fatalf("ApplyMailEvent(earlier email): %v", err)
	}
	got := f.stored(t, inv.ID)
	if got.Version != resent.Version || got.Delivery.Status != invite.DeliverySent || got.Undeliverable() {
		t.Errorf("the earlier email's bounce changed the invitation: version %d → %d, status %q", resent.Version, got.Version, got.Delivery.Status)
	}
	if known, _ := f.svc.Undeliverable(f.ctx, "ann@example.com"); !known {
		t.Error("the address is not marked undeliverable")
	}

	unknown := f.sentEvent(t, got, invite.MailDelivery)
	unknown.MessageID, unknown.At = "not-recorded-yet", f.clock.Now()
	if err := f.svc.ApplyMailEvent(f.ctx, unknown); !invite.Transient(err) {
		t.Errorf("recent event of an unknown email = %v, want a transient error", err)
	}
	f.clock.Advance(time.Hour)
	if err := f.svc.ApplyMailEvent(f.ctx, unknown); err != nil {
		t.Errorf("old event of an unknown email = %v, want nil (dropped)", err)
	}
	if v := f.stored(t, inv.ID).Version; v != got.Version {
		t.Errorf("version %d, want %d", v, got.Version)
	}
	untracked := f.sentEvent(t, got, invite.MailSubscription)
	if err := f.svc.ApplyMailEvent(f.ctx, untracked); err != nil || f.stored(t, inv.ID).Version != got.Version {
		t.Errorf("a Subscription event = %v, and wrote the invitation; want nil and no write", err)
	}
	for _, e := range []invite.MailEvent{
		{Type: invite.MailDelivery, MessageID: "m", InvitationID: "inv_gone", At: f.clock.Now()},
		{Type: invite.MailDelivery, MessageID: "m", At: f.clock.Now()},
	} {
		if err := f.svc.ApplyMailEvent(f.ctx, e); err != nil {
			t.Errorf("ApplyMailEvent(%q) = %v, want nil", e.InvitationID, err)
		}
	}
}

// TestNoReminderToUndeliverable: the sweeper sends no reminder to an address SES
// refused, and one to an address whose email was delivered.
func TestNoReminderToUndeliverable(t *testing.T) {
	f := newFixture(t)
	f.withDeliveries(t)
	bounced := f.create(t, appAdmin, appRequest("gone@example.com")).Invitation
	delivered := f.create(t, appAdmin, appRequest("here@example.com")).Invitation
	b := f.sentEvent(t, bounced, invite.MailBounce)
	b.Permanent, b.FeedbackID = true, "fb-r"
	for _, e := range []invite.MailEvent{b, f.sentEvent(t, delivered, invite.MailDelivery)} {
		if err := f.svc.ApplyMailEvent(f.ctx, e); err != nil {
			t.Fatalf("ApplyMailEvent: %v", err)
		}
	}
	f.mail.Reset()
	f.clock.Advance(5*24*time.Hour + time.Hour)
	f.sweep(t, f.newSweeper(t))
	var to []string
	for _, m := range f.mail.Sent() {
		to = append(to, m.To)
	}
	if !slices.Equal(to, []string{"here@example.com"}) {
		t.Errorf("reminders went to %v, want only here@example.com", to)
	}
}
