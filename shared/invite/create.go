package invite

import (
	"context"
	"fmt"
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
// resend of it). Only what the caller may grant passes (checkGrant). It then
// provisions Auth0: for the application, a new database user with the roles, or, when
// the person already has an account, nothing until its owner accepts; for an
// organization, an Auth0 organization invitation. When Auth0 refuses, the invitation is stored as
// failed, which frees the reservation, and the Auth0 error is returned.
//
// An email that cannot be sent does not fail Create: the invitation exists and stays
// pending, its Delivery says failed, and a retry is queued (Delivery.NextAttemptAt).
func (s *Service) Create(ctx context.Context, a Actor, req CreateRequest) (*Created, error) {
	if err := authorize(a, PermCreate); err != nil {
		return nil, err
	}
	askedTTL := req.TTL
	req, err := s.prepare(a, req)
	if err != nil {
		return nil, err
	}
	// The organization is looked up before anything is stored, so that a mistyped id
	// is a plain invalid request rather than a failed invitation.
	org, err := s.organizationOf(ctx, req)
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

	if inv, err = s.provision(ctx, a, inv, org, false, false); err != nil {
		return nil, err
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
	return &Created{Invitation: sent}, nil
}
