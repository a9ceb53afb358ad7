package dynamo

import (
	"context"
	"fmt"
	"maps"
	"os"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/auth0"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestMeter: the meter counts every request a store call makes, and the capacity it
// consumed.
func TestMeter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := f.Invitation("inv_1", "ann@example.com")

	tests := []struct {
		name         string
		call         func() error
		wantRequests int64
	}{
		{"create is three writes: reservation, token, invitation", func() error { return f.store.Create(ctx, inv) }, 3},
		{"get is one read", func() error { _, err := f.store.Get(ctx, "inv_1"); return err }, 1},
		{"token lookup is two reads", func() error { _, err := f.store.GetByTokenHash(ctx, inv.TokenHash); return err }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.meter.Reset()
			if err := tt.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			u := f.meter.Usage()
			if u.Requests != tt.wantRequests {
				t.Errorf("requests = %d, want %d", u.Requests, tt.wantRequests)
			}
			if u.CapacityUnits <= 0 {
				t.Errorf("capacity units = %v, want more than 0", u.CapacityUnits)
			}
			var byOperation int64
			for _, n := range u.Operations {
				byOperation += n
			}
			if byOperation != u.Requests {
				t.Errorf("requests by operation %v add up to %d, want %d", u.Operations, byOperation, u.Requests)
			}
		})
	}
}

