package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/functions/internal/lambdaharness"
)

// TestFloor runs the floor as Lambda does: it answers hello, and reaches every
// operation it links (each refused by the cancelled context, none sent).
func TestFloor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := lambdaharness.Build(ctx, ".", ".", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rt, err := lambdaharness.Start(lambdaharness.Options{Binary: bin, Env: []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"DYNAMODB_ENDPOINT=http://127.0.0.1:9", "SES_ENDPOINT=http://127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Stop)
	tests := []struct {
		name, payload, want string
		count               int
	}{
		{"hello", `{"rawPath":"/"}`, `"body":"hello"`, 1},
		{"every operation", callAll, "context canceled", 28},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := rt.Invoke(ctx, []byte(tt.payload))
			if err != nil {
				t.Fatalf("invoke: %v\n%s", err, rt.Logs())
			}
			if got := strings.Count(string(out), tt.want); got != tt.count {
				t.Errorf("got %d × %q in %s, want %d", got, tt.want, out, tt.count)
			}
		})
	}
}
