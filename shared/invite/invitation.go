// Package invite is Doorman's domain: the Invitation, its states and history, the
// validation of what callers ask for, the ports to the outside systems (Store,
// Identity, Mailer) and the Service that drives an invitation from creation to
// acceptance, expiry or revocation. It imports only the standard library and, for
// the Unicode normalization and IDNA that make one mailbox one key, shared/mailbox.
package invite

import (
	"maps"
	"slices"
	"time"
)

// Kind says what accepting an invitation makes of the invitee.
type Kind string

const (
	// KindApplication makes the invitee a user of the application (a database user).
	KindApplication Kind = "application"
	// KindOrganization makes the invitee a member of an Auth0 Organization.
	KindOrganization Kind = "organization"
)

// Status is where an invitation stands. Pending is the only state that moves.
type Status string

const (
	StatusPending  Status = "pending"
	StatusAccepted Status = "accepted"
	StatusExpired  Status = "expired"
	StatusRevoked  Status = "revoked"
	StatusFailed   Status = "failed"
)

// Terminal reports whether no transition leaves s.
func (s Status) Terminal() bool { return s != StatusPending }

// Valid reports whether s is one of the known states.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusAccepted, StatusExpired, StatusRevoked, StatusFailed:
		return true
	}
	return false
}

// ScopeApplication is the scope of application invitations. An organization's scope is
// OrgScope(id). At most one invitation per (scope, email) is pending at a time.
const ScopeApplication = "app"

// OrgScope is the scope of one organization's invitations.
func OrgScope(orgID string) string { return "org:" + orgID }

// Inviter is who created the invitation: the token's subject and a display name.
type Inviter struct {
	Sub  string
	Name string
}

// DeliveryStatus is the state of the invitation email.
type DeliveryStatus string

const (
	DeliveryNone    DeliveryStatus = "not_sent" // send_email was false
	DeliveryPending DeliveryStatus = "pending"  // queued, not yet accepted by SES
	DeliverySent    DeliveryStatus = "sent"
	DeliveryFailed  DeliveryStatus = "failed" // last attempt failed; a retry may be queued
	// DeliverySending marks a bulk item's email claimed for sending: set before the send
	// and replaced by its outcome, so that a retried item never mails twice.
	DeliverySending DeliveryStatus = "sending"
	// DeliveryUnconfirmed is a claimed send whose outcome was lost (the worker stopped
	// between the claim and recording the outcome): the email may or may not have gone
	// out, and Doorman does not send it again by itself; an admin can resend.
	DeliveryUnconfirmed DeliveryStatus = "unconfirmed"
)

// Delivery is what Doorman knows of the invitation email.
type Delivery struct {
	Status    DeliveryStatus
	MessageID string // SES message id of the last email accepted
	Sends     int    // emails accepted by SES for this invitation
	// Attempts counts failed attempts since the last success; NextAttemptAt is when a
	// retry is due (zero when none is queued); LastError is a short, non-secret reason.
	Attempts      int
	NextAttemptAt time.Time
	LastSentAt    time.Time
	LastError     string
	// Failures counts every email of the invitation the provider did not accept; with
	// Sends it is what the per-invitation send limit counts. LastAttemptAt is the time
	// of the last email tried, accepted or not.
	Failures      int
	LastAttemptAt time.Time
	// Undeliverable is the EmailKey of the address SES refused for good (a permanent
	// bounce, a complaint, its suppression list); "" when none. While it is the
	// invitation's address, no email goes to it (Invitation.Undeliverable).
	Undeliverable string
	// Applied keys the SES events recorded for MessageID (MailEvent.Key), the latest
	// few, so that an event delivered twice is recorded once.
	Applied []string
}

// Event is one line of an invitation's history.
type Event struct {
	Event  string // created, email_sent, link_opened, link_used, resent, accepted, ...
	At     time.Time
	Actor  string // a token subject, "invitee", "auth0", "sweeper", ...
	Detail string
}

