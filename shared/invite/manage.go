package invite

import (
	"context"
	"fmt"
	"strings"
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
	org, err := s.organizationFor(ctx, inv.OrganizationID)
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
		n.replaceLink(token, false)
		if ttl != 0 {
			n.ExpiresAt = now.Add(ttl).UTC()
		}
		if fresh != nil {
			replaced = n.Auth0InvitationID
			n.Auth0InvitationID, n.Auth0InvitationURL = fresh.ID, ""
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
	return s.deliver(ctx, next, s.emailFor(next, org, token), now), nil
}

// errProvisioning answers what needs the invitation's Auth0 side while the worker
// still makes it.
var errProvisioning = Errorf(CodeConflict, "the invitation is still being provisioned in Auth0; try again in a moment")

// canSend applies the per-invitation limits of Resend: MaxSends emails in all, the
// ones the provider refused included, and one sent per ResendInterval.
func (s *Service) canSend(inv *Invitation, now time.Time) error {
	if inv.Status != StatusPending {
		return Errorf(CodeConflict, "the invitation is %s, not pending", inv.Status)
	}
	if !inv.Provisioned() {
		return errProvisioning
	}
	if inv.Undeliverable() {
		return errUndeliverable(inv)
	}
	d := inv.Delivery
	if d.Sends+d.Failures >= s.maxSends {
		return Errorf(CodeRateLimited, "this invitation has been sent %d times; revoke it and invite again", d.Sends+d.Failures)
	}
	// The interval runs from the last email that went out: after a refused one the
	// invitee has nothing, and a resend at once is what an admin would want.
	return s.notSoon(d.LastSentAt, now, "sent")
}

// canTicket applies the same limits to the links handed to the caller: MaxSends in
// all and one per ResendInterval.
func (s *Service) canTicket(inv *Invitation, now time.Time) error {
	if !inv.Provisioned() {
		return errProvisioning
	}
	if n := inv.count(EventTicket); n >= s.maxSends {
		return Errorf(CodeRateLimited, "%d links were issued for this invitation; revoke it and invite again", n)
	}
	var last time.Time
	for _, e := range inv.History {
		if e.Event == EventTicket {
			last = e.At
		}
	}
	return s.notSoon(last, now, "given a new link")
}

func (s *Service) notSoon(last, now time.Time, what string) error {
	if last.IsZero() {
		return nil
	}
	if wait := last.Add(s.resendInterval).Sub(now); wait > 0 {
		return &Error{Code: CodeRateLimited, Message: "this invitation was " + what + " moments ago", RetryAfter: wait}
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
		if err := s.canTicket(n, now); err != nil {
			return err
		}
		n.replaceLink(token, true)
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
// logged in. Cleanup failures are recorded, not returned: the invitation is revoked
// either way, and one that may pass leaves it marked for the sweeper to retry
// (CleanupPending).
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

// Auth0 cleanup retries. A failure that may pass (rate limiting, Auth0 unavailable, an
// unexpected error) leaves the invitation marked CleanupPending for the sweeper, which
// retries with exponential backoff; rate limiting does not count as an attempt. After
// maxCleanupAttempts failed attempts, or at once on a failure no retry can fix, the
// mark is dropped and a cleanup_failed entry tells an admin what to remove by hand.
const (
	maxCleanupAttempts = 12
	cleanupBackoff     = time.Minute
	cleanupBackoffMax  = 6 * time.Hour
)

// cleanupDelay is the wait after failed attempt number n (1, 2, ...): about 20 hours
// from the first failure to the last attempt, long enough to ride out an Auth0 outage.
func cleanupDelay(n int) time.Duration {
	d := cleanupBackoff
	for i := 1; i < n && d < cleanupBackoffMax; i++ {
		d *= 2
	}
	return min(d, cleanupBackoffMax)
}

// cleanupPolicy is what a cleanup does with the user Doorman created: a revoke deletes
// it (if it never logged in), an expiry or a failure applies ExpiredUserPolicy.
func (s *Service) cleanupPolicy(inv *Invitation) UserPolicy {
	if inv.Status == StatusRevoked {
		return UserDelete
	}
	return s.userPolicy
}

// RetryCleanup retries the Auth0 cleanup of an ended invitation marked CleanupPending.
// It returns the error of the attempt while the cleanup stays pending, so that the
// sweeper knows to come back; an invitation with nothing pending is returned as is.
func (s *Service) RetryCleanup(ctx context.Context, id string) (*Invitation, error) {
	inv, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("retry cleanup of %s: %w", id, err)
	}
	return s.retryCleanup(ctx, inv)
}

// retryCleanup is RetryCleanup on the invitation as read; a stale copy fails the
// conditional write and is read afresh.
func (s *Service) retryCleanup(ctx context.Context, inv *Invitation) (*Invitation, error) {
	if !inv.CleanupPending {
		return inv, nil
	}
	return s.cleanupOnce(ctx, inv, ActorSweeper, s.cleanupPolicy(inv), false)
}

// cleanup removes what an ended invitation left in Auth0, applying policy to a user
// Doorman created. A failure is recorded on the invitation, not returned: it returns
// the invitation as stored.
func (s *Service) cleanup(ctx context.Context, inv *Invitation, actor string, policy UserPolicy) *Invitation {
	next, _ := s.cleanupOnce(ctx, inv, actor, policy, true)
	return next
}

// cleanupOnce makes one cleanup attempt and records its outcome: done, deferred,
// scheduled for a retry, or given up. first is the attempt right after the
// transition, whose pending mark (set by the transition itself, see transition) is
// not yet a retry. The error is the attempt's when the cleanup stays pending or was
// given up, or the store's when the outcome could not be recorded (a pending mark
// then stays, and the retry finds the work done).
func (s *Service) cleanupOnce(ctx context.Context, inv *Invitation, actor string, policy UserPolicy, first bool) (*Invitation, error) {
	log := s.logger(ctx, inv)
	what, err := s.retire(ctx, inv, policy)
	now := s.now()
	code := ErrorCode(err)
	retrying := inv.CleanupPending && !first
	var change func(*Invitation)
	switch {
	case err == nil || code == CodeNotFound:
		// Gone already is done: a retry after a lost response must not fail.
		switch {
		case !inv.CleanupPending:
			return inv, nil
		case first:
			change = func(n *Invitation) { n.CleanupPending, n.CleanupAttempts, n.NextCleanupAt = false, 0, time.Time{} }
		default:
			change = func(n *Invitation) {
				n.CleanupPending, n.CleanupAttempts, n.NextCleanupAt = false, 0, time.Time{}
				n.record(EventCleanupDone, now, actor, what)
			}
		}
	case code == CodeRateLimited:
		log.WarnContext(ctx, "cleanup deferred: Auth0 is rate limiting", "error", err)
		if retrying {
			return inv, err // still due: the next run tries again
		}
		wait := cleanupBackoff
		if e := AsError(err); e != nil && e.RetryAfter > wait {
			wait = e.RetryAfter
		}
		change = func(n *Invitation) {
			n.CleanupPending, n.NextCleanupAt = true, now.Add(wait).UTC()
			n.record(EventCleanupDeferred, now, actor, what+": Auth0 is rate limiting; the sweeper retries it")
		}
	case (code == CodeUpstream || code == CodeInternal) && inv.CleanupAttempts+1 < maxCleanupAttempts:
		attempts := inv.CleanupAttempts + 1
		retryAt := now.Add(cleanupDelay(attempts)).UTC()
		log.WarnContext(ctx, "cleanup failed; will retry", "attempt", attempts, "retry_at", retryAt, "error", err)
		change = func(n *Invitation) {
			n.CleanupPending, n.CleanupAttempts, n.NextCleanupAt = true, attempts, retryAt
			n.record(EventCleanupFailed, now, actor, fmt.Sprintf("%s: %s; attempt %d of %d, the sweeper retries at %s",
				what, safeMessage(err), attempts, maxCleanupAttempts, retryAt.Format(time.RFC3339)))
		}
	default:
		attempts := inv.CleanupAttempts + 1
		log.ErrorContext(ctx, "cleanup failed for good", "attempts", attempts, "error", err)
		detail := fmt.Sprintf("%s failed for good (%s); remove it in the Auth0 dashboard", what, safeMessage(err))
		if code == CodeUpstream || code == CodeInternal {
			detail = fmt.Sprintf("%s failed %d times, the last with %s; Doorman stopped retrying: remove it in the Auth0 dashboard",
				what, attempts, safeMessage(err))
		}
		change = func(n *Invitation) {
			n.CleanupPending, n.CleanupAttempts, n.NextCleanupAt = false, attempts, time.Time{}
			n.record(EventCleanupFailed, now, actor, detail)
		}
	}
	next, aerr := s.apply(ctx, inv, func(n *Invitation) error {
		// Another cleanup recorded an outcome since inv was read: that one stands.
		if n.CleanupPending != inv.CleanupPending || n.CleanupAttempts != inv.CleanupAttempts || !n.Status.Terminal() {
			return Errorf(CodeConflict, "the cleanup of invitation %s changed since it was read", n.ID)
		}
		change(n)
		return nil
	})
	if aerr != nil {
		log.ErrorContext(ctx, "cannot record cleanup outcome", "error", aerr)
		return inv, fmt.Errorf("cleanup %s: %w", inv.ID, aerr)
	}
	if err != nil && code != CodeNotFound {
		return next, fmt.Errorf("cleanup %s: %s: %w", inv.ID, what, err)
	}
	return next, nil
}

// retire makes one attempt at removing what inv left in Auth0 and says what it did,
// for the history; "" when there is nothing to remove.
func (s *Service) retire(ctx context.Context, inv *Invitation, policy UserPolicy) (string, error) {
	switch {
	case inv.Resumable && !inv.Provisioned():
		return s.retireUnrecorded(ctx, inv, policy)
	case inv.Kind == KindOrganization && inv.Auth0InvitationID != "":
		return s.retireOrgInvitation(ctx, inv, inv.Auth0InvitationID, "")
	case inv.Kind == KindApplication && inv.UserCreated && inv.Auth0UserID != "":
		return s.retireCreatedUser(ctx, inv, inv.Auth0UserID, policy, "")
	}
	return "", nil
}

// retireUnrecorded looks in Auth0 for what an interrupted attempt may have created for
// the invitation without storing its id: the organization invitation or the flagged,
// never-used user carrying the invitation's id. What it finds is retired as a
// recorded one would be; anything carrying another id is left alone.
func (s *Service) retireUnrecorded(ctx context.Context, inv *Invitation, policy UserPolicy) (string, error) {
	const how = "unrecorded "
	if inv.Kind == KindOrganization {
		found, err := s.identity.FindOrgInvitations(ctx, inv.OrganizationID, inv.Email)
		if err != nil {
			return "look for an unrecorded Auth0 organization invitation", err
		}
		var done []string
		for _, oi := range found {
			if oi.InvitationID != inv.ID {
				continue
			}
			what, err := s.retireOrgInvitation(ctx, inv, oi.ID, how)
			if err != nil {
				return what, err
			}
			done = append(done, what)
		}
		return strings.Join(done, "; "), nil
	}
	u, err := s.identity.FindUserByEmail(ctx, inv.Email)
	if IsCode(err, CodeNotFound) {
		return "", nil
	}
	if err != nil {
		return "look for an unrecorded Auth0 user", err
	}
	flagged, _ := u.AppMetadata["needsInvitation"].(bool)
	if id, _ := u.AppMetadata["invitationId"].(string); !flagged || id != inv.ID {
		return "", nil
	}
	return s.retireCreatedUser(ctx, inv, u.ID, policy, how)
}

// retireOrgInvitation deletes one of the invitation's Auth0 organization invitations
// and says so for the history; how qualifies it there ("unrecorded ").
func (s *Service) retireOrgInvitation(ctx context.Context, inv *Invitation, id, how string) (string, error) {
	what := fmt.Sprintf("delete %sAuth0 organization invitation %s of organization %s", how, id, inv.OrganizationID)
	if err := s.identity.DeleteOrgInvitation(ctx, inv.OrganizationID, id); err != nil {
		return what, err
	}
	s.logger(ctx, inv).InfoContext(ctx, "auth0 organization invitation deleted", "auth0_invitation_id", id)
	return what, nil
}

// retireCreatedUser applies policy to a user Doorman created for the invitation and
// says so for the history; how qualifies it there ("unrecorded ").
func (s *Service) retireCreatedUser(ctx context.Context, inv *Invitation, userID string, policy UserPolicy, how string) (string, error) {
	what := fmt.Sprintf("%s %sAuth0 user %s", policy, how, userID)
	kept, err := s.retireUser(ctx, userID, inv.ID, policy)
	log := s.logger(ctx, inv)
	if userID != inv.Auth0UserID {
		log = log.forUser(userID)
	}
	switch {
	case err != nil:
		return what, err
	case kept:
		log.InfoContext(ctx, "auth0 user kept", "policy", policy)
	default:
		log.InfoContext(ctx, "auth0 user retired", "policy", policy)
	}
	return what, nil
}

// retireUser applies policy to a user Doorman created for invitationID; kept is true
// when the user is left as it was (policy keep, the user has logged in, or a later
// invitation adopted it: its invitationId names another).
func (s *Service) retireUser(ctx context.Context, userID, invitationID string, policy UserPolicy) (kept bool, err error) {
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
		if u.LoginsCount > 0 || u.AppMetadata["invitationId"] != invitationID {
			return true, nil
		}
		return false, s.identity.BlockUser(ctx, userID)
	default:
		deleted, err := s.identity.DeleteUserIfNeverLoggedIn(ctx, userID, invitationID)
		return !deleted, err
	}
}
