package invite

import (
	"context"
	"fmt"
	"time"
)

// Resend replaces the link token of a pending invitation (the old link stops working
// at once) and emails the new link. A non-zero ttl also moves the expiry to now+ttl,
// and for an organization invitation replaces the Auth0 invitation with one that
// lives as long. It is rate-limited per invitation: one email per ResendInterval and
// MaxSends in all. As with Create, an email that cannot be sent is recorded on the
// invitation (Delivery failed, retry queued), not returned as an error.
func (s *Service) Resend(ctx context.Context, a Actor, id string, ttl time.Duration) (*Invitation, error) {
	inv, err := s.load(ctx, a, PermUpdate, id)
	if err != nil {
		return nil, err
	}
	return s.resend(ctx, a, inv, ttl)
}

func (s *Service) resend(ctx context.Context, a Actor, inv *Invitation, ttl time.Duration) (*Invitation, error) {
	now := s.now()
	if ttl != 0 {
		var err error
		if ttl, err = ValidateTTL(ttl, s.limits); err != nil {
			return nil, err
		}
	} else if !inv.ExpiresAt.After(now) {
		// Resending an invitation that lapsed before the sweeper came would mail a
		// dead link: give it a fresh default lifetime.
		ttl = s.limits.DefaultTTL
	}
	if err := s.canSend(inv, now); err != nil {
		return nil, err
	}
	target, err := s.targetName(ctx, inv)
	if err != nil {
		return nil, fmt.Errorf("resend %s: %w", inv.ID, err)
	}
	token, err := NewToken(s.rand)
	if err != nil {
		return nil, fmt.Errorf("resend %s: %w", inv.ID, err)
	}
	var fresh *OrgInvitation
	if ttl != 0 && inv.Kind == KindOrganization {
		// Auth0 cannot extend an invitation: create one that lives as long, and delete
		// the old one once the new one is stored.
		fresh, err = s.identity.CreateOrgInvitation(ctx, s.orgInvitationRequest(inv, ttl))
		if err != nil {
			return nil, fmt.Errorf("resend %s: create Auth0 organization invitation: %w", inv.ID, err)
		}
	}
	var replaced string
	detail := ""
	if ttl != 0 {
		detail = "expires " + now.Add(ttl).UTC().Format(time.RFC3339)
	}
	next, err := s.apply(ctx, inv, func(n *Invitation) error {
		if err := s.canSend(n, now); err != nil {
			return err
		}
		n.TokenHash = TokenHash(token)
		if ttl != 0 {
			n.ExpiresAt = now.Add(ttl).UTC()
		}
		if fresh != nil {
			replaced = n.Auth0InvitationID
			n.Auth0InvitationID, n.Auth0InvitationURL = fresh.ID, fresh.URL
		}
		n.record(EventResent, now, a.Sub, detail)
		return nil
	})
	if err != nil {
		if fresh != nil {
			s.deleteOrgInvitation(ctx, inv, fresh.ID)
		}
		return nil, err
	}
	if replaced != "" {
		s.deleteOrgInvitation(ctx, next, replaced)
	}
	s.logger(ctx, next).InfoContext(ctx, "invitation resent", "actor", a.Sub)
	return s.deliver(ctx, next, s.mail(next, s.template(next), target, s.link(token)), now), nil
}

// canSend applies the per-invitation limits of Resend.
func (s *Service) canSend(inv *Invitation, now time.Time) error {
	if inv.Status != StatusPending {
		return Errorf(CodeConflict, "the invitation is %s, not pending", inv.Status)
	}
	if inv.Delivery.Sends >= s.maxSends {
		return Errorf(CodeRateLimited, "this invitation has been sent %d times; revoke it and invite again", inv.Delivery.Sends)
	}
	if last := inv.Delivery.LastSentAt; !last.IsZero() {
		if wait := last.Add(s.resendInterval).Sub(now); wait > 0 {
			return &Error{Code: CodeRateLimited, Message: "this invitation was sent moments ago", RetryAfter: wait}
		}
	}
	return nil
}

// resendExisting serves on_conflict=resend: a resend of the pending invitation, or,
// when the caller sends no email, a fresh link.
func (s *Service) resendExisting(ctx context.Context, a Actor, id string, ttl time.Duration, sendEmail bool) (*Created, error) {
	inv, err := s.load(ctx, a, PermUpdate, id)
	if err != nil {
		return nil, err
	}
	if !sendEmail {
		out, err := s.ticket(ctx, a, inv)
		if err != nil {
			return nil, err
		}
		out.Resent = true
		return out, nil
	}
	inv, err = s.resend(ctx, a, inv, ttl)
	if err != nil {
		return nil, err
	}
	return &Created{Invitation: inv, Resent: true}, nil
}