// The history event names.
const (
	EventCreated     = "created"
	EventEmailSent   = "email_sent"
	EventEmailFailed = "email_failed"
	EventLinkOpened  = "link_opened"
	EventLinkUsed    = "link_used"
	EventResent      = "resent"
	EventTicket      = "ticket_issued"
	EventAccepted    = "accepted"
	EventExpired     = "expired"
	EventRevoked     = "revoked"
	EventFailed      = "failed"
	EventReminded    = "reminder_sent"
	// EventEmailUnconfirmed records a bulk item's send whose outcome was lost.
	EventEmailUnconfirmed = "email_unconfirmed"
	// EventProvisioningQueued: Auth0 was busy, so the worker finishes the invitation.
	EventProvisioningQueued = "provisioning_queued"
)

// Invitation is one person invited by email to the application or to an organization.
type Invitation struct {
	ID             string
	Kind           Kind
	Email          string // normalized: trimmed, domain lower-cased
	Name           string
	OrganizationID string // set for KindOrganization
	Roles          []string
	Connection     string
	ClientID       string
	AppMetadata    map[string]any
	UserMetadata   map[string]any
	Inviter        Inviter
	Locale         string
	Message        string
	RedirectURL    string

	Status       Status
	CreatedAt    time.Time
	ExpiresAt    time.Time
	AcceptedAt   time.Time // zero when unset
	RevokedAt    time.Time
	ExpiredAt    time.Time
	FailedReason string

	// Auth0 side: the user Doorman created or found (application invitations) and
	// whether Doorman created it (only such users are ever deleted), or the Auth0
	// organization invitation and its URL (organization invitations).
	Auth0UserID string
	UserCreated bool
	// Account says what the Auth0 user of an application invitation was when the
	// invitation found it: "" when Doorman created it (or adopted its own), else
	// AccountExisting or AccountUnclaimed. Such an invitation grants its roles only
	// when the account's owner accepts (see the Acceptor).
	Account           AccountState
	Auth0InvitationID string
	// Auth0InvitationURL is what versions before this one stored of Auth0's
	// invitation URL; it is now read from Auth0 when the invitee follows the link.
	Auth0InvitationURL string
	// FlagClearPending marks an accepted application invitation whose
	// app_metadata.needsInvitation Auth0 has not yet confirmed cleared; the sweeper
	// retries it until Auth0 agrees.
	FlagClearPending bool
	// CleanupPending marks an ended invitation whose Auth0 cleanup (deleting the
	// organization invitation, or retiring the user Doorman created) failed for a
	// reason that may pass; the sweeper retries it from NextCleanupAt.
	// CleanupAttempts counts the failed attempts, rate limiting aside.
	CleanupPending  bool
	CleanupAttempts int
	NextCleanupAt   time.Time
	// Resumable marks an invitation whose Auth0 work is retried across processes (a
	// bulk item): an attempt may have created the Auth0 user or organization
	// invitation and died before storing its id. Ended before its Auth0 side is
	// recorded, it is cleaned up by looking in Auth0 for what carries its id.
	Resumable bool
	// Deferred marks a single create whose Auth0 side the API left to the worker
	// because Auth0 was busy (the caller got 202); the worker, or the sweeper after
	// ProvisioningGrace, finishes it.
	Deferred bool

	// TokenHash is the hex SHA-256 of the current link token; the token itself is never
	// stored. Resend replaces it.
	TokenHash string
	// Folded counts, by event, the history entries dropped to keep History within
	// MaxHistory (the oldest of the kinds that repeat).
	Folded map[string]int
	// LinkDisclosed says the current link went to the API caller (send_email false,
	// tickets) rather than to the address: following it proves nothing about the
	// mailbox, so its password-change ticket does not mark the email verified.
	LinkDisclosed bool

	Delivery Delivery
	History  []Event

	// Version increases by one with every stored change; conditional writes use it.
	Version int
}

