package inmem_test

import (
	"context"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

func TestIdempotencyLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := inmem.NewIdempotency(func() time.Time { return now })
	rec := invite.IdempotencyRecord{Key: "k", BodyHash: "h1", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}

	if old, err := s.ClaimIdempotencyKey(ctx, rec); err != nil || old != nil {
		t.Fatalf("first claim = %v, %v; want nil, nil", old, err)
	}
	old, err := s.ClaimIdempotencyKey(ctx, rec)
	if err != nil || old == nil || !old.InFlight() {
		t.Fatalf("second claim = %+v, %v; want the in-flight record", old, err)
	}
	if err := s.CompleteIdempotencyKey(ctx, invite.IdempotencyRecord{Key: "k", BodyHash: "other", Status: 201, ExpiresAt: now.Add(time.Hour)}); invite.ErrorCode(err) != invite.CodeConflict {
		t.Errorf("complete with another body hash: code %q, want conflict", invite.ErrorCode(err))
	}
	done := rec
	done.Status, done.Body, done.Header, done.ExpiresAt = 201, []byte(`{"id":"1"}`), map[string]string{"Content-Type": "application/json"}, now.Add(24*time.Hour)
	if err := s.CompleteIdempotencyKey(ctx, done); err != nil {
		t.Fatalf("complete: %v", err)
	}
	old, err = s.ClaimIdempotencyKey(ctx, rec)
	if err != nil || old == nil || old.Status != 201 || string(old.Body) != `{"id":"1"}` {
		t.Fatalf("claim after completion = %+v, %v; want the completed record", old, err)
	}
	old.Body[0] = 'X' // must not alias the stored record
	if r, _ := s.Record("k"); string(r.Body) != `{"id":"1"}` {
		t.Errorf("stored body = %q after the caller changed its copy, want unchanged", r.Body)
	}
	if err := s.ReleaseIdempotencyKey(ctx, "k"); invite.ErrorCode(err) != invite.CodeConflict {
		t.Errorf("release of a completed key: code %q, want conflict", invite.ErrorCode(err))
	}
	if err := s.ReleaseIdempotencyKey(ctx, "absent"); err != nil {
		t.Errorf("release of an absent key: %v, want nil", err)
	}
}

func TestIdempotencyExpiredLeaseCanBeClaimed(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := inmem.NewIdempotency(func() time.Time { return now })
	rec := invite.IdempotencyRecord{Key: "k", BodyHash: "h", ExpiresAt: now.Add(time.Minute)}
	if _, err := s.ClaimIdempotencyKey(ctx, rec); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	rec.ExpiresAt = now.Add(time.Minute)
	if old, err := s.ClaimIdempotencyKey(ctx, rec); err != nil || old != nil {
		t.Errorf("claim after the lease ran out = %+v, %v; want nil, nil", old, err)
	}
	if err := s.ReleaseIdempotencyKey(ctx, "k"); err != nil {
		t.Fatalf("release: %v", err)
	}
	if got := s.Len(); got != 0 {
		t.Errorf("records after release = %d, want 0", got)
	}
}

func TestCounter(t *testing.T) {
	ctx := context.Background()
	c := inmem.NewCounter()
	hour := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		name      string
		key       string
		at        time.Time
		wantCount int
		wantReset time.Time
	}{
		{"first", "a", hour.Add(time.Minute), 1, hour.Add(time.Hour)},
		{"second", "a", hour.Add(59 * time.Minute), 2, hour.Add(time.Hour)},
		{"other key", "b", hour, 1, hour.Add(time.Hour)},
		{"next window", "a", hour.Add(time.Hour), 1, hour.Add(2 * time.Hour)},
	}
	for _, s := range steps {
		got, reset, err := c.Incr(ctx, s.key, time.Hour, s.at)
		if err != nil || got != s.wantCount || !reset.Equal(s.wantReset) {
			t.Errorf("%s: Incr = %d, %s, %v; want %d, %s, nil", s.name, got, reset, err, s.wantCount, s.wantReset)
		}
	}
	c.FailNext(1, invite.CodeUpstream)
	if _, _, err := c.Incr(ctx, "a", time.Hour, hour); invite.ErrorCode(err) != invite.CodeUpstream {
		t.Errorf("Incr after FailNext: code %q, want upstream_unavailable", invite.ErrorCode(err))
	}
}
