package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/doormanhq/doorman/functions/internal/processtest"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestTableActions runs the real worker through each kind of item it works, through
// the table meter, and holds the DynamoDB actions it made to testdata/table-actions.txt,
// which the stack grants its role: a new invitation (created, provisioned, emailed,
// the item finished) and an item whose invitee has a pending invitation already,
// with on_conflict=resend (the resend claimed on the item, the old link replaced).
func TestTableActions(t *testing.T) {
	stack := processtest.NewStack(t, "worker-actions", simSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store := stack.Store(t)
	role := stack.Sim.CreateRole("member", "Can use the application")
	admin := invite.Actor{Sub: "auth0|admin", Name: "Admin", Permissions: []string{invite.PermCreate, invite.PermRead, invite.PermUpdate}}
	now := time.Now()

	// The pending invitation the second item runs into, sent two days ago.
	existing := stack.SeedInvitation(t, "01KAXPZ7Q0PENDNGAGAN000001", "again@example.com", now.Add(-48*time.Hour), now.Add(5*24*time.Hour),
		invite.Delivery{Status: invite.DeliverySent, Sends: 1, LastSentAt: now.Add(-48 * time.Hour)})

	const batchID = "01KAXPZ7Q0WRKACTNSBATCH001"
	requests := []invite.CreateRequest{
		{Email: "fresh@example.com", Name: "Fresh", Roles: []string{role.ID}, TTL: invite.DefaultTTL, SendEmail: true},
		{Email: existing.Email, Name: "Again", Roles: []string{role.ID}, TTL: invite.DefaultTTL, SendEmail: true, OnConflict: invite.OnConflictResend},
	}
	items := make([]*invite.BatchItem, len(requests))
	var ev events.SQSEvent
	for i, req := range requests {
		items[i] = &invite.BatchItem{BatchID: batchID, Index: i, InvitationID: fmt.Sprintf("01KAXPZ7Q0WRKACTNSTEM0000%d", i),
			Actor: admin, Status: invite.ItemQueued, Request: req}
		body, err := json.Marshal(invite.ItemRef{BatchID: batchID, Index: i})
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: fmt.Sprintf("actions-%d", i), Body: string(body), EventSource: "aws:sqs",
			Attributes: map[string]string{"ApproximateReceiveCount": "1"},
		})
	}
	b := &invite.Batch{ID: batchID, Actor: admin, Total: len(items), CreatedAt: now, ExpiresAt: now.Add(time.Hour).Truncate(time.Second)}
	if err := store.CreateBatch(ctx, b, items); err != nil {
		t.Fatal(err)
	}

	rt := stack.StartFunction(t, ".", "doorman-worker")
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := rt.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, rt.Logs())
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("response %s (%v), want no batch item failures\n%s", out, err, rt.Logs())
	}
	for i, want := range []struct {
		result string
		resent bool
	}{{items[0].InvitationID, false}, {existing.ID, true}} {
		got, err := store.GetBatchItem(ctx, invite.ItemRef{BatchID: batchID, Index: i})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != invite.ItemSucceeded || got.ResultID != want.result || got.Resent != want.resent {
			t.Errorf("item %d: %s with result %s (resent %v), want succeeded with %s (resent %v)",
				i, got.Status, got.ResultID, got.Resent, want.result, want.resent)
		}
	}
	resent, err := store.Get(ctx, existing.ID)
	if err != nil {
		t.Fatal(err)
	}
	if resent.TokenHash == existing.TokenHash || resent.Delivery.Sends != 2 {
		t.Errorf("the existing invitation: %d sends, link replaced %v; want 2 sends and a new link",
			resent.Delivery.Sends, resent.TokenHash != existing.TokenHash)
	}
	stack.Meter.Check(t, "worker")
}
