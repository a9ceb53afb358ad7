package invite

import (
	"context"
	"fmt"
	"time"
)

// Store keeps invitations. Every method returns *Error codes: not_found, conflict,
// invalid_request (a malformed cursor or query), or upstream_unavailable (the database
// is throttled or unreachable after the client's own retries).
type Store interface {
	// Create writes a new pending invitation together with its reservation of
	// (Scope, EmailKey(Email)), its token-hash item when TokenHash is set and its
	// Auth0-user item when Auth0UserID is set, all or nothing in effect (what a create
	// cut short leaves is never trusted; its reservation holds only for a short
	// while). inv.Version must be 1.
	// conflict (with ExistingID) when a pending invitation of the same scope and email
	// exists; conflict when the id or the token hash is taken.
	Create(ctx context.Context, inv *Invitation) error

	// Get returns the invitation with that id; not_found when there is none.
	Get(ctx context.Context, id string) (*Invitation, error)

	// GetByTokenHash returns the invitation whose current link token hashes to hash;
	// not_found when none (a replaced token is not found).
	GetByTokenHash(ctx context.Context, hash string) (*Invitation, error)

	// GetByAuth0UserIDs returns the latest invitation of each Auth0 user id that has
	// one, keyed by user id; ids without one are absent. At most 100 ids
	// (invalid_request beyond).
	GetByAuth0UserIDs(ctx context.Context, userIDs []string) (map[string]*Invitation, error)

	// List returns one page of a scope's invitations, newest first. A cursor from
	// another scope or filter, or one that was altered, is invalid_request.
	List(ctx context.Context, q ListQuery) (*Page, error)

	// ExpiringBefore returns pending invitations whose ExpiresAt is before t, across
	// every shard of the expiry index, at most limit per page.
	ExpiringBefore(ctx context.Context, t time.Time, limit int, cursor string) (*Page, error)

	// Update replaces prev (as read) with next, on condition that the stored
	// invitation still has prev's Status and Version; next.Version becomes
	// prev.Version+1. With it, the reservation is released when next leaves pending
	// (a reservation whose invitation is no longer pending holds no more, should its
	// release be lost), the token-hash item swapped when TokenHash changed, and the
	// Auth0-user item written when Auth0UserID is set. conflict when the condition
	// fails.
	Update(ctx context.Context, prev, next *Invitation) error
}

// ListQuery selects a page of one scope's invitations. Status, EmailKey and Inviter
// filter; Limit is 1..100 (0 means the default, 50).
type ListQuery struct {
	Scope    string
	Status   Status
	EmailKey string
	Inviter  string
	Limit    int
	Cursor   string
}

// Page is one page of invitations; NextCursor is empty on the last page.
type Page struct {
	Invitations []*Invitation
	NextCursor  string
}

// User is an Auth0 user as Doorman needs it.
type User struct {
	ID            string
	Email         string
	EmailVerified bool
	LoginsCount   int
	AppMetadata   map[string]any
}

// NewUser is the database user Doorman creates for an application invitation. The
// adapter sets a random password it never keeps, email_verified=false and
// app_metadata.needsInvitation=true with invitationId.
type NewUser struct {
	Email        string
	Name         string
	Connection   string // "" means the configured database connection
	InvitationID string
	AppMetadata  map[string]any
	UserMetadata map[string]any
}

// TicketRequest asks for a password-change ticket for an invited user. ResultURL and
// ClientID are exclusive: the adapter sends ResultURL when set, else ClientID.
type TicketRequest struct {
	UserID    string
	ResultURL string
	ClientID  string
	TTL       time.Duration // 0 means the adapter's default
	// MarkVerified is mark_email_as_verified: true only when the link that leads to the
	// ticket went to the address itself, so that setting the password proves the mailbox.
	MarkVerified bool
}

// Role is an Auth0 role.
type Role struct {
	ID          string
	Name        string
	Description string
}