// TestUpdateWrites: an update that changes only the invitation item is one
// conditional PutItem; one that names a new key also writes its lookup item, one
// PutItem more; neither is a transaction.
func TestUpdateWrites(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := f.Create(t, f.Invitation("inv_1", "ann@example.com"))
	sent := inv.Clone()
	sent.Delivery.Sends++
	provisioned := sent.Clone()
	provisioned.Auth0UserID = "auth0|ann"
	tests := []struct {
		name       string
		prev, next *invite.Invitation
		want       map[string]int64
	}{
		{"a history entry", inv, sent, map[string]int64{"PutItem": 1}},
		{"a new Auth0 user", sent, provisioned, map[string]int64{"PutItem": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.meter.Reset()
			if err := f.store.Update(ctx, tt.prev, tt.next); err != nil {
				t.Fatalf("Update: %v", err)
			}
			if got := f.meter.Usage().Operations; !maps.Equal(got, tt.want) {
				t.Errorf("requests: got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("a history entry writes one item of its size", func(t *testing.T) {
		prev := provisioned
		next := prev.Clone()
		next.History = append(next.History, invite.Event{Event: invite.EventLinkOpened, At: f.Clock.Now(), Actor: "invitee"})
		f.meter.Reset()
		if err := f.store.Update(ctx, prev, next); err != nil {
			t.Fatalf("Update: %v", err)
		}
		item, err := invitationItem(next, f.store.opts.ExpiryShards, 0)
		if err != nil {
			t.Fatal(err)
		}
		kb := float64((itemSize(item) + 1023) / 1024)
		reqs := f.meter.Requests()
		if len(reqs) != 1 || reqs[0].Operation != "PutItem" || reqs[0].CapacityUnits != kb || len(reqs[0].Indexes) != 0 {
			t.Errorf("requests: got %v, want one PutItem of %v units (a %d-byte item), no index", reqs, kb, itemSize(item))
		}
	})
	if err := f.store.Update(ctx, inv, sent.Clone()); !invite.IsCode(err, invite.CodeConflict) {
		t.Errorf("Update from a stale version: got %v, want a conflict", err)
	}
}

// TestReadsAreBatched: the webhook's reads take one BatchGetItem per 100 keys, and when
// the keys find lookup items, one more for the invitations they name (what they find
// is the conformance suite's business).
func TestReadsAreBatched(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var allUsers []string
	for i := range 100 {
		inv := f.Invitation(fmt.Sprintf("inv_%03d", i), fmt.Sprintf("user%d@example.com", i))
		inv.Auth0UserID = fmt.Sprintf("auth0|user%03d", i)
		f.Create(t, inv)
		allUsers = append(allUsers, inv.Auth0UserID)
	}
	org := f.Invitation("inv_org", "carol@example.net")
	org.Kind, org.OrganizationID, org.Auth0InvitationID = invite.KindOrganization, "org_acme", "uinv_1"
	f.Create(t, org)
	if _, err := f.store.MarkLogProcessed(ctx, "log-done", time.Hour); err != nil {
		t.Fatalf("MarkLogProcessed: %v", err)
	}
	var logs []string
	for i := range 150 {
		logs = append(logs, fmt.Sprintf("log-%03d", i))
	}
	users := func(ids ...string) func() error {
		return func() error { _, err := f.store.GetByAuth0UserIDs(ctx, ids); return err }
	}
	lookup := func(keys invite.LookupKeys) func() error {
		return func() error { _, err := f.store.Lookup(ctx, keys); return err }
	}
	tests := []struct {
		name string
		read func() error
		want int64
	}{
		{"users: two", users("auth0|user003", "auth0|user042"), 2},
		{"users: with missing ids", users("auth0|user001", "auth0|nobody", "email|x"), 2},
		{"users: duplicates", users("auth0|user007", "auth0|user007"), 2},
		{"users: 100", users(allUsers...), 2},
		{"users: none invited", users("auth0|nobody", "email|x"), 1},
		{"lookup of every kind of key", lookup(invite.LookupKeys{
			UserIDs:            []string{"auth0|user001", "auth0|nobody", "auth0|user001"},
			OrgEmails:          []invite.OrgEmail{{OrgID: "org_acme", EmailKey: "carol@example.net"}, {OrgID: "org_other", EmailKey: "carol@example.net"}},
			Auth0InvitationIDs: []string{"uinv_1", "uinv_none"},
			LogIDs:             []string{"log-done", "log-new"},
		}), 2},
		{"lookup that finds no invitee", lookup(invite.LookupKeys{
			UserIDs:            []string{"auth0|nobody"},
			OrgEmails:          []invite.OrgEmail{{OrgID: "org_other", EmailKey: "carol@example.net"}},
			Auth0InvitationIDs: []string{"uinv_none"},
			LogIDs:             []string{"log-done", "log-new"},
		}), 1},
		{"lookup of 150 keys", lookup(invite.LookupKeys{LogIDs: logs}), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.meter.Reset()
			if err := tt.read(); err != nil {
				t.Fatalf("read: %v", err)
			}
			if n := f.meter.Usage().Requests; n != tt.want {
				t.Errorf("requests: got %d, want %d", n, tt.want)
			}
		})
	}
}

// TestWebhookBatchRequests counts the DynamoDB requests of the log-stream path on the
// mixed 100-event fixture, whose one relevant event is the first login of an invited
// user: the goal is two batched reads (the lookup items, then the invitation they
// name) plus the writes of that event.
func TestWebhookBatchRequests(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const user = "auth0|677f2c9e8b1d4a0071a3c5e2"
	// The invitation predates the fixture's login.
	f.Clock.Advance(time.Date(2026, 1, 4, 13, 0, 0, 0, time.UTC).Sub(f.Clock.Now()))
	inv := f.Invitation("inv_ann", "ann.invitee@example.com")
	inv.Auth0UserID, inv.UserCreated = user, true
	f.Create(t, inv)

	svc, err := invite.NewService(invite.Config{
		Store: f.store, Batches: f.store, Identity: inmem.NewIdentity(f.Clock.Now), Mailer: inmem.NewMailer(),
		Now: f.Clock.Now, PublicBaseURL: "https://doorman.example.com",
	})
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	acceptor, err := invite.NewAcceptor(invite.AcceptorConfig{Service: svc, Store: f.store})
	if err != nil {
		t.Fatalf("NewAcceptor: %v", err)
	}
	body, err := os.Open("../../events/logstream/batch-mixed-100.json")
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	t.Cleanup(func() { body.Close() })

	f.meter.Reset()
	batch, err := auth0.Decode(body, auth0.InvitationEvents)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	events := make([]invite.IdentityEvent, len(batch.Events))
	for i, e := range batch.Events {
		events[i] = invite.IdentityEvent{Index: i, LogID: e.LogID, Type: string(e.Type), At: e.Date, UserID: e.UserID, Email: e.Email, OrganizationID: e.OrganizationID}
	}
	res, err := acceptor.Apply(ctx, events)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	first := f.meter.Usage().Requests
	if batch.Records != 100 || res.Applied != 1 {
		t.Fatalf("batch: %d records, %d applied; want 100 and 1", batch.Records, res.Applied)
	}
	// 2 BatchGetItem, the accepted invitation, its reservation released, the
	// flag-cleared invitation, the processed mark.
	if first != 6 {
		t.Errorf("requests for the first delivery: got %d, want 6", first)
	}
	f.meter.Reset()
	if _, err := acceptor.Apply(ctx, events); err != nil {
		t.Fatalf("Apply again: %v", err)
	}
	again := f.meter.Usage().Requests
	if again != 2 {
		t.Errorf("requests for a redelivery: got %d, want the 2 batched reads", again)
	}
	t.Logf("DynamoDB requests per 100-event batch with 1 relevant event: %d (first delivery), %d (redelivery)", first, again)
	stored, err := f.store.Get(ctx, inv.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if stored.Status != invite.StatusAccepted || stored.FlagClearPending {
		t.Errorf("stored: %s with FlagClearPending %v, want accepted and cleared", stored.Status, stored.FlagClearPending)
	}
}
