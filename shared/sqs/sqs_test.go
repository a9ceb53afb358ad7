package sqs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/sqs"
)

const (
	queueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/doorman-work"
	batchID  = "01KAXPZ7Q0BATCHTEST0000001" // the batch of events/sqs/worker.json
)

// fakeSQS is SendMessageBatch on an in-memory queue, with SQS's checks on a request
// and entry failures a test schedules by item index.
type fakeSQS struct {
	mu sync.Mutex
	// requests are the item references of each request, in the order they came.
	requests [][]invite.ItemRef
	// bodies are the message bodies SQS took.
	bodies []string
	// transient fails an item's entry that many times (SQS's own fault).
	transient map[int]int
	// senderFault refuses an item's entry as the caller's fault.
	senderFault map[int]bool
	// err fails every request as a whole.
	err error
}

func (f *fakeSQS) SendMessageBatch(_ context.Context, in *awssqs.SendMessageBatchInput, _ ...func(*awssqs.Options)) (*awssqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.QueueUrl) != queueURL {
		return nil, fmt.Errorf("fake SQS: queue %q does not exist", aws.ToString(in.QueueUrl))
	}
	if n := len(in.Entries); n < 1 || n > 10 {
		return nil, fmt.Errorf("fake SQS: TooManyEntriesInBatchRequest: %d entries", n)
	}
	var refs []invite.ItemRef
	ids := map[string]bool{}
	for _, e := range in.Entries {
		id := aws.ToString(e.Id)
		if ids[id] {
			return nil, fmt.Errorf("fake SQS: BatchEntryIdsNotDistinct: %q", id)
		}
		ids[id] = true
		var ref invite.ItemRef
		if err := json.Unmarshal([]byte(aws.ToString(e.MessageBody)), &ref); err != nil {
			return nil, fmt.Errorf("fake SQS: the test expects JSON bodies: %v", err)
		}
		refs = append(refs, ref)
	}
	f.requests = append(f.requests, refs)
	if f.err != nil {
		return nil, f.err
	}
	out := &awssqs.SendMessageBatchOutput{}
	for i, e := range in.Entries {
		switch idx := refs[i].Index; {
		case f.senderFault[idx]:
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InvalidMessageContents"), SenderFault: true})
		case f.transient[idx] > 0:
			f.transient[idx]--
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError")})
		default:
			f.bodies = append(f.bodies, aws.ToString(e.MessageBody))
			out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String(fmt.Sprintf("m-%d", idx))})
		}
	}
	return out, nil
}

func refs(n int) []invite.ItemRef {
	out := make([]invite.ItemRef, n)
	for i := range out {
		out[i] = invite.ItemRef{BatchID: batchID, Index: i}
	}
	return out
}

// body is the message body of item i.
func body(i int) string { return fmt.Sprintf(`{"batch_id":%q,"index":%d}`, batchID, i) }

