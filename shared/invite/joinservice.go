package invite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Defaults of JoinConfig.
const (
	DefaultJoinMailsPerDay     = 3
	DefaultJoinRequestsPerHour = 5
)

// Limits of what the public may send.
const (
	MaxNoteLen        = 500
	MaxLinkUses       = 10000
	MaxAllowedDomains = 50
	MaxPolicyDomains  = 200
)

// Counter counts events per key in fixed windows (dynamo.Counter, inmem.Counter).
// Errors: upstream_unavailable.
type Counter interface {
	IncrBy(ctx context.Context, key string, n int, window time.Duration, now time.Time) (count int, resetAt time.Time, err error)
}

// JoinConfig builds a Join. Invites, Store and Counter are required.
type JoinConfig struct {
	// Invites is the invitation service: approvals create invitations through its
	// one create pipeline, and Join shares its clock, randomness, mailer, public base
	// URL and names.
	Invites *Service
	Store   JoinStore
	Counter Counter
	// AppRule is the application scope's rule when no policy was stored through the
	// API (JOIN_POLICY); the zero value is require_approval.
	AppRule JoinRule
	// MailsPerDay caps the emails the join flows send one address per day (default
	// 3); RequestsPerHour the requests one address may make per hour (default 5).
	MailsPerDay     int
	RequestsPerHour int
	Logger          *slog.Logger
}

// Join runs the join flows: access requests, their review, join policies and
// shareable invite links.
type Join struct {
	inv         *Service
	store       JoinStore
	counter     Counter
	appRule     JoinRule
	mailsPerDay int
	reqsPerHour int
	log         *slog.Logger
}

// NewJoin checks cfg and applies its defaults.
func NewJoin(cfg JoinConfig) (*Join, error) {
	if cfg.Invites == nil || cfg.Store == nil || cfg.Counter == nil {
		return nil, errors.New("invite: Join needs Invites, Store and Counter")
	}
	j := &Join{inv: cfg.Invites, store: cfg.Store, counter: cfg.Counter, appRule: cfg.AppRule,
		mailsPerDay: cfg.MailsPerDay, reqsPerHour: cfg.RequestsPerHour, log: cfg.Logger}
	if j.appRule.Mode == "" {
		j.appRule.Mode = JoinRequireApproval
	}
	if !j.appRule.Mode.Valid() {
		return nil, fmt.Errorf("invite: join mode %q must be auto_approve, require_approval or deny", j.appRule.Mode)
	}
	if err := validateRoles(j.appRule.Roles); err != nil {
		return nil, fmt.Errorf("invite: join roles: %w", err)
	}
	if j.mailsPerDay <= 0 {
		j.mailsPerDay = DefaultJoinMailsPerDay
	}
	if j.reqsPerHour <= 0 {
		j.reqsPerHour = DefaultJoinRequestsPerHour
	}
	if j.log == nil {
		j.log = slog.New(slog.DiscardHandler)
	}
	return j, nil
}

// PublicRequest is what the public posts to ask for access, directly or through an
// invite link's page.
type PublicRequest struct {
	Email          string
	Name           string
	OrganizationID string
	Note           string
}

// RequestAccess takes a request from the public. Its answer never says what became of
// it: an invalid or denied address, an unknown organization, a duplicate or a limit
// reached are dropped in silence (nil), and only a failure of Doorman's own (the
// store, the counter) is an error, for the caller to log and still answer alike.
func (j *Join) RequestAccess(ctx context.Context, req PublicRequest) error {
	email, err := ValidateEmail(req.Email)
	if err != nil || checkText("name", req.Name, MaxNameLen, true) != nil || checkText("note", req.Note, MaxNoteLen, false) != nil {
		return nil
	}
	if req.OrganizationID != "" {
		if !validOrgID(req.OrganizationID) {
			return nil
		}
		if _, err := j.inv.organization(ctx, req.OrganizationID); err != nil {
			if IsCode(err, CodeInvalid) {
				return nil
			}
			return err
		}
	}
	rule, err := j.ruleFor(ctx, scopeOf(req.OrganizationID), email)
	if err != nil {
		return err
	}
	if rule.Mode == JoinDeny {
		return nil
	}
	return j.open(ctx, &AccessRequest{Email: email, Name: req.Name, OrganizationID: req.OrganizationID, Note: req.Note})
}

