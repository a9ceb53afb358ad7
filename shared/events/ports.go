package events

import (
	"context"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Store keeps the feed, the endpoints and the record of delivery attempts. Errors
// carry invite's codes: not_found for a missing endpoint, conflict for a version
// that moved.
type Store interface {
	// PutEvent adds an event to its scope's feed unless an event with its id is there;
	// first reports whether this call added it.
	PutEvent(ctx context.Context, e *Event) (first bool, err error)
	// Feed returns up to limit events of scope in order, after the position cursor
	// ("" for the oldest kept), of the given types (none: all), with the position of
	// the last one returned (the cursor itself when none).
	Feed(ctx context.Context, q FeedQuery) (*FeedPage, error)

	CreateEndpoint(ctx context.Context, ep *Endpoint) error
	// Endpoint returns one endpoint of scope ("": whichever scope it is in);
	// not_found when there is none.
	Endpoint(ctx context.Context, scope, id string) (*Endpoint, error)
	// Endpoints returns the endpoints of scope.
	Endpoints(ctx context.Context, scope string) ([]*Endpoint, error)
	// UpdateEndpoint writes next over prev when the stored version is prev's.
	UpdateEndpoint(ctx context.Context, prev, next *Endpoint) error
	DeleteEndpoint(ctx context.Context, ep *Endpoint) error

	// RecordAttempt keeps one delivery attempt for AttemptRetention.
	RecordAttempt(ctx context.Context, a *Attempt) error
	// Attempts returns an endpoint's latest attempts, newest first.
	Attempts(ctx context.Context, endpointID string, limit int) ([]*Attempt, error)
}

// FeedQuery selects a page of one scope's feed.
type FeedQuery struct {
	Scope string
	After string // a position returned by Feed; "" for the start
	Types []string
	Since time.Time // events at or after (replay); zero: no bound
	Until time.Time // events before; zero: no bound
	Limit int
}

// FeedPage is a page of the feed; Position is where the next page starts.
type FeedPage struct {
	Events   []*Event
	Position string
}

// Queue carries deliveries to the deliverer (SQS in AWS). Deliveries of one group
// (an endpoint and a subject) are delivered in order, each held back until the ones
// before it succeeded or were dead-lettered.
type Queue interface {
	Send(ctx context.Context, ds []*Delivery) error
}

// Bus is an optional second destination of every event (EventBridge).
type Bus interface {
	Put(ctx context.Context, evs []*Event) error
}

// Sender posts one signed delivery and returns the receiver's status code.
type Sender interface {
	Post(ctx context.Context, url string, h Headers, body []byte) (status int, err error)
}

// Retention of the feed and of attempts.
const (
	FeedRetention    = 30 * 24 * time.Hour
	AttemptRetention = 30 * 24 * time.Hour
)

// ScopeOf is the scope of an organization id ("" for the application).
func ScopeOf(orgID string) string {
	if orgID == "" {
		return invite.ScopeApplication
	}
	return invite.OrgScope(orgID)
}
