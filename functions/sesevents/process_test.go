package main

import (
	"context"
	"encoding/json"
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

const (
	simSecret = "doorman-sesevents-m2m-secret-long-enough-for-a-key"
	messageID = "0100019a-sesevents-process-test-000000"
)

// startWithSample starts the real sesevents bootstrap without any Auth0 setting, with
// an invitation to recipient@example.com whose current email is messageID, and
// returns the sample SQS event (events/ses/sqs-batch.json: a delivery, a permanent
// bounce and a malformed record) aimed at it.
func startWithSample(t *testing.T, name string) (*processtest.Stack, *lambdaharness.Runtime, *invite.Invitation, []byte) {
	t.Helper()
	stack := processtest.NewStack(t, name, simSecret)
	for k := range stack.Env {
		if strings.HasPrefix(k, "AUTH0_") {
			delete(stack.Env, k) // the function takes none: it calls neither Auth0 nor SES
		}
	}
	now := time.Now()
	inv := stack.SeedInvitation(t, "01KAXPZ7Q0SESEVENTS0000001", "recipient@example.com", now.Add(-time.Hour), now.Add(6*24*time.Hour),
		invite.Delivery{Status: invite.DeliverySent, MessageID: messageID, Sends: 1, LastSentAt: now.Add(-time.Hour)})
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "ses", "sqs-batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	event := strings.NewReplacer("INVITATION_ID", inv.ID, "MESSAGE_ID", messageID).Replace(string(raw))
	return stack, stack.StartFunction(t, ".", "doorman-sesevents"), inv, []byte(event)
}

func invoke(t *testing.T, ctx context.Context, rt *lambdaharness.Runtime, event []byte) events.SQSEventResponse {
	t.Helper()
	out, err := rt.Invoke(ctx, event)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, rt.Logs())
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return resp
}

// TestSESEventsProcess: the sample event, delivered twice, records the delivery and
// the permanent bounce once each on the invitation (bounced, undeliverable, its
// reminder settled), marks the address, drops the malformed record without failing
// the batch, and logs no address.
func TestSESEventsProcess(t *testing.T) {
	stack, rt, inv, event := startWithSample(t, "sesevents")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for delivery := 1; delivery <= 2; delivery++ {
		if resp := invoke(t, ctx, rt, event); len(resp.BatchItemFailures) != 0 {
			t.Errorf("delivery %d: batch item failures %v, want none\n%s", delivery, resp.BatchItemFailures, rt.Logs())
		}
	}
	store := stack.Store(t)
	got, err := store.Get(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range got.History {
		count[e.Event]++
	}
	if got.Delivery.Status != invite.DeliveryBounced || !got.Undeliverable() || got.AwaitsReminder() {
		t.Errorf("delivery %q, undeliverable %v, awaits reminder %v; want bounced, true, false", got.Delivery.Status, got.Undeliverable(), got.AwaitsReminder())
	}
	if count[invite.EventDelivered] != 1 || count[invite.EventBounced] != 1 || got.Version != inv.Version+2 {
		t.Errorf("history %v at version %d, want one delivered and one bounced at version %d", count, got.Version, inv.Version+2)
	}
	if known, err := store.Undeliverable(ctx, "Recipient@Example.com"); err != nil || !known {
		t.Errorf("Undeliverable = %v, %v; want true", known, err)
	}
	logs := rt.Logs()
	if !strings.Contains(logs, "malformed SES event record dropped") {
		t.Errorf("the malformed record was not logged as dropped:\n%s", logs)
	}
	if strings.Contains(logs, "recipient@example.com") {
		t.Errorf("an address reached the logs:\n%s", logs)
	}
}
