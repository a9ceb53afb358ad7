package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/invite"
)

// PublicInvitation is an invitation as events carry it: the API's invitation, with no
// accept URL (events.Renderers takes it).
func PublicInvitation(inv *invite.Invitation) any { return render(inv, "", false) }

// PublicAccessRequest is an access request as its events carry it: the reviewer
// API's rendering, which holds no token.
func PublicAccessRequest(r *invite.AccessRequest) any { return renderRequest(r) }

// PublicBatch is a batch as batch.completed carries it.
func PublicBatch(b *invite.Batch) any {
	return map[string]any{
		"id": b.ID, "status": string(b.Status()), "total": b.Total,
		"succeeded": b.Succeeded, "failed": b.Failed, "created_at": rfc3339(b.CreatedAt),
	}
}

// endpointBody is the body of POST and PATCH /v1/webhook-endpoints.
type endpointBody struct {
	URL            *string   `json:"url"`
	Events         *[]string `json:"events"`
	Description    *string   `json:"description"`
	Enabled        *bool     `json:"enabled"`
	OrganizationID string    `json:"organization_id"`
}

func (b endpointBody) request() events.EndpointRequest {
	return events.EndpointRequest{OrganizationID: b.OrganizationID, URL: b.URL, Types: b.Events, Description: b.Description, Enabled: b.Enabled}
}

// endpointOut is an endpoint in an answer; Secret only when just made or rotated.
type endpointOut struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Description    string   `json:"description,omitempty"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabled_reason,omitempty"`
	OrganizationID string   `json:"organization_id,omitempty"`
	CreatedAt      string   `json:"created_at"`
	Secret         string   `json:"secret,omitempty"`
}

func renderEndpoint(ep *events.Endpoint, secret string) endpointOut {
	out := endpointOut{ID: ep.ID, URL: ep.URL, Events: ep.Types, Description: ep.Description, Enabled: ep.Enabled,
		DisabledReason: ep.DisabledReason, CreatedAt: rfc3339(ep.CreatedAt), Secret: secret}
	if out.Events == nil {
		out.Events = []string{}
	}
	if org, ok := strings.CutPrefix(ep.Scope, "org:"); ok {
		out.OrganizationID = org
	}
	return out
}

func (s *server) eventsOrUnavailable(w http.ResponseWriter, r *http.Request) bool {
	if s.events == nil {
		s.writeError(w, r, invite.Errorf(invite.CodeNotFound, "events are not enabled"))
		return false
	}
	return true
}

func (s *server) createEndpoint(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	if !s.eventsOrUnavailable(w, r) {
		return
	}
	body, err := s.readBody(w, r, s.maxBody)
	if err != nil {
		s.writeBodyError(w, r, err)
		return
	}
	var b endpointBody
	if err := decodeStrict(r, body, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	ep, err := s.events.Create(r.Context(), a, b.request())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/webhook-endpoints/"+ep.ID)
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusCreated, renderEndpoint(ep, ep.Secrets[0].Value))
}

