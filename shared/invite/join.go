package invite

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Join flows: people asking to come in (DESIGN.md "Join flows"). An access request is
// the inverse of an invitation: the person asks, proves the address through an
// emailed link, and a reviewer (or the scope's policy, or an invite link) says yes
// with roles, which creates an invitation through the one create pipeline.

// PermReview lets a token read, approve and deny access requests and read and set its
// scope's join policy.
const PermReview = "review:access-requests"

// RequestStatus is where an access request stands.
type RequestStatus string

const (
	// RequestUnverified: the address is not proven yet; reviewers do not see it.
	RequestUnverified RequestStatus = "unverified"
	RequestPending    RequestStatus = "pending"
	RequestApproved   RequestStatus = "approved"
	RequestDenied     RequestStatus = "denied"
	RequestExpired    RequestStatus = "expired"
)

// Valid reports whether s is a known status.
func (s RequestStatus) Valid() bool {
	switch s {
	case RequestUnverified, RequestPending, RequestApproved, RequestDenied, RequestExpired:
		return true
	}
	return false
}

// Open reports whether a request in s may still change (and holds its scope's
// reservation of the address).
func (s RequestStatus) Open() bool { return s == RequestUnverified || s == RequestPending }

// The history entries of an access request. Each new entry becomes an event
// (access_request.<entry>) through the table's stream.
const (
	RequestEventCreated  = "created"
	RequestEventVerified = "verified"
	RequestEventApproved = "approved"
	RequestEventDenied   = "denied"
	RequestEventExpired  = "expired"
)

// Lifetimes of an access request.
const (
	// VerifyTTL is how long the emailed verification link works.
	VerifyTTL = 24 * time.Hour
	// PendingTTL is how long a verified request waits for a reviewer.
	PendingTTL = 30 * 24 * time.Hour
)

// AccessRequest is one person asking to join the application or an organization.
type AccessRequest struct {
	ID             string
	Email          string // normalized
	Name           string
	OrganizationID string // "" for the application
	Note           string // the requester's note to reviewers
	// LinkID is the invite link the request came through ("" for a direct request).
	LinkID string

	Status    RequestStatus
	CreatedAt time.Time
	// ExpiresAt is when an open request expires: the verification link's end while
	// unverified, the reviewers' deadline once pending.
	ExpiresAt  time.Time
	VerifiedAt time.Time
	DecidedAt  time.Time
	Decider    Inviter // the reviewer, or Doorman for a policy or a link
	// Roles are the roles granted on approval; InvitationID the invitation it created.
	Roles        []string
	InvitationID string
	DenyNote     string

	// TokenHash is the SHA-256 of the verification link's token while unverified.
	TokenHash string
	History   []Event
	Version   int
}

// Scope is the request's scope: the application's, or its organization's.
func (r *AccessRequest) Scope() string {
	if r.OrganizationID != "" {
		return OrgScope(r.OrganizationID)
	}
	return ScopeApplication
}

// Clone returns a deep copy.
func (r *AccessRequest) Clone() *AccessRequest {
	c := *r
	c.Roles = slices.Clone(r.Roles)
	c.History = slices.Clone(r.History)
	return &c
}

func (r *AccessRequest) record(event string, at time.Time, actor, detail string) {
	r.History = append(r.History, Event{Event: event, At: at.UTC(), Actor: actor, Detail: detail})
}

// JoinMode is what a scope's policy does with a verified request.
type JoinMode string

const (
	JoinAutoApprove     JoinMode = "auto_approve"
	JoinRequireApproval JoinMode = "require_approval"
	JoinDeny            JoinMode = "deny"
)

// Valid reports whether m is a known mode.
func (m JoinMode) Valid() bool {
	return m == JoinAutoApprove || m == JoinRequireApproval || m == JoinDeny
}

// JoinRule is a mode with the roles an auto-approval grants.
type JoinRule struct {
	Mode  JoinMode
	Roles []string
}

// JoinPolicy is one scope's policy: a rule per email domain, and a default.
type JoinPolicy struct {
	Scope     string
	Default   JoinRule
	Domains   map[string]JoinRule // lower-case ASCII domain → rule
	UpdatedAt time.Time
	UpdatedBy string
	Version   int
}

// RuleFor returns the rule for an address.
func (p *JoinPolicy) RuleFor(email string) JoinRule {
	if r, ok := p.Domains[domainOf(email)]; ok {
		return r
	}
	return p.Default
}

// Clone returns a deep copy.
func (p *JoinPolicy) Clone() *JoinPolicy {
	c := *p
	c.Default.Roles = slices.Clone(p.Default.Roles)
	c.Domains = make(map[string]JoinRule, len(p.Domains))
	for d, r := range p.Domains {
		r.Roles = slices.Clone(r.Roles)
		c.Domains[d] = r
	}
	return &c
}

// domainOf is the lower-case domain of an address ("" when it has none).
func domainOf(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(email[at+1:])
}

// InviteLink is a shareable link that lets people in up to MaxUses times.
type InviteLink struct {
	ID               string
	OrganizationID   string
	Roles            []string
	MaxUses          int
	Uses             int
	AllowedDomains   []string // lower-case; empty allows every domain
	ExpiresAt        time.Time
	RequiresApproval bool
	Creator          Inviter
	CreatedAt        time.Time
	RevokedAt        time.Time
	TokenHash        string
	Version          int
}

