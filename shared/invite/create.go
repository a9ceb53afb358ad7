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
}

// Create invites req.Email to the application or to req.OrganizationID.
//
// It reserves the (scope, email) pair first, so a second pending invitation for the
// same person is a conflict carrying the existing id (or, with on_conflict=resend, a
// resend of it). It then provisions Auth0: for the application, a new database user
// with the roles, or, when the person already has an account, the roles and an
// "access granted" email, which accepts the invitation at once; for an organization,
// an Auth0 organization invitation. When Auth0 refuses, the invitation is stored as
// failed, which frees the reservation, and the Auth0 error is returned.
//
// An email that cannot be sent does not fail Create: the invitation exists and stays
// pending, its Delivery says failed, and a retry is queued (Delivery.NextAttemptAt).
func (s *Service) Create(ctx context.Context, a Actor, req CreateRequest) (*Created, error) {
	if err := authorize(a, PermCreate); err != nil {
		return nil, err
	}
	askedTTL := req.TTL
	req, err := ValidateCreate(req, s.limits)
	if err != nil {
		return nil, err
	}
	if req.OrganizationID, err = a.orgFor(req.OrganizationID); err != nil {
		return nil, err
	}
	if req.OnConflict == OnConflictResend && !a.Has(PermUpdate) {
		return nil, Errorf(CodeForbidden, "on_conflict=resend needs the %s permission", PermUpdate)
	}
	// The organization is looked up before anything is stored, so that a mistyped id
	// is a plain invalid request rather than a failed invitation.
	var org *Organization
	if req.OrganizationID != "" {
		org, err = s.identity.Organization(ctx, req.OrganizationID)
		if IsCode(err, CodeNotFound) {
			return nil, &Error{Code: CodeInvalid, Field: "organization_id", Message: "no such organization", Err: err}
		}
		if err != nil {
			return nil, fmt.Errorf("create invitation: look up organization %s: %w", req.OrganizationID, err)
		}
	}

	now := s.now()
	inv, token, err := s.newInvitation(a, req, now)
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
	log := s.logger(ctx, inv)
	log.InfoContext(ctx, "invitation created", "kind", inv.Kind, "organization_id", inv.OrganizationID, "inviter", inv.Inviter.Sub)

	inv, err = s.provision(ctx, a, inv, org)
	if err != nil {
		return nil, err
	}
	out := &Created{Invitation: inv}
	switch {
	case inv.Status == StatusAccepted:
		if req.SendEmail {
			link := inv.RedirectURL
			if link == "" {
				link = s.appURL
			}
			out.Invitation = s.deliver(ctx, inv, s.mail(inv, TemplateAccess, s.appName, link), now)
		}
	case req.SendEmail:
		tmpl, target := TemplateApplication, s.appName
		if org != nil {
			tmpl, target = TemplateOrganization, orgName(org)
		}
		out.Invitation = s.deliver(ctx, inv, s.mail(inv, tmpl, target, s.link(token)), now)
	default:
		out.AcceptURL = s.link(token)
	}
	return out, nil
}

// newInvitation builds the pending invitation and its link token.
func (s *Service) newInvitation(a Actor, req CreateRequest, now time.Time) (*Invitation, string, error) {
	id, err := NewID(now, s.rand)
	if err != nil {
		return nil, "", fmt.Errorf("create invitation: %w", err)
	}
	return s.newInvitationWithID(a, req, id, now)
}