// OrgInvitationRequest is an Auth0 organization invitation (Auth0 sends no email).
type OrgInvitationRequest struct {
	OrganizationID string
	Email          string
	InviterName    string
	ClientID       string // "" means the configured login client
	Connection     string // connection name; "" means none
	Roles          []string
	TTL            time.Duration
	AppMetadata    map[string]any
	UserMetadata   map[string]any
	// InvitationID is the Doorman invitation this is for; the adapter keeps it in the
	// Auth0 invitation's app_metadata.invitationId, so that a retry after a lost answer
	// finds the invitation it already created (FindOrgInvitations).
	InvitationID string
}

// OrgInvitation is an Auth0 organization invitation.
type OrgInvitation struct {
	ID             string
	OrganizationID string
	Email          string
	URL            string // where the invitee accepts (Auth0's invitation_url)
	ExpiresAt      time.Time
	// InvitationID is app_metadata.invitationId: the Doorman invitation it was created
	// for, empty when it was not created by Doorman.
	InvitationID string
}

// Member is a user's membership of an organization.
type Member struct {
	UserID string
	Email  string
	Roles  []string
}

// Identity is the identity provider (Auth0's Management API). Errors: invalid_request
// (Auth0 rejected the request, with its message), not_found, conflict (the user exists),
// rate_limited (after honouring Retry-After), upstream_unavailable (5xx, timeouts,
// missing Management API scopes). Every call honours ctx's deadline and its Pause
// (PauseOf): under a paused Pause a call fails at once with ErrPaused, and a
// rate_limited answer pauses it.
type Identity interface {
	// FindUserByEmail returns the user of the configured database connection with that
	// email; not_found when none.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	// GetUser returns a user by id; not_found when none.
	GetUser(ctx context.Context, userID string) (*User, error)
	// CreateUser creates an invited database user; conflict when it exists.
	CreateUser(ctx context.Context, u NewUser) (*User, error)
	// AssignRoles gives the user the roles; not_found naming an unknown role.
	AssignRoles(ctx context.Context, userID string, roleIDs []string) error
	// ClearInvitationFlag removes app_metadata.needsInvitation (invitationId stays).
	ClearInvitationFlag(ctx context.Context, userID string) error
	// DeleteUserIfNeverLoggedIn deletes the user only when Auth0 reports no login and
	// its app_metadata.invitationId still names invitationID (a later invitation may
	// have adopted it); deleted is false (and err nil) when it was kept for either
	// reason, and true when the user is gone (including already gone).
	DeleteUserIfNeverLoggedIn(ctx context.Context, userID, invitationID string) (deleted bool, err error)
	// AdoptUser makes a user Doorman created for an earlier, finished invitation the
	// user of invitationID: app_metadata.needsInvitation true and invitationId
	// rewritten, unblocked, and its tenant roles replaced by roleIDs (not_found naming
	// an unknown role).
	AdoptUser(ctx context.Context, userID, invitationID string, roleIDs []string) error
	// Roles returns every role of the tenant.
	Roles(ctx context.Context) ([]Role, error)
	// UserRoles returns the tenant roles assigned to the user; not_found when the user
	// does not exist.
	UserRoles(ctx context.Context, userID string) ([]Role, error)
	// PasswordChangeTicket returns a fresh, single-use password-change URL.
	PasswordChangeTicket(ctx context.Context, req TicketRequest) (string, error)
	// CreateOrgInvitation creates an Auth0 organization invitation without email.
	CreateOrgInvitation(ctx context.Context, req OrgInvitationRequest) (*OrgInvitation, error)
	// GetOrgInvitation returns it; not_found once accepted, deleted or expired.
	GetOrgInvitation(ctx context.Context, orgID, invitationID string) (*OrgInvitation, error)
	// FindOrgInvitations returns the organization's open invitations for email (matched
	// as EmailKey); none is not an error. Auth0 keeps no index by email, so this pages
	// through the organization's invitations: Doorman calls it only to resume work whose
	// outcome was lost, never on the ordinary path.
	FindOrgInvitations(ctx context.Context, orgID, email string) ([]*OrgInvitation, error)
	// DeleteOrgInvitation deletes it; an invitation already gone is not an error.
	DeleteOrgInvitation(ctx context.Context, orgID, invitationID string) error
	// OrgMember returns the user's membership with its roles; not_found when the user
	// is not a member.
	OrgMember(ctx context.Context, orgID, userID string) (*Member, error)
	// Organization returns an organization by id; not_found when none.
	Organization(ctx context.Context, orgID string) (*Organization, error)
	// BlockUser blocks the user (the sweeper's "block" cleanup policy).
	BlockUser(ctx context.Context, userID string) error
}