// Scope is the link's scope.
func (l *InviteLink) Scope() string {
	if l.OrganizationID != "" {
		return OrgScope(l.OrganizationID)
	}
	return ScopeApplication
}

// Clone returns a deep copy.
func (l *InviteLink) Clone() *InviteLink {
	c := *l
	c.Roles = slices.Clone(l.Roles)
	c.AllowedDomains = slices.Clone(l.AllowedDomains)
	return &c
}

// Allows reports whether the link admits the address's domain.
func (l *InviteLink) Allows(email string) bool {
	return len(l.AllowedDomains) == 0 || slices.Contains(l.AllowedDomains, domainOf(email))
}

// Usable reports whether the link can still be redeemed at now.
func (l *InviteLink) Usable(now time.Time) bool {
	return l.RevokedAt.IsZero() && l.Uses < l.MaxUses && (l.ExpiresAt.IsZero() || now.Before(l.ExpiresAt))
}

// Redemption is one use of an invite link: the verified request it admitted and the
// invitation that resulted ("" while none, or when approval is required).
type Redemption struct {
	LinkID       string
	RequestID    string
	Email        string
	At           time.Time
	InvitationID string
}

// RequestQuery selects a page of one scope's access requests, newest first.
type RequestQuery struct {
	Scope    string
	Status   RequestStatus
	EmailKey string
	Limit    int // 1..100, 0 means 50
	Cursor   string
}

// RequestPage is a page of access requests.
type RequestPage struct {
	Requests   []*AccessRequest
	NextCursor string
}

// LinkPage is a page of invite links.
type LinkPage struct {
	Links      []*InviteLink
	NextCursor string
}

// JoinStore keeps access requests, join policies and invite links. Errors as Store's.
type JoinStore interface {
	// CreateRequest writes a new request (Version 1) with its verification token
	// item and, while it is open, a reservation of (scope, email key); conflict with
	// ExistingID when an open request of that scope and address exists.
	CreateRequest(ctx context.Context, r *AccessRequest) error
	// GetRequest returns a request; not_found when none.
	GetRequest(ctx context.Context, id string) (*AccessRequest, error)
	// GetRequestByTokenHash returns the request whose current verification token
	// hashes to hash; not_found when none.
	GetRequestByTokenHash(ctx context.Context, hash string) (*AccessRequest, error)
	// UpdateRequest replaces prev with next on condition that the stored request
	// still has prev's Version (next.Version is prev.Version+1); it releases the
	// reservation when next is no longer open and swaps the token item when
	// TokenHash changed. conflict when the condition fails.
	UpdateRequest(ctx context.Context, prev, next *AccessRequest) error
	// ListRequests returns a page of a scope's requests, newest first; a cursor of
	// another query is invalid_request.
	ListRequests(ctx context.Context, q RequestQuery) (*RequestPage, error)
	// RequestsExpiringBefore returns up to limit (1..100) open requests whose
	// ExpiresAt is before t.
	RequestsExpiringBefore(ctx context.Context, t time.Time, limit int) ([]*AccessRequest, error)

	// JoinPolicy returns a scope's stored policy; not_found when none was set.
	JoinPolicy(ctx context.Context, scope string) (*JoinPolicy, error)
	// PutJoinPolicy stores p (any earlier version is replaced).
	PutJoinPolicy(ctx context.Context, p *JoinPolicy) error

	// CreateLink writes a new link with its token item; conflict when the id or
	// token is taken.
	CreateLink(ctx context.Context, l *InviteLink) error
	// GetLink returns a link; not_found when none.
	GetLink(ctx context.Context, id string) (*InviteLink, error)
	// GetLinkByTokenHash returns the link whose token hashes to hash; not_found when none.
	GetLinkByTokenHash(ctx context.Context, hash string) (*InviteLink, error)
	// ListLinks returns a page of a scope's links, newest first.
	ListLinks(ctx context.Context, scope string, limit int, cursor string) (*LinkPage, error)
	// RevokeLink marks the link revoked at at; conflict when it was revoked already.
	RevokeLink(ctx context.Context, id string, at time.Time) error
	// ClaimLinkUse takes one use of the link for red, in one conditional write that
	// holds MaxUses exactly under concurrency: conflict when the link is revoked,
	// expired at red.At, or spent. The redemption is recorded in the same write.
	ClaimLinkUse(ctx context.Context, red Redemption) error
	// SetRedemptionInvitation records the invitation a redemption resulted in.
	SetRedemptionInvitation(ctx context.Context, linkID, requestID, invitationID string) error
	// Redemptions returns up to limit (1..100) of a link's redemptions, oldest first.
	Redemptions(ctx context.Context, linkID string, limit int) ([]Redemption, error)
}

// The join flows' emails.
const (
	// TemplateJoinVerify asks the requester to confirm the address (Link, ExpiresAt).
	TemplateJoinVerify Template = "access_request_verify"
	// TemplateJoinDenied tells the requester the request was declined, with the
	// reviewer's note in Message; it has no link.
	TemplateJoinDenied Template = "access_request_denied"
)