// newInvitationWithID is newInvitation with the id given: a bulk item's invitation id
// is chosen when the batch is accepted, so that every retry of the item writes the same
// invitation.
func (s *Service) newInvitationWithID(a Actor, req CreateRequest, id string, now time.Time) (*Invitation, string, error) {
	token, err := NewToken(s.rand)
	if err != nil {
		return nil, "", fmt.Errorf("create invitation %s: %w", id, err)
	}
	inv := &Invitation{
		ID:             id,
		Kind:           KindApplication,
		Email:          req.Email,
		Name:           req.Name,
		OrganizationID: req.OrganizationID,
		Roles:          append([]string(nil), req.Roles...),
		Connection:     req.Connection,
		ClientID:       req.ClientID,
		AppMetadata:    cloneMap(req.AppMetadata),
		UserMetadata:   cloneMap(req.UserMetadata),
		Inviter:        Inviter{Sub: a.Sub, Name: SanitizeHeaderText(a.Name)},
		Locale:         req.Locale,
		Message:        req.Message,
		RedirectURL:    req.RedirectURL,
		Status:         StatusPending,
		CreatedAt:      now.UTC(),
		ExpiresAt:      now.Add(req.TTL).UTC(),
		TokenHash:      TokenHash(token),
		Delivery:       Delivery{Status: DeliveryNone},
		Version:        1,
	}
	if req.OrganizationID != "" {
		inv.Kind = KindOrganization
	}
	if req.SendEmail {
		inv.Delivery.Status = DeliveryPending
	}
	inv.record(EventCreated, now, a.Sub, "")
	return inv, token, nil
}

// provision creates the Auth0 side of a freshly stored invitation and stores its ids.
// On failure the invitation is stored as failed and the Auth0 error returned.
func (s *Service) provision(ctx context.Context, a Actor, inv *Invitation, org *Organization) (*Invitation, error) {
	next := inv.Clone()
	var undo func(context.Context)
	var err error
	if org == nil {
		undo, err = s.provisionUser(ctx, a, next, false)
	} else {
		undo, err = s.provisionOrgInvitation(ctx, next)
	}
	if err != nil {
		s.fail(ctx, a, inv, err)
		return nil, fmt.Errorf("create invitation %s: %w", inv.ID, err)
	}
	if err := s.save(ctx, inv, next); err != nil {
		// The invitation cannot point at what was created in Auth0: take it back so
		// nothing is orphaned, and try to close the invitation.
		if undo != nil {
			undo(ctx)
		}
		s.fail(ctx, a, inv, err)
		return nil, fmt.Errorf("create invitation %s: %w", inv.ID, err)
	}
	return next, nil
}

// provisionUser finds or creates the application user and assigns the roles. An
// account that exists (and is not one Doorman created for an earlier, unfinished
// invitation) gets the roles and the invitation is accepted right away: a password
// reset would lock its owner out.
//
// When the role assignment fails, the user just created is deleted, unless resumable
// and the failure may pass: a bulk item is retried, and the retry adopts the user
// (FindUserByEmail finds it, flagged and never logged in) instead of creating another.
func (s *Service) provisionUser(ctx context.Context, a Actor, inv *Invitation, resumable bool) (undo func(context.Context), err error) {
	log := s.logger(ctx, inv)
	u, err := s.identity.FindUserByEmail(ctx, inv.Email)
	switch {
	case IsCode(err, CodeNotFound):
		u, err = s.identity.CreateUser(ctx, NewUser{
			Email:        inv.Email,
			Name:         inv.Name,
			Connection:   inv.Connection,
			InvitationID: inv.ID,
			AppMetadata:  cloneMap(inv.AppMetadata),
			UserMetadata: cloneMap(inv.UserMetadata),
		})
		if err != nil {
			return nil, fmt.Errorf("create Auth0 user: %w", err)
		}
		inv.Auth0UserID, inv.UserCreated = u.ID, true
		undo = func(ctx context.Context) { s.deleteCreatedUser(ctx, inv, "provisioning failed") }
		if err := s.assignRoles(ctx, inv); err != nil {
			if !resumable || !Transient(err) {
				undo(ctx)
			}
			return nil, err
		}
		log.InfoContext(ctx, "auth0 user created", "auth0_user_id", u.ID)
		return undo, nil
	case err != nil:
		return nil, fmt.Errorf("find Auth0 user: %w", err)
	}

	inv.Auth0UserID = u.ID
	if invited, _ := u.AppMetadata["needsInvitation"].(bool); invited && u.LoginsCount == 0 {
		// A user Doorman created for an earlier invitation that was never taken up:
		// this invitation adopts it, so that the invitee still sets a password.
		inv.UserCreated = true
		return nil, s.assignRoles(ctx, inv)
	}
	if err := s.assignRoles(ctx, inv); err != nil {
		return nil, err
	}
	log.InfoContext(ctx, "existing auth0 user granted access", "auth0_user_id", u.ID)
	return nil, inv.transition(StatusAccepted, s.now(), a.Sub, "existing account")
}

