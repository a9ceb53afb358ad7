package invite

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// Landing resolves the invitee's link for the page that GET /i/{token} shows. An
// unknown or replaced token is not_found; an invitation that can no longer be taken up
// is gone, with a message for the invitee that says why and whom to ask. The first
// view of each link is recorded (link_opened); later views write nothing, since mail
// scanners fetch links too and a page view must stay cheap.
func (s *Service) Landing(ctx context.Context, token string) (*Invitation, error) {
	inv, err := s.byToken(ctx, token)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if err := usable(inv, now); err != nil {
		return nil, err
	}
	if inv.sinceLink(EventLinkOpened) {
		return inv, nil
	}
	next, err := s.apply(ctx, inv, func(n *Invitation) error {
		if n.sinceLink(EventLinkOpened) || n.TokenHash != inv.TokenHash {
			return errUnchanged
		}
		n.record(EventLinkOpened, now, ActorInvitee, "")
		return nil
	})
	if err != nil {
		if err != errUnchanged {
			s.logger(ctx, inv).WarnContext(ctx, "cannot record link_opened", "error", err)
		}
		return inv, nil
	}
	return next, nil
}

// Continue spends the invitee's link (POST /i/{token}) and returns where to send the
// browser: for an application invitation a fresh Auth0 password-change ticket, for an
// organization invitation Auth0's invitation URL. The URL is a credential: callers
// redirect to it and never log it.
func (s *Service) Continue(ctx context.Context, token string) (string, error) {
	inv, err := s.byToken(ctx, token)
	if err != nil {
		return "", err
	}
	now := s.now()
	if err := usable(inv, now); err != nil {
		return "", err
	}
	if !inv.Provisioned() {
		return "", Errorf(CodeConflict, "This invitation is still being set up. Please try again in a minute.")
	}
	var target string
	switch {
	case inv.Kind == KindOrganization && inv.Auth0InvitationURL != "":
		target = inv.Auth0InvitationURL // stored by an earlier version
	case inv.Kind == KindOrganization:
		// Auth0's invitation URL works as a credential: it is read when needed, never
		// stored.
		oi, err := s.identity.GetOrgInvitation(ctx, inv.OrganizationID, inv.Auth0InvitationID)
		if err != nil {
			return "", fmt.Errorf("continue %s: read the Auth0 organization invitation: %w", inv.ID, err)
		}
		target = oi.URL
	case inv.Auth0UserID == "":
		return "", fmt.Errorf("continue %s: no Auth0 user stored", inv.ID)
	case inv.Account == AccountExisting:
		// The account is its owner's: it accepts by signing in after this, and gets the
		// roles then (the Acceptor), so the link leads to the application.
		if target = cmp.Or(inv.RedirectURL, s.appURL); target == "" {
			return "", Errorf(CodeConflict, "To accept, sign in to %s with your account for this address.", s.appName)
		}
	default:
		req := TicketRequest{UserID: inv.Auth0UserID, TTL: s.ticketTTL,
			// Setting the password proves the mailbox only when the link came by email.
			MarkVerified: !inv.LinkDisclosed || s.verifyDisclose}
		switch {
		case inv.RedirectURL != "":
			req.ResultURL = inv.RedirectURL
		case inv.ClientID != "":
			req.ClientID = inv.ClientID
		default:
			req.ClientID = s.loginCID
		}
		target, err = s.identity.PasswordChangeTicket(ctx, req)
		if err != nil {
			return "", fmt.Errorf("continue %s: password-change ticket: %w", inv.ID, err)
		}
	}
	if !inv.sinceLink(EventLinkUsed) {
		_, err := s.apply(ctx, inv, func(n *Invitation) error {
			if n.sinceLink(EventLinkUsed) || n.TokenHash != inv.TokenHash {
				return errUnchanged
			}
			n.record(EventLinkUsed, now, ActorInvitee, "")
			return nil
		})
		if err != nil && err != errUnchanged {
			s.logger(ctx, inv).WarnContext(ctx, "cannot record link_used", "error", err)
		}
	}
	s.logger(ctx, inv).InfoContext(ctx, "invitation link used", "kind", inv.Kind)
	return target, nil
}

// errUnchanged aborts a bookkeeping write that another request already made.
var errUnchanged = Errorf(CodeConflict, "already recorded")

func (s *Service) byToken(ctx context.Context, token string) (*Invitation, error) {
	if !ValidToken(token) {
		return nil, errLinkNotFound(nil)
	}
	inv, err := s.store.GetByTokenHash(ctx, TokenHash(token))
	if IsCode(err, CodeNotFound) {
		return nil, errLinkNotFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve link: %w", err)
	}
	return inv, nil
}

func errLinkNotFound(cause error) error {
	return &Error{Code: CodeNotFound, Message: "This link is not valid. It may have been replaced by a newer email.", Err: cause}
}

// usable reports, as gone with a message for the invitee, why an invitation can no
// longer be taken up through its link.
func usable(inv *Invitation, now time.Time) error {
	ask := inv.Inviter.Name
	if ask == "" {
		ask = "the person who invited you"
	}
	switch inv.Status {
	case StatusPending:
		if inv.ExpiresAt.After(now) {
			return nil
		}
		return Errorf(CodeGone, "This invitation expired on %s. Ask %s to invite you again.", inv.ExpiresAt.Format("2 January 2006"), ask)
	case StatusExpired:
		return Errorf(CodeGone, "This invitation expired on %s. Ask %s to invite you again.", inv.ExpiresAt.Format("2 January 2006"), ask)
	case StatusAccepted:
		return Errorf(CodeGone, "This invitation has already been accepted. Sign in instead.")
	case StatusRevoked:
		return Errorf(CodeGone, "This invitation was withdrawn. Ask %s if you still need access.", ask)
	default:
		return Errorf(CodeGone, "This invitation could not be completed. Ask %s to invite you again.", ask)
	}
}