// Ticket returns a fresh accept URL for a pending invitation without sending email,
// for applications that deliver it themselves. Links issued before stop working:
// Doorman keeps only the hash of the current one.
func (s *Service) Ticket(ctx context.Context, a Actor, id string) (*Created, error) {
	inv, err := s.load(ctx, a, PermUpdate, id)
	if err != nil {
		return nil, err
	}
	return s.ticket(ctx, a, inv)
}

func (s *Service) ticket(ctx context.Context, a Actor, inv *Invitation) (*Created, error) {
	now := s.now()
	token, err := NewToken(s.rand)
	if err != nil {
		return nil, fmt.Errorf("ticket for %s: %w", inv.ID, err)
	}
	next, err := s.apply(ctx, inv, func(n *Invitation) error {
		if n.Status != StatusPending {
			return Errorf(CodeConflict, "the invitation is %s, not pending", n.Status)
		}
		if !n.ExpiresAt.After(now) {
			return Errorf(CodeConflict, "the invitation has expired; resend it with a new ttl_seconds")
		}
		n.TokenHash = TokenHash(token)
		n.record(EventTicket, now, a.Sub, "")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Created{Invitation: next, AcceptURL: s.link(token)}, nil
}

// Revoke ends a pending invitation. The revoke is stored first; then Doorman deletes
// the Auth0 organization invitation, or the Auth0 user it created if that user never
// logged in. Cleanup failures are logged and recorded in the history
// (cleanup_failed), not returned: the invitation is revoked either way.
func (s *Service) Revoke(ctx context.Context, a Actor, id string) (*Invitation, error) {
	inv, err := s.load(ctx, a, PermDelete, id)
	if err != nil {
		return nil, err
	}
	next, err := s.apply(ctx, inv, func(n *Invitation) error {
		return n.transition(StatusRevoked, s.now(), a.Sub, "")
	})
	if err != nil {
		return nil, err
	}
	s.logger(ctx, next).InfoContext(ctx, "invitation revoked", "actor", a.Sub)
	return s.cleanup(ctx, next, a.Sub, UserDelete), nil
}

// cleanup removes what an ended invitation left in Auth0, applying policy to a user
// Doorman created. It returns the invitation as stored.
func (s *Service) cleanup(ctx context.Context, inv *Invitation, actor string, policy UserPolicy) *Invitation {
	log := s.logger(ctx, inv)
	var failure string
	switch {
	case inv.Kind == KindOrganization && inv.Auth0InvitationID != "":
		err := s.identity.DeleteOrgInvitation(ctx, inv.OrganizationID, inv.Auth0InvitationID)
		if err != nil && !IsCode(err, CodeNotFound) {
			failure = "delete Auth0 organization invitation: " + safeMessage(err)
			log.ErrorContext(ctx, "cleanup failed", "auth0_invitation_id", inv.Auth0InvitationID, "error", err)
		}
	case inv.Kind == KindApplication && inv.UserCreated && inv.Auth0UserID != "":
		kept, err := s.retireUser(ctx, inv.Auth0UserID, policy)
		switch {
		case err != nil:
			failure = fmt.Sprintf("%s Auth0 user: %s", policy, safeMessage(err))
			log.ErrorContext(ctx, "cleanup failed", "policy", policy, "error", err)
		case kept:
			log.InfoContext(ctx, "auth0 user kept", "policy", policy)
		default:
			log.InfoContext(ctx, "auth0 user retired", "policy", policy)
		}
	}
	if failure == "" {
		return inv
	}
	next, err := s.apply(ctx, inv, func(n *Invitation) error {
		n.record(EventCleanupFailed, s.now(), actor, failure)
		return nil
	})
	if err != nil {
		log.ErrorContext(ctx, "cannot record cleanup failure", "error", err)
		return inv
	}
	return next
}

// retireUser applies policy to a user Doorman created; kept is true when the user is
// left as it was (policy keep, or the user has logged in).
func (s *Service) retireUser(ctx context.Context, userID string, policy UserPolicy) (kept bool, err error) {
	switch policy {
	case UserKeep:
		return true, nil
	case UserBlock:
		u, err := s.identity.GetUser(ctx, userID)
		if IsCode(err, CodeNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if u.LoginsCount > 0 {
			return true, nil
		}
		return false, s.identity.BlockUser(ctx, userID)
	default:
		deleted, err := s.identity.DeleteUserIfNeverLoggedIn(ctx, userID)
		return !deleted, err
	}
}