// Organization is an Auth0 organization.
type Organization struct {
	ID          string
	Name        string
	DisplayName string
}

// Template names an email.
type Template string

const (
	TemplateApplication  Template = "application_invitation"
	TemplateOrganization Template = "organization_invitation"
	TemplateAccess       Template = "access_granted"
	// TemplateExistingAccount invites an address that has an account already: it says
	// to follow the link and sign in with that account, never to set a password.
	TemplateExistingAccount Template = "existing_account_invitation"
	TemplateReminder        Template = "reminder"
)

// Mail is one email to an invitee. Every string in it is user-supplied or derived
// from user input: the mailer escapes it and keeps it out of headers raw.
type Mail struct {
	Template    Template
	To          string
	Locale      string // BCP 47 tag; unknown locales fall back to English
	InviteeName string
	InviterName string
	TargetName  string // the application's or organization's display name
	Message     string // the inviter's personal message
	Link        string // the Doorman link (or the application URL for access_granted)
	ExpiresAt   time.Time
	// InvitationID is for the mailer's logs and message tags, never shown.
	InvitationID string
}

// Mailer sends email. Errors: invalid_request (the address or content was refused for
// good), rate_limited, upstream_unavailable.
type Mailer interface {
	// Send sends m and returns the provider's message id.
	Send(ctx context.Context, m Mail) (messageID string, err error)
}

// IdempotencyRecord is the stored outcome of a request sent with an Idempotency-Key.
// Status is 0 while the first request with the key is in flight, and its HTTP status
// once it completed; Header and Body are then the response to replay. The HTTP layer
// owns its meaning; it is declared here so that the store and the HTTP layer share it
// without depending on each other.
type IdempotencyRecord struct {
	Key       string
	BodyHash  string
	Status    int
	Header    map[string]string
	Body      []byte
	CreatedAt time.Time
	// ExpiresAt is when the key may be claimed again; the store's TTL removes the
	// record some time after. An in-flight claim gets a short lease, so that a request
	// that crashed does not block its key for long.
	ExpiresAt time.Time
}

// InFlight reports whether the request that claimed the key has not completed.
func (r *IdempotencyRecord) InFlight() bool { return r.Status == 0 }

// EventStore is what the log-stream webhook needs from the store besides Store: every
// candidate of a batch in one batched read, and the ledger of applied log events.
// Errors as Store's.
type EventStore interface {
	// Lookup reads, in one batched read where the store allows it, the latest
	// invitation of each Auth0 user, of each (organization, email key) and of each
	// Auth0 organization invitation id, together with which log ids were already
	// processed. Invitations are found in every state, until their retention ends.
	// Keys without an invitation are absent from the maps.
	Lookup(ctx context.Context, keys LookupKeys) (*Lookup, error)

	// MarkLogProcessed records an Auth0 log event id for ttl and reports whether this
	// is its first record.
	MarkLogProcessed(ctx context.Context, logID string, ttl time.Duration) (first bool, err error)

	// RecordDeadLetter keeps, for DeadLetterRetention, an event that can never be
	// applied; recording the same ID twice keeps one.
	RecordDeadLetter(ctx context.Context, d DeadLetter) error
	// DeadLetters returns up to limit (1..100) dead letters, newest first, from cursor;
	// an altered cursor is invalid_request.
	DeadLetters(ctx context.Context, limit int, cursor string) (*DeadLetterPage, error)
}

// DeadLetter is an event Doorman could not apply and never will (the store or Auth0
// refused it for good): kept for an operator to look at, while the rest of its batch
// is applied.
type DeadLetter struct {
	ID            string // the Auth0 log id
	Type          string // the Auth0 log event type
	InvitationIDs []string
	Reason        string // client-safe: the error's code and message, never its cause
	At            time.Time
}

