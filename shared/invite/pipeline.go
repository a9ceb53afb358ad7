package invite

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"
)

// The create pipeline. A single create (Create) and a bulk item (WorkBatchItem) take an
// invitation through the same steps, in this file: prepare (validate the request
// against the actor), organization (look up its organization), newInvitation and the
// store's Create (reserve the scope and email), provision (its Auth0 side) and send
// (its email, from emailFor). They differ only where they must: a bulk item resumes
// what an earlier attempt left (its id is fixed, Auth0's side is adopted, the email is
// claimed before it is sent), and a single create answers its caller.

// prepare is the validation prelude of every create: the request checked and
// normalized (ValidateCreate), its organization resolved against the actor's reach,
// and on_conflict=resend allowed only to an actor who may resend.
func (s *Service) prepare(a Actor, req CreateRequest) (CreateRequest, error) {
	out, err := ValidateCreate(req, s.limits)
	if err != nil {
		return req, err
	}
	if out.OrganizationID, err = a.orgFor(out.OrganizationID); err != nil {
		return req, err
	}
	if out.OnConflict == OnConflictResend && !a.Has(PermUpdate) {
		return req, Errorf(CodeForbidden, "on_conflict=resend needs the %s permission", PermUpdate)
	}
	return out, nil
}

// newInvitation builds the pending invitation of a prepared request and its link
// token. A bulk item passes its id, chosen when the batch was accepted, so that every
// attempt at the item writes the same invitation; "" draws a new one.
func (s *Service) newInvitation(a Actor, req CreateRequest, id string, now time.Time) (*Invitation, string, error) {
	if id == "" {
		var err error
		if id, err = NewID(now, s.rand); err != nil {
			return nil, "", fmt.Errorf("create invitation: %w", err)
		}
	}
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
		LinkDisclosed:  !req.SendEmail,
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

// orgCache keeps the organizations looked up lately: a batch of a thousand items for
// one organization costs one lookup, not a thousand, and an invitation's email names
// the organization without asking Auth0 again.
type orgCache struct {
	mu   sync.Mutex
	byID map[string]cachedOrg
}

type cachedOrg struct {
	org *Organization
	at  time.Time
}

// orgCacheTTL bounds how stale an organization's display name in an email may be.
const orgCacheTTL = 5 * time.Minute

// organization returns an organization, from the cache when it was looked up lately.
// not_found becomes an invalid organization_id.
func (s *Service) organization(ctx context.Context, orgID string) (*Organization, error) {
	now := s.now()
	s.orgs.mu.Lock()
	c, ok := s.orgs.byID[orgID]
	s.orgs.mu.Unlock()
	if ok && now.Sub(c.at) < orgCacheTTL {
		return c.org, nil
	}
	org, err := s.identity.Organization(ctx, orgID)
	if IsCode(err, CodeNotFound) {
		return nil, &Error{Code: CodeInvalid, Field: "organization_id", Message: "no such organization", Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("look up organization %s: %w", orgID, err)
	}
	s.orgs.mu.Lock()
	s.orgs.byID[orgID] = cachedOrg{org: org, at: now}
	s.orgs.mu.Unlock()
	return org, nil
}

// provision creates the Auth0 side of a stored pending invitation (the user with its
// roles, or the organization invitation) and records it. On Auth0's refusal it stores
// the invitation failed and returns it as stored together with the refusal. With
// resumable false it fails the invitation on any error, taking back what it created.
// Resumable (a bulk item, or a single create that may fall back to the worker), it
// leaves the invitation pending on an error that may pass, for a retry that adopts
// what Auth0 already has (resumed says an earlier attempt may have got that far), and
// keeps what it created whenever the stored invitation can still take it.
func (s *Service) provision(ctx context.Context, a Actor, inv *Invitation, org *Organization, resumable, resumed bool) (*Invitation, error) {
	next := inv.Clone()
	var (
		undo func(context.Context)
		err  error
	)
	if org == nil {
		undo, err = s.provisionUser(ctx, next, resumable)
	} else {
		undo, err = s.provisionOrg(ctx, next, resumed)
	}
	if err != nil {
		if resumable && Transient(err) {
			return nil, err
		}
		if failed := s.fail(ctx, a, inv, err); failed != nil {
			return failed, fmt.Errorf("create invitation %s: %w", inv.ID, err)
		}
		return nil, fmt.Errorf("create invitation %s: %w", inv.ID, err)
	}
	err = s.save(ctx, inv, next)
	if err == nil {
		return next, nil
	}
	if undo != nil && !s.adoptable(ctx, resumable, err, next) {
		// Nothing stored will ever name what this attempt created: take it back.
		undo(ctx)
	}
	if !resumable {
		s.fail(ctx, a, inv, err)
	}
	return nil, fmt.Errorf("create invitation %s: %w", inv.ID, err)
}

// adoptable reports whether a retry will adopt the Auth0 side next names after saving
// it failed with err: only a bulk item is retried, and when another writer changed the
// invitation meanwhile (conflict), only while it is pending and names no other Auth0
// side.
func (s *Service) adoptable(ctx context.Context, resumable bool, err error, next *Invitation) bool {
	if !resumable {
		return false
	}
	if !IsCode(err, CodeConflict) {
		return true
	}
	fresh, gerr := s.store.Get(ctx, next.ID)
	return gerr != nil || fresh.Status == StatusPending && (!fresh.Provisioned() || sameAuth0Side(fresh, next))
}

// provisionUser finds or creates the application user. A new user gets the roles: no
// one but the invitee, through the emailed link, can ever sign in as it. A user Doorman
// created for an earlier invitation is adopted (adopt). Anyone else's account gets
// nothing now: the invitation stays pending and records what it found (Account).
//
// When the role assignment fails, the user just created is deleted, unless resumable
// and the failure may pass: a bulk item is retried, and the retry adopts the user
// (FindUserByEmail finds it, flagged and never logged in) instead of creating another.
func (s *Service) provisionUser(ctx context.Context, inv *Invitation, resumable bool) (undo func(context.Context), err error) {
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
		log.forUser(u.ID).InfoContext(ctx, "auth0 user created")
		return undo, nil
	case err != nil:
		return nil, fmt.Errorf("find Auth0 user: %w", err)
	}

	inv.Auth0UserID = u.ID
	if createdForInvitation(u) {
		// A user Doorman created for an invitation that was never taken up: this
		// invitation adopts it, so that the invitee still sets a password.
		inv.UserCreated = true
		return nil, s.adopt(ctx, inv, u)
	}
	// Someone's account: nothing is granted and nothing accepted until its owner
	// proves control of the address (the Acceptor grants the roles then).
	inv.Account = AccountUnclaimed
	if u.EmailVerified {
		inv.Account = AccountExisting
	}
	log.forUser(u.ID).InfoContext(ctx, "invitation for an existing auth0 account", "account", inv.Account)
	return nil, nil
}

// createdForInvitation reports whether u is a user Doorman created for an invitation
// that was never taken up (flagged, never logged in): a new invitation adopts it
// rather than treating it as someone's account.
func createdForInvitation(u *User) bool {
	invited, _ := u.AppMetadata["needsInvitation"].(bool)
	return invited && u.LoginsCount == 0
}

// adopt makes a user Doorman created the user of inv. Its own (an earlier attempt of a
// bulk item created it) only gets its roles; an earlier invitation's is adopted only
// once that invitation is finished and its cleanup done, and then rewritten to name
// inv, unblocked, and given exactly inv's roles.
func (s *Service) adopt(ctx context.Context, inv *Invitation, u *User) error {
	prevID, _ := u.AppMetadata["invitationId"].(string)
	if prevID == inv.ID {
		return s.assignRoles(ctx, inv)
	}
	if prevID != "" {
		prev, err := s.store.Get(ctx, prevID)
		switch {
		case IsCode(err, CodeNotFound):
			// Its retention ended: nothing is left to clean up.
		case err != nil:
			return fmt.Errorf("read the invitation %s of the Auth0 user: %w", prevID, err)
		case prev.Status == StatusPending || prev.CleanupPending:
			return Errorf(CodeConflict, "an earlier invitation of this address (%s) is still being cleaned up; invite again in a few minutes", prevID)
		}
	}
	err := s.identity.AdoptUser(ctx, u.ID, inv.ID, inv.Roles)
	if IsCode(err, CodeNotFound) {
		return &Error{Code: CodeInvalid, Field: "roles", Message: "Auth0 does not know one of the roles", Err: err}
	}
	if err != nil {
		return fmt.Errorf("adopt Auth0 user: %w", err)
	}
	return nil
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

// provisionOrg adopts the Auth0 organization invitation an earlier attempt created
// (it carries this invitation's id) or creates one (without Auth0's email; Doorman
// sends its own), returning how to undo a creation. The lookup costs Auth0 calls, so
// it is made only when an earlier attempt may have got that far (resumed).
func (s *Service) provisionOrg(ctx context.Context, inv *Invitation, resumed bool) (undo func(context.Context), err error) {
	if resumed {
		found, err := s.identity.FindOrgInvitations(ctx, inv.OrganizationID, inv.Email)
		if err != nil {
			return nil, fmt.Errorf("find Auth0 organization invitation: %w", err)
		}
		for _, oi := range found {
			if oi.InvitationID == inv.ID {
				inv.Auth0InvitationID, inv.Auth0InvitationURL = oi.ID, ""
				return nil, nil
			}
		}
	}
	oi, err := s.identity.CreateOrgInvitation(ctx, s.orgInvitationRequest(inv, inv.ExpiresAt.Sub(s.now())))
	if err != nil {
		return nil, fmt.Errorf("create Auth0 organization invitation: %w", err)
	}
	inv.Auth0InvitationID, inv.Auth0InvitationURL = oi.ID, ""
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
	deleted, err := s.identity.DeleteUserIfNeverLoggedIn(ctx, inv.Auth0UserID, inv.ID)
	switch {
	case err != nil:
		log.ErrorContext(ctx, "cannot delete auth0 user", "why", why, "error", err)
	case !deleted:
		log.WarnContext(ctx, "auth0 user kept: it has logged in or another invitation adopted it", "why", why)
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

// send emails a stored invitation and records the outcome (deliver). A single create
// passes the token it made with the invitation; a bulk item passes "" and claims the
// email first with a fresh token, which is what keeps a retry from mailing twice: a
// retry that finds the claim unresolved marks the delivery unconfirmed instead.
func (s *Service) send(ctx context.Context, inv *Invitation, org *Organization, token string) (*Invitation, error) {
	if token == "" {
		var err error
		if token, err = NewToken(s.rand); err != nil {
			return nil, fmt.Errorf("deliver %s: %w", inv.ID, err)
		}
		claimed, err := s.apply(ctx, inv, func(n *Invitation) error {
			if n.Delivery.Status != DeliveryPending {
				return Errorf(CodeConflict, "delivery of %s changed", n.ID)
			}
			n.replaceLink(token, false)
			n.Delivery.Status = DeliverySending
			return nil
		})
		if err != nil {
			return nil, err
		}
		inv = claimed
	}
	return s.deliver(ctx, inv, s.emailFor(inv, org, token), s.now()), nil
}

// emailFor is the one place that decides which email an invitation gets, what it names
// and where it points: an accepted invitation the "access granted" email, to its
// redirect_url or the application; a pending one the invitation to the application, or
// to org (the invitation's organization, from organizationFor) by its display name,
// with the Doorman link of token.
func (s *Service) emailFor(inv *Invitation, org *Organization, token string) Mail {
	m := Mail{
		Template:     TemplateApplication,
		To:           inv.Email,
		Locale:       inv.Locale,
		InviteeName:  inv.Name,
		InviterName:  inv.Inviter.Name,
		TargetName:   s.appName,
		Message:      inv.Message,
		Link:         s.link(token),
		ExpiresAt:    inv.ExpiresAt,
		InvitationID: inv.ID,
	}
	switch {
	case inv.Status == StatusAccepted:
		m.Template, m.Link = TemplateAccess, cmp.Or(inv.RedirectURL, s.appURL)
	case inv.Account == AccountExisting:
		m.Template = TemplateExistingAccount
	case org != nil:
		m.Template, m.TargetName = TemplateOrganization, orgName(org)
	}
	return m
}

// organizationFor is the organization an invitation (or a prepared request) names,
// nil for the application; it is looked up before anything is written, so that a
// failed lookup changes nothing.
func (s *Service) organizationFor(ctx context.Context, orgID string) (*Organization, error) {
	if orgID == "" {
		return nil, nil
	}
	return s.organization(ctx, orgID)
}
