package storetest

import (
	"bytes"
	"maps"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

func testIdempotencyKey(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	s := f.Idempotency
	ctx := t.Context()
	now := f.Clock.Now()
	rec := invite.IdempotencyRecord{Key: "k-1", BodyHash: "h-1", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}

	existing, err := s.ClaimIdempotencyKey(ctx, rec)
	if err != nil || existing != nil {
		t.Fatalf("first claim = %+v, %v; want it claimed", existing, err)
	}
	existing, err = s.ClaimIdempotencyKey(ctx, invite.IdempotencyRecord{Key: "k-1", BodyHash: "h-other", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil || existing == nil {
		t.Fatalf("second claim = %+v, %v; want the existing record", existing, err)
	}
	if !existing.InFlight() || existing.BodyHash != "h-1" || !existing.ExpiresAt.Equal(rec.ExpiresAt) {
		t.Errorf("existing = %+v, want in flight with body hash h-1 until %v", existing, rec.ExpiresAt)
	}

	wantCode(t, s.CompleteIdempotencyKey(ctx, invite.IdempotencyRecord{Key: "k-1", BodyHash: "h-other", Status: 201, ExpiresAt: rec.ExpiresAt}), invite.CodeConflict)
	wantCode(t, s.CompleteIdempotencyKey(ctx, rec), invite.CodeInvalid) // no status

	done := rec
	done.Status = 201
	done.Header = map[string]string{"Content-Type": "application/json", "Location": "/v1/invitations/inv_1"}
	done.Body = []byte(`{"id":"inv_1"}`)
	if err := s.CompleteIdempotencyKey(ctx, done); err != nil {
		t.Fatalf("CompleteIdempotencyKey: %v", err)
	}
	existing, err = s.ClaimIdempotencyKey(ctx, rec)
	if err != nil || existing == nil {
		t.Fatalf("claim after completion = %+v, %v; want the completed record", existing, err)
	}
	if existing.Status != 201 || !maps.Equal(existing.Header, done.Header) || !bytes.Equal(existing.Body, done.Body) || existing.Key != "k-1" {
		t.Errorf("completed record = %+v, want %+v", existing, done)
	}
	existing.Body[0] = 'X' // must not alias the stored record
	if again, err := s.ClaimIdempotencyKey(ctx, rec); err != nil || again == nil || !bytes.Equal(again.Body, done.Body) {
		t.Errorf("claim after the caller changed its copy = %+v, %v; want the body unchanged", again, err)
	}

	t.Run("complete twice", func(t *testing.T) {
		wantCode(t, s.CompleteIdempotencyKey(ctx, done), invite.CodeConflict)
	})
	t.Run("release completed", func(t *testing.T) {
		wantCode(t, s.ReleaseIdempotencyKey(ctx, "k-1"), invite.CodeConflict)
	})
	t.Run("release in flight", func(t *testing.T) {
		r := invite.IdempotencyRecord{Key: "k-2", BodyHash: "h-2", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if got, err := s.ClaimIdempotencyKey(ctx, r); err != nil || got != nil {
			t.Fatalf("claim = %+v, %v", got, err)
		}
		if err := s.ReleaseIdempotencyKey(ctx, "k-2"); err != nil {
			t.Fatalf("ReleaseIdempotencyKey: %v", err)
		}
		if got, err := s.ClaimIdempotencyKey(ctx, r); err != nil || got != nil {
			t.Errorf("claim after release = %+v, %v; want it claimed again", got, err)
		}
	})
	t.Run("release absent", func(t *testing.T) {
		if err := s.ReleaseIdempotencyKey(ctx, "never-claimed"); err != nil {
			t.Errorf("ReleaseIdempotencyKey: %v, want nil", err)
		}
	})
	t.Run("expired lease", func(t *testing.T) {
		// An in-flight claim whose lease ran out (its request died) can be claimed
		// again, and the new claim released.
		r := invite.IdempotencyRecord{Key: "k-4", BodyHash: "h-4", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if got, err := s.ClaimIdempotencyKey(ctx, r); err != nil || got != nil {
			t.Fatalf("claim = %+v, %v", got, err)
		}
		r.CreatedAt = f.Clock.Advance(2 * time.Minute)
		r.ExpiresAt = r.CreatedAt.Add(time.Minute)
		if got, err := s.ClaimIdempotencyKey(ctx, r); err != nil || got != nil {
			t.Errorf("claim after the lease ran out = %+v, %v; want it claimed", got, err)
		}
		if err := s.ReleaseIdempotencyKey(ctx, "k-4"); err != nil {
			t.Errorf("release of the new claim: %v", err)
		}
	})
	t.Run("expired record", func(t *testing.T) {
		f.Clock.Advance(25 * time.Hour) // k-1 expired; a TTL may not have removed it yet
		later := invite.IdempotencyRecord{Key: "k-1", BodyHash: "h-3", CreatedAt: f.Clock.Now(), ExpiresAt: f.Clock.Now().Add(time.Hour)}
		if got, err := s.ClaimIdempotencyKey(ctx, later); err != nil || got != nil {
			t.Errorf("claim of an expired key = %+v, %v; want it claimed", got, err)
		}
	})
	t.Run("no expiry", func(t *testing.T) {
		_, err := s.ClaimIdempotencyKey(ctx, invite.IdempotencyRecord{Key: "k-3"})
		wantCode(t, err, invite.CodeInvalid)
	})
}
