package inmem

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"sync"

	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/invite"
)

// Events is an in-memory events.Store: the feed of each scope in (time, id) order,
// the endpoints, and their attempts. Safe for concurrent use.
type Events struct {
	mu        sync.Mutex
	feed      map[string][]feedEntry // by scope, sorted by key
	endpoints map[string]*events.Endpoint
	attempts  map[string][]*events.Attempt
}

type feedEntry struct {
	key string
	e   events.Event
}

var _ events.Store = (*Events)(nil)

// NewEvents returns an empty store.
func NewEvents() *Events {
	return &Events{feed: map[string][]feedEntry{}, endpoints: map[string]*events.Endpoint{}, attempts: map[string][]*events.Attempt{}}
}

const feedKeyTime = "2006-01-02T15:04:05.000000000Z"

func feedKey(e *events.Event) string { return e.At.UTC().Format(feedKeyTime) + "#" + e.ID }

// PutEvent implements events.Store.
func (s *Events) PutEvent(_ context.Context, e *events.Event) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := feedKey(e)
	list := s.feed[e.Scope]
	i, found := slices.BinarySearchFunc(list, k, func(f feedEntry, k string) int { return strings.Compare(f.key, k) })
	if found {
		return false, nil
	}
	s.feed[e.Scope] = slices.Insert(list, i, feedEntry{key: k, e: *e})
	return true, nil
}

// Feed implements events.Store.
func (s *Events) Feed(_ context.Context, q events.FeedQuery) (*events.FeedPage, error) {
	after := ""
	if q.After != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.After)
		if err != nil || !strings.Contains(string(b), "#evt_") {
			return nil, invite.Invalid("after", "is not a cursor of this feed")
		}
		after = string(b)
	}
	limit := q.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	page := &events.FeedPage{Position: q.After}
	for _, f := range s.feed[q.Scope] {
		if len(page.Events) == limit {
			break
		}
		if f.key <= after || (!q.Since.IsZero() && f.e.At.Before(q.Since)) || (!q.Until.IsZero() && !f.e.At.Before(q.Until)) {
			continue
		}
		if len(q.Types) > 0 && !slices.Contains(q.Types, f.e.Type) {
			continue
		}
		e := f.e
		page.Events = append(page.Events, &e)
		page.Position = base64.RawURLEncoding.EncodeToString([]byte(f.key))
	}
	return page, nil
}

// CreateEndpoint implements events.Store.
func (s *Events) CreateEndpoint(_ context.Context, ep *events.Endpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.endpoints[ep.ID]; ok {
		return invite.Errorf(invite.CodeConflict, "webhook endpoint %s exists", ep.ID)
	}
	s.endpoints[ep.ID] = ep.Clone()
	return nil
}

// Endpoint implements events.Store.
func (s *Events) Endpoint(_ context.Context, scope, id string) (*events.Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, ok := s.endpoints[id]
	if !ok || (scope != "" && ep.Scope != scope) {
		return nil, invite.Errorf(invite.CodeNotFound, "webhook endpoint %s not found", id)
	}
	return ep.Clone(), nil
}

// Endpoints implements events.Store.
func (s *Events) Endpoints(_ context.Context, scope string) ([]*events.Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*events.Endpoint
	for _, ep := range s.endpoints {
		if ep.Scope == scope {
			out = append(out, ep.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *events.Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// UpdateEndpoint implements events.Store.
func (s *Events) UpdateEndpoint(_ context.Context, prev, next *events.Endpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.endpoints[prev.ID]
	if !ok || cur.Version != prev.Version {
		return invite.Errorf(invite.CodeConflict, "webhook endpoint %s changed", prev.ID)
	}
	s.endpoints[prev.ID] = next.Clone()
	return nil
}

// DeleteEndpoint implements events.Store.
func (s *Events) DeleteEndpoint(_ context.Context, ep *events.Endpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.endpoints, ep.ID)
	return nil
}

// RecordAttempt implements events.Store.
func (s *Events) RecordAttempt(_ context.Context, a *events.Attempt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *a
	s.attempts[a.EndpointID] = append(s.attempts[a.EndpointID], &c)
	return nil
}

// Attempts implements events.Store.
func (s *Events) Attempts(_ context.Context, endpointID string, limit int) ([]*events.Attempt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	as := slices.Clone(s.attempts[endpointID])
	slices.SortStableFunc(as, func(a, b *events.Attempt) int { return b.At.Compare(a.At) })
	return as[:min(len(as), max(1, limit))], nil
}
