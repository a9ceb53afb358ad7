package dynamo

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/doormanhq/doorman/internal/testsupport/crash"
	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/invite/storetest"
)

var testRenderers = events.Renderers{
	Invitation: func(inv *invite.Invitation) any { return map[string]any{"id": inv.ID, "status": string(inv.Status)} },
	Batch:      func(b *invite.Batch) any { return map[string]any{"id": b.ID} },
}

func eventsStore(t *testing.T) (*Store, string) {
	t.Helper()
	client, _ := testClient(t)
	table := newTable(t, client)
	s, err := New(client, table, Options{CursorKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return s, table
}

// TestEventsConformance holds the events store to its contract on DynamoDB Local;
// the in-memory store runs the same suite.
func TestEventsConformance(t *testing.T) {
	storetest.Events(t, func(t *testing.T) events.Store {
		s, _ := eventsStore(t)
		return s
	})
}

// TestPublisherCrashes drives invitations through several changes, then publishes
// the table's stream (read through DynamoDB Local's Streams API) with a publisher
// that dies, at random, before or after each of its calls (the feed write, the
// endpoint read, the queue send) and around its checkpoint. Each death loses the
// poller's memory; a new one resumes from the last checkpoint, as Lambda does. In
// the end the feed holds exactly the events the invitations' histories say happened
// (none lost, none made up, none twice), and the queue one delivery per event.
func TestPublisherCrashes(t *testing.T) {
	s, table := eventsStore(t)
	ctx := context.Background()
	endpoint := localaws.DynamoEndpoint(t)
	client, _ := testClient(t)
	streams := dynamodbstreams.New(dynamodbstreams.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: client.Options().Credentials})
	ep := &events.Endpoint{ID: "whe_00000000000000000000crsh", Scope: invite.ScopeApplication, URL: "https://hooks.example.com/",
		Enabled: true, Secrets: []events.Secret{{Value: "whsec_AAAA"}}, CreatedAt: time.Now(), Version: 1}
	if err := s.CreateEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	const n = 12
	finals := map[string]*invite.Invitation{}
	now := time.Now().UTC()
	for i := range n {
		inv := storetest.Seeder{Into: s, Clock: storetest.NewClock()}.Create(t, storetest.Seeder{Clock: storetest.NewClock()}.Invitation(
			fmt.Sprintf("01KAXPZ7Q0CRASHTEST%07d", i), fmt.Sprintf("crash%d@example.com", i)))
		for j, name := range []string{invite.EventEmailSent, invite.EventTicket, invite.EventLinkOpened, invite.EventRevoked} {
			next := inv.Clone()
			next.History = append(next.History, invite.Event{Event: name, At: now.Add(time.Duration(j+1) * time.Millisecond), Actor: "test"})
			if name == invite.EventRevoked {
				next.Status, next.RevokedAt = invite.StatusRevoked, now
			}
			next.Version = inv.Version + 1
			if err := s.Update(ctx, inv, next); err != nil {
				t.Fatal(err)
			}
			inv = next
		}
		finals[inv.ID] = inv
	}
	want := map[string]string{}
	for _, inv := range finals {
		evs, err := testRenderers.InvitationEvents(nil, inv)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			want[e.ID] = e.Type
		}
	}

	in := crash.NewInjector(0.04, 7)
	queue := &inmem.DeliveryQueue{}
	pub := &events.Publisher{Store: crash.EventStore{Store: s, In: in}, Queue: crash.EventQueue{Queue: queue, In: in}}
	handle := func(ctx context.Context, recs []StreamRecord) error {
		var evs []*events.Event
		for _, r := range recs {
			got, err := StreamEvents(testRenderers, r)
			if err != nil {
				return err
			}
			evs = append(evs, got...)
		}
		if err := pub.Publish(ctx, evs); err != nil {
			return err
		}
		in.At("checkpoint", false) // died after publishing, before the checkpoint
		return nil
	}
	deaths, idle := 0, 0
	for round := 0; idle < 3; round++ {
		if round > 300 {
			t.Fatalf("the stream was not drained in 300 deaths: %v", in.Crashes())
		}
		poller := &StreamPoller{Streams: streams, Table: s.db.(tableAPI), Name: table, Handle: handle, BatchSize: 8}
		func() {
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(crash.Crash); !ok {
						panic(r)
					}
					deaths++
				}
			}()
			for idle < 3 {
				busy, err := poller.Poll(ctx)
				if err != nil {
					t.Fatalf("poll: %v", err)
				}
				if busy {
					idle = 0
				} else {
					idle++
				}
			}
		}()
	}
	if deaths == 0 || len(in.Crashes()) < 3 {
		t.Fatalf("%d deaths at %v: the test proves nothing", deaths, in.Crashes())
	}
	got := map[string]string{}
	q := events.FeedQuery{Scope: invite.ScopeApplication, Limit: 100}
	for {
		page, err := s.Feed(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if _, dup := got[e.ID]; dup {
				t.Errorf("event %s twice in the feed", e.ID)
			}
			got[e.ID] = e.Type
		}
		if len(page.Events) < q.Limit {
			break
		}
		q.After = page.Position
	}
	if !maps.Equal(got, want) {
		t.Errorf("feed has %d events, want %d (%d invitations × created, sent, opened, revoked)", len(got), len(want), n)
		for id, typ := range want {
			if got[id] != typ {
				t.Errorf("lost %s %s", typ, id)
			}
		}
		for id, typ := range got {
			if want[id] == "" {
				t.Errorf("made up %s %s", typ, id)
			}
		}
	}
	if p := queue.Pending(); p != len(want) {
		t.Errorf("%d deliveries queued, want one per event: %d", p, len(want))
	}
	t.Logf("%d publisher deaths: %v", deaths, in.Crashes())
}