func TestEnqueue(t *testing.T) {
	cases := []struct {
		name string
		fake *fakeSQS
		n    int
		// wantSizes are the requests' sizes, sorted: the order of concurrent requests
		// is not the queue's to promise.
		wantSizes []int
		wantCode  invite.Code // "" for success
		// wantSent are the items SQS took, when not all of them.
		wantSent []int
	}{
		{
			name:      "ten to a request",
			fake:      &fakeSQS{},
			n:         25,
			wantSizes: []int{5, 10, 10},
		},
		{
			name:      "one request",
			fake:      &fakeSQS{},
			n:         1,
			wantSizes: []int{1},
		},
		{
			name: "entries SQS failed are sent again, alone",
			fake: &fakeSQS{transient: map[int]int{3: 1, 7: 1, 17: 3}},
			n:    25,
			// 3 and 7 come back together once; 17 three times.
			wantSizes: []int{1, 1, 1, 2, 5, 10, 10},
		},
		{
			name:      "an entry SQS keeps failing",
			fake:      &fakeSQS{transient: map[int]int{4: 99}},
			n:         25,
			wantSizes: []int{1, 1, 1, 5, 10, 10},
			wantCode:  invite.CodeUpstream,
			wantSent:  append(seq(0, 4), seq(5, 25)...),
		},
		{
			name:      "the caller's fault is not retried",
			fake:      &fakeSQS{senderFault: map[int]bool{12: true}},
			n:         25,
			wantSizes: []int{5, 10, 10},
			wantCode:  invite.CodeInternal,
			wantSent:  append(seq(0, 12), seq(13, 25)...),
		},
		{
			name:      "SQS unavailable",
			fake:      &fakeSQS{err: errors.New("operation error SQS: SendMessageBatch, exceeded maximum number of attempts")},
			n:         15,
			wantSizes: []int{5, 10},
			wantCode:  invite.CodeUpstream,
			wantSent:  []int{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := sqs.New(tc.fake, queueURL)
			if err != nil {
				t.Fatal(err)
			}
			err = q.Enqueue(context.Background(), refs(tc.n))
			if got := invite.ErrorCode(err); (err == nil) != (tc.wantCode == "") || (err != nil && got != tc.wantCode) {
				t.Errorf("Enqueue = %v (code %s), want code %q", err, got, tc.wantCode)
			}

			var sizes []int
			for _, r := range tc.fake.requests {
				sizes = append(sizes, len(r))
			}
			slices.Sort(sizes)
			if !slices.Equal(sizes, tc.wantSizes) {
				t.Errorf("request sizes = %v, want %v", sizes, tc.wantSizes)
			}
			wantSent := tc.wantSent
			if wantSent == nil {
				wantSent = seq(0, tc.n)
			}
			var want []string
			for _, i := range wantSent {
				want = append(want, body(i))
			}
			got := slices.Clone(tc.fake.bodies)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("messages SQS took:\n%s\nwant (each once):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// seq is from, from+1, …, to-1.
func seq(from, to int) []int {
	out := []int{}
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestEnqueueStopsWhenCancelled(t *testing.T) {
	fake := &fakeSQS{transient: map[int]int{0: 99}}
	q, err := sqs.New(fake, queueURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = q.Enqueue(ctx, refs(3))
	if got := invite.ErrorCode(err); got != invite.CodeUpstream {
		t.Errorf("Enqueue after cancel = %v (code %s), want upstream_unavailable", err, got)
	}
	if got := len(fake.requests); got != 1 {
		t.Errorf("requests = %d, want 1 (no retry once the context ended)", got)
	}
}

func TestNewRefusesEmptyURL(t *testing.T) {
	if _, err := sqs.New(&fakeSQS{}, ""); err == nil {
		t.Error("New with an empty URL = nil error, want one")
	}
}

// worker records the items it is given and fails those the test says.
type worker struct {
	mu    sync.Mutex
	calls map[invite.ItemRef]bool // item → last
	fail  map[int]bool
}

func (w *worker) work(_ context.Context, ref invite.ItemRef, last bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.calls == nil {
		w.calls = map[invite.ItemRef]bool{}
	}
	w.calls[ref] = last
	if w.fail[ref.Index] {
		return invite.Errorf(invite.CodeUpstream, "Auth0 is unavailable")
	}
	return nil
}

func record(id, body, receives string) events.SQSMessage {
	m := events.SQSMessage{MessageId: id, Body: body, Attributes: map[string]string{}}
	if receives != "" {
		m.Attributes["ApproximateReceiveCount"] = receives
	}
	return m
}

func failures(resp events.SQSEventResponse) []string {
	out := []string{}
	for _, f := range resp.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	slices.Sort(out)
	return out
}

func TestHandlerReportsFailedRecords(t *testing.T) {
	cases := []struct {
		name string
		fail map[int]bool
		want []string
	}{
		{"one fails", map[int]bool{1: true}, []string{"m-1"}},
		{"none fails", nil, []string{}},
		{"all fail", map[int]bool{0: true, 1: true, 2: true}, []string{"m-0", "m-1", "m-2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &worker{fail: tc.fail}
			h := sqs.Handler(w.work, 5, slog.New(slog.DiscardHandler))
			ev := events.SQSEvent{Records: []events.SQSMessage{
				record("m-0", body(0), "1"),
				record("m-1", body(1), "1"),
				record("m-2", body(2), "2"),
			}}
			resp, err := h(context.Background(), ev)
			if err != nil {
				t.Fatalf("handler: %v", err)
			}
			if got := failures(resp); !slices.Equal(got, tc.want) {
				t.Errorf("batch item failures = %v, want %v", got, tc.want)
			}
			if len(w.calls) != 3 {
				t.Errorf("work called for %v, want items 0, 1 and 2", w.calls)
			}
		})
	}
}

func TestHandlerLastDelivery(t *testing.T) {
	cases := []struct {
		name        string
		receives    string
		maxReceives int
		want        bool
	}{
		{"first of five", "1", 5, false},
		{"fourth of five", "4", 5, false},
		{"fifth of five", "5", 5, true},
		{"past the maximum", "6", 5, true},
		{"no receive count", "", 5, false},
		{"unreadable receive count", "many", 5, false},
		{"no maximum", "100", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &worker{}
			h := sqs.Handler(w.work, tc.maxReceives, slog.New(slog.DiscardHandler))
			if _, err := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record("m-0", body(0), tc.receives)}}); err != nil {
				t.Fatalf("handler: %v", err)
			}
			last, called := w.calls[invite.ItemRef{BatchID: batchID, Index: 0}]
			if !called || last != tc.want {
				t.Errorf("work called %v with last %v, want called with last %v", called, last, tc.want)
			}
		})
	}
}

func TestHandlerDropsMalformedRecords(t *testing.T) {
	cases := []struct {
		name, body string
	}{
		{"not JSON", "not a batch item"},
		{"JSON of another kind", `["01KAXPZ7Q0BATCHTEST0000001",0]`},
		{"no batch id", `{"index":0}`},
		{"malformed batch id", `{"batch_id":"batch-1","index":0}`},
		{"negative index", fmt.Sprintf(`{"batch_id":%q,"index":-1}`, batchID)},
		{"index past any batch", fmt.Sprintf(`{"batch_id":%q,"index":1000}`, batchID)},
		{"index of the wrong type", fmt.Sprintf(`{"batch_id":%q,"index":"0"}`, batchID)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			w := &worker{}
			h := sqs.Handler(w.work, 5, slog.New(slog.NewJSONHandler(&logs, nil)))
			resp, err := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
				record("m-bad", tc.body, "1"),
				record("m-0", body(0), "1"),
			}})
			if err != nil {
				t.Fatalf("handler: %v", err)
			}
			if got := failures(resp); len(got) != 0 {
				t.Errorf("batch item failures = %v, want none: a malformed message never succeeds", got)
			}
			if want := (map[invite.ItemRef]bool{{BatchID: batchID, Index: 0}: false}); fmt.Sprint(w.calls) != fmt.Sprint(want) {
				t.Errorf("work called for %v, want only item 0", w.calls)
			}
			if !strings.Contains(logs.String(), `"message_id":"m-bad"`) {
				t.Errorf("the log does not name the dropped message:\n%s", logs.String())
			}
		})
	}
}