func scopeOf(orgID string) string {
	if orgID != "" {
		return OrgScope(orgID)
	}
	return ScopeApplication
}

// open stores a new unverified request and emails its verification link, within the
// per-address limits; an open request for the same scope and address gets a fresh
// link instead, while it is unverified.
func (j *Join) open(ctx context.Context, r *AccessRequest) error {
	now := j.inv.now()
	key := EmailKey(r.Email)
	if n, _, err := j.counter.IncrBy(ctx, "joinreq:"+key, 1, time.Hour, now); err != nil {
		return fmt.Errorf("count requests of an address: %w", err)
	} else if n > j.reqsPerHour {
		return nil
	}
	id, err := NewID(now, j.inv.rand)
	if err != nil {
		return err
	}
	token, err := NewToken(j.inv.rand)
	if err != nil {
		return err
	}
	r.ID, r.Status, r.CreatedAt, r.ExpiresAt = id, RequestUnverified, now.UTC(), now.Add(VerifyTTL).UTC()
	r.TokenHash, r.Version = TokenHash(token), 1
	r.record(RequestEventCreated, now, ActorInvitee, "")
	err = j.store.CreateRequest(ctx, r)
	if e := AsError(err); e != nil && e.Code == CodeConflict && e.ExistingID != "" {
		existing, gerr := j.store.GetRequest(ctx, e.ExistingID)
		if gerr != nil {
			return fmt.Errorf("read the open request %s: %w", e.ExistingID, gerr)
		}
		if existing.Status != RequestUnverified {
			return nil // already with the reviewers
		}
		next := existing.Clone()
		next.TokenHash, next.ExpiresAt = TokenHash(token), now.Add(VerifyTTL).UTC()
		next.Version = existing.Version + 1
		if err := j.store.UpdateRequest(ctx, existing, next); err != nil {
			if IsCode(err, CodeConflict) {
				return nil
			}
			return fmt.Errorf("renew the verification link of %s: %w", existing.ID, err)
		}
		r = next
	} else if err != nil {
		return fmt.Errorf("store access request: %w", err)
	}
	target, err := j.targetName(ctx, r.OrganizationID)
	if err != nil {
		return err
	}
	j.mail(ctx, Mail{Template: TemplateJoinVerify, To: r.Email, InviteeName: r.Name, TargetName: target,
		Link: j.inv.baseURL + "/r/" + token, ExpiresAt: r.ExpiresAt, InvitationID: r.ID})
	j.log.InfoContext(ctx, "access request opened", "access_request_id", r.ID, "organization_id", r.OrganizationID, "link_id", r.LinkID)
	return nil
}

// mail sends m unless its address had its emails for the day; a failure is logged.
func (j *Join) mail(ctx context.Context, m Mail) {
	n, _, err := j.counter.IncrBy(ctx, "joinmail:"+EmailKey(m.To), 1, 24*time.Hour, j.inv.now())
	if err != nil {
		j.log.ErrorContext(ctx, "cannot count the emails of an address", "error", err)
		return
	}
	if n > j.mailsPerDay {
		j.log.InfoContext(ctx, "join email not sent: the address had its emails for today", "template", m.Template)
		return
	}
	if _, err := j.inv.mailer.Send(ctx, m); err != nil {
		j.log.ErrorContext(ctx, "join email not sent", "template", m.Template, "error", err)
	}
}

func (j *Join) targetName(ctx context.Context, orgID string) (string, error) {
	if orgID == "" {
		return j.inv.appName, nil
	}
	org, err := j.inv.organization(ctx, orgID)
	if err != nil {
		return "", err
	}
	return orgName(org), nil
}

// ruleFor is the rule of scope's policy for an address.
func (j *Join) ruleFor(ctx context.Context, scope, email string) (JoinRule, error) {
	p, err := j.policy(ctx, scope)
	if err != nil {
		return JoinRule{}, err
	}
	return p.RuleFor(email), nil
}

