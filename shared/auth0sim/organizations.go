package auth0sim

import (
	"net/http"
	"slices"
)

const msgOrgNotFound = "No organization found by that id."

func orgJSON(o *org) map[string]any {
	m := map[string]any{"id": o.ID, "name": o.Name, "display_name": o.DisplayName}
	putObjects(m, map[string]map[string]any{"branding": o.branding, "metadata": o.metadata})
	return m
}

func (s *Sim) createOrg(w http.ResponseWriter, r *http.Request) {
	p, ok := decodePayload(w, r, "name", "display_name", "branding", "metadata", "enabled_connections")
	if !ok {
		return
	}
	p.require("name")
	name, display := p.str("name"), p.str("display_name")
	branding, metadata := p.object("branding"), p.object("metadata")
	var conns []any
	if v, ok := p.m["enabled_connections"]; ok {
		if conns, ok = v.([]any); !ok {
			p.typeError("enabled_connections", "array", v)
		}
	}
	if !p.check(w) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.orgByName(name) != nil {
		writeError(w, http.StatusConflict, "An organization with the same name already exists.", "")
		return
	}
	o := &org{Organization: Organization{ID: "org_" + s.randAlnum(16), Name: name, DisplayName: display},
		branding: cloneMap(branding), metadata: cloneMap(metadata), memberRoles: map[string][]string{}}
	for _, c := range conns {
		cm, _ := c.(map[string]any)
		id, _ := cm["connection_id"].(string)
		known := s.st.conn(id)
		if known == nil {
			writeError(w, http.StatusBadRequest, "The specified connection does not exist.", "invalid_body")
			return
		}
		ec := cloneMap(cm)
		if _, ok := ec["show_as_button"]; !ok {
			ec["show_as_button"] = true
		}
		ec["connection"] = map[string]any{"name": known.Name, "strategy": known.Strategy}
		o.enabledConns = append(o.enabledConns, ec)
	}
	s.st.orgs = append(s.st.orgs, o)
	body := orgJSON(o)
	if len(o.enabledConns) > 0 {
		list := make([]any, 0, len(o.enabledConns))
		for _, ec := range o.enabledConns {
			list = append(list, cloneMap(ec))
		}
		body["enabled_connections"] = list
	}
	writeJSON(w, http.StatusCreated, body)
}

// lookupOrg finds the path's organization or answers 404. Callers hold s.mu.
func (s *Sim) lookupOrg(w http.ResponseWriter, r *http.Request) *org {
	return found(w, s.st.org(r.PathValue("id")), msgOrgNotFound, "")
}

func (s *Sim) getOrg(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.lookupOrg(w, r); o != nil {
		writeJSON(w, http.StatusOK, orgJSON(o))
	}
}

func (s *Sim) deleteOrg(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	s.st.orgs = slices.DeleteFunc(s.st.orgs, func(o *org) bool { return o.ID == id })
	writeNoContent(w)
}

func (s *Sim) getOrgByName(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := found(w, s.st.orgByName(r.PathValue("name")), "No organization found by that name.", ""); o != nil {
		writeJSON(w, http.StatusOK, orgJSON(o))
	}
}