// TestHandlerOnSampleEvent runs the handler on the sample event as the Lambda runtime
// does: raw JSON in, raw JSON out.
func TestHandlerOnSampleEvent(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "sqs", "worker.json"))
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{fail: map[int]bool{1: true}}
	out, err := lambda.NewHandler(sqs.Handler(w.work, 2, slog.New(slog.DiscardHandler))).Invoke(context.Background(), raw)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if got, want := string(out), `{"batchItemFailures":[{"itemIdentifier":"5c1a9c1e-2f0e-4f3b-9d4b-0b6f0d1c0a02"}]}`; got != want {
		t.Errorf("response = %s, want %s", got, want)
	}
	// Item 1 is on its second delivery of two: its last.
	want := map[invite.ItemRef]bool{{BatchID: batchID, Index: 0}: false, {BatchID: batchID, Index: 1}: true}
	if fmt.Sprint(w.calls) != fmt.Sprint(want) {
		t.Errorf("work called with %v, want %v (the malformed third record dropped)", w.calls, want)
	}
}

// TestHandlerAnswersBeforeTheDeadline: work that would run to the invocation's
// deadline is stopped ReplyMargin before it, and the handler answers with that record
// failed and the finished one done, rather than being killed with no answer.
func TestHandlerAnswersBeforeTheDeadline(t *testing.T) {
	work := func(ctx context.Context, ref invite.ItemRef, _ bool) error {
		if ref.Index == 0 {
			return nil
		}
		<-ctx.Done() // an Auth0 call that does not come back
		return ctx.Err()
	}
	h := sqs.Handler(work, 5, slog.New(slog.DiscardHandler))
	deadline := time.Now().Add(2*sqs.ReplyMargin + 500*time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	resp, err := h(ctx, events.SQSEvent{Records: []events.SQSMessage{record("m-0", body(0), "1"), record("m-1", body(1), "1")}})
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	if left := time.Until(deadline); left < sqs.ReplyMargin-time.Second {
		t.Errorf("handler answered %v before the deadline, want about %v", left, sqs.ReplyMargin)
	}
	if got := failures(resp); !slices.Equal(got, []string{"m-1"}) {
		t.Errorf("batch item failures = %v, want [m-1]", got)
	}
}

// TestHandlerLinesCarryTheMessageID: a record is the worker's unit of work, and every
// line logged while it is worked (the work's own, the handler's) carries its message
// id as request_id, through the log handler the entry points install.
func TestHandlerLinesCarryTheMessageID(t *testing.T) {
	var logs bytes.Buffer // slog's JSON handler serializes the concurrent writes
	log := slog.New(invite.LogHandler(slog.NewJSONHandler(&logs, nil)))
	work := func(ctx context.Context, ref invite.ItemRef, _ bool) error {
		log.InfoContext(ctx, "working", "index", ref.Index)
		if ref.Index == 1 {
			return errors.New("Auth0 is unavailable")
		}
		return nil
	}
	h := sqs.Handler(work, 5, log)
	if _, err := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		record("m-0", body(0), "1"), record("m-1", body(1), "1"), record("m-bad", "not a batch item", "1"),
	}}); err != nil {
		t.Fatalf("handler: %v", err)
	}

	var got []string
	dec := json.NewDecoder(&logs)
	for dec.More() {
		var line struct {
			Msg       string `json:"msg"`
			Index     *int   `json:"index"`
			RequestID string `json:"request_id"`
		}
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("log line: %v", err)
		}
		what := line.Msg
		if line.Index != nil {
			what = fmt.Sprintf("%s %d", line.Msg, *line.Index)
		}
		got = append(got, what+" → "+line.RequestID)
	}
	slices.Sort(got)
	want := []string{
		"batch item will be retried 1 → m-1",
		"malformed queue message dropped → m-bad",
		"working 0 → m-0",
		"working 1 → m-1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("lines (message → request_id):\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
