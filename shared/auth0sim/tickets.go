package auth0sim

import (
	"net/http"
	"time"
)

const defaultTicketTTL = 432000 // 5 days, Auth0's default for password-change tickets

func (s *Sim) createPasswordTicket(w http.ResponseWriter, r *http.Request) {
	p, ok := decodePayload(w, r, "result_url", "user_id", "client_id", "organization_id",
		"connection_id", "email", "ttl_sec", "mark_email_as_verified", "includeEmailInRedirect", "identity")
	if !ok {
		return
	}
	p.require("user_id")
	userID, resultURL, clientID := p.str("user_id"), p.str("result_url"), p.str("client_id")
	ttl := p.integer("ttl_sec")
	markVerified, includeEmail := p.boolean("mark_email_as_verified"), p.boolean("includeEmailInRedirect")
	if p.err == "" && resultURL != "" && clientID != "" {
		p.fail("Payload validation error: 'The result_url and client_id parameters are mutually exclusive.'")
	}
	if p.err == "" && ttl < 0 {
		p.fail("Payload validation error: 'Number is less than the minimum value of 0' on property ttl_sec.")
	}
	if !p.check(w) {
		return
	}
	if ttl == 0 {
		ttl = defaultTicketTTL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lookupUser(w, userID) == nil {
		return
	}
	// A new ticket invalidates the user's earlier ones, as Auth0 does.
	for _, old := range s.st.tickets {
		if old.userID == userID {
			old.used = true
		}
	}
	t := &ticket{
		id: s.randAlnum(32), userID: userID, resultURL: resultURL, clientID: clientID,
		markVerified: markVerified, includeEmail: includeEmail,
		expiresAt: s.now().Add(time.Duration(ttl) * time.Second),
	}
	s.st.tickets[t.id] = t
	writeJSON(w, http.StatusCreated, map[string]any{"ticket": s.base(r) + "/u/reset-password?ticket=" + t.id + "#"})
}
