// Package events is Doorman's outbox and webhooks domain: which stored changes are
// events (derived from the table's stream: an item's new history entries, a batch
// that finished), the event feed, the webhook endpoints that subscribe to events, the
// Standard Webhooks signature, and the delivery schedule that retries a failing
// endpoint for more than a day. It imports only the standard library and the
// invitation domain; the stream, the queue, the store and the HTTP client are ports.
package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Event is one thing that happened, as consumers see it: Body is what a webhook
// delivery carries and what the feed serves ({"type","timestamp","data"}).
type Event struct {
	// ID is stable for the change that caused the event: the same stream record read
	// twice, or by a publisher that crashed and started again, yields the same id.
	ID   string
	Type string
	// Scope is whose event it is: invite.ScopeApplication or invite.OrgScope(id). The
	// feed and the endpoints are scoped like invitation reads.
	Scope string
	// Subject is the id of the invitation, batch or endpoint the event is about;
	// deliveries of one subject to one endpoint keep their order.
	Subject string
	At      time.Time
	Data    json.RawMessage
}

// Body is the JSON a delivery posts and the feed serves.
func (e *Event) Body() ([]byte, error) {
	return json.Marshal(body{Type: e.Type, Timestamp: e.At.UTC().Format(time.RFC3339Nano), Data: e.Data})
}

type body struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// kinds is every kind of stored item whose history entries are events: the event
// type prefix, and which history entry names are events and of what type. A name not
// listed is bookkeeping (a ticket issued, an Auth0 login that changed nothing) and
// produces no event. Adding a kind of item is one entry here and one decoder in the
// stream adapter.
var kinds = map[string]map[string]string{
	"invitation": {
		invite.EventCreated:    "created",
		invite.EventEmailSent:  "sent",
		invite.EventResent:     "resent",
		invite.EventLinkOpened: "link_opened",
		invite.EventReminded:   "reminded",
		invite.EventAccepted:   "accepted",
		invite.EventExpired:    "expired",
		invite.EventRevoked:    "revoked",
		invite.EventFailed:     "failed",
		// The email's fate, as SES reports it.
		"delivered":  "delivered",
		"bounced":    "bounced",
		"complained": "complained",
		"suppressed": "suppressed",
	},
	"access_request": {
		"created":  "created",
		"verified": "verified",
		"approved": "approved",
		"denied":   "denied",
		"expired":  "expired",
	},
	"webhook_endpoint": {
		EndpointDisabled: "disabled",
	},
}

// Types lists every event type, for validating subscriptions.
func Types() []string {
	out := []string{TypeBatchCompleted}
	for kind, names := range kinds {
		for _, t := range names {
			out = append(out, kind+"."+t)
		}
	}
	return out
}

// ValidType reports whether t is an event type Doorman emits.
func ValidType(t string) bool {
	if t == TypeBatchCompleted {
		return true
	}
	for kind, names := range kinds {
		for _, n := range names {
			if kind+"."+n == t {
				return true
			}
		}
	}
	return false
}

// TypeBatchCompleted is the event of a batch whose every item finished.
const TypeBatchCompleted = "batch.completed"

// Trail is an item's history as stored: the entries kept and the counts of those
// folded away to bound the item (invite.Invitation's History and Folded).
type Trail struct {
	Entries []invite.Event
	Folded  map[string]int
}

// total is how many entries the item ever recorded: every entry is appended, and
// folding only moves old ones into the counts, so this only grows.
func (t Trail) total() int {
	n := len(t.Entries)
	for _, c := range t.Folded {
		n += c
	}
	return n
}

// Change is one stored change of a historied item, from the stream: the item's kind
// (a key of kinds), its id and scope, its trail before (zero for a new item) and
// after, and Data, which renders the item for an event recorded by actor.
type Change struct {
	Kind      string
	ID, Scope string
	Old, New  Trail
	Data      func(e invite.Event) (json.RawMessage, error)
}

// FromHistory returns the events of a change: one per history entry the new image
// holds and the old one does not, in order. Entries are only ever appended (folding
// drops old ones and counts them), so the new entries are the last total(new) -
// total(old) of the new image, and an entry's ordinal among all the item's entries is
// fixed: the event id is derived from the item and that ordinal, which makes it the
// same however often the record is read.
func FromHistory(c Change) ([]Event, error) {
	names, ok := kinds[c.Kind]
	if !ok {
		return nil, fmt.Errorf("events: unknown kind %q", c.Kind)
	}
	added := c.New.total() - c.Old.total()
	if added <= 0 {
		return nil, nil
	}
	entries := c.New.Entries
	first := max(0, len(entries)-added)
	base := c.New.total() - len(entries) // ordinal of entries[0], minus one
	var out []Event
	for i := first; i < len(entries); i++ {
		e := entries[i]
		t, ok := names[e.Event]
		if !ok {
			continue
		}
		data, err := c.Data(e)
		if err != nil {
			return nil, fmt.Errorf("events: render %s %s: %w", c.Kind, c.ID, err)
		}
		out = append(out, Event{
			ID:      EventID(c.Kind, c.ID, strconv.Itoa(base+i+1)),
			Type:    c.Kind + "." + t,
			Scope:   c.Scope,
			Subject: c.ID,
			At:      e.At.UTC(),
			Data:    data,
		})
	}
	return out, nil
}

// EventID derives an event's id from what identifies its change.
func EventID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "evt_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// BatchChange is a batch's counts before and after a stored change.
type BatchChange struct {
	Old, New *invite.Batch // Old nil for a new batch
	At       time.Time     // when the change was stored (the stream record's time)
	Data     func(b *invite.Batch) (json.RawMessage, error)
}

// FromBatch returns batch.completed when the change finished the batch.
func FromBatch(c BatchChange) ([]Event, error) {
	if c.New == nil || c.New.Status() != invite.BatchDone {
		return nil, nil
	}
	if c.Old != nil && c.Old.Status() == invite.BatchDone {
		return nil, nil
	}
	data, err := c.Data(c.New)
	if err != nil {
		return nil, fmt.Errorf("events: render batch %s: %w", c.New.ID, err)
	}
	scope := invite.ScopeApplication
	if c.New.Actor.OrgID != "" {
		scope = invite.OrgScope(c.New.Actor.OrgID)
	}
	return []Event{{
		ID:      EventID("batch", c.New.ID, "completed"),
		Type:    TypeBatchCompleted,
		Scope:   scope,
		Subject: c.New.ID,
		At:      c.At.UTC(),
		Data:    data,
	}}, nil
}
