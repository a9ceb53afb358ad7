package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Renderers render items for event data, as the API shows them: the publisher takes
// them from the HTTP layer, so that an event's invitation is the API's invitation
// (no link, token or Auth0 invitation URL).
type Renderers struct {
	Invitation    func(inv *invite.Invitation) any
	Batch         func(b *invite.Batch) any
	AccessRequest func(r *invite.AccessRequest) any
}

// withActor renders v as a JSON object with the history entry's actor added.
func withActor(v any, e invite.Event) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("events: rendered %T is not an object", v)
	}
	actor, _ := json.Marshal(e.Actor)
	sep := ","
	if len(b) == 2 {
		sep = ""
	}
	out := append([]byte(nil), b[:len(b)-1]...)
	out = append(out, sep+`"actor":`...)
	out = append(out, actor...)
	return append(out, '}'), nil
}

// Invitation returns the events of a stored change of an invitation (old nil when
// it was created).
func (r Renderers) InvitationEvents(old, cur *invite.Invitation) ([]Event, error) {
	if cur == nil {
		return nil, nil
	}
	c := Change{Kind: "invitation", ID: cur.ID, Scope: cur.Scope(), New: Trail{cur.History, cur.Folded},
		Data: func(e invite.Event) (json.RawMessage, error) { return withActor(r.Invitation(cur), e) }}
	if old != nil {
		c.Old = Trail{old.History, old.Folded}
	}
	return FromHistory(c)
}

// AccessRequestEvents returns the events of a stored change of an access request
// (old nil when it was created): created, verified, approved, denied, expired.
func (r Renderers) AccessRequestEvents(old, cur *invite.AccessRequest) ([]Event, error) {
	if cur == nil || r.AccessRequest == nil {
		return nil, nil
	}
	c := Change{Kind: "access_request", ID: cur.ID, Scope: cur.Scope(), New: Trail{Entries: cur.History},
		Data: func(e invite.Event) (json.RawMessage, error) { return withActor(r.AccessRequest(cur), e) }}
	if old != nil {
		c.Old = Trail{Entries: old.History}
	}
	return FromHistory(c)
}

// Batch returns batch.completed when the change finished the batch; at is when the
// change was stored.
func (r Renderers) BatchEvents(old, cur *invite.Batch, at time.Time) ([]Event, error) {
	return FromBatch(BatchChange{Old: old, New: cur, At: at, Data: func(b *invite.Batch) (json.RawMessage, error) {
		return json.Marshal(r.Batch(b))
	}})
}

// endpointJSON is an endpoint in event data and API answers; never its secrets.
type endpointJSON struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events,omitempty"`
	Description    string   `json:"description,omitempty"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabled_reason,omitempty"`
	OrganizationID string   `json:"organization_id,omitempty"`
	CreatedAt      string   `json:"created_at"`
}

// Public is the endpoint as callers see it: never a secret.
func (ep *Endpoint) Public() any {
	out := endpointJSON{ID: ep.ID, URL: ep.URL, Events: ep.Types, Description: ep.Description, Enabled: ep.Enabled,
		DisabledReason: ep.DisabledReason, CreatedAt: ep.CreatedAt.UTC().Format(time.RFC3339)}
	if len(ep.Scope) > 4 && ep.Scope[:4] == "org:" {
		out.OrganizationID = ep.Scope[4:]
	}
	return out
}

// EndpointChange returns the events of a stored change of an endpoint.
func EndpointChange(old, cur *Endpoint) ([]Event, error) {
	if cur == nil {
		return nil, nil
	}
	c := Change{Kind: "webhook_endpoint", ID: cur.ID, Scope: cur.Scope, New: Trail{cur.History, cur.Folded},
		Data: func(e invite.Event) (json.RawMessage, error) { return withActor(cur.Public(), e) }}
	if old != nil {
		c.Old = Trail{old.History, old.Folded}
	}
	return FromHistory(c)
}

// Publisher fans events out: each into its scope's feed (idempotently, on its id),
// onto the bus when there is one, and one delivery per endpoint that wants it.
// Publishing the same events again (a redelivered stream batch, a publisher that
// died half-way) adds nothing to the feed and queues deliveries with the same ids,
// which the queue deduplicates and receivers can.
type Publisher struct {
	Store  Store
	Queue  Queue
	Bus    Bus // optional
	Logger *slog.Logger
}

// feedParallel bounds the feed writes of one batch in flight.
const feedParallel = 8

// Publish publishes evs in order. An error means some may not be published: the
// caller publishes them all again.
func (p *Publisher) Publish(ctx context.Context, evs []*Event) error {
	if len(evs) == 0 {
		return nil
	}
	// The feed writes are independent (each is keyed by its event), so they go out
	// a few at a time; the deliveries are queued, in order, only once all are in.
	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, feedParallel)
		errMu  sync.Mutex
		first  error
		panicv any
	)
	for _, e := range evs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			defer func() {
				// A panic is the caller's, as if the write had been made in line.
				if r := recover(); r != nil {
					errMu.Lock()
					panicv = r
					errMu.Unlock()
				}
			}()
			if _, err := p.Store.PutEvent(ctx, e); err != nil {
				errMu.Lock()
				if first == nil {
					first = fmt.Errorf("events: feed %s: %w", e.ID, err)
				}
				errMu.Unlock()
			}
		})
	}
	wg.Wait()
	if panicv != nil {
		panic(panicv)
	}
	if first != nil {
		return first
	}
	// One read per scope of the batch: the endpoints live in their scope's partition.
	eps := map[string][]*Endpoint{}
	for _, e := range evs {
		if _, ok := eps[e.Scope]; ok {
			continue
		}
		got, err := p.Store.Endpoints(ctx, e.Scope)
		if err != nil {
			return fmt.Errorf("events: endpoints of %s: %w", e.Scope, err)
		}
		eps[e.Scope] = got
	}
	var ds []*Delivery
	for _, e := range evs {
		for _, ep := range eps[e.Scope] {
			if !ep.Wants(e) {
				continue
			}
			d, err := NewDelivery(e, ep)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
	}
	if len(ds) > 0 {
		if err := p.Queue.Send(ctx, ds); err != nil {
			return fmt.Errorf("events: queue deliveries: %w", err)
		}
	}
	if p.Bus != nil {
		if err := p.Bus.Put(ctx, evs); err != nil {
			return fmt.Errorf("events: bus: %w", err)
		}
	}
	if p.Logger != nil {
		p.Logger.InfoContext(ctx, "events published", "events", len(evs), "deliveries", len(ds))
	}
	return nil
}
