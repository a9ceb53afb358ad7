package auth0sim

import (
	"net/http"
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
	// As recorded: every non-empty checkpoint page carries next; the empty page ends
	// the walk.
	writeList(w, r, "members", members, true)
}

func (s *Sim) addMembers(w http.ResponseWriter, r *http.Request, ids []string) {
	if o := s.lookupOrg(w, r); o != nil {
		o.members = addUnique(o.members, ids...)
		writeNoContent(w)
	}
}

func (s *Sim) removeMembers(w http.ResponseWriter, r *http.Request, ids []string) {
	if o := s.lookupOrg(w, r); o != nil {
		o.members = removeAll(o.members, ids)
		for _, id := range ids {
			delete(o.memberRoles, id)
		}
		writeNoContent(w)
	}
}

// memberRoleList is the role list of /organizations/{id}/members/{user}/roles. It
// accepts a user who is not (yet) a member, as the recording of
// TestOrganizationManager_Members shows; the roles apply once the user joins.
func (s *Sim) memberRoleList(w http.ResponseWriter, r *http.Request) (map[string][]string, string, bool) {
	o := s.lookupOrg(w, r)
	if o == nil {
		return nil, "", false
	}
	return o.memberRoles, r.PathValue("user"), true
}
