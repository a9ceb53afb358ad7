package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// testSweepIndexes: the due and reminder listings hold exactly the invitations with
// that work, and lose them once it is done.
func testSweepIndexes(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	now := f.Clock.Now()

	failed := f.Invitation("inv_failed", "failed@example.com")
	failed.Delivery = invite.Delivery{Status: invite.DeliveryFailed, Attempts: 1, NextAttemptAt: now.Add(time.Minute)}
	f.Create(t, failed)
	sent := f.Invitation("inv_sent", "sent@example.com")
	sent.Delivery = invite.Delivery{Status: invite.DeliverySent, Sends: 1}
	f.Create(t, sent)
	quiet := f.Invitation("inv_quiet", "quiet@example.com")
	quiet.Delivery = invite.Delivery{Status: invite.DeliveryNone}
	f.Create(t, quiet)

	due := func(at time.Time, c string) (*invite.Page, error) { return f.Store.DueBefore(ctx, at, 0, c) }
	remind := func(at time.Time, c string) (*invite.Page, error) { return f.Store.RemindBefore(ctx, at, 0, c) }
	tests := []struct {
		name string
		list func(time.Time, string) (*invite.Page, error)
		at   time.Time
		want []string
	}{
		{name: "due before the retry", list: due, at: now, want: []string{}},
		{name: "due after the retry", list: due, at: now.Add(2 * time.Minute), want: []string{"inv_failed"}},
		{name: "reminders outside the window", list: remind, at: now.Add(24 * time.Hour), want: []string{}},
		{name: "reminders inside the window", list: remind, at: now.Add(8 * 24 * time.Hour), want: []string{"inv_failed", "inv_sent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.list(tt.at, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p.Invitations); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// Once reminded and delivered, both leave their index.
	next := failed.Clone()
	next.Delivery = invite.Delivery{Status: invite.DeliverySent, Sends: 1}
	next.History = append(next.History, invite.Event{Event: invite.EventReminded, At: now})
	if err := f.Store.Update(ctx, failed, next); err != nil {
		t.Fatal(err)
	}
	later := now.Add(8 * 24 * time.Hour)
	d, err := f.Store.DueBefore(ctx, later, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Store.RemindBefore(ctx, later, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(ids(d.Invitations), ids(r.Invitations)), "[] [inv_sent]"; got != want {
		t.Errorf("due, reminders = %s, want %s", got, want)
	}
}

// testCleanupPendingIsDue: an ended invitation whose Auth0 cleanup is pending is due
// when its next attempt is, and leaves the due listing once the cleanup is done.
func testCleanupPendingIsDue(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	now := f.Clock.Now()
	inv := f.Invitation("inv_1", "ann@example.com")
	inv.Auth0UserID, inv.UserCreated = "auth0|u1", true
	f.Create(t, inv)
	revoked := f.Finish(t, inv, invite.StatusRevoked)
	marked := revoked.Clone()
	marked.CleanupPending, marked.CleanupAttempts, marked.NextCleanupAt = true, 1, now.Add(time.Minute)
	if err := f.Store.Update(ctx, revoked, marked); err != nil {
		t.Fatalf("Update (mark): %v", err)
	}
	cleared := marked.Clone()
	cleared.CleanupPending, cleared.CleanupAttempts, cleared.NextCleanupAt = false, 0, time.Time{}

	tests := []struct {
		name    string
		update  func(t *testing.T)
		wantDue []string
	}{
		{name: "pending", update: func(*testing.T) {}, wantDue: []string{"inv_1"}},
		{name: "done", update: func(t *testing.T) {
			if err := f.Store.Update(ctx, marked, cleared); err != nil {
				t.Fatalf("Update (clear): %v", err)
			}
		}, wantDue: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.update(t)
			due, err := f.Store.DueBefore(ctx, now.Add(2*time.Minute), 0, "")
			if err != nil {
				t.Fatalf("DueBefore: %v", err)
			}
			if got := ids(due.Invitations); fmt.Sprint(got) != fmt.Sprint(tt.wantDue) {
				t.Errorf("due: got %v, want %v", got, tt.wantDue)
			}
		})
	}
}
