package auth0sim

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// registerRoutes maps the token endpoint, the Management API subset and the pages to
// their handlers. The Management API handlers live one file per resource (users.go,
// roles.go, connections.go, tickets.go, organizations.go, invitations.go, members.go);
// this file keeps what they share.
func (s *Sim) registerRoutes() {
	m := s.routes
	m.HandleFunc("POST /oauth/token", s.handleToken)

	m.HandleFunc("POST /api/v2/users", s.createUser)
	m.HandleFunc("GET /api/v2/users/{id}", s.getUser)
	m.HandleFunc("PATCH /api/v2/users/{id}", s.patchUser)
	m.HandleFunc("DELETE /api/v2/users/{id}", s.deleteUser)
	m.HandleFunc("GET /api/v2/users-by-email", s.usersByEmail)
	m.HandleFunc("GET /api/v2/users/{id}/roles", s.getUserRoles)
	m.HandleFunc("POST /api/v2/users/{id}/roles", s.assignUserRoles)
	m.HandleFunc("DELETE /api/v2/users/{id}/roles", s.removeUserRoles)
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
	m.HandleFunc("POST /api/v2/organizations/{id}/members", s.addMembers)
	m.HandleFunc("DELETE /api/v2/organizations/{id}/members", s.removeMembers)
	m.HandleFunc("GET /api/v2/organizations/{id}/members/{user}/roles", s.getMemberRoles)
	m.HandleFunc("POST /api/v2/organizations/{id}/members/{user}/roles", s.assignMemberRoles)
	m.HandleFunc("DELETE /api/v2/organizations/{id}/members/{user}/roles", s.removeMemberRoles)

	p := s.pages
	p.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	p.HandleFunc("GET /.well-known/openid-configuration", s.handleOpenIDConfig)
	p.HandleFunc("GET /u/reset-password", s.resetPasswordPage)
	p.HandleFunc("POST /u/reset-password", s.resetPasswordSubmit)
	p.HandleFunc("GET /lo/reset", s.resetPasswordPage)
	p.HandleFunc("POST /lo/reset", s.resetPasswordSubmit)
	p.HandleFunc("GET /login", s.loginPage)
	p.HandleFunc("GET /authorize", s.loginPage)
	p.HandleFunc("POST /login", s.loginSubmit)
	p.HandleFunc("GET /v2/logout", s.logout)
}

// timestamp formats times as Auth0 does (UTC, milliseconds).
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func addUnique(list []string, ids ...string) []string {
	for _, id := range ids {
		if !slices.Contains(list, id) {
			list = append(list, id)
		}
	}
	return list
}

// checkpoint reads Auth0's checkpoint pagination (from, take); ok is false when the
// request uses offset pagination instead.
func checkpoint(r *http.Request) (from, take int, ok bool) {
	q := r.URL.Query()
	if !q.Has("take") && !q.Has("from") {
		return 0, 0, false
	}
	take = 50
	if v, err := strconv.Atoi(q.Get("take")); err == nil && v > 0 {
		take = min(v, 100)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(q.Get("from")); err == nil {
		if v, err := strconv.Atoi(string(raw)); err == nil && v >= 0 {
			from = v
		}
	}
	return from, take, true
}

func cursor(i int) string { return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i))) }
