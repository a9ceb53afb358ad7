package invite

import (
	"context"
	"fmt"
	"time"
)

// Created is the outcome of Create and Ticket.
type Created struct {
	Invitation *Invitation
	// AcceptURL is the invitee's link, given only when Doorman sends no email.
	AcceptURL string
	// Resent is true when Create found a pending invitation for the same email and,
	// as asked by on_conflict=resend, resent that one instead.
	Resent bool
	// Deferred is true when Auth0 was busy past the create budget: the invitation is
	// stored, pending and not yet provisioned, and the worker finishes it (and sends
	// its email) at the tenant's rate.
	Deferred bool
}

// Create invites req.Email to the application or to req.OrganizationID.
//
// It reserves the (scope, email) pair first, so a second pending invitation for the
// same person is a conflict carrying the existing id (or, with on_conflict=resend, a
// resend of it). Only what the caller may grant passes (checkGrant). It then
// provisions Auth0: for the application, a new database user with the roles, or, when
// the person already has an account, nothing until its owner accepts; for an
// organization, an Auth0 organization invitation. When Auth0 refuses, the invitation is
// stored as failed, which frees the reservation, and the Auth0 error is returned. When
// Auth0 is busy (rate limited, unavailable, slow) past CreateBudget, nothing fails:
// the invitation is deferred to the worker, which provisions and emails it exactly
// once, as it does bulk items (Created.Deferred).
//
// An email that cannot be sent does not fail Create: the invitation exists and stays
// pending, its Delivery says failed, and a retry is queued (Delivery.NextAttemptAt).
func (s *Service) Create(ctx context.Context, a Actor, req CreateRequest) (*Created, error) {
	p, err := s.PrepareCreate(a, req)
	if err != nil {
		return nil, err
	}
	return s.CreatePrepared(ctx, a, p)
}

// PreparedCreate is a create request that passed validation for its actor
// (PrepareCreate): what CreatePrepared takes, so that a caller that must act between
// the two (the HTTP layer charges the hourly cap) validates once.
type PreparedCreate struct {
	req      CreateRequest
	askedTTL time.Duration
}

// PrepareCreate checks the actor's permission and the request, as Create does before
// it looks anything up.
func (s *Service) PrepareCreate(a Actor, req CreateRequest) (PreparedCreate, error) {
	if err := authorize(a, PermCreate); err != nil {
		return PreparedCreate{}, err
	}
	askedTTL := req.TTL
	req, err := s.prepare(a, req)
	if err != nil {
		return PreparedCreate{}, err
	}
	return PreparedCreate{req: req, askedTTL: askedTTL}, nil
}

// CreatePrepared is Create for a request PrepareCreate passed, for the same actor.
func (s *Service) CreatePrepared(ctx context.Context, a Actor, p PreparedCreate) (*Created, error) {
	req, askedTTL := p.req, p.askedTTL
	if req.Email == "" {
		return nil, Errorf(CodeInternal, "create: the request was not prepared")
	}
	// The organization is looked up before anything is stored, so that a mistyped id
	// is a plain invalid request rather than a failed invitation.
	org, err := s.organizationFor(ctx, req.OrganizationID)
	if err != nil {
		return nil, fmt.Errorf("create invitation: %w", err)
	}
	if err := s.checkGrant(ctx, a, req); err != nil {
		return nil, err
	}
	inv, token, err := s.newInvitation(a, req, "", s.now())
	if err != nil {
		return nil, err
	}
	if err := s.store.Create(ctx, inv); err != nil {
		if e := AsError(err); e != nil && e.Code == CodeConflict && e.ExistingID != "" {
			if req.OnConflict == OnConflictResend {
				return s.resendExisting(ctx, a, e.ExistingID, askedTTL, req.SendEmail)
			}
			return nil, &Error{Code: CodeConflict, Message: "a pending invitation for this email exists", ExistingID: e.ExistingID, Err: err}
		}
		return nil, fmt.Errorf("create invitation: %w", err)
	}
	s.logger(ctx, inv).InfoContext(ctx, "invitation created", "kind", inv.Kind, "organization_id", inv.OrganizationID, "inviter", inv.Inviter.Sub)

	// Auth0 gets the budget in all, no call may queue behind the rate limit for more
	// than an eighth of it, and a 429 ends the attempt at once: when the tenant is busy
	// the caller hears so quickly, and the worker waits instead.
	pctx, cancel := context.WithTimeout(ctx, s.createBudget)
	pctx, _ = WithPause(WithMaxWait(pctx, s.createBudget/8))
	next, err := s.provision(pctx, a, inv, org, true, false)
	cancel()
	switch {
	case err == nil:
		inv = next
	case next != nil: // Auth0 refused it for good: stored failed
		return nil, err
	default:
		return s.deferToWorker(ctx, inv, req, token)
	}
	if !req.SendEmail {
		out := &Created{Invitation: inv}
		if inv.Status == StatusPending {
			out.AcceptURL = s.link(token)
		}
		return out, nil
	}
	sent, err := s.send(ctx, inv, org, token)
	if err != nil {
		return nil, err
	}
	out := &Created{Invitation: sent}
	if req.AddressProven && sent.Status == StatusPending {
		out.AcceptURL = s.link(token)
	}
	return out, nil
}

// defer_ leaves a stored invitation whose Auth0 side could not be made within the
// create budget to the worker: it is marked Deferred (and Resumable, so that whatever
// an interrupted attempt created in Auth0 is found by its id) and queued. A queue that
// refuses the message loses nothing: the sweeper queues deferred invitations again
// after ProvisioningGrace.
func (s *Service) deferToWorker(ctx context.Context, inv *Invitation, req CreateRequest, token string) (*Created, error) {
	// The write must not inherit a deadline Auth0 used up.
	ctx = context.WithoutCancel(ctx)
	now := s.now()
	deferred, err := s.apply(ctx, inv, func(n *Invitation) error {
		if n.Status != StatusPending || n.Provisioned() {
			return errUnchanged
		}
		n.Deferred, n.Resumable = true, true
		n.record(EventProvisioningQueued, now, ActorDoorman, "Auth0 was busy; the worker finishes it")
		return nil
	})
	if err != nil {
		if !IsCode(err, CodeConflict) {
			return nil, fmt.Errorf("create invitation %s: defer provisioning: %w", inv.ID, err)
		}
		// Changed meanwhile (revoked, say): answer with what is stored.
		if deferred, err = s.store.Get(ctx, inv.ID); err != nil {
			return nil, fmt.Errorf("create invitation %s: %w", inv.ID, err)
		}
	}
	if err := s.queue.Enqueue(ctx, []ItemRef{{InvitationID: inv.ID}}); err != nil {
		s.logger(ctx, inv).WarnContext(ctx, "deferred invitation not queued; the sweeper queues it", "error", err)
	}
	s.logger(ctx, inv).InfoContext(ctx, "invitation deferred to the worker: Auth0 is busy")
	out := &Created{Invitation: deferred, Deferred: deferred.Status == StatusPending && !deferred.Provisioned()}
	if (!req.SendEmail || req.AddressProven) && deferred.Status == StatusPending {
		out.AcceptURL = s.link(token)
	}
	return out, nil
}
