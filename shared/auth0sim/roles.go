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

// lookupRole finds a role or answers 404 (without an errorCode, as recorded). Callers
// hold s.mu.
func (s *Sim) lookupRole(w http.ResponseWriter, id string) *Role {
	return found(w, s.st.role(id), msgRoleNotFound, "")
}

func (s *Sim) getRole(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if role := s.lookupRole(w, r.PathValue("id")); role != nil {
		writeJSON(w, http.StatusOK, roleJSON(role))
	}
}

func (s *Sim) deleteRole(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.lookupRole(w, id) == nil {
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
	if s.lookupRole(w, id) == nil {
		return
	}
	users := []any{}
	for _, u := range s.st.users {
		if slices.Contains(s.st.userRoles[u.id], id) {
			users = append(users, s.userSummary(u.id))
		}
	}
	writeList(w, r, "users", users, false)
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
	if s.lookupRole(w, roleID) == nil {
		return
	}
	for _, id := range ids {
		s.st.userRoles[id] = addUnique(s.st.userRoles[id], roleID)
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// roleList finds the role list a request names: the map that holds it and its key.
// When the path names nothing it answers 404 itself and ok is false. Callers hold s.mu.
type roleList func(w http.ResponseWriter, r *http.Request) (lists map[string][]string, key string, ok bool)

// getRoles, assignRoles and removeRoles serve a user's roles and an organization
// member's roles alike, list picking which.
func (s *Sim) getRoles(list roleList) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if lists, key, ok := list(w, r); ok {
			writeJSON(w, http.StatusOK, pageOf(readPaging(r), "roles", s.rolesJSON(lists[key])))
		}
	}
}

func (s *Sim) assignRoles(list roleList) http.HandlerFunc {
	return s.withIDs("roles", func(w http.ResponseWriter, r *http.Request, ids []string) {
		lists, key, ok := list(w, r)
		if !ok {
			return
		}
		if s.unknownRole(ids) != "" {
			writeError(w, http.StatusNotFound, msgRoleNotFound, "inexistent_role")
			return
		}
		lists[key] = addUnique(lists[key], ids...)
		writeNoContent(w)
	})
}

func (s *Sim) removeRoles(list roleList) http.HandlerFunc {
	return s.withIDs("roles", func(w http.ResponseWriter, r *http.Request, ids []string) {
		if lists, key, ok := list(w, r); ok {
			lists[key] = removeAll(lists[key], ids)
			writeNoContent(w)
		}
	})
}
