package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

func testLookup(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	app := f.Invitation("inv_app", "ann@example.com")
	app.Auth0UserID = "auth0|ann"
	f.Create(t, app)
	pending := f.Create(t, f.orgInvitation("inv_org", "Carol@Example.net", "org_acme", "uinv_1"))
	revoked := f.Finish(t, f.Create(t, f.orgInvitation("inv_gone", "dave@example.net", "org_acme", "uinv_2")), invite.StatusRevoked)
	if _, err := f.Store.MarkLogProcessed(ctx, "log-done", time.Hour); err != nil {
		t.Fatalf("MarkLogProcessed: %v", err)
	}
	got, err := f.Store.Lookup(ctx, invite.LookupKeys{
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
			SameInvitation(t, tt.got, tt.want)
		})
	}
	if len(got.ByUserID) != 1 || len(got.ByOrgEmail) != 2 || len(got.ByAuth0InvitationID) != 2 {
		t.Errorf("found %d users, %d org emails, %d Auth0 invitations; want 1, 2, 2", len(got.ByUserID), len(got.ByOrgEmail), len(got.ByAuth0InvitationID))
	}
	if !got.Processed["log-done"] || got.Processed["log-new"] {
		t.Errorf("processed: got %v, want only log-done", got.Processed)
	}
}

func testLookupNewestWins(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	old := f.Finish(t, f.Create(t, f.orgInvitation("inv_old", "carol@example.net", "org_acme", "uinv_old")), invite.StatusExpired)
	f.Clock.Advance(time.Minute)
	cur := f.Create(t, f.orgInvitation("inv_new", "carol@example.net", "org_acme", "uinv_a"))
	// Updating the old one again (as a late history note does) must not take the key back.
	oldNext := old.Clone()
	oldNext.History = append(oldNext.History, invite.Event{Event: invite.EventAfterEnd, At: f.Clock.Now(), Actor: "auth0"})
	if err := f.Store.Update(ctx, old, oldNext); err != nil {
		t.Fatalf("Update old: %v", err)
	}
	// Reissue: the Auth0 invitation is replaced.
	next := cur.Clone()
	next.Auth0InvitationID = "uinv_b"
	if err := f.Store.Update(ctx, cur, next); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err := f.Store.Lookup(ctx, invite.LookupKeys{
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

// testLookupBeyond100Keys: a lookup of more keys than one batched read takes still
// answers for every key.
func testLookupBeyond100Keys(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	var keys invite.LookupKeys
	for i := range 150 {
		keys.LogIDs = append(keys.LogIDs, seq("log-", i))
	}
	if _, err := f.Store.MarkLogProcessed(context.Background(), "log-120", time.Hour); err != nil {
		t.Fatalf("MarkLogProcessed: %v", err)
	}
	got, err := f.Store.Lookup(context.Background(), keys)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if len(got.Processed) != 1 || !got.Processed["log-120"] {
		t.Errorf("processed: got %v, want log-120", got.Processed)
	}
}

func testMarkLogProcessed(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	steps := []struct {
		name    string
		advance time.Duration
		logID   string
		want    bool
	}{
		{"first delivery", 0, "90020240101", true},
		{"redelivery", time.Minute, "90020240101", false},
		{"another event", 0, "90020240102", true},
		{"redelivery within the ttl", 23 * time.Hour, "90020240101", false},
		{"after the ttl", 2 * time.Hour, "90020240101", true},
	}
	for _, st := range steps {
		f.Clock.Advance(st.advance)
		got, err := f.Store.MarkLogProcessed(ctx, st.logID, 24*time.Hour)
		if err != nil {
			t.Fatalf("%s: MarkLogProcessed: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: first = %v, want %v", st.name, got, st.want)
		}
	}
	// A lookup no longer counts an expired mark either.
	f.Clock.Advance(25 * time.Hour)
	got, err := f.Store.Lookup(ctx, invite.LookupKeys{LogIDs: []string{"90020240101"}})
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if got.Processed["90020240101"] {
		t.Errorf("processed after the ttl: got %v, want none", got.Processed)
	}
	for _, bad := range []struct {
		id  string
		ttl time.Duration
	}{{"", time.Hour}, {"90020240103", 0}} {
		_, err := f.Store.MarkLogProcessed(ctx, bad.id, bad.ttl)
		wantCode(t, err, invite.CodeInvalid)
	}
}

func testDeadLetters(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	base := f.Clock.Now().UTC().Truncate(time.Millisecond)
	for i := range 5 {
		d := invite.DeadLetter{ID: fmt.Sprintf("log-%d", i), Type: "s", InvitationIDs: []string{"inv_" + fmt.Sprint(i)},
			Reason: "invalid_request: the database refused the item", At: base.Add(time.Duration(i) * time.Second)}
		if err := f.Store.RecordDeadLetter(ctx, d); err != nil {
			t.Fatalf("RecordDeadLetter(%s): %v", d.ID, err)
		}
		if i == 2 { // recorded twice: kept once
			if err := f.Store.RecordDeadLetter(ctx, d); err != nil {
				t.Fatalf("RecordDeadLetter again: %v", err)
			}
		}
	}
	var got []string
	cursor := ""
	for {
		page, err := f.Store.DeadLetters(ctx, 2, cursor)
		if err != nil {
			t.Fatalf("DeadLetters: %v", err)
		}
		for _, d := range page.DeadLetters {
			got = append(got, d.ID)
			if d.Type != "s" || len(d.InvitationIDs) != 1 || d.Reason == "" || d.At.IsZero() {
				t.Errorf("dead letter %+v lost a field", d)
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if want := []string{"log-4", "log-3", "log-2", "log-1", "log-0"}; !slices.Equal(got, want) {
		t.Errorf("dead letters %v, want %v (newest first, each once)", got, want)
	}
	if _, err := f.Store.DeadLetters(ctx, 2, cursor+"x"); !invite.IsCode(err, invite.CodeInvalid) {
		t.Errorf("altered cursor: %v, want invalid_request", err)
	}
	if err := f.Store.RecordDeadLetter(ctx, invite.DeadLetter{At: base}); !invite.IsCode(err, invite.CodeInvalid) {
		t.Errorf("dead letter without id: %v, want invalid_request", err)
	}
}