// policy is a scope's stored policy, or its default: for the application the
// configured rule, for an organization require_approval.
func (j *Join) policy(ctx context.Context, scope string) (*JoinPolicy, error) {
	p, err := j.store.JoinPolicy(ctx, scope)
	if IsCode(err, CodeNotFound) {
		def := JoinRule{Mode: JoinRequireApproval}
		if scope == ScopeApplication {
			def = j.appRule
		}
		return &JoinPolicy{Scope: scope, Default: def}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read join policy of %s: %w", scope, err)
	}
	return p, nil
}

// RequestView is what the verification page shows.
type RequestView struct {
	Request *AccessRequest
	Target  string
}

// VerifyPage resolves a verification link for its page (GET /r/{token}); it changes
// nothing.
func (j *Join) VerifyPage(ctx context.Context, token string) (*RequestView, error) {
	r, err := j.byToken(ctx, token)
	if err != nil {
		return nil, err
	}
	target, err := j.targetName(ctx, r.OrganizationID)
	if err != nil {
		return nil, err
	}
	return &RequestView{Request: r, Target: target}, nil
}

func (j *Join) byToken(ctx context.Context, token string) (*AccessRequest, error) {
	notFound := Errorf(CodeNotFound, "This link is not valid. It may have been replaced by a newer email.")
	if !ValidToken(token) {
		return nil, notFound
	}
	r, err := j.store.GetRequestByTokenHash(ctx, TokenHash(token))
	if IsCode(err, CodeNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("resolve verification link: %w", err)
	}
	if r.Status != RequestUnverified || !j.inv.now().Before(r.ExpiresAt) {
		return nil, Errorf(CodeGone, "This link was already used or has expired. If you still need access, ask again.")
	}
	return r, nil
}

// VerifyOutcome is what a verified request led to.
type VerifyOutcome string

const (
	// VerifiedPending: the request waits for a reviewer.
	VerifiedPending VerifyOutcome = "pending"
	// VerifiedInvited: an invitation was created and emailed.
	VerifiedInvited VerifyOutcome = "invited"
	// VerifiedClosed: the invite link it came through had no place left.
	VerifiedClosed VerifyOutcome = "closed"
)

// Verified is what a verification led to; AcceptURL is the new invitation's link
// (a credential, for the browser that proved the address only) when it was approved
// at once.
type Verified struct {
	Outcome   VerifyOutcome
	AcceptURL string
}

// Verify spends a verification link (POST /r/{token}): the address is proven, and
// the request goes to the reviewers, or is approved at once by its scope's policy or
// its invite link.
func (j *Join) Verify(ctx context.Context, token string) (VerifyOutcome, error) {
	v, err := j.VerifyLink(ctx, token)
	return v.Outcome, err
}

