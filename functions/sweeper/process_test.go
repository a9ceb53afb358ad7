package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/functions/internal/lambdaharness"
	"github.com/doormanhq/doorman/functions/internal/processtest"
	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/invite"
)

const simSecret = "doorman-sweeper-m2m-secret-long-enough-for-a-key"

// TestSweepProcess runs the real sweeper bootstrap under the Runtime API harness with
// the EventBridge fixture: a pending invitation past its expiry, whose Auth0 user
// (created by Doorman) never logged in, ends expired, and the user is gone.
func TestSweepProcess(t *testing.T) {
	stack := processtest.NewStack(t, "sweeper", simSecret)
	sim := stack.Sim
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Seed an application invitation an hour past its expiry.
	store := stack.Store(t)
	now := time.Now()
	const id = "01KAXPZ7Q0SWEEPTEST0000001"
	// As Doorman creates it: flagged, and naming the invitation.
	user := sim.AddUser(auth0sim.User{Email: "late@example.com", AppMetadata: map[string]any{"needsInvitation": true, "invitationId": id}})
	inv := &invite.Invitation{
		ID: id, Kind: invite.KindApplication, Email: user.Email, Name: "Late",
		Inviter: invite.Inviter{Sub: "auth0|admin", Name: "Admin"}, Status: invite.StatusPending,
		CreatedAt: now.Add(-8 * 24 * time.Hour), ExpiresAt: now.Add(-time.Hour),
		Auth0UserID: user.ID, UserCreated: true,
		Delivery: invite.Delivery{Status: invite.DeliverySent, Sends: 1},
		History:  []invite.Event{{Event: invite.EventCreated, At: now.Add(-8 * 24 * time.Hour), Actor: "auth0|admin"}},
		Version:  1,
	}
	if err := store.Create(ctx, inv); err != nil {
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
	if res.Expired != 1 || !res.Complete {
		t.Errorf("sweep result %+v, want 1 expired and complete", res)
	}
	got, err := store.Get(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != invite.StatusExpired {
		t.Errorf("status %q, want expired", got.Status)
	}
	if _, ok := sim.User(user.ID); ok {
		t.Errorf("the Auth0 user Doorman created is still there after expiry")
	}

	// Every line of the run carries the invocation's request id, and the user's end
	// is logged once, by the domain (the Auth0 adapter adds no line of its own).
	var runID string
	retired := 0
	for _, l := range lambdaharness.LogLines(rt.Logs()) {
		if l.Get("msg") == "sweep" {
			runID = l.Get("request_id")
			if runID == "" {
				t.Errorf("the run's first line has no request_id: %v", l)
			}
		}
		if runID != "" && l.Get("request_id") != runID {
			t.Errorf("%q has request_id %q, want the run's %q", l.Get("msg"), l.Get("request_id"), runID)
		}
		if msg := l.Get("msg"); strings.Contains(msg, "user deleted") || strings.Contains(msg, "user retired") {
			retired++
		}
	}
	if runID == "" || retired != 1 {
		t.Errorf("run id %q, %d lines on the user's end; want an id, and 1 line\n%s", runID, retired, rt.Logs())
	}
}
