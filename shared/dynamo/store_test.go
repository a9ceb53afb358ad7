package dynamo

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/invite/storetest"
)

// TestConformance holds the store to the contract of Doorman's store ports on
// DynamoDB Local; the in-memory fake (shared/inmem) runs the same suite.
func TestConformance(t *testing.T) {
	client, _ := testClient(t)
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Stores {
		table := newTable(t, client)
		var retries atomic.Int64
		store, err := New(client, table, Options{CursorKey: testKey, Now: now, Backoff: func(attempt int) time.Duration {
			retries.Add(1)
			return jitteredBackoff(attempt)
		}})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() {
			if n := retries.Load(); n > 0 {
				t.Logf("transaction conflicts and unprocessed keys retried: %d", n)
			}
		})
		counter, err := NewCounter(client, table)
		if err != nil {
			t.Fatalf("NewCounter: %v", err)
		}
		return storetest.Stores{Store: store, Batches: store, Idempotency: store, Counter: counter}
	})
}

func TestItemRoundTrip(t *testing.T) {
	now := storetest.NewClock().Now()
	tests := []struct {
		name string
		inv  *invite.Invitation
	}{
		{"every field", storetest.FullInvitation(now)},
		{"only required fields", &invite.Invitation{ID: "inv_min", Email: "a@b.c", Status: invite.StatusPending, Version: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item, err := invitationItem(tt.inv, 8, 0)
			if err != nil {
				t.Fatalf("invitationItem: %v", err)
			}
			got, err := decodeInvitation(item)
			if err != nil {
				t.Fatalf("decodeInvitation: %v", err)
			}
			storetest.SameInvitation(t, got, tt.inv)
		})
	}
}

// ttlOf returns the TTL attribute of the item at key.
func ttlOf(t *testing.T, f *fixture, key map[string]types.AttributeValue) int64 {
	t.Helper()
	out, err := f.client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: key})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	d := &decoder{m: out.Item}
	ttl := int64(d.n(attrTTL))
	if d.err != nil {
		t.Fatalf("ttl: %v", d.err)
	}
	return ttl
}

// TestTerminalTTL: a finished invitation leaves the table with the retention after it
// ended, and its token and lookup items no earlier (with the TTL they were given
// when written, satelliteTTL: finishing does not rewrite them); it leaves the expiry
// index.
func TestTerminalTTL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := f.Invitation("inv_1", "ann@example.com")
	inv.Auth0UserID = "auth0|u1"
	f.Create(t, inv)
	f.Clock.Advance(time.Hour)
	done := f.Finish(t, inv, invite.StatusAccepted)
	own := done.AcceptedAt.Add(DefaultRetention).Unix()
	satellite := inv.ExpiresAt.Add(DefaultRetention + satelliteSlack).Unix()

	tests := []struct {
		name string
		key  map[string]types.AttributeValue
		want int64
	}{
		{"invitation", invitationKey("inv_1"), own},
		{"token", tokenKey(inv.TokenHash), satellite},
		{"user pointer", userKey("auth0|u1"), satellite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ttlOf(t, f, tt.key); got != tt.want || got < own {
				t.Errorf("ttl = %d, want %d (not before the invitation's %d)", got, tt.want, own)
			}
			out, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: tt.key})
			if err != nil {
				t.Fatalf("GetItem: %v", err)
			}
			if _, ok := out.Item[attrExpPK]; ok {
				t.Errorf("a finished invitation still carries the expiry index key %s", attrExpPK)
			}
		})
	}
}

// TestCleanupPendingHasNoTTL: an ended invitation with its Auth0 cleanup pending
// carries no TTL (DynamoDB must not remove the only record of what is left in Auth0);
// clearing the mark gives it the retention TTL. Its lookup items keep the TTL they
// were written with, no earlier than the invitation's.
func TestCleanupPendingHasNoTTL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := f.Create(t, f.Invitation("inv_1", "ann@example.com"))
	// Revoked, with the Auth0 user Doorman created still to delete.
	marked := inv.Clone()
	marked.Status, marked.RevokedAt, marked.Auth0UserID, marked.UserCreated = invite.StatusRevoked, f.Clock.Now(), "auth0|u1", true
	marked.CleanupPending, marked.CleanupAttempts, marked.NextCleanupAt = true, 1, f.Clock.Now().Add(time.Minute)
	if err := f.store.Update(ctx, inv, marked); err != nil {
		t.Fatalf("Update (revoke, cleanup pending): %v", err)
	}
	keys := map[string]map[string]types.AttributeValue{"invitation": invitationKey("inv_1"), "user copy": userKey("auth0|u1")}
	satellite := f.store.satelliteTTL(marked)
	for name, want := range map[string]int64{"invitation": 0, "user copy": satellite} {
		if got := ttlOf(t, f, keys[name]); got != want {
			t.Errorf("%s ttl while the cleanup is pending: got %d, want %d", name, got, want)
		}
	}
	cleared := marked.Clone()
	cleared.CleanupPending, cleared.CleanupAttempts, cleared.NextCleanupAt = false, 0, time.Time{}
	if err := f.store.Update(ctx, marked, cleared); err != nil {
		t.Fatalf("Update (cleanup done): %v", err)
	}
	own := marked.RevokedAt.Add(DefaultRetention).Unix()
	want := map[string]int64{"invitation": own, "user copy": satellite}
	for name, key := range keys {
		if got := ttlOf(t, f, key); got != want[name] || got < own {
			t.Errorf("%s ttl once the cleanup is done: got %d, want %d (not before %d)", name, got, want[name], own)
		}
	}
}

// TestLegacyUnicodeReservationIsReleased: an invitation stored before addresses were
// keyed through IDNA (a Unicode domain, its reservation under the address lower-cased)
// still ends, releasing that reservation, after the upgrade.
func TestLegacyUnicodeReservationIsReleased(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := f.Invitation("inv_legacy", "ann@example.com")
	inv.Email = "ann@bücher.de" // as stored before: the domain lower-cased, in Unicode
	f.Create(t, inv)
	// What the earlier version wrote: the reservation under the lower-cased address.
	legacy := reservationKey(inv.Scope(), "ann@bücher.de")
	current := reservationKey(inv.Scope(), invite.EmailKey(inv.Email))
	if _, err := f.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(f.table), Key: current}); err != nil {
		t.Fatalf("DeleteItem: %v", err)
	}
	if _, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: pointerItem(legacy, inv.ID, 0)}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	f.Finish(t, inv, invite.StatusRevoked)
	out, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: reservationKey(inv.Scope(), "ann@bücher.de")})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if len(out.Item) != 0 {
		t.Errorf("the legacy reservation is still held: %v", out.Item)
	}
}

// TestJoinConformance holds the join items to the contract of invite.JoinStore on
// DynamoDB Local (the in-memory store runs the same suite); its LinkUsesExact case is
// the race of many redeemers for a link's last places.
func TestJoinConformance(t *testing.T) {
	client, _ := testClient(t)
	storetest.RunJoin(t, func(t *testing.T) invite.JoinStore {
		store, err := New(client, newTable(t, client), Options{CursorKey: testKey})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return store
	})
}
