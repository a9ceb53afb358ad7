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
	if to != StatusAccepted && inv.leavesAuth0Artefact() {
		// The mark is written with the transition, before any Auth0 call: should the
		// process die before its cleanup is recorded, the sweeper still finds it
		// (after a grace period that leaves the first attempt to the caller).
		inv.CleanupPending, inv.NextCleanupAt = true, at.Add(cleanupBackoff).UTC()
	}
	return nil
}

// leavesAuth0Artefact reports whether ending the invitation leaves something in Auth0
// for Doorman to remove: the organization invitation, or the user Doorman created, or
// for a resumable invitation whose Auth0 side is not recorded, possibly either.
func (inv *Invitation) leavesAuth0Artefact() bool {
	if inv.Resumable && !inv.Provisioned() {
		return true
	}
	switch inv.Kind {
	case KindOrganization:
		return inv.Auth0InvitationID != ""
	case KindApplication:
		return inv.UserCreated && inv.Auth0UserID != ""
	}
	return false
}

// record appends one history entry.
func (inv *Invitation) record(event string, at time.Time, actor, detail string) {
	if len(detail) > MaxHistoryDetail {
		detail = OneLine(detail[:MaxHistoryDetail])
	}
	inv.History = append(inv.History, Event{Event: event, At: at.UTC(), Actor: actor, Detail: detail})
	for len(inv.History) > MaxHistory && inv.foldOldest() {
	}
}

// The bounds of an invitation's history: whatever callers do (thousands of tickets,
// resends, log events), the stored item stays far below DynamoDB's 400 KB.
const (
	MaxHistory       = 60
	MaxHistoryDetail = 300
)

// foldOldest drops the oldest entry of a kind that repeats (tickets, sends, opened
// links, Auth0 events) and counts it in Folded; entries that happen once (created,
// reminded, the end) stay. It reports whether it dropped one.
func (inv *Invitation) foldOldest() bool {
	for i, e := range inv.History {
		switch e.Event {
		case EventCreated, EventAccepted, EventExpired, EventRevoked, EventFailed,
			EventReminded, EventReminderSkipped, EventEmailUnconfirmed:
			continue
		}
		if inv.Folded == nil {
			inv.Folded = map[string]int{}
		}
		inv.Folded[e.Event]++
		inv.History = append(inv.History[:i], inv.History[i+1:]...)
		return true
	}
	return false
}

// count is how many times event happened, folded entries included.
func (inv *Invitation) count(event string) int {
	c := inv.Folded[event]
	for _, e := range inv.History {
		if e.Event == event {
			c++
		}
	}
	return c
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
