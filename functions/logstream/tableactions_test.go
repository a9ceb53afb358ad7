package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/doormanhq/doorman/functions/internal/processtest"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestTableActions runs the real logstream function on a delivery whose login
// accepts an invitation, through the table meter, and holds the DynamoDB actions it
// made to testdata/table-actions.txt, which the stack grants its role. Another writer
// changes the invitation just before the function's first write, as a sweep or an
// admin may, so that the function also takes its conflict path: it reads the
// invitation again and applies the login to what it finds.
func TestTableActions(t *testing.T) {
	const token = "logstream-webhook-token-at-least-32-characters"
	stack := processtest.NewStack(t, "logstream-actions", simSecret)
	stack.Env["WEBHOOK_TOKEN"] = token
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := stack.Store(t)
	now := time.Now().UTC()
	inv := stack.SeedInvitation(t, "01KAXPZ7Q0WEBH00KACTN00001", "joins@example.com", now.Add(-time.Hour), now.Add(6*24*time.Hour),
		invite.Delivery{Status: invite.DeliverySent, Sends: 1, LastSentAt: now.Add(-time.Hour)})
	stack.Meter.BeforeNext("PutItem", func() {
		prev, err := store.Get(ctx, inv.ID)
		if err != nil {
			t.Errorf("the other writer: %v", err)
			return
		}
		next := prev.Clone()
		next.Name = "Renamed"
		if err := store.Update(ctx, prev, next); err != nil {
			t.Errorf("the other writer: %v", err)
		}
	})

	// The first login of the invitee, as Auth0's log stream delivers it.
	login, err := os.ReadFile(filepath.Join("..", "..", "events", "logstream", "type-s.json"))
	if err != nil {
		t.Fatal(err)
	}
	logID := fmt.Sprintf("900%s%039d", now.Format("20060102150405"), now.UnixNano())
	body := "[" + strings.NewReplacer(
		"auth0|677f2c9e8b1d4a0071a3c5e2", inv.Auth0UserID,
		"ann.invitee@example.com", inv.Email,
		"2026-01-02T09:15:10.706Z", now.Format(time.RFC3339Nano),
		"9002026010209151000524810450344328104059256377126073400", logID,
	).Replace(string(login)) + "]"
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "apigw", "webhook-logs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	req.Headers["authorization"], req.Body = "Bearer "+token, body
	payload, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}

	rt := stack.StartFunction(t, ".", "doorman-logstream")
	out, err := rt.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, rt.Logs())
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil || res.StatusCode != 200 {
		t.Fatalf("response %s (%v), want 200\n%s", out, err, rt.Logs())
	}
	got, err := store.Get(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != invite.StatusAccepted || got.Name != "Renamed" {
		t.Errorf("invitation %s named %q, want accepted with the other writer's name\n%s", got.Status, got.Name, rt.Logs())
	}
	stack.Meter.Check(t, "logstream")
}
