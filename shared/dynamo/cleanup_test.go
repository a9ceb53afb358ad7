package dynamo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestCleanupPendingKeepsItem checks that an ended invitation with its Auth0 cleanup
// pending stays in the due index and carries no TTL, and that clearing the mark gives
// it the retention TTL and takes it out of the index.
func TestCleanupPendingKeepsItem(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	inv := f.invitation("inv_1", "ann@example.com")
	inv.Auth0UserID, inv.UserCreated = "auth0|u1", true
	f.create(t, inv)
	revoked := f.finish(t, inv, invite.StatusRevoked)
	marked := revoked.Clone()
	marked.CleanupPending, marked.CleanupAttempts, marked.NextCleanupAt = true, 1, now.Add(time.Minute)
	if err := f.store.Update(ctx, revoked, marked); err != nil {
		t.Fatalf("Update (mark): %v", err)
	}
	cleared := marked.Clone()
	cleared.CleanupPending, cleared.CleanupAttempts, cleared.NextCleanupAt = false, 0, time.Time{}

	tests := []struct {
		name    string
		update  func(t *testing.T)
		wantDue []string
		wantTTL int64
	}{
		{name: "pending", update: func(*testing.T) {}, wantDue: []string{"inv_1"}},
		{name: "done", update: func(t *testing.T) {
			if err := f.store.Update(ctx, marked, cleared); err != nil {
				t.Fatalf("Update (clear): %v", err)
			}
		}, wantDue: []string{}, wantTTL: revoked.RevokedAt.Add(DefaultRetention).Unix()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.update(t)
			due, err := f.store.DueBefore(ctx, now.Add(2*time.Minute), 0, "")
			if err != nil {
				t.Fatalf("DueBefore: %v", err)
			}
			if got := pageIDs(due); fmt.Sprint(got) != fmt.Sprint(tt.wantDue) {
				t.Errorf("due: got %v, want %v", got, tt.wantDue)
			}
			for _, k := range []string{"invitation", "user copy"} {
				key := invitationKey("inv_1")
				if k == "user copy" {
					key = userKey("auth0|u1")
				}
				out, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: key})
				if err != nil {
					t.Fatalf("GetItem %s: %v", k, err)
				}
				d := &decoder{m: out.Item}
				if got := int64(d.n(attrTTL)); got != tt.wantTTL || d.err != nil {
					t.Errorf("%s ttl: got %d (%v), want %d", k, got, d.err, tt.wantTTL)
				}
			}
		})
	}
}

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
			idp := inmem.NewIdentity(f.clock.Now)
			id, err := invite.NewID(f.clock.Now(), strings.NewReader(strings.Repeat("doorman", 4)))
			if err != nil {
				t.Fatal(err)
			}
			inv := f.invitation(id, "ann@example.com")
			u, err := idp.CreateUser(ctx, invite.NewUser{Email: "ann@example.com", InvitationID: id})
			if err != nil {
				t.Fatal(err)
			}
			inv.Auth0UserID, inv.UserCreated = u.ID, true
			inv.ExpiresAt = f.clock.Now().Add(-time.Minute)
			f.create(t, inv)
			svc, err := invite.NewService(invite.Config{
				Store: f.store, Batches: f.store, Identity: idp, Mailer: inmem.NewMailer(),
				Now: f.clock.Now, PublicBaseURL: "https://doorman.example.com",
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
			due, err := f.store.DueBefore(ctx, f.clock.Now().Add(2*time.Minute), 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fmt.Sprint(pageIDs(due)), fmt.Sprint([]string{id}); got != want {
				t.Errorf("due: got %s, want %s", got, want)
			}

			if tt.adopted {
				if err := idp.AdoptUser(ctx, inv.Auth0UserID, "inv_newer", nil); err != nil {
					t.Fatal(err)
				}
			}
			f.clock.Advance(2 * time.Minute)
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
			due, err = f.store.DueBefore(ctx, f.clock.Now().Add(24*time.Hour), 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := pageIDs(due); len(got) != 0 {
				t.Errorf("due after cleanup: got %v, want none", got)
			}
		})
	}
}
