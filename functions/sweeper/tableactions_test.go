package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/doormanhq/doorman/functions/internal/processtest"
	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestTableActions runs the real sweeper over each kind of work it finds, through
// the table meter, and holds the DynamoDB actions it made to
// testdata/table-actions.txt, which the stack grants its role: an invitation past its
// expiry, a failed email whose retry is due, and a batch its api request stored but
// never marked queued (its items all finished meanwhile).
func TestTableActions(t *testing.T) {
	stack := processtest.NewStack(t, "sweeper-actions", simSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store := stack.Store(t)
	now := time.Now().UTC()
	admin := invite.Inviter{Sub: "auth0|admin", Name: "Admin"}
	pending := func(id, email string, created, expires time.Time, d invite.Delivery) {
		t.Helper()
		user := stack.Sim.AddUser(auth0sim.User{Email: email, AppMetadata: map[string]any{"needsInvitation": true}})
		inv := &invite.Invitation{
			ID: id, Kind: invite.KindApplication, Email: email, Name: "Invitee", Inviter: admin, Status: invite.StatusPending,
			CreatedAt: created, ExpiresAt: expires, TokenHash: invite.TokenHash(id + "-token"),
			Auth0UserID: user.ID, UserCreated: true, Delivery: d,
			History: []invite.Event{{Event: invite.EventCreated, At: created, Actor: admin.Sub}},
			Version: 1,
		}
		if err := store.Create(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	pending("01KAXPZ7Q0SWEEPACTNEXP0001", "lapsed@example.com", now.Add(-8*24*time.Hour), now.Add(-time.Hour),
		invite.Delivery{Status: invite.DeliverySent, Sends: 1, LastSentAt: now.Add(-8 * 24 * time.Hour)})
	pending("01KAXPZ7Q0SWEEPACTNRETRY01", "bounced@example.com", now.Add(-time.Hour), now.Add(6*24*time.Hour),
		invite.Delivery{Status: invite.DeliveryFailed, Attempts: 1, NextAttemptAt: now.Add(-time.Minute), LastError: "upstream_unavailable"})

	const batchID = "01KAXPZ7Q0SWEEPACTNBATCH01"
	actor := invite.Actor{Sub: admin.Sub, Name: admin.Name, Permissions: []string{invite.PermCreate}}
	created := now.Add(-2 * invite.BatchQueueGrace)
	item := &invite.BatchItem{BatchID: batchID, Index: 0, InvitationID: "01KAXPZ7Q0SWEEPACTNITEM001", Actor: actor,
		Request: invite.CreateRequest{Email: "item@example.com", TTL: invite.DefaultTTL, SendEmail: true},
		Status:  invite.ItemFailed, FinishedAt: created,
		Problem: &invite.ItemProblem{Index: 0, Code: invite.CodeUpstream, Message: "the item could not be queued; submit it again"}}
	b := &invite.Batch{ID: batchID, Actor: actor, Total: 1, Failed: 1, CreatedAt: created, ExpiresAt: now.Add(time.Hour).Truncate(time.Second)}
	if err := store.CreateBatch(ctx, b, []*invite.BatchItem{item}); err != nil {
		t.Fatal(err)
	}

	rt := stack.StartFunction(t, ".", "doorman-sweeper")
	event, err := os.ReadFile(filepath.Join("..", "..", "events", "scheduled", "sweeper.json"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := rt.Invoke(ctx, event)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, rt.Logs())
	}
	var res invite.SweepResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("result %s: %v", out, err)
	}
	if res.Expired != 1 || res.EmailsRetried != 1 || res.BatchesRequeued != 1 || res.Errors != 0 || !res.Complete {
		t.Errorf("sweep result %+v, want 1 expired, 1 email retried, 1 batch requeued, complete\n%s", res, rt.Logs())
	}
	stack.Meter.Check(t, "sweeper")
}
