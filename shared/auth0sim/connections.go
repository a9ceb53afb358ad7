package auth0sim

import "net/http"

func connectionJSON(c *Connection) map[string]any {
	return map[string]any{
		"id": c.ID, "name": c.Name, "strategy": c.Strategy, "display_name": c.Name,
		"is_domain_connection": false, "realms": []any{c.Name}, "enabled_clients": []any{},
		"options": map[string]any{"passwordPolicy": "good", "brute_force_protection": true},
	}
}

func (s *Sim) listConnections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, c := range s.st.conns {
		if (q.Get("name") == "" || q.Get("name") == c.Name) && (q.Get("strategy") == "" || q.Get("strategy") == c.Strategy) {
			out = append(out, connectionJSON(c))
		}
	}
	writeJSON(w, http.StatusOK, pageOf(readPaging(r), "connections", out))
}

func (s *Sim) getConnection(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := found(w, s.st.conn(r.PathValue("id")), "The connection does not exist", "inexistent_connection"); c != nil {
		writeJSON(w, http.StatusOK, connectionJSON(c))
	}
}
