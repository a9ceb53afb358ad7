package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// The join flows' public pages: Doorman's own request page (/join), the emailed
// verification link (/r/{token}) and the shareable invite link (/j/{token}). Like the
// invitee's page, a GET only shows; only the person's POST acts.

// readForm reads a small form post (urlencoded) from a public page.
func (s *server) readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	body, err := s.readBody(w, r, maxPublicBody)
	if err != nil {
		return nil, err
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invite.Wrap(invite.CodeInvalid, err, "The form could not be read.")
	}
	return v, nil
}

// publicPageError answers a failure on a public page: a source over its budget gets
// the rate limit's page; the rest as the invitee's pages do.
func (s *server) publicPageError(w http.ResponseWriter, r *http.Request, err error) {
	if invite.IsCode(err, invite.CodeInvalid) {
		s.writeJoinPage(w, r, http.StatusBadRequest, joinPage{Title: "Please check the form", Lines: []string{invite.AsError(err).Message}})
		return
	}
	s.pageError(w, r, err)
}

// requestPage serves GET /join: the form that asks for access to the application,
// or to the organization named by ?organization_id= (which the page does not name,
// so that it tells nothing about which organizations exist).
func (s *server) requestPage(w http.ResponseWriter, r *http.Request) {
	target := s.appName
	p := joinPage{Title: "Ask for access", Fields: []joinField{emailField, nameField, noteField},
		Button: "Ask for access", Honeypot: true,
		Note: "We will email you a link to confirm your address. Your request reaches the people who decide only after you follow it."}
	if org := r.URL.Query().Get("organization_id"); org != "" {
		target = "the organization you were pointed to"
		p.Hidden = [][2]string{{"organization_id", org}}
	}
	p.Lines = []string{"Ask to join " + target + "."}
	s.writeJoinPage(w, r, http.StatusOK, p)
}

// requestForm serves POST /join: the page's form, taken as POST /v1/access-requests
// takes JSON, and answered alike whatever becomes of it.
func (s *server) requestForm(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	if err := s.limitSource(ctx, r, "request-form"); err != nil {
		s.pageError(w, r, err)
		return
	}
	f, err := s.readForm(w, r)
	if err != nil {
		s.publicPageError(w, r, err)
		return
	}
	s.takeRequest(ctx, accessRequestBody{Email: f.Get("email"), Name: f.Get("name"), OrganizationID: f.Get("organization_id"),
		Note: f.Get("note"), Website: f.Get("website")})
	s.padded(ctx, start)
	s.writeJoinPage(w, r, http.StatusOK, checkEmailPage)
}

