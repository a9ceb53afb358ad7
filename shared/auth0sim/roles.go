package auth0sim

import (
	"net/http"
	"slices"
	"strings"
)

const msgRoleNotFound = "The role does not exist."

func roleJSON(r *Role) map[string]any {
	return map[string]any{"id": r.ID, "name": r.Name, "description": r.Description}
}

// rolesJSON renders role ids that still exist.
func (s *Sim) rolesJSON(ids []string) []any {
	out := []any{}
	for _, id := range ids {
		if r := s.st.role(id); r != nil {
			out = append(out, roleJSON(r))
		}
	}
	return out
}

// decodeRoleIDs reads {"roles": [...]} with at least one id, answering 400 otherwise.
func decodeRoleIDs(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	p, ok := decodePayload(w, r, "roles")
	if !ok {
		return nil, false
	}
	p.require("roles")
	ids := p.strings("roles")
	if p.err == "" && len(ids) == 0 {
		p.fail("Payload validation error: 'Array is too short (0), minimum 1' on property roles.")
	}
	return ids, p.check(w)
}

// unknownRole returns the first id that names no role. Callers hold s.mu.
func (s *Sim) unknownRole(ids []string) string {
	for _, id := range ids {
		if s.st.role(id) == nil {
			return id
		}
	}
	return ""
}

func (s *Sim) listRoles(w http.ResponseWriter, r *http.Request) {
	filter := strings.ToLower(r.URL.Query().Get("name_filter"))
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, role := range s.st.roles {
		if filter == "" || strings.Contains(strings.ToLower(role.Name), filter) {
			out = append(out, roleJSON(role))
		}
	}
	writeJSON(w, http.StatusOK, pageOf(readPaging(r), "roles", out))
}

// createRole answers 200, not 201, as the recordings show.
func (s *Sim) createRole(w http.ResponseWriter, r *http.Request) {
	p, ok := decodePayload(w, r, "name", "description")
	if !ok {
		return
	}
	p.require("name")
	name, desc := p.str("name"), p.str("description")
	if !p.check(w) {
		return
	}
	role := s.CreateRole(name, desc)
	writeJSON(w, http.StatusOK, roleJSON(&role))
}

func (s *Sim) getRole(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	role := s.st.role(r.PathValue("id"))
	if role == nil {
		writeError(w, http.StatusNotFound, msgRoleNotFound, "")
		return
	}
	writeJSON(w, http.StatusOK, roleJSON(role))
}

func (s *Sim) deleteRole(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.st.role(id) == nil {
		writeError(w, http.StatusNotFound, msgRoleNotFound, "")
		return
	}
	s.st.roles = slices.DeleteFunc(s.st.roles, func(x *Role) bool { return x.ID == id })
	drop := func(x string) bool { return x == id }
	for k, v := range s.st.userRoles {
		s.st.userRoles[k] = slices.DeleteFunc(v, drop)
	}
	for _, o := range s.st.orgs {
		for k, v := range o.memberRoles {
			o.memberRoles[k] = slices.DeleteFunc(v, drop)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Sim) getRoleUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.st.role(id) == nil {
		writeError(w, http.StatusNotFound, msgRoleNotFound, "")
		return
	}
	users := []any{}
	for _, u := range s.st.users {
		if slices.Contains(s.st.userRoles[u.id], id) {
			users = append(users, s.userSummary(u.id))
		}
	}
	if from, take, ok := checkpoint(r); ok {
		start := min(from, len(users))
		end := min(start+take, len(users))
		body := map[string]any{"users": users[start:end]}
		if end < len(users) {
			body["next"] = cursor(end)
		}
		writeJSON(w, http.StatusOK, body)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(readPaging(r), "users", users))
}

func (s *Sim) assignRoleUsers(w http.ResponseWriter, r *http.Request) {
	p, ok := decodePayload(w, r, "users")
	if !ok {
		return
	}
	p.require("users")
	ids := p.strings("users")
	if !p.check(w) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	roleID := r.PathValue("id")
	if s.st.role(roleID) == nil {
		writeError(w, http.StatusNotFound, msgRoleNotFound, "")
		return
	}
	for _, id := range ids {
		s.st.userRoles[id] = addUnique(s.st.userRoles[id], roleID)
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