func (s *server) listEndpoints(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	if !s.eventsOrUnavailable(w, r) {
		return
	}
	q, err := query(r, map[string]bool{"organization_id": true})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	eps, err := s.events.List(r.Context(), a, q.Get("organization_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Endpoints []endpointOut `json:"webhook_endpoints"`
	}{Endpoints: make([]endpointOut, len(eps))}
	for i, ep := range eps {
		out.Endpoints[i] = renderEndpoint(ep, "")
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) getEndpoint(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	if !s.eventsOrUnavailable(w, r) {
		return
	}
	ep, err := s.events.Get(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, renderEndpoint(ep, ""))
}

func (s *server) updateEndpoint(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	if !s.eventsOrUnavailable(w, r) {
		return
	}
	body, err := s.readBody(w, r, s.maxBody)
	if err != nil {
		s.writeBodyError(w, r, err)
		return
	}
	var b endpointBody
	if err := decodeStrict(r, body, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.OrganizationID != "" {
		s.writeError(w, r, invite.Invalid("organization_id", "cannot be changed"))
		return
	}
	ep, err := s.events.Update(r.Context(), a, r.PathValue("id"), b.request())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, renderEndpoint(ep, ""))
}

func (s *server) rotateEndpoint(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	if !s.eventsOrUnavailable(w, r) {
		return
	}
	ep, secret, err := s.events.Rotate(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusOK, renderEndpoint(ep, secret))
}

func (s *server) deleteEndpoint(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	if !s.eventsOrUnavailable(w, r) {
		return
	}
	if err := s.events.Delete(r.Context(), a, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// replayBody is the body of POST /v1/webhook-endpoints/{id}/replay.
type replayBody struct {
	Since string `json:"since"`
	Until string `json:"until"`
}

func (s *server) replayEndpoint(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	if !s.eventsOrUnavailable(w, r) {
		return
	}
	body, err := s.readBody(w, r, s.maxBody)
	if err != nil {
		s.writeBodyError(w, r, err)
		return
	}
	var b replayBody
	if err := decodeStrict(r, body, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	since, err := time.Parse(time.RFC3339, b.Since)
	if err != nil {
		s.writeError(w, r, invite.Invalid("since", "must be an RFC 3339 time"))
		return
	}
	until := s.now()
	if b.Until != "" {
		if until, err = time.Parse(time.RFC3339, b.Until); err != nil {
			s.writeError(w, r, invite.Invalid("until", "must be an RFC 3339 time"))
			return
		}
	}
	n, err := s.events.Replay(r.Context(), a, r.PathValue("id"), since, until)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusAccepted, map[string]int{"queued": n})
}

// eventOut is one event of the feed: the delivery body with its id.
type eventOut struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

func (s *server) feed(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	if !s.eventsOrUnavailable(w, r) {
		return
	}
	q, err := query(r, map[string]bool{"after": true, "type": true, "organization_id": true, "limit": true})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := events.FeedRequest{OrganizationID: q.Get("organization_id"), After: q.Get("after")}
	if t := q.Get("type"); t != "" {
		req.Types = strings.Split(t, ",")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			s.writeError(w, r, invite.Invalid("limit", "must be an integer between 1 and 100"))
			return
		}
		req.Limit = n
	}
	page, err := s.events.Feed(r.Context(), a, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Events     []eventOut `json:"events"`
		NextCursor string     `json:"next_cursor,omitempty"`
	}{Events: make([]eventOut, len(page.Events)), NextCursor: page.Position}
	for i, e := range page.Events {
		out.Events[i] = eventOut{ID: e.ID, Type: e.Type, Timestamp: e.At.UTC().Format(time.RFC3339Nano), Data: e.Data}
	}
	s.writeJSON(w, http.StatusOK, out)
}

type attemptOut struct {
	EventID    string `json:"event_id"`
	Type       string `json:"type"`
	Attempt    int    `json:"attempt"`
	At         string `json:"at"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Outcome    string `json:"outcome"`
}

func (s *server) endpointAttempts(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	if !s.eventsOrUnavailable(w, r) {
		return
	}
	q, err := query(r, map[string]bool{"limit": true})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := 0
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 {
			s.writeError(w, r, invite.Invalid("limit", "must be an integer between 1 and 100"))
			return
		}
	}
	as, err := s.events.Attempts(r.Context(), a, r.PathValue("id"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Attempts []attemptOut `json:"attempts"`
	}{Attempts: make([]attemptOut, len(as))}
	for i, at := range as {
		out.Attempts[i] = attemptOut{EventID: at.EventID, Type: at.Type, Attempt: at.Number, At: at.At.UTC().Format(time.RFC3339Nano),
			HTTPStatus: at.Status, Error: at.Error, DurationMS: at.Duration.Milliseconds(), Outcome: at.Outcome}
	}
	s.writeJSON(w, http.StatusOK, out)
}
