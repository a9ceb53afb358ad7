package dynamo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

func TestGetByAuth0UserIDs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	want := map[string]string{} // user id → invitation id
	var all []string
	for i := range 100 {
		inv := f.invitation(seq("inv_", i), fmt.Sprintf("user%d@example.com", i))
		inv.Auth0UserID = seq("auth0|user", i)
		f.create(t, inv)
		want[inv.Auth0UserID] = inv.ID
		all = append(all, inv.Auth0UserID)
	}

	tests := []struct {
		name     string
		ids      []string
		want     []string // user ids expected in the result
		wantCode invite.Code
	}{
		{"two users", []string{"auth0|user003", "auth0|user042"}, []string{"auth0|user003", "auth0|user042"}, ""},
		{"with missing ids", []string{"auth0|user001", "auth0|nobody", "email|x"}, []string{"auth0|user001"}, ""},
		{"only missing", []string{"auth0|nobody"}, nil, ""},
		{"none", nil, nil, ""},
		{"duplicates", []string{"auth0|user007", "auth0|user007"}, []string{"auth0|user007"}, ""},
		{"100 users", all, all, ""},
		{"101 users", append(append([]string(nil), all...), "auth0|one-too-many"), nil, invite.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.meter.Reset()
			got, err := f.store.GetByAuth0UserIDs(ctx, tt.ids)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatalf("GetByAuth0UserIDs: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d invitations, want %d", len(got), len(tt.want))
			}
			for _, uid := range tt.want {
				inv := got[uid]
				if inv == nil || inv.ID != want[uid] || inv.Auth0UserID != uid {
					t.Errorf("invitation of %s = %+v, want %s", uid, inv, want[uid])
				}
			}
			if n := f.meter.Usage().Requests; len(tt.want) > 0 && n != 1 {
				t.Errorf("requests = %d, want one BatchGetItem", n)
			}
		})
	}
}

func TestAuth0UserCopyIsLatest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := f.invitation("inv_old", "ann@example.com")
	old.Auth0UserID = "auth0|ann"
	f.create(t, old)
	old = f.finish(t, old, invite.StatusAccepted)

	f.clock.Advance(time.Hour)
	newer := f.invitation("inv_new", "ann@example.com")
	newer.Kind, newer.OrganizationID, newer.Auth0UserID = invite.KindOrganization, "org_1", "auth0|ann"
	f.create(t, newer)

	// The old invitation changes after the newer one exists: the user's copy must keep
	// naming the newer one.
	later := old.Clone()
	later.FlagClearPending = false
	later.History = append(later.History, invite.Event{Event: "flag_cleared", At: f.clock.Now(), Actor: "sweeper"})
	if err := f.store.Update(ctx, old, later); err != nil {
		t.Fatalf("Update of the old invitation: %v", err)
	}
	stored, err := f.store.Get(ctx, old.ID)
	if err != nil || stored.Version != 3 {
		t.Fatalf("old invitation after update: %+v, %v; want version 3", stored, err)
	}
	got, err := f.store.GetByAuth0UserIDs(ctx, []string{"auth0|ann"})
	if err != nil {
		t.Fatalf("GetByAuth0UserIDs: %v", err)
	}
	if inv := got["auth0|ann"]; inv == nil || inv.ID != "inv_new" {
		t.Fatalf("latest invitation of auth0|ann = %+v, want inv_new", inv)
	}

	// An update of the newer one refreshes the copy.
	next := newer.Clone()
	next.Auth0InvitationID = "uinv_9"
	if err := f.store.Update(ctx, newer, next); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err = f.store.GetByAuth0UserIDs(ctx, []string{"auth0|ann"})
	if err != nil {
		t.Fatalf("GetByAuth0UserIDs: %v", err)
	}
	sameInvitation(t, got["auth0|ann"], next)

	// Moving the invitation to another user removes the old user's copy.
	moved := next.Clone()
	moved.Auth0UserID = "auth0|ann-2"
	if err := f.store.Update(ctx, next, moved); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err = f.store.GetByAuth0UserIDs(ctx, []string{"auth0|ann", "auth0|ann-2"})
	if err != nil {
		t.Fatalf("GetByAuth0UserIDs: %v", err)
	}
	if _, ok := got["auth0|ann"]; ok {
		t.Errorf("auth0|ann still has an invitation: %+v", got["auth0|ann"])
	}
	if inv := got["auth0|ann-2"]; inv == nil || inv.ID != "inv_new" {
		t.Errorf("latest invitation of auth0|ann-2 = %+v, want inv_new", inv)
	}
}
