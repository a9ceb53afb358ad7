package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/functions/internal/processtest"
	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/invite"
)

const simSecret = "doorman-publisher-m2m-secret-long-enough-for-a-key"

// sqsStub answers the SQS JSON protocol calls the publisher makes, recording them.
type sqsStub struct {
	mu         sync.Mutex
	sent       []map[string]any
	visibility []int
}

func (s *sqsStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch r.Header.Get("X-Amz-Target") {
	case "AmazonSQS.SendMessageBatch":
		var ok []map[string]any
		for _, e := range in["Entries"].([]any) {
			entry := e.(map[string]any)
			s.sent = append(s.sent, entry)
			sum := md5.Sum([]byte(entry["MessageBody"].(string)))
			ok = append(ok, map[string]any{"Id": entry["Id"], "MessageId": fmt.Sprint("m", len(s.sent)), "MD5OfMessageBody": hex.EncodeToString(sum[:])})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"Successful": ok, "Failed": []any{}})
	case "AmazonSQS.ChangeMessageVisibility":
		s.visibility = append(s.visibility, int(in["VisibilityTimeout"].(float64)))
		_, _ = w.Write([]byte("{}"))
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

// TestPublisherProcess runs the real publisher bootstrap on the stream fixture (an
// invitation created, a token item, the invitation emailed) with one endpoint
// subscribed: the feed gets invitation.created and invitation.sent, once each however
// often the batch is delivered, one delivery per event is queued in the invitation's
// FIFO group, and no payload carries the link, token or Auth0 invitation URL. The
// queued delivery, handed back to the function from the queue, is refused at
// connect time (the endpoint resolves to loopback), recorded, and scheduled again in
// 5 s.
func TestPublisherProcess(t *testing.T) {
	publisherScenario(t, processtest.NewStack(t, "publisher", simSecret))
}

// TestTableActions runs the same scenario through the table meter and holds the
// DynamoDB actions the publisher made (both event sources) to
// testdata/table-actions.txt, which the stack grants its role.
func TestTableActions(t *testing.T) {
	stack := processtest.NewStack(t, "publisher-actions", simSecret)
	publisherScenario(t, stack)
	stack.Meter.Check(t, "publisher")
}

func publisherScenario(t *testing.T, stack *processtest.Stack) {
	t.Helper()
	sqs := &sqsStub{}
	stub := httptest.NewServer(sqs)
	t.Cleanup(stub.Close)
	stack.Env["DELIVERY_QUEUE_URL"] = stub.URL + "/123456789012/doorman-deliveries.fifo"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	store := stack.Store(t)
	ep := &events.Endpoint{ID: "whe_0123456789abcdef01234567", Scope: invite.ScopeApplication, URL: "https://127.0.0.1:9/hook",
		Enabled: true, Secrets: []events.Secret{{Value: "whsec_" + strings.Repeat("QUFB", 8)}}, CreatedAt: time.Now(), Version: 1}
	if err := store.CreateEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "dynamodb", "invitation-stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	rt := stack.StartFunction(t, ".", "doorman-publisher")
	for range 2 { // a batch delivered twice changes nothing the second time
		if _, err := rt.Invoke(ctx, raw); err != nil {
			t.Fatalf("invoke: %v\n%s", err, rt.Logs())
		}
	}
	page, err := store.Feed(ctx, events.FeedQuery{Scope: invite.ScopeApplication, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range page.Events {
		types = append(types, e.Type)
		for _, secret := range []string{"ticket=SECRET", "token_hash", "9f2c0d0b", "accept_url"} {
			if strings.Contains(string(e.Data), secret) {
				t.Errorf("%s carries %q: %s", e.Type, secret, e.Data)
			}
		}
	}
	if strings.Join(types, ",") != "invitation.created,invitation.sent" {
		t.Fatalf("feed = %v, want invitation.created, invitation.sent", types)
	}
	sqs.mu.Lock()
	sent := sqs.sent
	sqs.mu.Unlock()
	if len(sent) != 4 { // two events, sent once per delivery of the batch; FIFO dedup keeps one
		t.Fatalf("%d messages sent, want 4 (2 events × 2 deliveries of the batch)", len(sent))
	}
	if g, d := sent[0]["MessageGroupId"], sent[2]["MessageDeduplicationId"]; g != ep.ID+":01KAXPZ7Q0PUBLISHTEST00001" || d != sent[0]["MessageDeduplicationId"] {
		t.Errorf("group %v, dedup ids %v and %v: want the endpoint and invitation, and one id per event", g, sent[0]["MessageDeduplicationId"], d)
	}

	// The queue hands the first delivery back to the function.
	sqsEvent, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"messageId": "m1", "receiptHandle": "rh1", "body": sent[0]["MessageBody"], "eventSource": "aws:sqs",
		"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:doorman-deliveries.fifo", "awsRegion": "us-east-1",
		"attributes": map[string]string{"ApproximateReceiveCount": "1", "MessageGroupId": sent[0]["MessageGroupId"].(string)},
	}}})
	out, err := rt.Invoke(ctx, sqsEvent)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, rt.Logs())
	}
	if !strings.Contains(string(out), `"itemIdentifier":"m1"`) {
		t.Errorf("answer %s, want m1 reported as failed", out)
	}
	sqs.mu.Lock()
	vis := sqs.visibility
	sqs.mu.Unlock()
	if len(vis) != 1 || vis[0] != 5 {
		t.Errorf("visibility set to %v, want [5] (the first retry in 5 s)", vis)
	}
	as, err := store.Attempts(ctx, ep.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || !strings.Contains(as[0].Error, "loopback") || as[0].Outcome != "retrying" {
		t.Errorf("attempts = %+v, want one refused for its loopback address, retrying", as)
	}
	if strings.Contains(rt.Logs(), "whsec_") || strings.Contains(rt.Logs(), "QUFBQUFB") {
		t.Errorf("the log carries the endpoint's secret:\n%s", rt.Logs())
	}
}
