package inmem

import (
	"context"

	"github.com/doormanhq/doorman/shared/invite"
)

var _ invite.DeliveryStore = (*Store)(nil)

// UpdateDelivery implements invite.DeliveryStore.
func (s *Store) UpdateDelivery(ctx context.Context, prev, next *invite.Invitation) error {
	if !invite.DeliveryOnly(prev, next) {
		return invite.Invalid("delivery", "only the delivery and history may change")
	}
	return s.Update(ctx, prev, next)
}

// MarkUndeliverable implements invite.DeliveryStore.
func (s *Store) MarkUndeliverable(_ context.Context, u invite.UndeliverableAddress) error {
	key := invite.EmailKey(u.Email)
	if key == "" || u.At.IsZero() {
		return invite.Invalid("email", "an undeliverable address needs an address and a time")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.undeliverable == nil {
		s.undeliverable = map[string]invite.UndeliverableAddress{}
	}
	s.undeliverable[key] = u
	return nil
}

// Undeliverable implements invite.DeliveryStore.
func (s *Store) Undeliverable(_ context.Context, email string) (bool, error) {
	key := invite.EmailKey(email)
	if key == "" {
		return false, invite.Invalid("email", "an address is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.undeliverable[key]
	return ok, nil
}
