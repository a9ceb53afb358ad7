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
	inv := stack.SeedInvitation(t, "01KAXPZ7Q0SWEEPTEST0000001", "late@example.com", now.Add(-8*24*time.Hour), now.Add(-time.Hour),
		invite.Delivery{Status: invite.DeliverySent, Sends: 1})

	rt := stack.StartFunction(t, ".", "doorman-sweeper")
	res := sweep(ctx, t, rt)
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
	if _, ok := sim.User(inv.Auth0UserID); ok {
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

// sweep runs the sweeper once on the EventBridge fixture and returns its result.
func sweep(ctx context.Context, t *testing.T, rt *lambdaharness.Runtime) invite.SweepResult {
	t.Helper()
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
	return res
}
