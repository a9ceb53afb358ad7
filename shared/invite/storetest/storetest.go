// Package storetest is the conformance suite of Doorman's store ports: invite.Store,
// invite.EventStore, invite.SweepStore, invite.BatchStore, the idempotency records and
// the hourly counter. Run runs the one suite against an implementation, so that the
// in-memory fake (shared/inmem) and DynamoDB (shared/dynamo) are held to the same
// contract and cannot drift apart: where they differ, the fake is wrong. It is test
// support: only _test.go files import it.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Store is what one store of invitations implements: the service's, the webhook's and
// the sweeper's ports.
type Store interface {
	invite.Store
	invite.EventStore
	invite.SweepStore
	invite.DeliveryStore
}

// Idempotency keeps the outcome of requests sent with an Idempotency-Key: the port
// httpapi.IdempotencyStore, restated here so that the suite needs no HTTP layer.
type Idempotency interface {
	ClaimIdempotencyKey(ctx context.Context, rec invite.IdempotencyRecord) (existing *invite.IdempotencyRecord, err error)
	CompleteIdempotencyKey(ctx context.Context, rec invite.IdempotencyRecord) error
	ReleaseIdempotencyKey(ctx context.Context, key string) error
}

// Counter counts events in fixed windows: the port httpapi.Counter.
type Counter interface {
	IncrBy(ctx context.Context, key string, n int, window time.Duration, now time.Time) (count int, resetAt time.Time, err error)
}

// Stores are one implementation of every store port, empty, reading the time from the
// clock they were made with.
type Stores struct {
	Store       Store
	Batches     invite.BatchStore
	Idempotency Idempotency
	Counter     Counter
}

// NewStores makes empty Stores for one test on the clock now, which the suite moves
// forward; their resources end with t.
type NewStores func(t *testing.T, now func() time.Time) Stores

// Run runs every case of the suite, each on Stores of its own.
func Run(t *testing.T, newStores NewStores) {
	newFixture := func(t *testing.T) *fixture {
		t.Helper()
		clk := NewClock()
		stores := newStores(t, clk.Now)
		return &fixture{Stores: stores, Seeder: Seeder{Into: stores.Store, Clock: clk}}
	}
	cases := []struct {
		name string
		run  func(t *testing.T, newFixture func(*testing.T) *fixture)
	}{
		{"RoundTrip", testRoundTrip},
		{"CreateConflicts", testCreateConflicts},
		{"ReleaseThenReinvite", testReleaseThenReinvite},
		{"Update", testUpdate},
		{"FinishedStaysFinished", testFinishedStaysFinished},
		{"TokenSwap", testTokenSwap},
		{"NoAliasing", testNoAliasing},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentUpdate", testConcurrentUpdate},
		{"GetByAuth0UserIDs", testGetByAuth0UserIDs},
		{"Auth0UserCopyIsLatest", testAuth0UserCopyIsLatest},
		{"List", testList},
		{"ListRejects", testListRejects},
		{"ExpiringBefore", testExpiringBefore},
		{"SweepIndexes", testSweepIndexes},
		{"CleanupPendingIsDue", testCleanupPendingIsDue},
		{"Lookup", testLookup},
		{"LookupNewestWinsAndReplacedInvitation", testLookupNewestWins},
		{"LookupBeyond100Keys", testLookupBeyond100Keys},
		{"MarkLogProcessed", testMarkLogProcessed},
		{"DeadLetters", testDeadLetters},
		{"Undeliverable", testUndeliverable},
		{"UpdateDelivery", testUpdateDelivery},
		{"BatchRoundTrip", testBatchRoundTrip},
		{"BatchItemsPages", testBatchItemsPages},
		{"FinishBatchItemCountsOnce", testFinishBatchItemCountsOnce},
		{"ClaimResendOnce", testClaimResendOnce},
		{"UnqueuedBatches", testUnqueuedBatches},
		{"IdempotencyKey", testIdempotencyKey},
		{"CounterAdd", testCounterAdd},
		{"CounterConcurrentAddsAreAllCounted", testCounterConcurrent},
		{"CounterRefusesBadInput", testCounterRefusesBadInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newFixture) })
	}
}

