package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// PermManage is the permission every webhook-endpoint operation needs.
const PermManage = "manage:webhooks"

// EndpointDisabled is the endpoint history entry (and event) of an endpoint Doorman
// turned off because it kept failing.
const EndpointDisabled = "disabled"

// Bounds and timings of endpoints.
const (
	// RotationOverlap is how long a rotated-out secret keeps signing next to the new.
	RotationOverlap = 24 * time.Hour
	// DisableAfter is how long an endpoint may fail every delivery before Doorman
	// disables it (and says so with webhook_endpoint.disabled).
	DisableAfter   = 5 * 24 * time.Hour
	MaxURL         = 2048
	MaxDescription = 500
	MaxEndpoints   = 20 // per scope
)

// Secret is one signing secret; Until is zero for the current one and the end of
// the overlap for one rotated out.
type Secret struct {
	Value string
	Until time.Time
}

// Endpoint is a URL subscribed to a scope's events.
type Endpoint struct {
	ID          string
	Scope       string
	URL         string
	Types       []string // empty: every type
	Description string
	Enabled     bool
	Secrets     []Secret
	CreatedAt   time.Time
	CreatedBy   string
	// FailingSince is when the current run of failed attempts began (zero while the
	// endpoint succeeds); DisabledReason says why Doorman disabled it.
	FailingSince   time.Time
	DisabledReason string
	// History and Folded are the endpoint's trail (see Trail): its disabling is an
	// event.
	History []invite.Event
	Folded  map[string]int
	Version int
}

// Wants reports whether the endpoint takes e.
func (ep *Endpoint) Wants(e *Event) bool {
	return ep.Enabled && ep.Scope == e.Scope && (len(ep.Types) == 0 || slices.Contains(ep.Types, e.Type))
}

// SigningSecrets are the secrets that sign at now: the current one and any rotated
// out less than RotationOverlap ago.
func (ep *Endpoint) SigningSecrets(now time.Time) []string {
	var out []string
	for _, s := range ep.Secrets {
		if s.Until.IsZero() || now.Before(s.Until) {
			out = append(out, s.Value)
		}
	}
	return out
}

// Clone is a deep copy, for writing a changed copy against the original.
func (ep *Endpoint) Clone() *Endpoint {
	c := *ep
	c.Types = slices.Clone(ep.Types)
	c.Secrets = slices.Clone(ep.Secrets)
	c.History = slices.Clone(ep.History)
	c.Folded = maps.Clone(ep.Folded)
	return &c
}

// Service manages endpoints and serves the feed for callers.
type Service struct {
	Store Store
	Queue Queue
	Now   func() time.Time
	Rand  io.Reader
	// AllowHTTP admits http:// and loopback URLs (the local run); deployed, an endpoint
	// must be https.
	AllowHTTP bool
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) rand() io.Reader {
	if s.Rand == nil {
		return rand.Reader
	}
	return s.Rand
}

// scopeFor resolves the organization a request names against the caller, like
// invitation reads: an organization's token means its organization; an
// application-level token the application, or any organization with admin.
func scopeFor(a invite.Actor, orgID string) (string, error) {
	if a.OrgID != "" {
		if orgID != "" && orgID != a.OrgID {
			return "", invite.Errorf(invite.CodeForbidden, "this token manages only organization %s", a.OrgID)
		}
		return ScopeOf(a.OrgID), nil
	}
	if orgID != "" && !a.Has(invite.PermAdmin) {
		return "", invite.Errorf(invite.CodeForbidden, "the %s permission is required for an organization's events", invite.PermAdmin)
	}
	return ScopeOf(orgID), nil
}

func authorize(a invite.Actor, perm string) error {
	if a.Sub == "" {
		return invite.Errorf(invite.CodeUnauth, "no authenticated caller")
	}
	if !a.Has(perm) {
		return invite.Errorf(invite.CodeForbidden, "the %s permission is required", perm)
	}
	return nil
}

// reaches reports whether the actor may manage an endpoint of scope.
func reaches(a invite.Actor, scope string) bool {
	if a.OrgID != "" {
		return scope == ScopeOf(a.OrgID)
	}
	return scope == invite.ScopeApplication || a.Has(invite.PermAdmin)
}

// EndpointRequest creates or changes an endpoint; nil fields are left as they are.
type EndpointRequest struct {
	OrganizationID string
	URL            *string
	Types          *[]string
	Description    *string
	Enabled        *bool
}

