package sqs_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/sqs"
)

// TestBodyHandlerReportsOnlyFailedRecords: each record is handled once, with its
// message id as the request id; only those whose handling failed are reported.
func TestBodyHandlerReportsOnlyFailedRecords(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string]string{}
	)
	h := sqs.BodyHandler(func(ctx context.Context, body []byte) error {
		mu.Lock()
		seen[string(body)] = invite.RequestID(ctx)
		mu.Unlock()
		if string(body) == "fails" {
			return errors.New("store unavailable")
		}
		return nil
	}, slog.New(slog.DiscardHandler))
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: "ok"}, {MessageId: "m2", Body: "fails"}, {MessageId: "m3", Body: "also ok"},
	}}
	resp, err := h(t.Context(), ev)
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"m2"}) {
		t.Errorf("failures %v, want [m2]", failed)
	}
	if len(seen) != 3 || seen["ok"] != "m1" || seen["fails"] != "m2" {
		t.Errorf("handled %v, want each body once with its message id", seen)
	}
}
