package main

import (
	"context"
	"testing"
	"time"
)

// TestTableActions runs the real sesevents function on the sample event through the
// table meter and holds the DynamoDB actions it made to testdata/table-actions.txt,
// which the stack grants its role: the address marked, the invitation read and
// updated (a delivery and a bounce).
func TestTableActions(t *testing.T) {
	stack, rt, _, event := startWithSample(t, "sesevents-actions")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if resp := invoke(t, ctx, rt, event); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batch item failures %v\n%s", resp.BatchItemFailures, rt.Logs())
	}
	stack.Meter.Check(t, "sesevents")
}
