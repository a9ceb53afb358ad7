package httpapi

import (
	"net/http"

	"github.com/doormanhq/doorman/shared/invite"
)

// roleJSON is a role a caller may put on an invitation.
type roleJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// rolesParams are the query parameters of GET /v1/roles.
var rolesParams = map[string]bool{"organization_id": true}

// roles answers GET /v1/roles: what the caller may grant on an invitation to the
// organization named (or the application), for an SPA's role picker.
func (s *server) roles(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	q, err := query(r, rolesParams)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	roles, err := s.svc.GrantableRoles(r.Context(), a, q.Get("organization_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Roles []roleJSON `json:"roles"`
	}{Roles: make([]roleJSON, len(roles))}
	for i, role := range roles {
		out.Roles[i] = roleJSON{ID: role.ID, Name: role.Name, Description: role.Description}
	}
	s.writeJSON(w, http.StatusOK, out)
}