// verifyPage serves GET /r/{token}: what the person asked for, and a button that
// confirms it. Mail scanners that fetch the link change nothing.
func (s *server) verifyPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := s.limitSource(ctx, r, "verify-page"); err != nil {
		s.pageError(w, r, err)
		return
	}
	v, err := s.join.svc.VerifyPage(ctx, r.PathValue("token"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.writeJoinPage(w, r, http.StatusOK, joinPage{
		Title:  "Confirm your request",
		Lines:  []string{"You asked to join " + v.Target + " as " + v.Request.Email + "."},
		Button: "Confirm my request",
		Note:   "Confirming proves this address is yours.",
	})
}

// verifyForm serves POST /r/{token}: the address is proven, and the page says what
// follows, or, approved at once, the browser is sent to the invitation's page.
func (s *server) verifyForm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := s.limitSource(ctx, r, "verify"); err != nil {
		s.pageError(w, r, err)
		return
	}
	v, err := s.join.svc.VerifyLink(ctx, r.PathValue("token"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	switch {
	case v.Outcome == invite.VerifiedInvited && v.AcceptURL != "":
		// Approved at once: the browser that proved the address goes straight on to
		// the invitation's page (its link is emailed too). The URL is a credential:
		// neither logged nor shown.
		s.pageHeaders(w)
		w.Header().Set("Location", v.AcceptURL)
		w.WriteHeader(http.StatusSeeOther)
	case v.Outcome == invite.VerifiedInvited:
		s.writeJoinPage(w, r, http.StatusOK, joinPage{Title: "You are in", Lines: []string{
			"Your address is confirmed and your request is approved.",
			"We have emailed you an invitation: follow it to set a password or sign in.",
		}})
	case v.Outcome == invite.VerifiedClosed:
		s.writeJoinPage(w, r, http.StatusGone, joinPage{Title: "Link no longer available", Lines: []string{
			"This invite link has no places left. Ask the person who shared it.",
		}})
	default:
		s.writeJoinPage(w, r, http.StatusOK, joinPage{Title: "Request confirmed", Lines: []string{
			"Thank you: your address is confirmed.",
			"You will hear from us by email once your request has been decided.",
		}})
	}
}

// linkPage serves GET /j/{token}: who invites the person to what, and a form for
// the address. A link that is unknown, revoked, expired or spent shows the one
// "not valid" page.
func (s *server) linkPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := s.limitSource(ctx, r, "link-page"); err != nil {
		s.pageError(w, r, err)
		return
	}
	v, err := s.join.svc.OpenLink(ctx, r.PathValue("token"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	lines := []string{v.Inviter + " invites you to join " + v.Target + "."}
	if len(v.Link.AllowedDomains) > 0 {
		lines = append(lines, "Use your address at "+strings.Join(v.Link.AllowedDomains, ", ")+".")
	}
	note := "We will email you a link to confirm your address."
	if v.Link.RequiresApproval {
		note += " Then the people who manage access decide on your request."
	}
	s.writeJoinPage(w, r, http.StatusOK, joinPage{Title: "You are invited", Lines: lines,
		Fields: []joinField{emailField, nameField}, Button: "Continue", Honeypot: true, Note: note})
}

// linkForm serves POST /j/{token}: the address is taken and sent a verification link.
func (s *server) linkForm(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	if err := s.limitSource(ctx, r, "redeem"); err != nil {
		s.pageError(w, r, err)
		return
	}
	f, err := s.readForm(w, r)
	if err != nil {
		s.publicPageError(w, r, err)
		return
	}
	if f.Get("website") == "" {
		err = s.join.svc.Redeem(ctx, r.PathValue("token"), f.Get("email"), f.Get("name"))
	}
	if err != nil {
		if invite.IsCode(err, invite.CodeInvalid) || invite.IsCode(err, invite.CodeNotFound) {
			s.publicPageError(w, r, err)
			return
		}
		s.log.ErrorContext(ctx, "invite link redemption not taken", "error", err.Error())
	}
	s.padded(ctx, start)
	s.writeJoinPage(w, r, http.StatusOK, checkEmailPage)
}

// inviteLinkJSON is an invite link as its managers see it; url only at creation.
type inviteLinkJSON struct {
	ID               string           `json:"id"`
	URL              string           `json:"url,omitempty"`
	OrganizationID   string           `json:"organization_id,omitempty"`
	Roles            []string         `json:"roles"`
	MaxUses          int              `json:"max_uses"`
	Uses             int              `json:"uses"`
	AllowedDomains   []string         `json:"allowed_domains"`
	ExpiresAt        string           `json:"expires_at,omitempty"`
	RequiresApproval bool             `json:"requires_approval"`
	Status           string           `json:"status"`
	CreatedBy        inviterJSON      `json:"created_by"`
	CreatedAt        string           `json:"created_at"`
	RevokedAt        string           `json:"revoked_at,omitempty"`
	Redemptions      []redemptionJSON `json:"redemptions,omitempty"`
}

type redemptionJSON struct {
	RequestID    string `json:"access_request_id"`
	InvitationID string `json:"invitation_id,omitempty"`
	Email        string `json:"email"`
	At           string `json:"at"`
}

func (s *server) renderLink(l *invite.InviteLink) inviteLinkJSON {
	out := inviteLinkJSON{ID: l.ID, OrganizationID: l.OrganizationID, Roles: l.Roles, MaxUses: l.MaxUses, Uses: l.Uses,
		AllowedDomains: l.AllowedDomains, ExpiresAt: rfc3339(l.ExpiresAt), RequiresApproval: l.RequiresApproval,
		CreatedBy: inviterJSON{Sub: l.Creator.Sub, Name: l.Creator.Name}, CreatedAt: rfc3339(l.CreatedAt), RevokedAt: rfc3339(l.RevokedAt)}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	if out.AllowedDomains == nil {
		out.AllowedDomains = []string{}
	}
	switch now := s.now(); {
	case !l.RevokedAt.IsZero():
		out.Status = "revoked"
	case l.Uses >= l.MaxUses:
		out.Status = "spent"
	case !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt):
		out.Status = "expired"
	default:
		out.Status = "active"
	}
	return out
}

type linkBody struct {
	OrganizationID   string   `json:"organization_id"`
	Roles            []string `json:"roles"`
	MaxUses          int      `json:"max_uses"`
	AllowedDomains   []string `json:"allowed_domains"`
	ExpiresAt        string   `json:"expires_at"`
	RequiresApproval bool     `json:"requires_approval"`
}

func (s *server) createInviteLink(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	body, err := s.readBody(w, r, s.maxBody)
	if err != nil {
		s.writeBodyError(w, r, err)
		return
	}
	var b linkBody
	if err := decodeStrict(r, body, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	var exp time.Time
	if b.ExpiresAt != "" {
		if exp, err = time.Parse(time.RFC3339, b.ExpiresAt); err != nil {
			s.writeError(w, r, invite.Invalid("expires_at", "must be an RFC 3339 time"))
			return
		}
	}
	l, token, err := s.join.svc.CreateLink(r.Context(), a, invite.LinkRequest{OrganizationID: b.OrganizationID, Roles: b.Roles,
		MaxUses: b.MaxUses, AllowedDomains: b.AllowedDomains, ExpiresAt: exp, RequiresApproval: b.RequiresApproval})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := s.renderLink(l)
	out.URL = s.join.svc.LinkURL(token)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/v1/invite-links/"+l.ID)
	s.writeJSON(w, http.StatusCreated, out)
}

func (s *server) listInviteLinks(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	q := r.URL.Query()
	limit, err := queryLimit(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.join.svc.ListLinks(r.Context(), a, q.Get("organization_id"), limit, q.Get("cursor"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		InviteLinks []inviteLinkJSON `json:"invite_links"`
		NextCursor  string           `json:"next_cursor,omitempty"`
	}{InviteLinks: make([]inviteLinkJSON, 0, len(page.Links)), NextCursor: page.NextCursor}
	for _, l := range page.Links {
		out.InviteLinks = append(out.InviteLinks, s.renderLink(l))
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) getInviteLink(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	l, reds, err := s.join.svc.GetLink(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := s.renderLink(l)
	out.Redemptions = make([]redemptionJSON, 0, len(reds))
	for _, red := range reds {
		out.Redemptions = append(out.Redemptions, redemptionJSON{RequestID: red.RequestID, InvitationID: red.InvitationID,
			Email: red.Email, At: rfc3339(red.At)})
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) revokeInviteLink(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	l, err := s.join.svc.RevokeLink(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, s.renderLink(l))
}