func (s *Service) checkURL(raw string) error {
	if len(raw) > MaxURL {
		return invite.Invalid("url", "must be at most %d characters", MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return invite.Invalid("url", "must be an absolute https URL without credentials or fragment")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.AllowHTTP:
	default:
		return invite.Invalid("url", "must be https")
	}
	return nil
}

func checkTypes(ts []string) error {
	for i, t := range ts {
		if !ValidType(t) {
			return invite.Invalid(fmt.Sprintf("events[%d]", i), "is not an event type")
		}
	}
	return nil
}

// Create adds an endpoint and returns it with its secret (the only time it is shown).
func (s *Service) Create(ctx context.Context, a invite.Actor, r EndpointRequest) (*Endpoint, error) {
	if err := authorize(a, PermManage); err != nil {
		return nil, err
	}
	scope, err := scopeFor(a, r.OrganizationID)
	if err != nil {
		return nil, err
	}
	if r.URL == nil {
		return nil, invite.Invalid("url", "is required")
	}
	if err := s.checkURL(*r.URL); err != nil {
		return nil, err
	}
	ep := &Endpoint{Scope: scope, URL: *r.URL, Enabled: true, CreatedAt: s.now().UTC(), CreatedBy: a.Sub, Version: 1}
	if err := applyRequest(ep, r); err != nil {
		return nil, err
	}
	existing, err := s.Store.Endpoints(ctx, scope)
	if err != nil {
		return nil, fmt.Errorf("events: list endpoints: %w", err)
	}
	if len(existing) >= MaxEndpoints {
		return nil, invite.Errorf(invite.CodeConflict, "a scope has at most %d webhook endpoints", MaxEndpoints)
	}
	id := make([]byte, 12)
	if _, err := io.ReadFull(s.rand(), id); err != nil {
		return nil, err
	}
	ep.ID = "whe_" + hex.EncodeToString(id)
	secret, err := NewSecret(s.rand())
	if err != nil {
		return nil, err
	}
	ep.Secrets = []Secret{{Value: secret}}
	ep.History = []invite.Event{{Event: "created", At: ep.CreatedAt, Actor: a.Sub}}
	if err := s.Store.CreateEndpoint(ctx, ep); err != nil {
		return nil, fmt.Errorf("events: create endpoint: %w", err)
	}
	return ep, nil
}

func applyRequest(ep *Endpoint, r EndpointRequest) error {
	if r.Types != nil {
		if err := checkTypes(*r.Types); err != nil {
			return err
		}
		ep.Types = slices.Compact(slices.Sorted(slices.Values(*r.Types)))
	}
	if r.Description != nil {
		if len(*r.Description) > MaxDescription {
			return invite.Invalid("description", "must be at most %d characters", MaxDescription)
		}
		ep.Description = invite.OneLine(*r.Description)
	}
	if r.Enabled != nil {
		ep.Enabled = *r.Enabled
		if ep.Enabled {
			ep.FailingSince, ep.DisabledReason = time.Time{}, ""
		}
	}
	return nil
}

// Get returns one endpoint the caller may manage; not_found for any other.
func (s *Service) Get(ctx context.Context, a invite.Actor, id string) (*Endpoint, error) {
	if err := authorize(a, PermManage); err != nil {
		return nil, err
	}
	if !validEndpointID(id) {
		return nil, notFound(nil)
	}
	ep, err := s.Store.Endpoint(ctx, "", id)
	if invite.IsCode(err, invite.CodeNotFound) {
		return nil, notFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("events: get endpoint %s: %w", id, err)
	}
	if !reaches(a, ep.Scope) {
		return nil, notFound(nil)
	}
	return ep, nil
}

func validEndpointID(id string) bool {
	if !strings.HasPrefix(id, "whe_") || len(id) != 28 {
		return false
	}
	_, err := hex.DecodeString(id[4:])
	return err == nil
}

func notFound(cause error) error {
	return &invite.Error{Code: invite.CodeNotFound, Message: "webhook endpoint not found", Err: cause}
}

// List returns the endpoints of the caller's scope (organization_id as for reads).
func (s *Service) List(ctx context.Context, a invite.Actor, orgID string) ([]*Endpoint, error) {
	if err := authorize(a, PermManage); err != nil {
		return nil, err
	}
	scope, err := scopeFor(a, orgID)
	if err != nil {
		return nil, err
	}
	return s.Store.Endpoints(ctx, scope)
}

// Update changes the URL, types, description or enabled flag.
func (s *Service) Update(ctx context.Context, a invite.Actor, id string, r EndpointRequest) (*Endpoint, error) {
	prev, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	next := prev.Clone()
	if r.URL != nil {
		if err := s.checkURL(*r.URL); err != nil {
			return nil, err
		}
		next.URL = *r.URL
	}
	if err := applyRequest(next, r); err != nil {
		return nil, err
	}
	return next, s.save(ctx, prev, next)
}

func (s *Service) save(ctx context.Context, prev, next *Endpoint) error {
	next.Version = prev.Version + 1
	if err := s.Store.UpdateEndpoint(ctx, prev, next); err != nil {
		return fmt.Errorf("events: update endpoint %s: %w", prev.ID, err)
	}
	return nil
}

// Rotate replaces the endpoint's secret and returns the new one; the old one keeps
// signing, next to it, for RotationOverlap.
func (s *Service) Rotate(ctx context.Context, a invite.Actor, id string) (*Endpoint, string, error) {
	prev, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, "", err
	}
	secret, err := NewSecret(s.rand())
	if err != nil {
		return nil, "", err
	}
	now := s.now().UTC()
	next := prev.Clone()
	next.Secrets = []Secret{{Value: secret}}
	for _, old := range prev.Secrets {
		if old.Until.IsZero() {
			old.Until = now.Add(RotationOverlap)
		}
		if now.Before(old.Until) {
			next.Secrets = append(next.Secrets, old)
		}
	}
	if err := s.save(ctx, prev, next); err != nil {
		return nil, "", err
	}
	return next, secret, nil
}

