package main

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/doormanhq/doorman/functions/internal/lambdaharness"
	"github.com/doormanhq/doorman/functions/internal/processtest"
	"github.com/doormanhq/doorman/shared/invite"
)

const simSecret = "doorman-worker-m2m-secret-long-enough-for-a-key"

// TestWorkerProcess runs the real worker bootstrap under the Runtime API harness with
// the SQS fixture: two items of a stored batch and one malformed message. Both items
// are invited (an Auth0 user each, the batch counts them), the malformed message is
// dropped rather than retried, and the same event delivered again changes nothing.
func TestWorkerProcess(t *testing.T) {
	stack := processtest.NewStack(t, "worker", simSecret)
	sim := stack.Sim
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store := stack.Store(t)
	const batchID = "01KAXPZ7Q0BATCHTEST0000001"
	role := sim.CreateRole("member", "Can use the application")
	admin := invite.Actor{Sub: "auth0|admin", Name: "Admin", Permissions: []string{invite.PermCreate}}
	now := time.Now()
	emails := []string{"worker-a@example.com", "worker-b@example.com"}
	items := make([]*invite.BatchItem, len(emails))
	for i, e := range emails {
		items[i] = &invite.BatchItem{BatchID: batchID, Index: i, InvitationID: "01KAXPZ7Q0WORKERTEST00000" + string(rune('A'+i)),
			Actor: admin, Status: invite.ItemQueued,
			Request: invite.CreateRequest{Email: e, Name: "Invitee", Roles: []string{role.ID}, TTL: invite.DefaultTTL, SendEmail: true}}
	}
	b := &invite.Batch{ID: batchID, Actor: admin, Total: len(items), CreatedAt: now, ExpiresAt: now.Add(time.Hour).Truncate(time.Second)}
	if err := store.CreateBatch(ctx, b, items); err != nil {
		t.Fatal(err)
	}

	rt := stack.StartFunction(t, ".", "doorman-worker")
	event, err := os.ReadFile(filepath.Join("..", "..", "events", "sqs", "worker.json"))
	if err != nil {
		t.Fatal(err)
	}
	for delivery := 1; delivery <= 2; delivery++ {
		out, err := rt.Invoke(ctx, event)
		if err != nil {
			t.Fatalf("delivery %d: invoke: %v\n%s", delivery, err, rt.Logs())
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("delivery %d: response %s: %v", delivery, out, err)
		}
		if len(resp.BatchItemFailures) != 0 {
			t.Errorf("delivery %d: batch item failures %v, want none\n%s", delivery, resp.BatchItemFailures, rt.Logs())
		}
	}

	got, err := store.GetBatch(ctx, batchID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Succeeded != 2 || got.Status() != invite.BatchDone {
		t.Errorf("batch %s with %d succeeded, want done with 2", got.Status(), got.Succeeded)
	}
	for i, e := range emails {
		u, ok := sim.UserByEmail(e)
		if !ok {
			t.Errorf("no Auth0 user for %s", e)
			continue
		}
		inv, err := store.Get(ctx, items[i].InvitationID)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Auth0UserID != u.ID || inv.Delivery.Status != invite.DeliverySent || inv.Delivery.Sends != 1 {
			t.Errorf("%s: invitation user %s delivery %s sends %d, want %s, sent, 1", e, inv.Auth0UserID, inv.Delivery.Status, inv.Delivery.Sends, u.ID)
		}
	}
	if n := len(sim.Users()); n != 2 {
		t.Errorf("Auth0 users = %d, want 2 after two deliveries of the same event", n)
	}
	if !strings.Contains(rt.Logs(), "malformed queue message dropped") {
		t.Errorf("the malformed message was not logged as dropped:\n%s", rt.Logs())
	}
	if strings.Contains(rt.Logs(), simSecret) {
		t.Errorf("the Auth0 client secret reached the logs")
	}
	checkItemLines(t, event, items, rt.Logs())
}

// checkItemLines: every line about an item carries the id of the SQS message that
// brought it as request_id, and each event is logged once, by the domain, over both
// deliveries (the adapters add no "user created" or "email sent" of their own).
func checkItemLines(t *testing.T, event []byte, items []*invite.BatchItem, logs string) {
	t.Helper()
	var ev events.SQSEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	messageOf := map[string]string{} // invitation id → message id
	for _, it := range items {
		messageOf[it.InvitationID] = ev.Records[it.Index].MessageId
	}
	count := map[string]int{}
	for _, l := range lambdaharness.LogLines(logs) {
		msg := l.Get("msg")
		for _, event := range []string{"user created", "email sent"} {
			if strings.Contains(msg, event) {
				count[l.Get("invitation_id")+": "+event]++
			}
		}
		want, ours := messageOf[l.Get("invitation_id")]
		if ours && l.Get("request_id") != want {
			t.Errorf("%q for %s has request_id %q, want its message's id %q", msg, l.Get("invitation_id"), l.Get("request_id"), want)
		}
	}
	want := map[string]int{}
	for _, it := range items {
		want[it.InvitationID+": user created"] = 1
		want[it.InvitationID+": email sent"] = 1
	}
	if !maps.Equal(count, want) {
		t.Errorf("lines per invitation and event = %v, want each once: %v\n%s", count, want, logs)
	}
}
