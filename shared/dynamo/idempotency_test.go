package dynamo

import (
	"bytes"
	"context"
	"maps"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

func TestIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	rec := IdempotencyRecord{Key: "k-1", BodyHash: "h-1", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}

	existing, err := f.store.ClaimIdempotencyKey(ctx, rec)
	if err != nil || existing != nil {
		t.Fatalf("first claim = %+v, %v; want it claimed", existing, err)
	}
	existing, err = f.store.ClaimIdempotencyKey(ctx, IdempotencyRecord{Key: "k-1", BodyHash: "h-other", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil || existing == nil {
		t.Fatalf("second claim = %+v, %v; want the existing record", existing, err)
	}
	if !existing.InFlight() || existing.BodyHash != "h-1" || !existing.ExpiresAt.Equal(rec.ExpiresAt) {
		t.Errorf("existing = %+v, want in flight with body hash h-1 until %v", existing, rec.ExpiresAt)
	}

	wantCode(t, f.store.CompleteIdempotencyKey(ctx, IdempotencyRecord{Key: "k-1", BodyHash: "h-other", Status: 201, ExpiresAt: rec.ExpiresAt}), invite.CodeConflict)

	done := rec
	done.Status = 201
	done.Header = map[string]string{"Content-Type": "application/json", "Location": "/v1/invitations/inv_1"}
	done.Body = []byte(`{"id":"inv_1"}`)
	if err := f.store.CompleteIdempotencyKey(ctx, done); err != nil {
		t.Fatalf("CompleteIdempotencyKey: %v", err)
	}
	existing, err = f.store.ClaimIdempotencyKey(ctx, rec)
	if err != nil || existing == nil {
		t.Fatalf("claim after completion = %+v, %v; want the completed record", existing, err)
	}
	if existing.Status != 201 || !maps.Equal(existing.Header, done.Header) || !bytes.Equal(existing.Body, done.Body) || existing.Key != "k-1" {
		t.Errorf("completed record = %+v, want %+v", existing, done)
	}

	t.Run("complete twice", func(t *testing.T) {
		wantCode(t, f.store.CompleteIdempotencyKey(ctx, done), invite.CodeConflict)
	})
	t.Run("release completed", func(t *testing.T) {
		wantCode(t, f.store.ReleaseIdempotencyKey(ctx, "k-1"), invite.CodeConflict)
	})
	t.Run("release in flight", func(t *testing.T) {
		r := IdempotencyRecord{Key: "k-2", BodyHash: "h-2", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if got, err := f.store.ClaimIdempotencyKey(ctx, r); err != nil || got != nil {
			t.Fatalf("claim = %+v, %v", got, err)
		}
		if err := f.store.ReleaseIdempotencyKey(ctx, "k-2"); err != nil {
			t.Fatalf("ReleaseIdempotencyKey: %v", err)
		}
		if got, err := f.store.ClaimIdempotencyKey(ctx, r); err != nil || got != nil {
			t.Errorf("claim after release = %+v, %v; want it claimed again", got, err)
		}
	})
	t.Run("release absent", func(t *testing.T) {
		if err := f.store.ReleaseIdempotencyKey(ctx, "never-claimed"); err != nil {
			t.Errorf("ReleaseIdempotencyKey: %v, want nil", err)
		}
	})
	t.Run("expired record", func(t *testing.T) {
		f.clock.Advance(25 * time.Hour) // k-1 expired; TTL deletion has not run yet
		later := IdempotencyRecord{Key: "k-1", BodyHash: "h-3", CreatedAt: f.clock.Now(), ExpiresAt: f.clock.Now().Add(time.Hour)}
		if got, err := f.store.ClaimIdempotencyKey(ctx, later); err != nil || got != nil {
			t.Errorf("claim of an expired key = %+v, %v; want it claimed", got, err)
		}
	})
	t.Run("no expiry", func(t *testing.T) {
		_, err := f.store.ClaimIdempotencyKey(ctx, IdempotencyRecord{Key: "k-3"})
		wantCode(t, err, invite.CodeInvalid)
	})
}

func TestMarkLogProcessed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	steps := []struct {
		name    string
		advance time.Duration
		logID   string
		want    bool
	}{
		{"first delivery", 0, "90020240101", true},
		{"redelivery", time.Minute, "90020240101", false},
		{"another event", 0, "90020240102", true},
		{"redelivery within the ttl", 23 * time.Hour, "90020240101", false},
		{"after the ttl", 2 * time.Hour, "90020240101", true},
	}
	for _, st := range steps {
		f.clock.Advance(st.advance)
		got, err := f.store.MarkLogProcessed(ctx, st.logID, 24*time.Hour)
		if err != nil {
			t.Fatalf("%s: MarkLogProcessed: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: first = %v, want %v", st.name, got, st.want)
		}
	}
}
