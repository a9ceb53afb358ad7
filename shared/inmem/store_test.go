package inmem_test

import (
	"context"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/invite/storetest"
)

// TestConformance holds the in-memory stores to the contract the DynamoDB store
// meets.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, now func() time.Time) storetest.Stores {
		return storetest.Stores{
			Store:       inmem.NewStoreWithClock(now),
			Batches:     inmem.NewBatches(),
			Idempotency: inmem.NewIdempotency(now),
			Counter:     inmem.NewCounter(),
		}
	})
}

// TestIdempotencyReleaseDeletes: a released claim leaves no record behind, even one
// whose lease had run out.
func TestIdempotencyReleaseDeletes(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := inmem.NewIdempotency(func() time.Time { return now })
	rec := invite.IdempotencyRecord{Key: "k", BodyHash: "h", ExpiresAt: now.Add(time.Minute)}
	if _, err := s.ClaimIdempotencyKey(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if r, ok := s.Record("k"); !ok || !r.InFlight() {
		t.Fatalf("record after the claim = %+v, %v; want it in flight", r, ok)
	}
	now = now.Add(2 * time.Minute)
	if err := s.ReleaseIdempotencyKey(ctx, "k"); err != nil {
		t.Fatalf("release: %v", err)
	}
	if got := s.Len(); got != 0 {
		t.Errorf("records after release = %d, want 0", got)
	}
}

func TestCounterFailNext(t *testing.T) {
	ctx := context.Background()
	c := inmem.NewCounter()
	hour := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	c.FailNext(1, invite.CodeUpstream)
	if _, _, err := c.IncrBy(ctx, "a", 1, time.Hour, hour); invite.ErrorCode(err) != invite.CodeUpstream {
		t.Errorf("Add after FailNext: code %q, want upstream_unavailable", invite.ErrorCode(err))
	}
	if n, _, err := c.IncrBy(ctx, "a", 1, time.Hour, hour); err != nil || n != 1 {
		t.Errorf("Add after the failure = %d, %v; want 1, nil (the failed call counted nothing)", n, err)
	}
}

// TestJoinConformance holds the in-memory join store to the contract DynamoDB meets.
func TestJoinConformance(t *testing.T) {
	storetest.RunJoin(t, func(*testing.T) invite.JoinStore { return inmem.NewJoinStore() })
}

func TestEventsConformance(t *testing.T) {
	storetest.Events(t, func(*testing.T) events.Store { return inmem.NewEvents() })
}
