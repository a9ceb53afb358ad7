package main

import (
	"context"
	"testing"
	"time"

	"github.com/doormanhq/doorman/functions/internal/processtest"
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
	now := time.Now().UTC()
	stack.SeedInvitation(t, "01KAXPZ7Q0SWEEPACTNEXP0001", "lapsed@example.com", now.Add(-8*24*time.Hour), now.Add(-time.Hour),
		invite.Delivery{Status: invite.DeliverySent, Sends: 1, LastSentAt: now.Add(-8 * 24 * time.Hour)})
	stack.SeedInvitation(t, "01KAXPZ7Q0SWEEPACTNRETRY01", "bounced@example.com", now.Add(-time.Hour), now.Add(6*24*time.Hour),
		invite.Delivery{Status: invite.DeliveryFailed, Attempts: 1, NextAttemptAt: now.Add(-time.Minute), LastError: "upstream_unavailable"})

	const batchID = "01KAXPZ7Q0SWEEPACTNBATCH01"
	actor := invite.Actor{Sub: "auth0|admin", Name: "Admin", Permissions: []string{invite.PermCreate}}
	created := now.Add(-2 * invite.BatchQueueGrace)
	item := &invite.BatchItem{BatchID: batchID, Index: 0, InvitationID: "01KAXPZ7Q0SWEEPACTNITEM001", Actor: actor,
		Request: invite.CreateRequest{Email: "item@example.com", TTL: invite.DefaultTTL, SendEmail: true},
		Status:  invite.ItemFailed, FinishedAt: created,
		Problem: &invite.ItemProblem{Index: 0, Code: invite.CodeUpstream, Message: "the item could not be queued; submit it again"}}
	b := &invite.Batch{ID: batchID, Actor: actor, Total: 1, Failed: 1, CreatedAt: created, ExpiresAt: now.Add(time.Hour).Truncate(time.Second)}
	if err := stack.Store(t).CreateBatch(ctx, b, []*invite.BatchItem{item}); err != nil {
		t.Fatal(err)
	}

	rt := stack.StartFunction(t, ".", "doorman-sweeper")
	if res := sweep(ctx, t, rt); res.Expired != 1 || res.EmailsRetried != 1 || res.BatchesRequeued != 1 || res.Errors != 0 || !res.Complete {
		t.Errorf("sweep result %+v, want 1 expired, 1 email retried, 1 batch requeued, complete\n%s", res, rt.Logs())
	}
	stack.Meter.Check(t, "sweeper")
}