// VerifyLink is Verify, with the invitation's link when the request was approved at
// once, so that the person goes straight on to set a password or sign in.
func (j *Join) VerifyLink(ctx context.Context, token string) (Verified, error) {
	r, err := j.byToken(ctx, token)
	if err != nil {
		return Verified{}, err
	}
	now := j.inv.now()
	var link *InviteLink
	if r.LinkID != "" {
		if link, err = j.store.GetLink(ctx, r.LinkID); err != nil {
			return Verified{}, fmt.Errorf("verify %s: read link %s: %w", r.ID, r.LinkID, err)
		}
	}
	rule := JoinRule{Mode: JoinRequireApproval}
	if link == nil {
		if rule, err = j.ruleFor(ctx, r.Scope(), r.Email); err != nil {
			return Verified{}, err
		}
	}
	if link != nil {
		claim := Redemption{LinkID: link.ID, RequestID: r.ID, Email: r.Email, At: now}
		if err := j.store.ClaimLinkUse(ctx, claim); err != nil {
			if !IsCode(err, CodeConflict) {
				return Verified{}, fmt.Errorf("verify %s: claim a use of link %s: %w", r.ID, link.ID, err)
			}
			_, err := j.decide(ctx, r, func(n *AccessRequest) {
				n.Status, n.DecidedAt, n.Decider = RequestDenied, now.UTC(), Inviter{Sub: ActorDoorman}
				n.DenyNote = "the invite link had no place left"
				n.record(RequestEventDenied, now, ActorDoorman, n.DenyNote)
			})
			return Verified{Outcome: VerifiedClosed}, err
		}
		if !link.RequiresApproval {
			rule = JoinRule{Mode: JoinAutoApprove, Roles: link.Roles}
		}
	}
	if rule.Mode == JoinDeny {
		// The policy changed since the request was taken; the person learns nothing.
		_, err := j.decide(ctx, r, func(n *AccessRequest) {
			n.Status, n.DecidedAt, n.Decider = RequestDenied, now.UTC(), Inviter{Sub: ActorDoorman}
			n.record(RequestEventDenied, now, ActorDoorman, "join policy")
		})
		return Verified{Outcome: VerifiedPending}, err
	}
	pending, err := j.decide(ctx, r, func(n *AccessRequest) {
		n.Status, n.VerifiedAt, n.ExpiresAt, n.TokenHash = RequestPending, now.UTC(), now.Add(PendingTTL).UTC(), ""
		n.record(RequestEventVerified, now, ActorInvitee, "")
	})
	if err != nil {
		return Verified{}, err
	}
	if rule.Mode != JoinAutoApprove {
		return Verified{Outcome: VerifiedPending}, nil
	}
	name := "Doorman"
	if link != nil && link.Creator.Name != "" {
		name = link.Creator.Name
	}
	system := Actor{Sub: ActorDoorman, Name: name, Permissions: []string{PermCreate, PermAdmin}, Machine: true}
	approved, acceptURL, err := j.approve(ctx, system, pending, rule.Roles, 0, true)
	if err != nil {
		// Left pending for a reviewer (a role outside the ceiling, Auth0 refusing).
		j.log.WarnContext(ctx, "automatic approval failed; the request waits for a reviewer", "access_request_id", r.ID, "error", err)
		return Verified{Outcome: VerifiedPending}, nil
	}
	if link != nil {
		if err := j.store.SetRedemptionInvitation(ctx, link.ID, r.ID, approved.InvitationID); err != nil {
			j.log.ErrorContext(ctx, "cannot record the redemption's invitation", "link_id", link.ID, "access_request_id", r.ID, "error", err)
		}
	}
	return Verified{Outcome: VerifiedInvited, AcceptURL: acceptURL}, nil
}

// decide writes change(copy of r) over r, conditionally on r's version.
func (j *Join) decide(ctx context.Context, r *AccessRequest, change func(*AccessRequest)) (*AccessRequest, error) {
	next := r.Clone()
	change(next)
	next.Version = r.Version + 1
	if err := j.store.UpdateRequest(ctx, r, next); err != nil {
		return nil, fmt.Errorf("update access request %s: %w", r.ID, err)
	}
	return next, nil
}

// approve creates the invitation of a pending request for a (as its inviter) and
// records it: the request is claimed first (pending → approved, one winner among
// concurrent approvals), and put back to pending when the invitation cannot be made.
// proven says the caller is the browser that just proved the address: it gets the
// invitation's link too (never a reviewer).
func (j *Join) approve(ctx context.Context, a Actor, r *AccessRequest, roles []string, ttl time.Duration, proven bool) (*AccessRequest, string, error) {
	if r.Status != RequestPending {
		return nil, "", Errorf(CodeConflict, "the request is %s, not pending", r.Status)
	}
	creator := a
	creator.Permissions = append(slices.Clip(a.Permissions), PermCreate)
	prepared, err := j.inv.PrepareCreate(creator, CreateRequest{
		Email: r.Email, Name: r.Name, OrganizationID: r.OrganizationID, Roles: roles, TTL: ttl, SendEmail: true, AddressProven: proven,
	})
	if err != nil {
		return nil, "", err
	}
	now := j.inv.now()
	claimed, err := j.decide(ctx, r, func(n *AccessRequest) {
		n.Status, n.DecidedAt, n.Decider, n.Roles = RequestApproved, now.UTC(), Inviter{Sub: a.Sub, Name: SanitizeHeaderText(a.Name)}, slices.Clone(roles)
	})
	if err != nil {
		return nil, "", err
	}
	created, err := j.inv.CreatePrepared(ctx, creator, prepared)
	if err != nil {
		if _, rerr := j.decide(context.WithoutCancel(ctx), claimed, func(n *AccessRequest) {
			n.Status, n.DecidedAt, n.Decider, n.Roles = RequestPending, time.Time{}, Inviter{}, nil
		}); rerr != nil {
			j.log.ErrorContext(ctx, "cannot put an approval that failed back to pending", "access_request_id", r.ID, "error", rerr)
		}
		return nil, "", err
	}
	done, err := j.decide(context.WithoutCancel(ctx), claimed, func(n *AccessRequest) {
		n.InvitationID = created.Invitation.ID
		n.record(RequestEventApproved, now, a.Sub, created.Invitation.ID)
	})
	if err != nil {
		return nil, "", err
	}
	j.log.InfoContext(ctx, "access request approved", "access_request_id", r.ID, "invitation_id", created.Invitation.ID)
	return done, created.AcceptURL, nil
}

