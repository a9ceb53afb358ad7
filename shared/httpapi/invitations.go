package httpapi

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// createBody is the body of POST /v1/invitations. Pointers tell absent from zero where
// the default differs.
type createBody struct {
	Email          string         `json:"email"`
	Name           string         `json:"name"`
	OrganizationID string         `json:"organization_id"`
	Roles          []string       `json:"roles"`
	Connection     string         `json:"connection"`
	ClientID       string         `json:"client_id"`
	AppMetadata    map[string]any `json:"app_metadata"`
	UserMetadata   map[string]any `json:"user_metadata"`
	TTLSeconds     *int64         `json:"ttl_seconds"`
	RedirectURL    string         `json:"redirect_url"`
	SendEmail      *bool          `json:"send_email"`
	Locale         string         `json:"locale"`
	Message        string         `json:"message"`
	OnConflict     string         `json:"on_conflict"`
}

// request is the create request the body asks for, with ttl already converted.
func (b createBody) request(ttl time.Duration) invite.CreateRequest {
	return invite.CreateRequest{
		Email:          b.Email,
		Name:           b.Name,
		OrganizationID: b.OrganizationID,
		Roles:          b.Roles,
		Connection:     b.Connection,
		ClientID:       b.ClientID,
		AppMetadata:    b.AppMetadata,
		UserMetadata:   b.UserMetadata,
		TTL:            ttl,
		RedirectURL:    b.RedirectURL,
		SendEmail:      b.SendEmail == nil || *b.SendEmail,
		Locale:         b.Locale,
		Message:        b.Message,
		OnConflict:     b.OnConflict,
	}
}

// resendBody is the optional body of POST /v1/invitations/{id}/resend.
type resendBody struct {
	TTLSeconds *int64 `json:"ttl_seconds"`
}

// ttl converts ttl_seconds; the range is the domain's (invite.ValidateTTL), checked
// by the service against its own limits. Two values cannot reach it as they are: 0,
// which would ask for the default, and a count of seconds past what a Duration holds.
// They are refused here, with the domain's answer for a lifetime out of range.
func ttl(secs *int64) (time.Duration, error) {
	if secs == nil {
		return 0, nil
	}
	if *secs <= 0 || *secs > math.MaxInt64/int64(time.Second) {
		_, err := invite.ValidateTTL(-1, invite.Limits{}) // below every range
		return 0, err
	}
	return time.Duration(*secs) * time.Second, nil
}

func (s *server) create(w http.ResponseWriter, r *http.Request, a invite.Actor, body []byte) {
	var b createBody
	if err := decodeStrict(r, body, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := ttl(b.TTLSeconds)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Validated once, then charged: a request the service refuses costs nothing.
	prepared, err := s.svc.PrepareCreate(a, b.request(d))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.charge(r.Context(), a, []charge{{s.invites, 1}}); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.svc.CreatePrepared(r.Context(), a, prepared)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	switch {
	case out.Resent:
		// on_conflict=resend answered with the invitation that already existed.
		status = http.StatusOK
	case out.Deferred:
		// Auth0 was busy: the worker provisions it; GET shows where it is.
		status = http.StatusAccepted
		w.Header().Set("Location", "/v1/invitations/"+out.Invitation.ID)
	default:
		w.Header().Set("Location", "/v1/invitations/"+out.Invitation.ID)
	}
	s.writeJSON(w, status, render(out.Invitation, out.AcceptURL, out.Resent))
}

func (s *server) get(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	inv, err := s.svc.Get(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, render(inv, "", false))
}

// listParams are the query parameters of GET /v1/invitations.
var listParams = map[string]bool{"status": true, "organization_id": true, "email": true, "inviter": true, "limit": true, "cursor": true}

// query parses the query string, refusing parameters not in known and any given twice.
func query(r *http.Request, known map[string]bool) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, invite.Invalid("query", "is not a valid query string")
	}
	for k, v := range q {
		if !known[k] {
			return nil, invite.Invalid(k, "is not a known query parameter")
		}
		if len(v) > 1 {
			return nil, invite.Invalid(k, "must be given once")
		}
	}
	return q, nil
}

func (s *server) list(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	q, err := query(r, listParams)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := invite.ListRequest{
		OrganizationID: q.Get("organization_id"),
		Status:         invite.Status(q.Get("status")),
		Email:          q.Get("email"),
		Inviter:        q.Get("inviter"),
		Cursor:         q.Get("cursor"),
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			s.writeError(w, r, invite.Invalid("limit", "must be an integer between 1 and 100"))
			return
		}
		req.Limit = n
	}
	page, err := s.svc.List(r.Context(), a, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := listJSON{Invitations: make([]invitationJSON, len(page.Invitations)), NextCursor: page.NextCursor}
	for i, inv := range page.Invitations {
		out.Invitations[i] = render(inv, "", false)
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) resend(w http.ResponseWriter, r *http.Request, a invite.Actor, body []byte) {
	var b resendBody
	if err := decodeStrict(r, body, &b, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := ttl(b.TTLSeconds)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	inv, err := s.svc.Resend(r.Context(), a, r.PathValue("id"), d)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, render(inv, "", false))
}

func (s *server) ticket(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	body, err := s.readBody(w, r, s.maxBody)
	if err != nil {
		s.writeBodyError(w, r, err)
		return
	}
	var b struct{}
	if err := decodeStrict(r, body, &b, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.svc.Ticket(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, render(out.Invitation, out.AcceptURL, false))
}

func (s *server) revoke(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	inv, err := s.svc.Revoke(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, render(inv, "", false))
}

func (s *server) openapi(w http.ResponseWriter, r *http.Request) {
	doc, err := s.openapiJSON()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(doc)
}
