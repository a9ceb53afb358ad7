package auth0sim

import (
	"net/http"
	"slices"
	"time"
)

// registerRoutes maps the token endpoint, the Management API subset and the pages to
// their handlers. The Management API handlers live one file per resource (users.go,
// roles.go, connections.go, tickets.go, organizations.go, invitations.go, members.go);
// this file keeps what they share, and paging.go their pagination.
func (s *Sim) registerRoutes() {
	m := s.routes
	m.HandleFunc("POST /oauth/token", s.handleToken)
	m.HandleFunc("OPTIONS /oauth/token", func(w http.ResponseWriter, r *http.Request) { allowOrigin(w, r) })

	m.HandleFunc("POST /api/v2/users", s.createUser)
	m.HandleFunc("GET /api/v2/users/{id}", s.getUser)
	m.HandleFunc("PATCH /api/v2/users/{id}", s.patchUser)
	m.HandleFunc("DELETE /api/v2/users/{id}", s.deleteUser)
	m.HandleFunc("GET /api/v2/users-by-email", s.usersByEmail)
	m.HandleFunc("GET /api/v2/users/{id}/roles", s.getRoles(s.userRoleList))
	m.HandleFunc("POST /api/v2/users/{id}/roles", s.assignRoles(s.userRoleList))
	m.HandleFunc("DELETE /api/v2/users/{id}/roles", s.removeRoles(s.userRoleList))
	m.HandleFunc("GET /api/v2/user-blocks/{id}", s.getUserBlocks)

	m.HandleFunc("GET /api/v2/roles", s.listRoles)
	m.HandleFunc("POST /api/v2/roles", s.createRole)
	m.HandleFunc("GET /api/v2/roles/{id}", s.getRole)
	m.HandleFunc("DELETE /api/v2/roles/{id}", s.deleteRole)
	m.HandleFunc("GET /api/v2/roles/{id}/users", s.getRoleUsers)
	m.HandleFunc("POST /api/v2/roles/{id}/users", s.assignRoleUsers)

	m.HandleFunc("GET /api/v2/connections", s.listConnections)
	m.HandleFunc("GET /api/v2/connections/{id}", s.getConnection)

	m.HandleFunc("POST /api/v2/tickets/password-change", s.createPasswordTicket)

	m.HandleFunc("POST /api/v2/organizations", s.createOrg)
	m.HandleFunc("GET /api/v2/organizations/{id}", s.getOrg)
	m.HandleFunc("DELETE /api/v2/organizations/{id}", s.deleteOrg)
	m.HandleFunc("GET /api/v2/organizations/{id}/invitations", s.listInvitations)
	m.HandleFunc("POST /api/v2/organizations/{id}/invitations", s.createInvitation)
	m.HandleFunc("GET /api/v2/organizations/{id}/invitations/{inv}", s.getInvitation)
	m.HandleFunc("DELETE /api/v2/organizations/{id}/invitations/{inv}", s.deleteInvitation)
	m.HandleFunc("GET /api/v2/organizations/{id}/members", s.listMembers)
	m.HandleFunc("POST /api/v2/organizations/{id}/members", s.withIDs("members", s.addMembers))
	m.HandleFunc("DELETE /api/v2/organizations/{id}/members", s.withIDs("members", s.removeMembers))
	m.HandleFunc("GET /api/v2/organizations/{id}/members/{user}/roles", s.getRoles(s.memberRoleList))
	m.HandleFunc("POST /api/v2/organizations/{id}/members/{user}/roles", s.assignRoles(s.memberRoleList))
	m.HandleFunc("DELETE /api/v2/organizations/{id}/members/{user}/roles", s.removeRoles(s.memberRoleList))

	p := s.pages
	p.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	p.HandleFunc("GET /.well-known/openid-configuration", s.handleOpenIDConfig)
	p.HandleFunc("GET /u/reset-password", s.resetPasswordPage)
	p.HandleFunc("POST /u/reset-password", s.resetPasswordSubmit)
	p.HandleFunc("GET /lo/reset", s.resetPasswordPage)
	p.HandleFunc("POST /lo/reset", s.resetPasswordSubmit)
	p.HandleFunc("GET /login", s.loginPage)
	p.HandleFunc("GET /authorize", s.authorizePage)
	p.HandleFunc("POST /login", s.loginSubmit)
	p.HandleFunc("GET /v2/logout", s.logout)
}

// timestamp formats times as Auth0 does (UTC, milliseconds).
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// found answers 404 with Auth0's message and error code when v is nil, and returns v.
func found[T any](w http.ResponseWriter, v *T, message, errorCode string) *T {
	if v == nil {
		writeError(w, http.StatusNotFound, message, errorCode)
	}
	return v
}

// putObjects adds copies of the objects that are set to a rendered resource; Auth0
// leaves unset ones out.
func putObjects(m map[string]any, objects map[string]map[string]any) {
	for k, v := range objects {
		if v != nil {
			m[k] = cloneMap(v)
		}
	}
}

// withIDs serves a route that edits a list by the ids of its body ({key: [...]}, at
// least one): it decodes them, then runs edit holding s.mu; edit answers.
func (s *Sim) withIDs(key string, edit func(w http.ResponseWriter, r *http.Request, ids []string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ids, ok := decodeIDs(w, r, key)
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		edit(w, r, ids)
	}
}

// decodeIDs reads {key: [...]} with at least one id, answering 400 otherwise.
func decodeIDs(w http.ResponseWriter, r *http.Request, key string) ([]string, bool) {
	p, ok := decodePayload(w, r, key)
	if !ok {
		return nil, false
	}
	p.require(key)
	ids := p.strings(key)
	if p.err == "" && len(ids) == 0 {
		p.fail("Payload validation error: 'Array is too short (0), minimum 1' on property %s.", key)
	}
	return ids, p.check(w)
}

func addUnique(list []string, ids ...string) []string {
	for _, id := range ids {
		if !slices.Contains(list, id) {
			list = append(list, id)
		}
	}
	return list
}

func removeAll(list, ids []string) []string {
	return slices.DeleteFunc(list, func(x string) bool { return slices.Contains(ids, x) })
}
