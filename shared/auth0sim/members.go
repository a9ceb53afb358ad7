package auth0sim

import (
	"net/http"
	"slices"
	"strings"
)

// memberJSON renders a member; fields (when non-empty) selects the properties, and
// "roles" adds the member's organization roles as {id, name}.
func (s *Sim) memberJSON(o *org, id string, fields []string) map[string]any {
	m := s.userSummary(id)
	if len(fields) == 0 {
		return m
	}
	out := map[string]any{}
	for _, f := range fields {
		if f == "roles" {
			roles := []any{}
			for _, rid := range o.memberRoles[id] {
				if role := s.st.role(rid); role != nil {
					roles = append(roles, map[string]any{"id": role.ID, "name": role.Name})
				}
			}
			out["roles"] = roles
		} else if v, ok := m[f]; ok {
			out[f] = v
		}
	}
	return out
}

func (s *Sim) listMembers(w http.ResponseWriter, r *http.Request) {
	var fields []string
	if f := r.URL.Query().Get("fields"); f != "" && r.URL.Query().Get("include_fields") != "false" {
		fields = strings.Split(f, ",")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.lookupOrg(w, r)
	if o == nil {
		return
	}
	members := []any{}
	for _, id := range o.members {
		members = append(members, s.memberJSON(o, id, fields))
	}
	if from, take, ok := checkpoint(r); ok {
		start := min(from, len(members))
		end := min(start+take, len(members))
		body := map[string]any{"members": members[start:end]}
		// As recorded: every non-empty page carries next; the empty page ends the walk.
		if end > start {
			body["next"] = cursor(end)
		}
		writeJSON(w, http.StatusOK, body)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(readPaging(r), "members", members))
}

func decodeMembers(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	p, ok := decodePayload(w, r, "members")
	if !ok {
		return nil, false
	}
	p.require("members")
	ids := p.strings("members")
	if p.err == "" && len(ids) == 0 {
		p.fail("Payload validation error: 'Array is too short (0), minimum 1' on property members.")
	}
	return ids, p.check(w)
}

func (s *Sim) addMembers(w http.ResponseWriter, r *http.Request) {
	ids, ok := decodeMembers(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.lookupOrg(w, r); o != nil {
		o.members = addUnique(o.members, ids...)
		writeNoContent(w)
	}
}

func (s *Sim) removeMembers(w http.ResponseWriter, r *http.Request) {
	ids, ok := decodeMembers(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.lookupOrg(w, r); o != nil {
		o.members = slices.DeleteFunc(o.members, func(x string) bool { return slices.Contains(ids, x) })
		for _, id := range ids {
			delete(o.memberRoles, id)
		}
		writeNoContent(w)
	}
}

func (s *Sim) getMemberRoles(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.lookupOrg(w, r); o != nil {
		writeJSON(w, http.StatusOK, pageOf(readPaging(r), "roles", s.rolesJSON(o.memberRoles[r.PathValue("user")])))
	}
}

// assignMemberRoles accepts a user who is not (yet) a member, as the recording of
// TestOrganizationManager_Members shows; the roles apply once the user joins.
func (s *Sim) assignMemberRoles(w http.ResponseWriter, r *http.Request) {
	ids, ok := decodeRoleIDs(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.lookupOrg(w, r)
	if o == nil {
		return
	}
	if s.unknownRole(ids) != "" {
		writeError(w, http.StatusNotFound, msgRoleNotFound, "inexistent_role")
		return
	}
	uid := r.PathValue("user")
	o.memberRoles[uid] = addUnique(o.memberRoles[uid], ids...)
	writeNoContent(w)
}

func (s *Sim) removeMemberRoles(w http.ResponseWriter, r *http.Request) {
	ids, ok := decodeRoleIDs(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.lookupOrg(w, r); o != nil {
		uid := r.PathValue("user")
		o.memberRoles[uid] = slices.DeleteFunc(o.memberRoles[uid], func(x string) bool { return slices.Contains(ids, x) })
		writeNoContent(w)
	}
}