// Clock is a settable time source, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at a fixed instant with nanoseconds, which a store must
// keep.
func NewClock() *Clock {
	return &Clock{now: time.Date(2030, 5, 17, 9, 30, 0, 123456789, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Seeder writes invitations into a store for a test, at the time of its clock.
type Seeder struct {
	Into  invite.Store
	Clock *Clock
}

// Invitation returns a pending application invitation created now, with the link
// token hash "hash-"+id.
func (s Seeder) Invitation(id, email string) *invite.Invitation {
	now := s.Clock.Now()
	return &invite.Invitation{
		ID:        id,
		Kind:      invite.KindApplication,
		Email:     email,
		Name:      "Invitee " + id,
		Roles:     []string{"rol_reader"},
		Inviter:   invite.Inviter{Sub: "auth0|admin", Name: "Admin"},
		Status:    invite.StatusPending,
		CreatedAt: now,
		ExpiresAt: now.Add(7 * 24 * time.Hour),
		TokenHash: "hash-" + id,
		Delivery:  invite.Delivery{Status: invite.DeliveryPending},
		History:   []invite.Event{{Event: invite.EventCreated, At: now, Actor: "auth0|admin"}},
		Version:   1,
	}
}

// Create stores inv, or fails t, and returns it.
func (s Seeder) Create(t testing.TB, inv *invite.Invitation) *invite.Invitation {
	t.Helper()
	if err := s.Into.Create(context.Background(), inv); err != nil {
		t.Fatalf("Create(%s): %v", inv.ID, err)
	}
	return inv
}

// Finish moves a stored invitation to a terminal status now with Update, and returns
// it as stored.
func (s Seeder) Finish(t testing.TB, inv *invite.Invitation, status invite.Status) *invite.Invitation {
	t.Helper()
	now := s.Clock.Now()
	next := inv.Clone()
	next.Status = status
	switch status {
	case invite.StatusAccepted:
		next.AcceptedAt = now
	case invite.StatusRevoked:
		next.RevokedAt = now
	case invite.StatusExpired:
		next.ExpiredAt = now
	}
	next.History = append(next.History, invite.Event{Event: string(status), At: now, Actor: "test"})
	if err := s.Into.Update(context.Background(), inv, next); err != nil {
		t.Fatalf("Update(%s → %s): %v", inv.ID, status, err)
	}
	return next
}

// fixture is one case's stores and their clock.
type fixture struct {
	Stores
	Seeder
}

// orgInvitation returns a pending organization invitation created now.
func (f *fixture) orgInvitation(id, email, org, auth0ID string) *invite.Invitation {
	inv := f.Invitation(id, email)
	inv.Kind, inv.OrganizationID, inv.Auth0InvitationID = invite.KindOrganization, org, auth0ID
	return inv
}

// wantReservedBy checks that the pending invitation id holds the reservation of the
// application scope and email, the way the store shows it: a Create of another
// invitation for that email is a conflict naming id.
func (f *fixture) wantReservedBy(t testing.TB, email, id string) {
	t.Helper()
	err := f.Store.Create(context.Background(), f.Invitation("inv_probe", email))
	if e := wantCode(t, err, invite.CodeConflict); e.ExistingID != id {
		t.Errorf("the reservation of %s is held by %q, want %s", email, e.ExistingID, id)
	}
}

// FullInvitation is a pending organization invitation with every field set, in
// scripts and characters that a store must keep as they are.
func FullInvitation(now time.Time) *invite.Invitation {
	return &invite.Invitation{
		ID:             "inv_full",
		Kind:           invite.KindOrganization,
		Email:          "Zoë.Ångström@Example.com",
		Name:           "Zoë Ångström 山田 🚀",
		OrganizationID: "org_abc#1",
		Roles:          []string{"rol_b", "rol_a", "rol_c"},
		Connection:     "Username-Password-Authentication",
		ClientID:       "client_123",
		AppMetadata: map[string]any{
			"plan":  "pro",
			"seats": 12.5,
			"flags": []any{true, false, nil, "x", 3.0},
			"nested": map[string]any{
				"deeper": map[string]any{"ключ": "значение", "n": 1.0},
				"empty":  map[string]any{},
			},
		},
		UserMetadata: map[string]any{"locale": "fr-CA", "greeting": "Bonjour « vous »"},
		Inviter:      invite.Inviter{Sub: "auth0|admin-1", Name: "Ada Ødegård"},
		Locale:       "fr-CA",
		Message:      "Bienvenue ! ✨ Line two\nLine three",
		RedirectURL:  "https://app.example.com/welcome?x=1&y=2",
		Status:       invite.StatusPending,
		CreatedAt:    now,
		ExpiresAt:    now.Add(72 * time.Hour),
		AcceptedAt:   now.Add(time.Hour),
		RevokedAt:    now.Add(2 * time.Hour),
		ExpiredAt:    now.Add(3 * time.Hour),
		FailedReason: "none really",

		Auth0UserID:        "auth0|user-1",
		UserCreated:        true,
		Account:            invite.AccountUnclaimed,
		Auth0InvitationID:  "uinv_123",
		Auth0InvitationURL: "https://tenant.example.com/login?invitation=uinv_123&organization=org_abc",
		FlagClearPending:   true,
		CleanupPending:     true,
		CleanupAttempts:    3,
		NextCleanupAt:      now.Add(4 * time.Minute),
		Resumable:          true,
		TokenHash:          strings.Repeat("ab", 32),
		LinkDisclosed:      true,
		Delivery: invite.Delivery{
			Status:        invite.DeliverySent,
			MessageID:     "0100018f-msg",
			Sends:         2,
			Attempts:      1,
			NextAttemptAt: now.Add(5 * time.Minute),
			LastSentAt:    now.Add(time.Minute),
			LastError:     "throttled",
			Failures:      3,
			LastAttemptAt: now.Add(2 * time.Minute),
			Undeliverable: "ann@example.com",
			Applied:       []string{"Delivery@2030-05-17T09:31:00Z", "Complaint#0100-feedback"},
		},
		History: []invite.Event{
			{Event: invite.EventCreated, At: now, Actor: "auth0|admin-1", Detail: "via API"},
			{Event: invite.EventEmailSent, At: now.Add(time.Minute), Actor: "worker", Detail: "0100018f-msg"},
		},
		Folded:  map[string]int{invite.EventTicket: 40, invite.EventLinkOpened: 2},
		Version: 1,
	}
}

// SameInvitation compares invitations through their JSON form, which shows a readable
// difference and compares times by instant (a store may give them back in UTC).
func SameInvitation(t testing.TB, got, want *invite.Invitation) {
	t.Helper()
	norm := func(inv *invite.Invitation) string {
		c := inv.Clone()
		for _, tp := range []*time.Time{&c.CreatedAt, &c.ExpiresAt, &c.AcceptedAt, &c.RevokedAt, &c.ExpiredAt,
			&c.NextCleanupAt, &c.Delivery.NextAttemptAt, &c.Delivery.LastSentAt, &c.Delivery.LastAttemptAt} {
			*tp = tp.UTC()
		}
		for i := range c.History {
			c.History[i].At = c.History[i].At.UTC()
		}
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			t.Fatalf("marshal invitation: %v", err)
		}
		return string(b)
	}
	if g, w := norm(got), norm(want); g != w {
		t.Errorf("invitation %s differs:\ngot  %s\nwant %s", want.ID, g, w)
	}
}

func wantCode(t testing.TB, err error, code invite.Code) *invite.Error {
	t.Helper()
	if got := invite.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	return invite.AsError(err)
}

func ids(invs []*invite.Invitation) []string {
	out := make([]string, len(invs))
	for i, inv := range invs {
		out[i] = inv.ID
	}
	return out
}

func seq(prefix string, i int) string { return fmt.Sprintf("%s%03d", prefix, i) }