// reach loads a request for a reviewer: unverified requests and those outside the
// actor's reach are not found.
func (j *Join) reach(ctx context.Context, a Actor, id string) (*AccessRequest, error) {
	if err := authorize(a, PermReview); err != nil {
		return nil, err
	}
	notFound := Errorf(CodeNotFound, "access request not found")
	if !ValidID(id) {
		return nil, notFound
	}
	r, err := j.store.GetRequest(ctx, id)
	if IsCode(err, CodeNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("get access request %s: %w", id, err)
	}
	if r.Status == RequestUnverified || !a.reaches(r.OrganizationID) {
		return nil, notFound
	}
	return r, nil
}

// GetRequest returns one access request with its history.
func (j *Join) GetRequest(ctx context.Context, a Actor, id string) (*AccessRequest, error) {
	return j.reach(ctx, a, id)
}

// RequestListRequest selects a page of access requests.
type RequestListRequest struct {
	OrganizationID string
	Status         RequestStatus
	Email          string
	Limit          int
	Cursor         string
}

// ListRequests returns a page of one scope's verified requests, newest first.
func (j *Join) ListRequests(ctx context.Context, a Actor, req RequestListRequest) (*RequestPage, error) {
	if err := authorize(a, PermReview); err != nil {
		return nil, err
	}
	scope, err := j.scopeFor(a, req.OrganizationID)
	if err != nil {
		return nil, err
	}
	if req.Status != "" && (!req.Status.Valid() || req.Status == RequestUnverified) {
		return nil, Invalid("status", "must be one of pending, approved, denied, expired")
	}
	if req.Limit < 0 || req.Limit > 100 {
		return nil, Invalid("limit", "must be between 1 and 100")
	}
	q := RequestQuery{Scope: scope, Status: req.Status, Limit: req.Limit, Cursor: req.Cursor}
	if req.Email != "" {
		q.EmailKey = EmailKey(req.Email)
	}
	page, err := j.store.ListRequests(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list access requests of %s: %w", scope, err)
	}
	return page, nil
}

func (j *Join) scopeFor(a Actor, orgID string) (string, error) {
	if orgID != "" && !validOrgID(orgID) {
		return "", Invalid("organization_id", "must be an Auth0 organization id (org_...)")
	}
	org, err := a.orgFor(orgID)
	if err != nil {
		return "", err
	}
	return scopeOf(org), nil
}

// ApproveRequest is a reviewer's yes: the roles and the invitation's lifetime.
type ApproveRequest struct {
	Roles []string
	TTL   time.Duration
}

// Approve creates the request's invitation at once, within the grant rules for the
// reviewer, and returns the request with its InvitationID.
func (j *Join) Approve(ctx context.Context, a Actor, id string, req ApproveRequest) (*AccessRequest, error) {
	r, err := j.reach(ctx, a, id)
	if err != nil {
		return nil, err
	}
	done, _, err := j.approve(ctx, a, r, req.Roles, req.TTL, false)
	if err != nil {
		return nil, err
	}
	if r.LinkID != "" {
		// A request through a link that requires approval: its redemption names the
		// invitation now.
		if err := j.store.SetRedemptionInvitation(ctx, r.LinkID, r.ID, done.InvitationID); err != nil {
			j.log.ErrorContext(ctx, "cannot record the redemption's invitation", "link_id", r.LinkID, "access_request_id", r.ID, "error", err)
		}
	}
	return done, nil
}

// DenyRequest is a reviewer's no, with an optional note, emailed when Notify.
type DenyRequest struct {
	Note   string
	Notify bool
}

