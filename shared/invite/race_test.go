package invite_test

import (
	"context"
	"sync"
	"testing"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// racingStore lets another writer slip in just before the next Update, as a
// concurrent request would.
type racingStore struct {
	*inmem.Store
	mu     sync.Mutex
	before func()
}

func (r *racingStore) Update(ctx context.Context, prev, next *invite.Invitation) error {
	r.mu.Lock()
	hook := r.before
	r.before = nil
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	return r.Store.Update(ctx, prev, next)
}

func TestBookkeepingRaceDoesNotFailTransition(t *testing.T) {
	rs := &racingStore{Store: inmem.NewStore()}
	f := newFixture(t, func(c *invite.Config) { c.Store = rs })
	f.store = rs.Store
	c := f.create(t, appAdmin, appRequest("fox@example.com"))
	token := f.lastToken(t, "fox@example.com")

	// The invitee opens the link while the admin revokes.
	rs.mu.Lock()
	rs.before = func() {
		if _, err := f.svc.Landing(f.ctx, token); err != nil {
			t.Errorf("Landing: %v", err)
		}
	}
	rs.mu.Unlock()
	inv, err := f.svc.Revoke(f.ctx, appAdmin, c.Invitation.ID)
	if err != nil {
		t.Fatalf("Revoke: got %v, want success over a concurrent page view", err)
	}
	stored := f.stored(t, inv.ID)
	if stored.Status != invite.StatusRevoked || countEvents(stored, invite.EventLinkOpened) != 1 {
		t.Errorf("stored: got %s with %v, want revoked keeping link_opened", stored.Status, events(stored))
	}
}
