package auth0sim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const (
	msgInvNotFound   = "The invitation does not exist."
	defaultInviteTTL = 604800  // 7 days
	maxInviteTTL     = 2592000 // 30 days
)

func invitationJSON(inv *OrgInvitation) map[string]any {
	m := map[string]any{
		"id":              inv.ID,
		"client_id":       inv.ClientID,
		"inviter":         map[string]any{"name": inv.InviterName},
		"invitee":         map[string]any{"email": inv.Email},
		"invitation_url":  inv.URL,
		"ticket_id":       inv.TicketID,
		"created_at":      timestamp(inv.CreatedAt),
		"expires_at":      timestamp(inv.ExpiresAt),
		"organization_id": inv.OrganizationID,
	}
	if inv.ConnectionID != "" {
		m["connection_id"] = inv.ConnectionID
	}
	if len(inv.Roles) > 0 {
		m["roles"] = append([]string(nil), inv.Roles...)
	}
	putObjects(m, map[string]map[string]any{"app_metadata": inv.AppMetadata, "user_metadata": inv.UserMetadata})
	return m
}

func (s *Sim) createInvitation(w http.ResponseWriter, r *http.Request) {
	p, ok := decodePayload(w, r, "inviter", "invitee", "client_id", "connection_id", "app_metadata",
		"user_metadata", "ttl_sec", "roles", "send_invitation_email")
	if !ok {
		return
	}
	p.require("inviter", "invitee", "client_id")
	inviter, invitee := p.object("inviter"), p.object("invitee")
	clientID, connID := p.str("client_id"), p.str("connection_id")
	ttl := p.integer("ttl_sec")
	roles := p.strings("roles")
	appMeta, userMeta := p.object("app_metadata"), p.object("user_metadata")
	p.boolean("send_invitation_email")
	inviterName, _ := inviter["name"].(string)
	email, _ := invitee["email"].(string)
	switch {
	case p.err != "":
	case inviterName == "":
		p.fail("Payload validation error: 'Missing required property: name' on property inviter.")
	case len([]rune(inviterName)) > 300:
		p.fail("Payload validation error: 'String is too long (%d chars), maximum 300' on property inviter.name.", len([]rune(inviterName)))
	case email == "":
		p.fail("Payload validation error: 'Missing required property: email' on property invitee.")
	case !strings.Contains(email, "@"):
		p.fail("Payload validation error: 'Object didn't pass validation for format email: %s' on property invitee.email.", email)
	case ttl < 0:
		p.fail("Payload validation error: 'Number is less than the minimum value of 0' on property ttl_sec.")
	case ttl > maxInviteTTL:
		p.fail("Payload validation error: 'Number is greater than the maximum value of %d' on property ttl_sec.", maxInviteTTL)
	case len(roles) > 50:
		p.fail("Payload validation error: 'Array is too long (%d), maximum 50' on property roles.", len(roles))
	}
	if !p.check(w) {
		return
	}
	if ttl == 0 {
		ttl = defaultInviteTTL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.lookupOrg(w, r)
	if o == nil {
		return
	}
	if connID != "" && s.st.conn(connID) == nil {
		writeError(w, http.StatusBadRequest, "The specified connection does not exist.", "invalid_body")
		return
	}
	var missing []string
	for _, id := range roles {
		if s.st.role(id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		writeError(w, http.StatusBadRequest, "One or more of the specified roles do not exist: "+strings.Join(missing, ", "), "invalid_body")
		return
	}
	now := s.now()
	ticketID := s.randAlnum(32)
	inv := &OrgInvitation{
		ID: "uinv_" + s.randAlnum(16), OrganizationID: o.ID, Email: email, InviterName: inviterName,
		ClientID: clientID, ConnectionID: connID, TicketID: ticketID, Roles: roles,
		AppMetadata: cloneMap(appMeta), UserMetadata: cloneMap(userMeta),
		CreatedAt: now, ExpiresAt: now.Add(time.Duration(ttl) * time.Second),
		URL: s.base(r) + "/login?invitation=" + ticketID + "&organization=" + url.QueryEscape(o.ID) +
			"&organization_name=" + url.QueryEscape(o.Name),
	}
	o.invitations = append(o.invitations, inv)
	writeJSON(w, http.StatusCreated, invitationJSON(inv))
}

// listInvitations wraps a page as the recording shows: with include_totals, start and
// limit (the page's length) but no total.
func (s *Sim) listInvitations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.lookupOrg(w, r)
	if o == nil {
		return
	}
	all := []any{}
	for _, inv := range o.liveInvitations(s.now()) {
		all = append(all, invitationJSON(inv))
	}
	pg := readPaging(r)
	start, end := pg.window(len(all))
	page := all[start:end]
	if !pg.totals {
		writeJSON(w, http.StatusOK, page)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"invitations": page, "start": start, "limit": len(page)})
}

func (s *Sim) findInvitation(w http.ResponseWriter, r *http.Request) (*org, *OrgInvitation) {
	o := s.lookupOrg(w, r)
	if o == nil {
		return nil, nil
	}
	for _, inv := range o.liveInvitations(s.now()) {
		if inv.ID == r.PathValue("inv") {
			return o, inv
		}
	}
	writeError(w, http.StatusNotFound, msgInvNotFound, "inexistent_invitation")
	return nil, nil
}

func (s *Sim) getInvitation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, inv := s.findInvitation(w, r); inv != nil {
		writeJSON(w, http.StatusOK, invitationJSON(inv))
	}
}

func (s *Sim) deleteInvitation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, inv := s.findInvitation(w, r)
	if inv == nil {
		return
	}
	o.invitations = slices.DeleteFunc(o.invitations, func(x *OrgInvitation) bool { return x == inv })
	writeNoContent(w)
}
