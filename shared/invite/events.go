package invite

import (
	"strings"
	"time"
)

// The Auth0 log event types that can move an invitation.
const (
	LogSuccessLogin       = "s"   // a successful login
	LogSuccessSignup      = "ss"  // a successful signup
	LogPasswordChanged    = "scp" // a password set through a ticket
	LogFailedInviteAccept = "fi"  // Auth0 refused an organization invitation (the wrong account)
)

// IdentityEvent is one Auth0 tenant log event, reduced to what acceptance reads. The
// HTTP layer builds it from the decoded log stream.
type IdentityEvent struct {
	// Index is the event's position among the batch's relevant events, for logs.
	Index          int
	LogID          string
	Type           string
	At             time.Time
	UserID         string
	Email          string // the signed-in account's address
	OrganizationID string
	// Auth0InvitationID is the organization invitation a failed accept was about.
	Auth0InvitationID string
	LoginsCount       int
	Description       string
}

// Relevant reports whether the event's type can move an invitation.
func (e IdentityEvent) Relevant() bool {
	switch e.Type {
	case LogSuccessLogin, LogSuccessSignup, LogPasswordChanged, LogFailedInviteAccept:
		return true
	}
	return false
}

// The history events written by acceptance, besides accepted and failed.
const (
	// EventPasswordSet: the invitee set a password through the ticket (not acceptance).
	EventPasswordSet = "password_set"
	// EventAcceptFailed: Auth0 refused the organization invitation, e.g. to another
	// account; the detail says why in an admin's words.
	EventAcceptFailed = "accept_failed"
	// EventReissued: Doorman replaced a consumed Auth0 organization invitation and
	// emailed a new link.
	EventReissued = "reissued"
	// EventNotMember: a login carried the organization and the invitee's email, but
	// Auth0 does not list the user as a member, so it did not accept.
	EventNotMember = "membership_unconfirmed"
	// EventOwnerUnproven: a sign-in to an account that was there before the invitation
	// did not accept it: the owner had not yet proved control of the address (followed
	// the link, or set a password through it), or the account's email is unverified.
	EventOwnerUnproven = "owner_unproven"
	// EventAfterEnd: an Auth0 event arrived for an invitation that had already
	// expired, been revoked or failed; it is recorded, not applied.
	EventAfterEnd = "auth0_event_after_end"
)

// ActorAuth0 is the history actor of what the log stream reported.
const ActorAuth0 = "auth0"

// logRef is how a history detail names the log event it came from; the closing
// parenthesis keeps one id from matching as the prefix of another.
func logRef(logID string) string { return "(Auth0 log " + logID + ")" }

// hasLog reports whether the history already holds the effect of that log event, so
// that a replayed event (when its processed mark was lost) changes nothing.
func (inv *Invitation) hasLog(logID string) bool {
	ref := logRef(logID)
	for _, e := range inv.History {
		if strings.Contains(e.Detail, ref) {
			return true
		}
	}
	return false
}

// describeLog names an event type in words for the history.
func describeLog(typ string) string {
	switch typ {
	case LogSuccessLogin:
		return "Auth0 login"
	case LogSuccessSignup:
		return "Auth0 signup"
	case LogPasswordChanged:
		return "Auth0 password change"
	case LogFailedInviteAccept:
		return "Auth0 failed invitation accept"
	}
	return "Auth0 event " + typ
}
