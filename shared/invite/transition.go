package invite

import (
	"fmt"
	"time"
)

// EventCleanupFailed records an Auth0 cleanup (deleting the organization invitation or
// the user Doorman created) that failed after a revoke or expiry was stored.
const EventCleanupFailed = "cleanup_failed"

// EventCleanupDeferred records a cleanup put off because Auth0 was rate limiting, and
// EventCleanupDone a cleanup that succeeded on a retry.
const (
	EventCleanupDeferred = "cleanup_deferred"
	EventCleanupDone     = "cleanup_done"
)

// transition moves a pending invitation to a terminal state and records it in the
// history. Any other starting state is a conflict: only pending moves.
func (inv *Invitation) transition(to Status, at time.Time, actor, detail string) error {
	if inv.Status != StatusPending {
		return &Error{Code: CodeConflict, Message: fmt.Sprintf("the invitation is %s, not pending", inv.Status)}
	}
	var event string
	switch to {
	case StatusAccepted:
		inv.AcceptedAt, event = at, EventAccepted
	case StatusRevoked:
		inv.RevokedAt, event = at, EventRevoked
	case StatusExpired:
		inv.ExpiredAt, event = at, EventExpired
	case StatusFailed:
		inv.FailedReason, event = detail, EventFailed
	default:
		return fmt.Errorf("invitation %s: no transition from pending to %q", inv.ID, to)
	}
	inv.Status = to
	inv.record(event, at, actor, detail)
	return nil
}

// record appends one history entry.
func (inv *Invitation) record(event string, at time.Time, actor, detail string) {
	inv.History = append(inv.History, Event{Event: event, At: at.UTC(), Actor: actor, Detail: detail})
}

// sinceLink reports whether event was recorded since the current link token was
// issued (by creation, resend, ticket or a delivery retry).
func (inv *Invitation) sinceLink(event string) bool {
	for i := len(inv.History) - 1; i >= 0; i-- {
		switch inv.History[i].Event {
		case event:
			return true
		case EventCreated, EventResent, EventTicket:
			return false
		}
	}
	return false
}
