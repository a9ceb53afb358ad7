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
)

const simSecret = "doorman-logstream-m2m-secret-long-enough-for-a-key"

// TestWebhookProcess runs the real logstream bootstrap under the Runtime API harness
// with the API Gateway fixture of an Auth0 log-stream delivery: the right token gets
// 200 (the batch names no invitation, so nothing changes), a wrong one 401, and no
// token secret reaches the logs.
func TestWebhookProcess(t *testing.T) {
	const token = "logstream-webhook-token-at-least-32-characters"
	stack := processtest.NewStack(t, "logstream", simSecret)
	stack.Env["WEBHOOK_TOKEN"] = token
	rt := stack.StartFunction(t, ".", "doorman-logstream")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "apigw", "webhook-logs.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, auth string
		want       int
	}{
		{"the stream's token", "Bearer " + token, 200},
		{"a wrong token", "Bearer " + strings.Repeat("x", len(token)), 401},
		{"no token", "", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload := strings.Replace(string(raw), `"Bearer WEBHOOK_TOKEN"`, fmt.Sprintf("%q", tc.auth), 1)
			out, err := rt.Invoke(ctx, []byte(payload))
			if err != nil {
				t.Fatalf("invoke: %v\n%s", err, rt.Logs())
			}
			var res events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.want {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tc.want, res.Body)
			}
			if tc.want == 401 && !strings.HasPrefix(res.Headers["Content-Type"], "application/problem+json") {
				t.Errorf("401 content type %q, want problem+json", res.Headers["Content-Type"])
			}
		})
	}
	if strings.Contains(rt.Logs(), token) || strings.Contains(rt.Logs(), simSecret) {
		t.Error("a secret reached the function's logs")
	}
}
