package invite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestHistoryStaysBounded drives one invitation through thousands of actions (links
// opened, tickets, Auth0 sign-ins before the owner's proof) and shows that its history
// stays within MaxHistory, with what was folded counted, and that every transition
// still works afterwards.
func TestHistoryStaysBounded(t *testing.T) {
	f := newFixture(t, func(c *invite.Config) { c.MaxSends = 100000 })
	a := newAcceptor(t, f)
	uid := f.idp.AddUser("busy@example.com", 1)
	inv := f.create(t, appAdmin, appRequest("busy@example.com")).Invitation
	for i := range 3000 {
		f.clock.Advance(2 * time.Minute)
		switch i % 3 {
		case 0:
			tk, err := f.svc.Ticket(f.ctx, appAdmin, inv.ID)
			if err != nil {
				t.Fatalf("Ticket %d: %v", i, err)
			}
			if _, err := f.svc.Landing(f.ctx, tokenOf(t, tk.AcceptURL)); err != nil {
				t.Fatalf("Landing %d: %v", i, err)
			}
		default:
			apply(t, f, a, login(fmt.Sprintf("log-%d", i), uid, f.clock.Now()))
		}
	}
	got := f.stored(t, inv.ID)
	if len(got.History) > invite.MaxHistory {
		t.Fatalf("history holds %d entries, want at most %d", len(got.History), invite.MaxHistory)
	}
	if n := countEvents(got, invite.EventTicket) + got.Folded[invite.EventTicket]; n != 1000 {
		t.Errorf("tickets counted %d (kept and folded), want 1000", n)
	}
	if got.History[0].Event != invite.EventCreated {
		t.Errorf("the first entry is %s, want created kept", got.History[0].Event)
	}
	size, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(size) > 40<<10 {
		t.Errorf("the invitation encodes to %d bytes, want far under DynamoDB's 400 KB", len(size))
	}
	if _, err := f.svc.Revoke(f.ctx, appAdmin, inv.ID); err != nil {
		t.Fatalf("Revoke after thousands of actions: %v", err)
	}
}

// TestTicketsAreLimitedLikeResends: links handed to the caller are limited per
// invitation (one per ResendInterval, MaxSends in all), and emails the provider refused
// count against the send limit.
func TestTicketsAreLimitedLikeResends(t *testing.T) {
	f := newFixture(t, func(c *invite.Config) { c.MaxSends = 3 })
	req := appRequest("tix@example.com")
	req.SendEmail = false
	id := f.create(t, appAdmin, req).Invitation.ID
	if _, err := f.svc.Ticket(f.ctx, appAdmin, id); err != nil {
		t.Fatalf("first ticket: %v", err)
	}
	_, err := f.svc.Ticket(f.ctx, appAdmin, id)
	if e := wantCode(t, err, invite.CodeRateLimited); e.RetryAfter <= 0 {
		t.Errorf("a second ticket at once: RetryAfter %v, want the wait", e.RetryAfter)
	}
	for range 2 {
		f.clock.Advance(2 * time.Minute)
		if _, err := f.svc.Ticket(f.ctx, appAdmin, id); err != nil {
			t.Fatalf("ticket after the interval: %v", err)
		}
	}
	f.clock.Advance(2 * time.Minute)
	_, err = f.svc.Ticket(f.ctx, appAdmin, id)
	wantCode(t, err, invite.CodeRateLimited)

	// Refused emails count.
	f2 := newFixture(t, func(c *invite.Config) { c.MaxSends = 3 })
	f2.mail.FailNext(10, invite.CodeUpstream)
	id2 := f2.create(t, appAdmin, appRequest("bounce@example.com")).Invitation.ID
	for i := range 2 {
		if _, err := f2.svc.Resend(f2.ctx, appAdmin, id2, 0); err != nil {
			t.Fatalf("resend %d: %v", i, err)
		}
	}
	_, err = f2.svc.Resend(f2.ctx, appAdmin, id2, 0)
	wantCode(t, err, invite.CodeRateLimited)
	if d := f2.stored(t, id2).Delivery; d.Failures != 3 || d.Sends != 0 {
		t.Errorf("delivery %+v, want 3 failures and no send", d)
	}
}

// failingUpdates refuses for good every update of one invitation, as DynamoDB refuses
// an item over 400 KB.
type failingUpdates struct {
	*inmem.Store
	id string
}

func (s failingUpdates) Update(ctx context.Context, prev, next *invite.Invitation) error {
	if prev.ID == s.id {
		return invite.Errorf(invite.CodeInvalid, "the database refused the item")
	}
	return s.Store.Update(ctx, prev, next)
}

// TestPoisonEventIsDeadLettered: an event that can never be applied is kept as a dead
// letter; the rest of its batch is applied and the batch succeeds.
func TestPoisonEventIsDeadLettered(t *testing.T) {
	f := newFixture(t)
	poisoned := f.create(t, appAdmin, appRequest("poison@example.com")).Invitation
	healthy := f.create(t, appAdmin, appRequest("healthy@example.com")).Invitation
	store := failingUpdates{Store: f.store, id: poisoned.ID}
	f.rebuild(t, func(c *invite.Config) { c.Store = store })
	a, err := invite.NewAcceptor(invite.AcceptorConfig{Service: f.svc, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	res, err := a.Apply(f.ctx, []invite.IdentityEvent{
		login("log-poison", poisoned.Auth0UserID, f.clock.Now()),
		login("log-healthy", healthy.Auth0UserID, f.clock.Now()),
	})
	if err != nil {
		t.Fatalf("Apply: %v, want the batch answered", err)
	}
	if res.Applied != 1 || res.DeadLettered != 1 {
		t.Errorf("result %+v, want 1 applied and 1 dead-lettered", res)
	}
	if got := f.stored(t, healthy.ID); got.Status != invite.StatusAccepted {
		t.Errorf("the healthy invitation is %s, want accepted", got.Status)
	}
	page, err := f.store.DeadLetters(f.ctx, 10, "")
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(page.DeadLetters) != 1 || page.DeadLetters[0].ID != "log-poison" || page.DeadLetters[0].InvitationIDs[0] != poisoned.ID {
		t.Errorf("dead letters %+v, want log-poison naming %s", page.DeadLetters, poisoned.ID)
	}
}
