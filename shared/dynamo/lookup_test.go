package dynamo

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/auth0"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// orgInvitation returns a pending organization invitation created now.
func (f *fixture) orgInvitation(id, email, org, auth0ID string) *invite.Invitation {
	inv := f.invitation(id, email)
	inv.Kind, inv.OrganizationID, inv.Auth0InvitationID = invite.KindOrganization, org, auth0ID
	return inv
}

func TestLookup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.invitation("inv_app", "ann@example.com")
	app.Auth0UserID = "auth0|ann"
	f.create(t, app)
	pending := f.create(t, f.orgInvitation("inv_org", "Carol@Example.net", "org_acme", "uinv_1"))
	revoked := f.finish(t, f.create(t, f.orgInvitation("inv_gone", "dave@example.net", "org_acme", "uinv_2")), invite.StatusRevoked)
	if _, err := f.store.MarkLogProcessed(ctx, "log-done", time.Hour); err != nil {
		t.Fatalf("MarkLogProcessed: %v", err)
	}
	f.meter.Reset()
	got, err := f.store.Lookup(ctx, invite.LookupKeys{
		UserIDs: []string{"auth0|ann", "auth0|nobody", "auth0|ann"},
		OrgEmails: []invite.OrgEmail{
			{OrgID: "org_acme", EmailKey: "carol@example.net"},
			{OrgID: "org_acme", EmailKey: "dave@example.net"},
			{OrgID: "org_other", EmailKey: "carol@example.net"},
		},
		Auth0InvitationIDs: []string{"uinv_1", "uinv_2", "uinv_none"},
		LogIDs:             []string{"log-done", "log-new"},
	})
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if n := f.meter.Usage().Requests; n != 1 {
		t.Errorf("requests: got %d, want 1 BatchGetItem", n)
	}
	tests := []struct {
		name string
		got  *invite.Invitation
		want *invite.Invitation
	}{
		{"application invitation by user", got.ByUserID["auth0|ann"], app},
		{"pending by organization and email", got.ByOrgEmail[invite.OrgEmail{OrgID: "org_acme", EmailKey: "carol@example.net"}], pending},
		{"revoked by organization and email", got.ByOrgEmail[invite.OrgEmail{OrgID: "org_acme", EmailKey: "dave@example.net"}], revoked},
		{"pending by Auth0 invitation", got.ByAuth0InvitationID["uinv_1"], pending},
		{"revoked by Auth0 invitation", got.ByAuth0InvitationID["uinv_2"], revoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got == nil {
				t.Fatalf("got nothing, want %s", tt.want.ID)
			}
			sameInvitation(t, tt.got, tt.want)
		})
	}
	if len(got.ByUserID) != 1 || len(got.ByOrgEmail) != 2 || len(got.ByAuth0InvitationID) != 2 {
		t.Errorf("found %d users, %d org emails, %d Auth0 invitations; want 1, 2, 2", len(got.ByUserID), len(got.ByOrgEmail), len(got.ByAuth0InvitationID))
	}
	if !got.Processed["log-done"] || got.Processed["log-new"] {
		t.Errorf("processed: got %v, want only log-done", got.Processed)
	}
}

func TestLookupNewestWinsAndReplacedInvitation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := f.finish(t, f.create(t, f.orgInvitation("inv_old", "carol@example.net", "org_acme", "uinv_old")), invite.StatusExpired)
	f.clock.Advance(time.Minute)
	cur := f.create(t, f.orgInvitation("inv_new", "carol@example.net", "org_acme", "uinv_a"))
	// Updating the old one again (as a late history note does) must not take the key back.
	oldNext := old.Clone()
	oldNext.History = append(oldNext.History, invite.Event{Event: invite.EventAfterEnd, At: f.clock.Now(), Actor: "auth0"})
	if err := f.store.Update(ctx, old, oldNext); err != nil {
		t.Fatalf("Update old: %v", err)
	}
	// Reissue: the Auth0 invitation is replaced.
	next := cur.Clone()
	next.Auth0InvitationID = "uinv_b"
	if err := f.store.Update(ctx, cur, next); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err := f.store.Lookup(ctx, invite.LookupKeys{
		OrgEmails:          []invite.OrgEmail{{OrgID: "org_acme", EmailKey: "carol@example.net"}},
		Auth0InvitationIDs: []string{"uinv_a", "uinv_b", "uinv_old"},
	})
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if inv := got.ByOrgEmail[invite.OrgEmail{OrgID: "org_acme", EmailKey: "carol@example.net"}]; inv == nil || inv.ID != "inv_new" {
		t.Errorf("by organization and email: got %v, want inv_new", inv)
	}
	if _, ok := got.ByAuth0InvitationID["uinv_a"]; ok {
		t.Errorf("uinv_a: found, want its copy gone once replaced")
	}
	if inv := got.ByAuth0InvitationID["uinv_b"]; inv == nil || inv.Version != next.Version {
		t.Errorf("uinv_b: got %v, want inv_new at version %d", inv, next.Version)
	}
	if inv := got.ByAuth0InvitationID["uinv_old"]; inv == nil || inv.ID != "inv_old" {
		t.Errorf("uinv_old: got %v, want the expired invitation", inv)
	}
}

func TestLookupSplitsBeyond100Keys(t *testing.T) {
	f := newFixture(t)
	var keys invite.LookupKeys
	for i := range 150 {
		keys.LogIDs = append(keys.LogIDs, seq("log-", i))
	}
	if _, err := f.store.MarkLogProcessed(context.Background(), "log-120", time.Hour); err != nil {
		t.Fatalf("MarkLogProcessed: %v", err)
	}
	f.meter.Reset()
	got, err := f.store.Lookup(context.Background(), keys)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if n := f.meter.Usage().Requests; n != 2 {
		t.Errorf("requests: got %d, want 2 for 150 keys", n)
	}
	if len(got.Processed) != 1 || !got.Processed["log-120"] {
		t.Errorf("processed: got %v, want log-120", got.Processed)
	}
}

// TestWebhookBatchRequests counts the DynamoDB requests of the log-stream path on the
// mixed 100-event fixture, whose one relevant event is the first login of an invited
// user: the goal is one batched read plus the writes of that event.
func TestWebhookBatchRequests(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const user = "auth0|677f2c9e8b1d4a0071a3c5e2"
	// The invitation predates the fixture's login.
	f.clock.Advance(time.Date(2026, 1, 4, 13, 0, 0, 0, time.UTC).Sub(f.clock.Now()))
	inv := f.invitation("inv_ann", "ann.invitee@example.com")
	inv.Auth0UserID, inv.UserCreated = user, true
	f.create(t, inv)

	svc, err := invite.NewService(invite.Config{
		Store: f.store, Batches: f.store, Identity: inmem.NewIdentity(f.clock.Now), Mailer: inmem.NewMailer(),
		Now: f.clock.Now, PublicBaseURL: "https://doorman.example.com",
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
	// 1 BatchGetItem, the accept transaction, the flag-cleared transaction, the
	// processed mark.
	if first != 4 {
		t.Errorf("requests for the first delivery: got %d, want 4", first)
	}
	f.meter.Reset()
	if _, err := acceptor.Apply(ctx, events); err != nil {
		t.Fatalf("Apply again: %v", err)
	}
	again := f.meter.Usage().Requests
	if again != 1 {
		t.Errorf("requests for a redelivery: got %d, want the 1 batched read", again)
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
