package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Delivery is one event on its way to one endpoint: what a queue message carries.
// The body travels with it, so that an attempt reads only the endpoint.
type Delivery struct {
	EventID    string    `json:"event_id"`
	EndpointID string    `json:"endpoint_id"`
	Scope      string    `json:"scope"`
	Type       string    `json:"type"`
	Subject    string    `json:"subject"`
	At         time.Time `json:"at"`
	Body       []byte    `json:"body"`
}

// NewDelivery is e addressed to an endpoint.
func NewDelivery(e *Event, ep *Endpoint) (*Delivery, error) {
	b, err := e.Body()
	if err != nil {
		return nil, err
	}
	return &Delivery{EventID: e.ID, EndpointID: ep.ID, Scope: ep.Scope, Type: e.Type, Subject: e.Subject, At: e.At, Body: b}, nil
}

// Group is the ordering group of a delivery: one endpoint's deliveries about one
// subject arrive in order.
func (d *Delivery) Group() string { return d.EndpointID + ":" + d.Subject }

// DedupID names the delivery for a queue's deduplication: the same event to the same
// endpoint, however often the publisher sends it.
func (d *Delivery) DedupID() string {
	h := sha256.Sum256([]byte(d.EventID + "/" + d.EndpointID))
	return hex.EncodeToString(h[:])
}

// Schedule is the wait after each failed attempt: the first retry within about 5 s,
// the last attempt more than 24 h after the first (27 h 35 m), as the Standard
// Webhooks specification suggests. After the last, the delivery is dead-lettered.
var Schedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// MaxAttempts is every attempt of a delivery: the first and one per Schedule step.
// The queue's maxReceiveCount is this.
var MaxAttempts = len(Schedule) + 1

// RetryError asks the queue to deliver again after After.
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return fmt.Sprintf("retry in %s: %v", e.After, e.Err) }
func (e *RetryError) Unwrap() error { return e.Err }

// Attempt is one try at a delivery, as recorded.
type Attempt struct {
	EndpointID string
	EventID    string
	Type       string
	Number     int // 1 for the first
	At         time.Time
	Status     int    // the receiver's HTTP status; 0 when none came
	Error      string // why it failed, in a few words; "" on success
	Duration   time.Duration
	// Outcome is "succeeded", "retrying" or "dead_lettered".
	Outcome string
}

// Deliverer makes attempts: it signs the body with the endpoint's secrets, posts it,
// records the attempt, and keeps the endpoint's failure run (disabling it after
// DisableAfter of failures).
type Deliverer struct {
	Store  Store
	Sender Sender
	Now    func() time.Time
	Logger *slog.Logger
	// OnAttempt, when set, sees every attempt (the local run prints them).
	OnAttempt func(*Attempt)
}

// Deliver makes attempt number n (1 for the first) of d. It returns nil when the
// delivery is finished (succeeded, dead-lettered, or its endpoint is gone or
// disabled) and a *RetryError when the queue must bring it back later.
func (dl *Deliverer) Deliver(ctx context.Context, d *Delivery, n int) error {
	now := time.Now
	if dl.Now != nil {
		now = dl.Now
	}
	ep, err := dl.Store.Endpoint(ctx, d.Scope, d.EndpointID)
	if invite.IsCode(err, invite.CodeNotFound) {
		return nil // deleted: nothing to deliver to
	}
	if err != nil {
		return &RetryError{After: Schedule[0], Err: err}
	}
	if !ep.Enabled {
		return nil // replay brings back what a disabled endpoint missed
	}
	start := now()
	h, err := Sign(d.EventID, start, d.Body, ep.SigningSecrets(start))
	if err != nil {
		return fmt.Errorf("events: sign for %s: %w", ep.ID, err)
	}
	status, err := dl.Sender.Post(ctx, ep.URL, h, d.Body)
	a := &Attempt{EndpointID: ep.ID, EventID: d.EventID, Type: d.Type, Number: n, At: start.UTC(),
		Status: status, Duration: now().Sub(start), Outcome: "succeeded"}
	switch {
	case err != nil:
		a.Error = err.Error()
	case status < 200 || status > 299:
		a.Error = fmt.Sprintf("HTTP %d", status)
	}
	if a.Error != "" {
		a.Outcome = "retrying"
		if n >= MaxAttempts {
			a.Outcome = "dead_lettered"
		}
	}
	if err := dl.Store.RecordAttempt(ctx, a); err != nil && dl.Logger != nil {
		dl.Logger.WarnContext(ctx, "record delivery attempt", "endpoint_id", ep.ID, "event_id", d.EventID, "error", err)
	}
	if dl.OnAttempt != nil {
		dl.OnAttempt(a)
	}
	if err := dl.track(ctx, ep, a, start); err != nil && dl.Logger != nil {
		dl.Logger.WarnContext(ctx, "track endpoint failures", "endpoint_id", ep.ID, "error", err)
	}
	if a.Error == "" {
		return nil
	}
	if n >= MaxAttempts {
		return &DeadError{Attempts: n, Err: fmt.Errorf("%s", a.Error)}
	}
	return &RetryError{After: Schedule[n-1], Err: fmt.Errorf("%s", a.Error)}
}

// DeadError says a delivery failed its last attempt: the queue dead-letters it.
type DeadError struct {
	Attempts int
	Err      error
}

func (e *DeadError) Error() string {
	return fmt.Sprintf("dead-lettered after %d attempts: %v", e.Attempts, e.Err)
}
func (e *DeadError) Unwrap() error { return e.Err }

// track writes the endpoint only when its failure run starts, ends, or has lasted
// DisableAfter (then the endpoint is disabled, with a history entry that the stream
// turns into webhook_endpoint.disabled).
func (dl *Deliverer) track(ctx context.Context, ep *Endpoint, a *Attempt, at time.Time) error {
	next := ep.Clone()
	switch {
	case a.Error == "" && !ep.FailingSince.IsZero():
		next.FailingSince = time.Time{}
	case a.Error != "" && ep.FailingSince.IsZero():
		next.FailingSince = at.UTC()
	case a.Error != "" && at.Sub(ep.FailingSince) >= DisableAfter:
		next.Enabled = false
		next.DisabledReason = fmt.Sprintf("every delivery failed since %s", ep.FailingSince.Format(time.RFC3339))
		next.History = append(next.History, invite.Event{Event: EndpointDisabled, At: at.UTC(), Actor: "doorman", Detail: next.DisabledReason})
		for len(next.History) > invite.MaxHistory {
			if next.Folded == nil {
				next.Folded = map[string]int{}
			}
			next.Folded[next.History[0].Event]++
			next.History = next.History[1:]
		}
	default:
		return nil
	}
	next.Version = ep.Version + 1
	err := dl.Store.UpdateEndpoint(ctx, ep, next)
	if invite.IsCode(err, invite.CodeConflict) {
		return nil // another attempt changed it first; the next failure tries again
	}
	return err
}
