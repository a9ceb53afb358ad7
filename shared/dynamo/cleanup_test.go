package dynamo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestSweepRetriesCleanupOnDynamo runs revoke and expiry with a failing Auth0 cleanup
// through DynamoDB Local, and the sweep that finishes it: it deletes the user Doorman
// created, unless a newer invitation adopted it in the meantime.
func TestSweepRetriesCleanupOnDynamo(t *testing.T) {
	tests := []struct {
		name       string
		code       invite.Code
		end        func(ctx context.Context, svc *invite.Service, id string) (*invite.Invitation, error)
		wantStatus invite.Status
		adopted    bool // a newer invitation adopts the user before the sweep
	}{
		{"revoke, delete rate limited", invite.CodeRateLimited, func(ctx context.Context, svc *invite.Service, id string) (*invite.Invitation, error) {
			return svc.Revoke(ctx, invite.Actor{Sub: "auth0|admin", Permissions: []string{invite.PermRead, invite.PermDelete}}, id)
		}, invite.StatusRevoked, false},
		{"expire, Auth0 unavailable", invite.CodeUpstream, func(ctx context.Context, svc *invite.Service, id string) (*invite.Invitation, error) {
			return svc.Expire(ctx, id)
		}, invite.StatusExpired, false},
		{"expire, user adopted by a newer invitation before the sweep", invite.CodeUpstream, func(ctx context.Context, svc *invite.Service, id string) (*invite.Invitation, error) {
			return svc.Expire(ctx, id)
		}, invite.StatusExpired, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			idp := inmem.NewIdentity(f.Clock.Now)
			id, err := invite.NewID(f.Clock.Now(), strings.NewReader(strings.Repeat("doorman", 4)))
			if err != nil {
				t.Fatal(err)
			}
			inv := f.Invitation(id, "ann@example.com")
			u, err := idp.CreateUser(ctx, invite.NewUser{Email: "ann@example.com", InvitationID: id})
			if err != nil {
				t.Fatal(err)
			}
			inv.Auth0UserID, inv.UserCreated = u.ID, true
			inv.ExpiresAt = f.Clock.Now().Add(-time.Minute)
			f.Create(t, inv)
			svc, err := invite.NewService(invite.Config{
				Store: f.store, Batches: f.store, Identity: idp, Mailer: inmem.NewMailer(),
				Now: f.Clock.Now, PublicBaseURL: "https://doorman.example.com",
			})
			if err != nil {
				t.Fatal(err)
			}

			idp.FailNext(inmem.OpDeleteUser, 1, tt.code)
			if _, err := tt.end(ctx, svc, id); err != nil {
				t.Fatalf("end: %v", err)
			}
			stored, err := f.store.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != tt.wantStatus || !stored.CleanupPending {
				t.Fatalf("after the failed cleanup: got %s, pending %v; want %s, pending", stored.Status, stored.CleanupPending, tt.wantStatus)
			}
			if _, ok := idp.User(inv.Auth0UserID); !ok {
				t.Fatalf("the failed cleanup deleted the user anyway")
			}
			due, err := f.store.DueBefore(ctx, f.Clock.Now().Add(2*time.Minute), 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(due.Invitations) != 1 || due.Invitations[0].ID != id {
				t.Errorf("due: got %+v, want %s alone", due.Invitations, id)
			}

			if tt.adopted {
				if err := idp.AdoptUser(ctx, inv.Auth0UserID, "inv_newer", nil); err != nil {
					t.Fatal(err)
				}
			}
			f.Clock.Advance(2 * time.Minute)
			s, err := invite.NewSweeper(invite.SweeperConfig{Service: svc, Store: f.store, ReminderBefore: -1})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Run(ctx, time.Time{})
			if err != nil || res.CleanupsDone != 1 {
				t.Errorf("sweep: got %+v, %v; want 1 cleanup done", res, err)
			}
			if _, ok := idp.User(inv.Auth0UserID); ok != tt.adopted {
				t.Errorf("after sweep: the user is in Auth0: %v, want %v (kept only when adopted)", ok, tt.adopted)
			}
			done, err := f.store.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if done.CleanupPending {
				t.Errorf("after sweep: cleanup still pending")
			}
			due, err = f.store.DueBefore(ctx, f.Clock.Now().Add(24*time.Hour), 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(due.Invitations) != 0 {
				t.Errorf("due after cleanup: got %+v, want none", due.Invitations)
			}
		})
	}
}
