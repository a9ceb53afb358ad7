package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/dynamo/dynamotest"
	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/hookclient"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// countingQueue counts the SQS requests the same sends would make
// (SendMessageBatch takes ten messages).
type countingQueue struct {
	events.Queue
	mu       sync.Mutex
	requests int
}

func (q *countingQueue) Send(ctx context.Context, ds []*events.Delivery) error {
	q.mu.Lock()
	q.requests += (len(ds) + 9) / 10
	q.mu.Unlock()
	return q.Queue.Send(ctx, ds)
}

// pipeline is events out as the local run has it, on a fresh table: the stream
// poller, the publisher, the delivery queue and deliverers, and a loopback receiver
// subscribed to every event, which notes when each event id arrived.
type pipeline struct {
	store    *dynamo.Store
	meter    *dynamotest.Meter
	queue    *countingQueue
	mu       sync.Mutex
	received map[string]time.Time
	start    func(ctx context.Context)
}

func newPipeline(tb testing.TB) *pipeline {
	tb.Helper()
	endpoint := localaws.DynamoEndpoint(tb)
	creds := credentials.NewStaticCredentialsProvider("local", "local", "")
	meter := &dynamotest.Meter{}
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds}, meter.Register)
	table := fmt.Sprintf("doorman-events-bench-%d", time.Now().UnixNano())
	if err := dynamo.EnsureTable(context.Background(), db, table); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}) })
	store, err := dynamo.New(db, table, dynamo.Options{CursorKey: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		tb.Fatal(err)
	}
	p := &pipeline{store: store, meter: meter, received: map[string]time.Time{}}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.received[r.Header.Get("webhook-id")] = time.Now()
		p.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(rcv.Close)
	ep := &events.Endpoint{ID: "whe_000000000000000000bench0", Scope: invite.ScopeApplication, URL: rcv.URL + "/hook", Enabled: true,
		Secrets: []events.Secret{{Value: "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}, CreatedAt: time.Now(), Version: 1}
	if err := store.CreateEndpoint(context.Background(), ep); err != nil {
		tb.Fatal(err)
	}
	q := &inmem.DeliveryQueue{}
	p.queue = &countingQueue{Queue: q}
	pub := &events.Publisher{Store: store, Queue: p.queue}
	dl := &events.Deliverer{Store: store, Sender: hookclient.New(hookclient.Options{AllowLoopback: true})}
	streams := dynamodbstreams.New(dynamodbstreams.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds})
	poller := &dynamo.StreamPoller{Streams: streams, Table: db, Name: table, BatchSize: 100, Handle: func(ctx context.Context, recs []dynamo.StreamRecord) error {
		var evs []*events.Event
		for _, r := range recs {
			got, err := dynamo.StreamEvents(app.Renderers, r)
			if err != nil {
				return err
			}
			evs = append(evs, got...)
		}
		return pub.Publish(ctx, evs)
	}}
	p.start = func(ctx context.Context) {
		go func() { _ = poller.Run(ctx) }()
		go q.Run(ctx, deliveryWorkers, dl.Deliver)
	}
	return p
}

// commit creates invitation i and returns when it is stored, with the id of its
// invitation.created event.
func (p *pipeline) commit(tb testing.TB, run string, i int) (string, time.Time) {
	id := fmt.Sprintf("01KB%s%012d", run, i)
	now := time.Now().UTC()
	inv := &invite.Invitation{ID: id, Kind: invite.KindApplication, Email: fmt.Sprintf("bench%d-%s@example.com", i, run),
		Inviter: invite.Inviter{Sub: "auth0|bench"}, Status: invite.StatusPending, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		TokenHash: "hash-" + id, Delivery: invite.Delivery{Status: invite.DeliveryPending},
		History: []invite.Event{{Event: invite.EventCreated, At: now, Actor: "auth0|bench"}}, Version: 1}
	if err := p.store.Create(context.Background(), inv); err != nil {
		tb.Fatal(err)
	}
	return events.EventID("invitation", id, "1"), time.Now()
}

// await waits until every id arrived and returns when the last did.
func (p *pipeline) await(tb testing.TB, ids []string, limit time.Duration) time.Time {
	deadline := time.Now().Add(limit)
	for {
		p.mu.Lock()
		var last time.Time
		missing := 0
		for _, id := range ids {
			at, ok := p.received[id]
			if !ok {
				missing++
			} else if at.After(last) {
				last = at
			}
		}
		p.mu.Unlock()
		if missing == 0 {
			return last
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d events not delivered within %s", missing, len(ids), limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkPublisherThroughput: b.N invitations are committed first; then the
// pipeline starts and drains the stream to the loopback receiver. Reported: events
// delivered per second, and the table and SQS requests per event (the creates'
// own writes left out).
//
//	go test -run '^$' -bench PublisherThroughput -benchtime 2000x ./functions/local/
func BenchmarkPublisherThroughput(b *testing.B) {
	p := newPipeline(b)
	ids := make([]string, b.N)
	for i := range b.N {
		ids[i], _ = p.commit(b, "THRU", i)
	}
	p.meter.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	p.start(ctx)
	last := p.await(b, ids, 10*time.Minute)
	b.StopTimer()
	usage := p.meter.Usage()
	b.ReportMetric(float64(b.N)/last.Sub(start).Seconds(), "events/s")
	b.ReportMetric(float64(usage.Requests)/float64(b.N), "ddb-requests/event")
	b.ReportMetric(float64(p.queue.requests)/float64(b.N), "sqs-sends/event")
	b.Logf("%d events; table requests by operation: %v", b.N, usage.Operations)
}

// BenchmarkCommitToDelivery: with the pipeline running, b.N invitations are
// committed at 4 a second (well under what the pipeline sustains on a shared machine,
// so that the figure is the added latency, not a queue); reported are the median and p99 of the time from each
// commit (the store's write returned) to its delivery at the receiver.
//
//	go test -run '^$' -bench CommitToDelivery -benchtime 200x ./functions/local/
func BenchmarkCommitToDelivery(b *testing.B) {
	p := newPipeline(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.start(ctx)
	ids := make([]string, b.N)
	committed := make([]time.Time, b.N)
	b.ResetTimer()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for i := range b.N {
		<-tick.C
		ids[i], committed[i] = p.commit(b, "LATE", i)
	}
	p.await(b, ids, 5*time.Minute)
	b.StopTimer()
	lat := make([]time.Duration, b.N)
	p.mu.Lock()
	for i, id := range ids {
		lat[i] = p.received[id].Sub(committed[i])
	}
	p.mu.Unlock()
	slices.Sort(lat)
	pct := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	b.ReportMetric(float64(pct(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(pct(0.99).Milliseconds()), "p99-ms")
}