// Deny closes a pending request.
func (j *Join) Deny(ctx context.Context, a Actor, id string, req DenyRequest) (*AccessRequest, error) {
	if err := checkText("note", req.Note, MaxNoteLen, false); err != nil {
		return nil, err
	}
	r, err := j.reach(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if r.Status != RequestPending {
		return nil, Errorf(CodeConflict, "the request is %s, not pending", r.Status)
	}
	now := j.inv.now()
	denied, err := j.decide(ctx, r, func(n *AccessRequest) {
		n.Status, n.DecidedAt, n.Decider, n.DenyNote = RequestDenied, now.UTC(), Inviter{Sub: a.Sub, Name: SanitizeHeaderText(a.Name)}, req.Note
		n.record(RequestEventDenied, now, a.Sub, "")
	})
	if err != nil {
		return nil, err
	}
	if req.Notify {
		target, err := j.targetName(ctx, r.OrganizationID)
		if err != nil {
			target = j.inv.appName
		}
		j.mail(ctx, Mail{Template: TemplateJoinDenied, To: r.Email, InviteeName: r.Name, TargetName: target,
			Message: req.Note, InvitationID: r.ID})
	}
	return denied, nil
}

// ExpireRequests marks up to limit open requests whose time ran out expired and
// reports how many it marked.
func (j *Join) ExpireRequests(ctx context.Context, limit int) (int, error) {
	now := j.inv.now()
	due, err := j.store.RequestsExpiringBefore(ctx, now, limit)
	if err != nil {
		return 0, fmt.Errorf("find expiring access requests: %w", err)
	}
	n := 0
	for _, r := range due {
		if !r.Status.Open() || r.ExpiresAt.After(now) {
			continue
		}
		_, err := j.decide(ctx, r, func(n *AccessRequest) {
			n.Status, n.TokenHash = RequestExpired, ""
			n.record(RequestEventExpired, now, ActorSweeper, "")
		})
		if err != nil {
			if IsCode(err, CodeConflict) {
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// PolicyRequest sets a scope's join policy.
type PolicyRequest struct {
	OrganizationID string
	Default        JoinRule
	Domains        map[string]JoinRule
}

// GetPolicy returns the policy of the actor's scope (or orgID's).
func (j *Join) GetPolicy(ctx context.Context, a Actor, orgID string) (*JoinPolicy, error) {
	if err := authorize(a, PermReview); err != nil {
		return nil, err
	}
	scope, err := j.scopeFor(a, orgID)
	if err != nil {
		return nil, err
	}
	return j.policy(ctx, scope)
}

// PutPolicy stores a scope's policy. Every auto_approve rule's roles must be roles
// the actor may grant (the grant rules), since the policy grants them later in the
// actor's stead.
func (j *Join) PutPolicy(ctx context.Context, a Actor, req PolicyRequest) (*JoinPolicy, error) {
	if err := authorize(a, PermReview); err != nil {
		return nil, err
	}
	scope, err := j.scopeFor(a, req.OrganizationID)
	if err != nil {
		return nil, err
	}
	if len(req.Domains) > MaxPolicyDomains {
		return nil, Invalid("domains", "at most %d domains", MaxPolicyDomains)
	}
	orgID, _ := a.orgFor(req.OrganizationID)
	check := func(field string, r JoinRule) error {
		if !r.Mode.Valid() {
			return Invalid(field+".mode", "must be auto_approve, require_approval or deny")
		}
		if r.Mode != JoinAutoApprove && len(r.Roles) > 0 {
			return Invalid(field+".roles", "only an auto_approve rule carries roles")
		}
		return j.checkRoles(ctx, a, orgID, field+".roles", r.Roles)
	}
	if err := check("default", req.Default); err != nil {
		return nil, err
	}
	domains := make(map[string]JoinRule, len(req.Domains))
	for d, r := range req.Domains {
		ld := strings.ToLower(strings.TrimSpace(d))
		if !validDomain(ld) {
			return nil, Invalid("domains", "%q is not a domain", d)
		}
		if err := check("domains."+ld, r); err != nil {
			return nil, err
		}
		domains[ld] = JoinRule{Mode: r.Mode, Roles: slices.Clone(r.Roles)}
	}
	p := &JoinPolicy{Scope: scope, Default: JoinRule{Mode: req.Default.Mode, Roles: slices.Clone(req.Default.Roles)},
		Domains: domains, UpdatedAt: j.inv.now().UTC(), UpdatedBy: a.Sub}
	if err := j.store.PutJoinPolicy(ctx, p); err != nil {
		return nil, fmt.Errorf("store join policy of %s: %w", scope, err)
	}
	return p, nil
}

// checkRoles applies the grant rules to roles a policy or link will grant later.
func (j *Join) checkRoles(ctx context.Context, a Actor, orgID, field string, roles []string) error {
	if len(roles) == 0 {
		return nil
	}
	if err := validateRoles(roles); err != nil {
		return Invalid(field, "%s", AsError(err).Message)
	}
	creator := a
	creator.Permissions = append(slices.Clip(a.Permissions), PermCreate)
	err := j.inv.checkGrant(ctx, creator, CreateRequest{OrganizationID: orgID, Roles: roles})
	if e := AsError(err); e != nil && strings.HasPrefix(e.Field, "roles") {
		e.Field = field + strings.TrimPrefix(e.Field, "roles")
	}
	return err
}

// LinkRequest creates an invite link.
type LinkRequest struct {
	OrganizationID   string
	Roles            []string
	MaxUses          int
	AllowedDomains   []string
	ExpiresAt        time.Time
	RequiresApproval bool
}

// CreateLink makes a shareable link; the token (its URL /j/{token}) is returned this
// once and only its hash is stored. The roles are checked against the grant rules
// for the actor, who needs create:invitations.
func (j *Join) CreateLink(ctx context.Context, a Actor, req LinkRequest) (*InviteLink, string, error) {
	if err := authorize(a, PermCreate); err != nil {
		return nil, "", err
	}
	if req.OrganizationID != "" && !validOrgID(req.OrganizationID) {
		return nil, "", Invalid("organization_id", "must be an Auth0 organization id (org_...)")
	}
	orgID, err := a.orgFor(req.OrganizationID)
	if err != nil {
		return nil, "", err
	}
	now := j.inv.now()
	if req.MaxUses < 1 || req.MaxUses > MaxLinkUses {
		return nil, "", Invalid("max_uses", "must be between 1 and %d", MaxLinkUses)
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now) {
		return nil, "", Invalid("expires_at", "must be in the future")
	}
	if len(req.AllowedDomains) > MaxAllowedDomains {
		return nil, "", Invalid("allowed_domains", "at most %d domains", MaxAllowedDomains)
	}
	var domains []string
	for i, d := range req.AllowedDomains {
		ld := strings.ToLower(strings.TrimSpace(d))
		if !validDomain(ld) {
			return nil, "", Invalid(fmt.Sprintf("allowed_domains[%d]", i), "%q is not a domain", d)
		}
		if !slices.Contains(domains, ld) {
			domains = append(domains, ld)
		}
	}
	if err := j.checkRoles(ctx, a, orgID, "roles", req.Roles); err != nil {
		return nil, "", err
	}
	if _, err := j.inv.organizationFor(ctx, orgID); err != nil {
		return nil, "", err
	}
	id, err := NewID(now, j.inv.rand)
	if err != nil {
		return nil, "", err
	}
	token, err := NewToken(j.inv.rand)
	if err != nil {
		return nil, "", err
	}
	l := &InviteLink{ID: id, OrganizationID: orgID, Roles: slices.Clone(req.Roles), MaxUses: req.MaxUses,
		AllowedDomains: domains, ExpiresAt: req.ExpiresAt.UTC(), RequiresApproval: req.RequiresApproval,
		Creator: Inviter{Sub: a.Sub, Name: SanitizeHeaderText(a.Name)}, CreatedAt: now.UTC(), TokenHash: TokenHash(token), Version: 1}
	if req.ExpiresAt.IsZero() {
		l.ExpiresAt = time.Time{}
	}
	if err := j.store.CreateLink(ctx, l); err != nil {
		return nil, "", fmt.Errorf("store invite link: %w", err)
	}
	return l, token, nil
}

// LinkURL is the public URL of a link token.
func (j *Join) LinkURL(token string) string { return j.inv.baseURL + "/j/" + token }

func (j *Join) linkFor(ctx context.Context, a Actor, perm, id string) (*InviteLink, error) {
	if err := authorize(a, perm); err != nil {
		return nil, err
	}
	notFound := Errorf(CodeNotFound, "invite link not found")
	if !ValidID(id) {
		return nil, notFound
	}
	l, err := j.store.GetLink(ctx, id)
	if IsCode(err, CodeNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("get invite link %s: %w", id, err)
	}
	if !a.reaches(l.OrganizationID) {
		return nil, notFound
	}
	return l, nil
}

// GetLink returns a link and its redemptions (up to 100, oldest first).
func (j *Join) GetLink(ctx context.Context, a Actor, id string) (*InviteLink, []Redemption, error) {
	l, err := j.linkFor(ctx, a, PermRead, id)
	if err != nil {
		return nil, nil, err
	}
	reds, err := j.store.Redemptions(ctx, id, 100)
	if err != nil {
		return nil, nil, fmt.Errorf("redemptions of %s: %w", id, err)
	}
	return l, reds, nil
}

// ListLinks returns a page of a scope's links, newest first.
func (j *Join) ListLinks(ctx context.Context, a Actor, orgID string, limit int, cursor string) (*LinkPage, error) {
	if err := authorize(a, PermRead); err != nil {
		return nil, err
	}
	scope, err := j.scopeFor(a, orgID)
	if err != nil {
		return nil, err
	}
	if limit < 0 || limit > 100 {
		return nil, Invalid("limit", "must be between 1 and 100")
	}
	return j.store.ListLinks(ctx, scope, limit, cursor)
}

// RevokeLink stops a link at once.
func (j *Join) RevokeLink(ctx context.Context, a Actor, id string) (*InviteLink, error) {
	l, err := j.linkFor(ctx, a, PermDelete, id)
	if err != nil {
		return nil, err
	}
	if !l.RevokedAt.IsZero() {
		return nil, Errorf(CodeConflict, "the link was revoked already")
	}
	if err := j.store.RevokeLink(ctx, id, j.inv.now()); err != nil {
		return nil, fmt.Errorf("revoke invite link %s: %w", id, err)
	}
	return j.store.GetLink(ctx, id)
}

// LinkView is what a link's page shows.
type LinkView struct {
	Link    *InviteLink
	Inviter string
	Target  string
}

// errLinkClosed is the one answer for a link that is unknown, revoked, expired or
// spent: its page says nothing more.
var errLinkClosed = Errorf(CodeNotFound, "This link is not valid.")

// OpenLink resolves a link token for its page (GET /j/{token}).
func (j *Join) OpenLink(ctx context.Context, token string) (*LinkView, error) {
	if !ValidToken(token) {
		return nil, errLinkClosed
	}
	l, err := j.store.GetLinkByTokenHash(ctx, TokenHash(token))
	if IsCode(err, CodeNotFound) {
		return nil, errLinkClosed
	}
	if err != nil {
		return nil, fmt.Errorf("resolve invite link: %w", err)
	}
	if !l.Usable(j.inv.now()) {
		return nil, errLinkClosed
	}
	target, err := j.targetName(ctx, l.OrganizationID)
	if err != nil {
		return nil, err
	}
	inviter := l.Creator.Name
	if inviter == "" {
		inviter = "Someone"
	}
	return &LinkView{Link: l, Inviter: inviter, Target: target}, nil
}

// Redeem takes an address on a link's page (POST /j/{token}) and emails it a
// verification link; the use is counted when the address is proven. An address
// outside the link's domains is invalid_request (the page says which domains it
// takes); anything else (a duplicate, a limit) answers alike.
func (j *Join) Redeem(ctx context.Context, token, email, name string) error {
	v, err := j.OpenLink(ctx, token)
	if err != nil {
		return err
	}
	addr, err := ValidateEmail(email)
	if err != nil {
		return err
	}
	if err := checkText("name", name, MaxNameLen, true); err != nil {
		return err
	}
	if !v.Link.Allows(addr) {
		return Invalid("email", "This link takes addresses at %s only.", strings.Join(v.Link.AllowedDomains, ", "))
	}
	rule, err := j.ruleFor(ctx, v.Link.Scope(), addr)
	if err != nil {
		return err
	}
	if rule.Mode == JoinDeny {
		return nil
	}
	return j.open(ctx, &AccessRequest{Email: addr, Name: name, OrganizationID: v.Link.OrganizationID, LinkID: v.Link.ID})
}