// DeadLetterPage is a page of dead letters; NextCursor is empty on the last page.
type DeadLetterPage struct {
	DeadLetters []DeadLetter
	NextCursor  string
}

// DeadLetterRetention is how long a dead letter is kept.
const DeadLetterRetention = 30 * 24 * time.Hour

// OrgEmail keys an organization invitation by its organization and the invitee's
// EmailKey.
type OrgEmail struct {
	OrgID    string
	EmailKey string
}

// LookupKeys are the candidates of one log-stream batch.
type LookupKeys struct {
	UserIDs            []string
	OrgEmails          []OrgEmail
	Auth0InvitationIDs []string
	LogIDs             []string
}

// Lookup is what Lookup found.
type Lookup struct {
	ByUserID            map[string]*Invitation
	ByOrgEmail          map[OrgEmail]*Invitation
	ByAuth0InvitationID map[string]*Invitation
	// Processed holds the log ids already marked processed.
	Processed map[string]bool
}

// SweepStore is what the sweeper needs from the store besides Store: the invitations
// with work due, each through a sparse index so that a sweep reads what it acts on
// rather than every pending invitation. Both return invitations as of the read, at
// most limit per page (1..100, 0 means 100); errors as Store's.
type SweepStore interface {
	// DueBefore returns the invitations whose DueAt is before t: a flag clear Auth0
	// has not confirmed, or a pending invitation's failed email (a retry queued, or
	// none left).
	DueBefore(ctx context.Context, t time.Time, limit int, cursor string) (*Page, error)

	// RemindBefore returns the pending invitations expiring before t that
	// AwaitsReminder.
	RemindBefore(ctx context.Context, t time.Time, limit int, cursor string) (*Page, error)
}

// BatchStore keeps batches and their items. Errors as Store's.
type BatchStore interface {
	// CreateBatch writes the batch and its items; conflict when the id is taken. A
	// reader sees the batch only once all its items are written, and from then on
	// UnqueuedBatches lists it until MarkBatchQueued.
	CreateBatch(ctx context.Context, b *Batch, items []*BatchItem) error
	// MarkBatchQueued records that the batch's items have all reached the queue or
	// ended; marking a batch twice is not an error.
	MarkBatchQueued(ctx context.Context, b *Batch) error
	// UnqueuedBatches returns up to limit (1..100) batches created before t and not
	// marked queued, oldest first, with their ID and CreatedAt.
	UnqueuedBatches(ctx context.Context, before time.Time, limit int) ([]*Batch, error)
	// GetBatch returns a batch with its counts; not_found when none.
	GetBatch(ctx context.Context, id string) (*Batch, error)
	// GetBatchItem returns one item; not_found when none.
	GetBatchItem(ctx context.Context, ref ItemRef) (*BatchItem, error)
	// BatchItems returns up to limit (1..1000) items from cursor, in index order; a
	// cursor from another batch, or one that was altered, is invalid_request.
	BatchItems(ctx context.Context, batchID string, limit int, cursor string) (*BatchItemPage, error)
	// ClaimResend records on a queued item that it resends the existing invitation;
	// conflict when the item has a claim already or has finished.
	ClaimResend(ctx context.Context, ref ItemRef, existingID string) error
	// FinishBatchItem stores item's outcome (Status succeeded or failed, ResultID,
	// Resent, Problem, FinishedAt) on condition that the stored item is still queued,
	// and counts it on the batch in the same transaction; conflict when the item had
	// finished already, so an outcome is counted once.
	FinishBatchItem(ctx context.Context, item *BatchItem) error
}

// Queue carries batch items to the worker, at least once. Errors: upstream_unavailable.
type Queue interface {
	Enqueue(ctx context.Context, refs []ItemRef) error
}

// NotQueuedError is a Queue's error when it queued some items but not Refs.
type NotQueuedError struct {
	Refs []ItemRef
	Err  error
}

func (e *NotQueuedError) Error() string {
	return fmt.Sprintf("%d items not queued: %v", len(e.Refs), e.Err)
}

func (e *NotQueuedError) Unwrap() error { return e.Err }