// Scope is the invitation's uniqueness and listing scope.
func (inv *Invitation) Scope() string {
	if inv.OrganizationID != "" {
		return OrgScope(inv.OrganizationID)
	}
	return ScopeApplication
}

// DueAt reports whether the sweeper has retry work on inv, and from when: an Auth0
// cleanup of an ended invitation (due at NextCleanupAt), a flag clear Auth0 has not
// confirmed (due at once), or a pending invitation's failed email (due at
// Delivery.NextAttemptAt; at once, to fail the invitation, when no retry is left).
// Stores index invitations by it.
func (inv *Invitation) DueAt() (time.Time, bool) {
	switch {
	case inv.CleanupPending:
		return inv.NextCleanupAt, true
	case inv.FlagClearPending:
		return inv.AcceptedAt, true
	case inv.Status == StatusPending && inv.Delivery.Status == DeliveryFailed:
		return inv.Delivery.NextAttemptAt, true
	case inv.Deferred && inv.Status == StatusPending && !inv.Provisioned():
		// The worker should have finished it by now; if its message was lost, the
		// sweeper queues it again.
		last := inv.CreatedAt
		for _, e := range inv.History {
			if e.Event == EventProvisioningQueued && e.At.After(last) {
				last = e.At
			}
		}
		return last.Add(ProvisioningGrace), true
	}
	return time.Time{}, false
}

// ProvisioningGrace is how long a deferred invitation waits for the worker before
// the sweeper queues it again.
const ProvisioningGrace = 10 * time.Minute

// Provisioned reports whether the Auth0 side of the invitation is recorded: its user,
// or its Auth0 organization invitation. A pending invitation without it is still
// being provisioned.
func (inv *Invitation) Provisioned() bool {
	if inv.Kind == KindOrganization {
		return inv.Auth0InvitationID != ""
	}
	return inv.Auth0UserID != ""
}

// AwaitsReminder reports whether inv is pending, was emailed, and its reminder was
// neither sent nor skipped. Stores index such invitations by ExpiresAt.
func (inv *Invitation) AwaitsReminder() bool {
	if inv.Status != StatusPending || inv.Delivery.Status == DeliveryNone || inv.Delivery.Status == "" {
		return false
	}
	for _, e := range inv.History {
		if e.Event == EventReminded || e.Event == EventReminderSkipped {
			return false
		}
	}
	return true
}

// Clone returns a deep copy, so that a changed copy can be written against the
// original (Store.Update takes both).
func (inv *Invitation) Clone() *Invitation {
	c := *inv
	c.Roles = append([]string(nil), inv.Roles...)
	c.AppMetadata = cloneMap(inv.AppMetadata)
	c.UserMetadata = cloneMap(inv.UserMetadata)
	c.History = append([]Event(nil), inv.History...)
	c.Folded = maps.Clone(inv.Folded)
	c.Delivery.Applied = slices.Clone(inv.Delivery.Applied)
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = cloneValue(e)
		}
		return c
	default:
		return v
	}
}

// replaceLink makes token the invitation's link (the old one stops working at once);
// disclosed says it goes to the API caller rather than by email to the address.
func (inv *Invitation) replaceLink(token string, disclosed bool) {
	inv.TokenHash = TokenHash(token)
	inv.LinkDisclosed = disclosed
}

// AccountState is what an application invitation found in Auth0 for its address.
type AccountState string

const (
	// AccountExisting is an account whose email Auth0 holds as verified: its owner
	// accepts by following the link and then signing in, and gets the roles then.
	AccountExisting AccountState = "existing"
	// AccountUnclaimed is an account whose email was never verified: whoever made it
	// may not own the address. It is treated as unclaimed: the link leads to a
	// password-change ticket that proves the mailbox (and evicts whoever registered the
	// address first), and only a sign-in after that accepts.
	AccountUnclaimed AccountState = "unclaimed"
)