// Delete removes an endpoint; deliveries still queued for it are dropped.
func (s *Service) Delete(ctx context.Context, a invite.Actor, id string) error {
	ep, err := s.Get(ctx, a, id)
	if err != nil {
		return err
	}
	return s.Store.DeleteEndpoint(ctx, ep)
}

// MaxReplay bounds the events one replay queues.
const MaxReplay = 10000

// Replay queues again, for one endpoint, the feed's events of its scope and types in
// [since, until), and returns how many.
func (s *Service) Replay(ctx context.Context, a invite.Actor, id string, since, until time.Time) (int, error) {
	ep, err := s.Get(ctx, a, id)
	if err != nil {
		return 0, err
	}
	if !since.Before(until) {
		return 0, invite.Invalid("until", "must be after since")
	}
	n := 0
	q := FeedQuery{Scope: ep.Scope, Types: ep.Types, Since: since, Until: until, Limit: 100}
	for {
		page, err := s.Store.Feed(ctx, q)
		if err != nil {
			return n, fmt.Errorf("events: replay %s: %w", id, err)
		}
		var ds []*Delivery
		for _, e := range page.Events {
			d, err := NewDelivery(e, ep)
			if err != nil {
				return n, err
			}
			ds = append(ds, d)
		}
		if len(ds) > 0 {
			if err := s.Queue.Send(ctx, ds); err != nil {
				return n, fmt.Errorf("events: replay %s: %w", id, err)
			}
		}
		n += len(ds)
		if len(page.Events) < q.Limit || n >= MaxReplay {
			return n, nil
		}
		q.After = page.Position
	}
}

// FeedRequest is a caller's read of the feed.
type FeedRequest struct {
	OrganizationID string
	After          string
	Types          []string
	Limit          int // 1..100; 0 means 100
}

// Feed returns a page of the caller's scope's events, oldest first; it needs
// read:invitations, like every read.
func (s *Service) Feed(ctx context.Context, a invite.Actor, r FeedRequest) (*FeedPage, error) {
	if err := authorize(a, invite.PermRead); err != nil {
		return nil, err
	}
	scope, err := scopeFor(a, r.OrganizationID)
	if err != nil {
		return nil, err
	}
	if err := checkTypes(r.Types); err != nil {
		return nil, err
	}
	if r.Limit < 0 || r.Limit > 100 {
		return nil, invite.Invalid("limit", "must be between 1 and 100")
	}
	if r.Limit == 0 {
		r.Limit = 100
	}
	return s.Store.Feed(ctx, FeedQuery{Scope: scope, After: r.After, Types: r.Types, Limit: r.Limit, Since: s.now().Add(-FeedRetention)})
}

// Attempts returns an endpoint's latest delivery attempts, newest first.
func (s *Service) Attempts(ctx context.Context, a invite.Actor, id string, limit int) ([]*Attempt, error) {
	ep, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if limit < 0 || limit > 100 {
		return nil, invite.Invalid("limit", "must be between 1 and 100")
	}
	if limit == 0 {
		limit = 50
	}
	return s.Store.Attempts(ctx, ep.ID, limit)
}
