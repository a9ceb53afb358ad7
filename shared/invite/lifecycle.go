package invite

import (
	"context"
	"fmt"
	"time"
)

// AcceptSource says what accepted an invitation: Source is the mechanism ("auth0"
// for a log event, "sweeper"), Actor goes into the history (default Source), Detail
// is a readable note (such as the log event id) and At when it happened (default now).
type AcceptSource struct {
	Source string
	Actor  string
	Detail string
	At     time.Time
}

// Accept moves a pending invitation to accepted; any other state is a conflict, which
// a webhook replaying an event may treat as done. For an application invitation it
// then clears app_metadata.needsInvitation in Auth0. If that fails the invitation
// stays accepted with FlagClearPending set, for the sweeper to retry
// (RetryFlagClear), and Accept still succeeds.
func (s *Service) Accept(ctx context.Context, id string, src AcceptSource) (*Invitation, error) {
	inv, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("accept %s: %w", id, err)
	}
	at := src.At
	if at.IsZero() {
		at = s.now()
	}
	actor := src.Actor
	if actor == "" {
		actor = src.Source
	}
	next, err := s.apply(ctx, inv, func(n *Invitation) error {
		if err := n.transition(StatusAccepted, at, actor, src.Detail); err != nil {
			return err
		}
		// Set before Auth0 is asked, so that a crash in between leaves a retry behind.
		n.FlagClearPending = n.Kind == KindApplication && n.Auth0UserID != ""
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("accept %s: %w", id, err)
	}
	s.logger(ctx, next).InfoContext(ctx, "invitation accepted", "source", src.Source)
	if next.FlagClearPending {
		if cleared, err := s.clearFlag(ctx, next); err == nil {
			next = cleared
		}
	}
	return next, nil
}

// RetryFlagClear clears app_metadata.needsInvitation of an accepted invitation whose
// earlier attempt failed. It returns the error of the attempt, so that the sweeper
// knows to come back.
func (s *Service) RetryFlagClear(ctx context.Context, id string) (*Invitation, error) {
	inv, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("clear flag of %s: %w", id, err)
	}
	if !inv.FlagClearPending {
		return inv, nil
	}
	return s.clearFlag(ctx, inv)
}

func (s *Service) clearFlag(ctx context.Context, inv *Invitation) (*Invitation, error) {
	log := s.logger(ctx, inv)
	if err := s.identity.ClearInvitationFlag(ctx, inv.Auth0UserID); err != nil && !IsCode(err, CodeNotFound) {
		log.WarnContext(ctx, "cannot clear needsInvitation; will retry", "error", err)
		return inv, fmt.Errorf("clear flag of %s: %w", inv.ID, err)
	}
	// A user that is gone has no flag left to clear.
	next, err := s.apply(ctx, inv, func(n *Invitation) error {
		n.FlagClearPending = false
		return nil
	})
	if err != nil {
		log.ErrorContext(ctx, "cannot record cleared flag", "error", err)
		return inv, err
	}
	return next, nil
}

// Expire moves a pending invitation whose time has passed to expired (a conflict if it
// is not pending or not yet due), then deletes the Auth0 organization invitation or
// applies ExpiredUserPolicy to the user Doorman created. Cleanup failures are recorded,
// and retried by the sweeper, as with Revoke.
func (s *Service) Expire(ctx context.Context, id string) (*Invitation, error) {
	inv, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("expire %s: %w", id, err)
	}
	now := s.now()
	next, err := s.apply(ctx, inv, func(n *Invitation) error {
		if n.Status == StatusPending && n.ExpiresAt.After(now) {
			return Errorf(CodeConflict, "the invitation expires at %s", n.ExpiresAt.Format(time.RFC3339))
		}
		return n.transition(StatusExpired, now, ActorSweeper, "")
	})
	if err != nil {
		return nil, fmt.Errorf("expire %s: %w", id, err)
	}
	s.logger(ctx, next).InfoContext(ctx, "invitation expired")
	return s.cleanup(ctx, next, ActorSweeper, s.userPolicy), nil
}