func (s *Service) assignRoles(ctx context.Context, inv *Invitation) error {
	if len(inv.Roles) == 0 {
		return nil
	}
	err := s.identity.AssignRoles(ctx, inv.Auth0UserID, inv.Roles)
	if IsCode(err, CodeNotFound) {
		return &Error{Code: CodeInvalid, Field: "roles", Message: "Auth0 does not know one of the roles", Err: err}
	}
	if err != nil {
		return fmt.Errorf("assign roles: %w", err)
	}
	return nil
}

// provisionOrgInvitation creates the Auth0 organization invitation (without Auth0's
// email; Doorman sends its own).
func (s *Service) provisionOrgInvitation(ctx context.Context, inv *Invitation) (undo func(context.Context), err error) {
	oi, err := s.identity.CreateOrgInvitation(ctx, s.orgInvitationRequest(inv, inv.ExpiresAt.Sub(s.now())))
	if err != nil {
		return nil, fmt.Errorf("create Auth0 organization invitation: %w", err)
	}
	inv.Auth0InvitationID, inv.Auth0InvitationURL = oi.ID, oi.URL
	return func(ctx context.Context) { s.deleteOrgInvitation(ctx, inv, oi.ID) }, nil
}

func (s *Service) orgInvitationRequest(inv *Invitation, ttl time.Duration) OrgInvitationRequest {
	return OrgInvitationRequest{
		OrganizationID: inv.OrganizationID,
		Email:          inv.Email,
		InviterName:    inv.Inviter.Name,
		ClientID:       inv.ClientID,
		Connection:     inv.Connection,
		Roles:          append([]string(nil), inv.Roles...),
		TTL:            ttl.Round(time.Second),
		AppMetadata:    cloneMap(inv.AppMetadata),
		UserMetadata:   cloneMap(inv.UserMetadata),
		InvitationID:   inv.ID,
	}
}

// fail stores inv (as read) as failed with a readable reason, which releases its
// reservation, and returns it as stored. A failure to store it is logged and nil
// returned: the caller's error is what matters.
func (s *Service) fail(ctx context.Context, a Actor, inv *Invitation, cause error) *Invitation {
	reason := "Auth0 refused: " + safeMessage(cause)
	failed, err := s.apply(ctx, inv, func(n *Invitation) error {
		return n.transition(StatusFailed, s.now(), a.Sub, reason)
	})
	log := s.logger(ctx, inv)
	log.WarnContext(ctx, "invitation failed", "reason", reason, "error", cause)
	if err != nil {
		log.ErrorContext(ctx, "cannot store failed invitation", "error", err)
		return nil
	}
	return failed
}

func (s *Service) deleteCreatedUser(ctx context.Context, inv *Invitation, why string) {
	log := s.logger(ctx, inv)
	deleted, err := s.identity.DeleteUserIfNeverLoggedIn(ctx, inv.Auth0UserID)
	switch {
	case err != nil:
		log.ErrorContext(ctx, "cannot delete auth0 user", "why", why, "error", err)
	case !deleted:
		log.WarnContext(ctx, "auth0 user kept: it has logged in", "why", why)
	default:
		log.InfoContext(ctx, "auth0 user deleted", "why", why)
	}
}

func (s *Service) deleteOrgInvitation(ctx context.Context, inv *Invitation, id string) {
	if err := s.identity.DeleteOrgInvitation(ctx, inv.OrganizationID, id); err != nil {
		s.logger(ctx, inv).ErrorContext(ctx, "cannot delete auth0 organization invitation", "auth0_invitation_id", id, "error", err)
	}
}

func orgName(o *Organization) string {
	if n := SanitizeHeaderText(o.DisplayName); n != "" {
		return n
	}
	if n := SanitizeHeaderText(o.Name); n != "" {
		return n
	}
	return o.ID
}
