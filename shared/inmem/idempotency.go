package inmem

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Idempotency keeps idempotency records in memory with the DynamoDB store's
// conditions: a claim takes a key that is absent or expired, completion needs the
// key in flight with the same body hash, and release frees only an in-flight key.
type Idempotency struct {
	mu      sync.Mutex
	now     func() time.Time
	records map[string]invite.IdempotencyRecord
	claims  int
}

// NewIdempotency returns an empty record store on the clock now (nil means time.Now),
// against which records expire.
func NewIdempotency(now func() time.Time) *Idempotency {
	if now == nil {
		now = time.Now
	}
	return &Idempotency{now: now, records: map[string]invite.IdempotencyRecord{}}
}

func copyRecord(r invite.IdempotencyRecord) *invite.IdempotencyRecord {
	r.Header = maps.Clone(r.Header)
	r.Body = slices.Clone(r.Body)
	return &r
}

// ClaimIdempotencyKey stores rec as in flight unless a live record with its key
// exists, which it returns.
func (s *Idempotency) ClaimIdempotencyKey(_ context.Context, rec invite.IdempotencyRecord) (*invite.IdempotencyRecord, error) {
	if rec.Key == "" || rec.ExpiresAt.IsZero() {
		return nil, invite.Invalid("Idempotency-Key", "a key and an expiry are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims++
	if old, ok := s.records[rec.Key]; ok && old.ExpiresAt.After(s.now()) {
		return copyRecord(old), nil
	}
	rec.Status, rec.Header, rec.Body = 0, nil, nil
	s.records[rec.Key] = rec
	return nil, nil
}

// CompleteIdempotencyKey stores the response of the request that claimed rec.Key.
func (s *Idempotency) CompleteIdempotencyKey(_ context.Context, rec invite.IdempotencyRecord) error {
	if rec.Status == 0 {
		return invite.Invalid("status", "a completed record needs its HTTP status")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.records[rec.Key]
	if !ok || old.BodyHash != rec.BodyHash || !old.InFlight() {
		return invite.Errorf(invite.CodeConflict, "the idempotency key is not in flight with this body")
	}
	s.records[rec.Key] = *copyRecord(rec)
	return nil
}

// ReleaseIdempotencyKey deletes an in-flight claim; an absent key is not an error, a
// completed one is a conflict.
func (s *Idempotency) ReleaseIdempotencyKey(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.records[key]
	if !ok {
		return nil
	}
	if !old.InFlight() {
		return invite.Errorf(invite.CodeConflict, "the idempotency key has completed")
	}
	delete(s.records, key)
	return nil
}

// Record returns the stored record of key, if any.
func (s *Idempotency) Record(key string) (invite.IdempotencyRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[key]
	if !ok {
		return invite.IdempotencyRecord{}, false
	}
	return *copyRecord(r), true
}

// Seed stores rec as it is, as an earlier version of Doorman may have left it: for
// tests of what a deployed table already holds.
func (s *Idempotency) Seed(rec invite.IdempotencyRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[rec.Key] = *copyRecord(rec)
}

// Len returns the number of records, expired ones included.
func (s *Idempotency) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}
