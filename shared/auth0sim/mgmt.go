package auth0sim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

const (
	msgUserNotFound  = "The user does not exist."
	msgRoleNotFound  = "The role does not exist."
	msgOrgNotFound   = "No organization found by that id."
	msgInvNotFound   = "The invitation does not exist."
	defaultTicketTTL = 432000  // 5 days, Auth0's default for password-change tickets
	defaultInviteTTL = 604800  // 7 days
	maxInviteTTL     = 2592000 // 30 days
)

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

// userJSON renders a user as the Management API does; optional fields appear only
// when set, as in the recordings.
func (s *Sim) userJSON(u *user) map[string]any {
	_, identity, _ := strings.Cut(u.id, "|")
	m := map[string]any{
		"created_at":     timestamp(u.createdAt),
		"email":          u.email,
		"email_verified": u.emailVerified,
		"identities": []any{map[string]any{
			"connection": u.connection,
			"user_id":    identity,
			"provider":   "auth0",
			"isSocial":   false,
		}},
		"name":       u.name,
		"nickname":   u.nickname,
		"picture":    u.picture,
		"updated_at": timestamp(u.updatedAt),
		"user_id":    u.id,
	}
	if u.blocked != nil {
		m["blocked"] = *u.blocked
	}
	for k, v := range map[string]string{"given_name": u.givenName, "family_name": u.familyName, "username": u.username} {
		if v != "" {
			m[k] = v
		}
	}
	if u.userMeta != nil {
		m["user_metadata"] = cloneMap(u.userMeta)
	}
	if u.appMeta != nil {
		m["app_metadata"] = cloneMap(u.appMeta)
	}
	if !u.lastPasswordReset.IsZero() {
		m["last_password_reset"] = timestamp(u.lastPasswordReset)
	}
	if u.loginsCount > 0 {
		m["logins_count"] = u.loginsCount
		m["last_login"] = timestamp(u.lastLogin)
		if u.lastIP != "" {
			m["last_ip"] = u.lastIP
		}
	}
	return m
}

// passwordStrongEnough applies the "good" password policy of new database
// connections: at least 8 characters of at least three kinds among lower case, upper
// case, digits and others.
func passwordStrongEnough(pw string) bool {
	if len([]rune(pw)) < 8 {
		return false
	}
	var lower, upper, digit, other bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	kinds := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			kinds++
		}
	}
	return kinds >= 3
}

const msgWeakPassword = "PasswordStrengthError: Password is too weak"

var userCreateProps = []string{"blocked", "email_verified", "email", "phone_number", "phone_verified",
	"user_metadata", "app_metadata", "given_name", "family_name", "name", "nickname", "picture",
	"user_id", "connection", "password", "verify_email", "username"}

var userPatchProps = []string{"blocked", "email_verified", "email", "phone_number", "phone_verified",
	"user_metadata", "app_metadata", "given_name", "family_name", "name", "nickname", "picture",
	"verify_email", "verify_phone_number", "password", "connection", "client_id", "username"}

func (s *Sim) createUser(w http.ResponseWriter, r *http.Request) {
	p, ok := decodePayload(w, r, userCreateProps...)
	if !ok {
		return
	}
	p.require("connection")
	conn := p.str("connection")
	email, password := p.str("email"), p.str("password")
	appMeta, userMeta := p.object("app_metadata"), p.object("user_metadata")
	blocked, hasBlocked := p.boolean("blocked"), p.has("blocked")
	verified := p.boolean("email_verified")
	name, nickname, picture := p.str("name"), p.str("nickname"), p.str("picture")
	given, family, username, userID := p.str("given_name"), p.str("family_name"), p.str("username"), p.str("user_id")
	p.boolean("verify_email")
	if !p.check(w) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.connByName(conn)
	if c == nil {
		writeError(w, http.StatusBadRequest, "The connection does not exist.", "inexistent_connection")
		return
	}
	p.require("email", "password")
	if !p.check(w) {
		return
	}
	if !passwordStrongEnough(password) {
		writeError(w, http.StatusBadRequest, msgWeakPassword, "")
		return
	}
	if s.st.userByEmail(conn, email) != nil {
		writeError(w, http.StatusConflict, "The user already exists.", "auth0_idp_error")
		return
	}
	now := s.now()
	id := "auth0|" + s.randHex(24)
	if userID != "" {
		id = "auth0|" + userID
	}
	u := &user{
		id: id, email: email, connection: conn, password: password, emailVerified: verified,
		name: email, picture: gravatar(email), givenName: given, familyName: family, username: username,
		appMeta: cloneMap(appMeta), userMeta: cloneMap(userMeta), createdAt: now, updatedAt: now,
	}
	u.nickname, _, _ = strings.Cut(email, "@")
	if username != "" {
		u.nickname = username
	}
	if name != "" {
		u.name = name
	}
	if nickname != "" {
		u.nickname = nickname
	}
	if picture != "" {
		u.picture = picture
	}
	if hasBlocked {
		u.blocked = &blocked
	}
	s.st.users = append(s.st.users, u)
	writeJSON(w, http.StatusCreated, s.userJSON(u))
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.user(r.PathValue("id"))
	if u == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound, "inexistent_user")
		return
	}
	writeJSON(w, http.StatusOK, s.userJSON(u))
}

// mergeMetadata applies a PATCH to app_metadata or user_metadata as Auth0 does: top-level
// properties merge, a null property is removed, nested objects are replaced whole, and
// an empty object (or null) clears the metadata.
func mergeMetadata(cur, patch map[string]any, isNull bool) map[string]any {
	if isNull || len(patch) == 0 {
		return nil
	}
	out := cloneMap(cur)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = cloneValue(v)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (s *Sim) patchUser(w http.ResponseWriter, r *http.Request) {
	p, ok := decodePayload(w, r, userPatchProps...)
	if !ok {
		return
	}
	appMeta, userMeta := p.object("app_metadata"), p.object("user_metadata")
	email, password, conn := p.str("email"), p.str("password"), p.str("connection")
	verified, blocked := p.boolean("email_verified"), p.boolean("blocked")
	strs := map[string]string{}
	for _, k := range []string{"name", "nickname", "picture", "given_name", "family_name", "username"} {
		strs[k] = p.str(k)
	}
	if !p.check(w) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.user(r.PathValue("id"))
	if u == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound, "inexistent_user")
		return
	}
	if conn != "" && conn != u.connection {
		writeError(w, http.StatusBadRequest, "The connection does not exist.", "inexistent_connection")
		return
	}
	if p.has("password") && !passwordStrongEnough(password) {
		writeError(w, http.StatusBadRequest, msgWeakPassword, "")
		return
	}
	if p.has("email") && !strings.EqualFold(email, u.email) && s.st.userByEmail(u.connection, email) != nil {
		writeError(w, http.StatusConflict, "The specified new email already exists", "email_conflict")
		return
	}
	now := s.now()
	if p.has("app_metadata") {
		u.appMeta = mergeMetadata(u.appMeta, appMeta, p.m["app_metadata"] == nil)
	}
	if p.has("user_metadata") {
		u.userMeta = mergeMetadata(u.userMeta, userMeta, p.m["user_metadata"] == nil)
	}
	if p.has("email") {
		u.email = email
	}
	if p.has("email_verified") {
		u.emailVerified = verified
	}
	if p.has("blocked") {
		u.blocked = &blocked
	}
	if p.has("password") {
		u.password = password
		u.lastPasswordReset = now
	}
	set := map[string]*string{"name": &u.name, "nickname": &u.nickname, "picture": &u.picture,
		"given_name": &u.givenName, "family_name": &u.familyName, "username": &u.username}
	for k, dst := range set {
		if p.has(k) {
			*dst = strs[k]
		}
	}
	u.updatedAt = now
	writeJSON(w, http.StatusOK, s.userJSON(u))
}

// deleteUser answers 204 even for an unknown user, as the recordings show.
func (s *Sim) deleteUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.deleteUser(r.PathValue("id"))
	writeNoContent(w)
}

func (s *Sim) usersByEmail(w http.ResponseWriter, r *http.Request) {
	email := r.URL.Query().Get("email")
	if email == "" {
		writeError(w, http.StatusBadRequest, "Query validation error: 'Missing required property: email'.", "invalid_query_string")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, u := range s.st.users {
		if strings.EqualFold(u.email, email) {
			out = append(out, s.userJSON(u))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

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

func (s *Sim) getUserRoles(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.st.user(id) == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound, "inexistent_user")
		return
	}
	writeJSON(w, http.StatusOK, pageOf(readPaging(r), "roles", s.rolesJSON(s.st.userRoles[id])))
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

func addUnique(list []string, ids ...string) []string {
	for _, id := range ids {
		if !slices.Contains(list, id) {
			list = append(list, id)
		}
	}
	return list
}

func (s *Sim) assignUserRoles(w http.ResponseWriter, r *http.Request) {
	ids, ok := decodeRoleIDs(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.st.user(id) == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound, "inexistent_user")
		return
	}
	if s.unknownRole(ids) != "" {
		writeError(w, http.StatusNotFound, msgRoleNotFound, "inexistent_role")
		return
	}
	s.st.userRoles[id] = addUnique(s.st.userRoles[id], ids...)
	writeNoContent(w)
}

func (s *Sim) removeUserRoles(w http.ResponseWriter, r *http.Request) {
	ids, ok := decodeRoleIDs(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.st.user(id) == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound, "inexistent_user")
		return
	}
	s.st.userRoles[id] = slices.DeleteFunc(s.st.userRoles[id], func(x string) bool { return slices.Contains(ids, x) })
	writeNoContent(w)
}

func (s *Sim) getUserBlocks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.user(r.PathValue("id")) == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound, "inexistent_user")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"blocked_for": []any{}})
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

func (s *Sim) userSummary(id string) map[string]any {
	m := map[string]any{"user_id": id}
	if u := s.st.user(id); u != nil {
		m["email"], m["picture"], m["name"] = u.email, u.picture, u.name
	}
	return m
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
	c := s.st.conn(r.PathValue("id"))
	if c == nil {
		writeError(w, http.StatusNotFound, "The connection does not exist", "inexistent_connection")
		return
	}
	writeJSON(w, http.StatusOK, connectionJSON(c))
}

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
	if s.st.user(userID) == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound, "inexistent_user")
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

func orgJSON(o *org) map[string]any {
	m := map[string]any{"id": o.ID, "name": o.Name, "display_name": o.DisplayName}
	if o.branding != nil {
		m["branding"] = cloneMap(o.branding)
	}
	if o.metadata != nil {
		m["metadata"] = cloneMap(o.metadata)
	}
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
	o := s.st.org(r.PathValue("id"))
	if o == nil {
		writeError(w, http.StatusNotFound, msgOrgNotFound, "")
	}
	return o
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
	o := s.st.orgByName(r.PathValue("name"))
	if o == nil {
		writeError(w, http.StatusNotFound, "No organization found by that name.", "")
		return
	}
	writeJSON(w, http.StatusOK, orgJSON(o))
}

func invitationJSON(inv *OrgInvitation) map[string]any {
	m := map[string]any{
		"id":              inv.ID,
		"client_id":       inv.ClientID,
		"inviter":         map[string]any{"name": inv.InviterName},
		"invitee":         map[string]any{"email": inv.Email},
		"invitation_url":  inv.URL,
		"ticket_id":       inv.TicketID,
		"created_at":      timestamp(inv.CreatedAt),
		"expires_at":      timestamp(inv.ExpiresAt),
		"organization_id": inv.OrganizationID,
	}
	if inv.ConnectionID != "" {
		m["connection_id"] = inv.ConnectionID
	}
	if len(inv.Roles) > 0 {
		m["roles"] = append([]string(nil), inv.Roles...)
	}
	if inv.AppMetadata != nil {
		m["app_metadata"] = cloneMap(inv.AppMetadata)
	}
	if inv.UserMetadata != nil {
		m["user_metadata"] = cloneMap(inv.UserMetadata)
	}
	return m
}

func (s *Sim) createInvitation(w http.ResponseWriter, r *http.Request) {
	p, ok := decodePayload(w, r, "inviter", "invitee", "client_id", "connection_id", "app_metadata",
		"user_metadata", "ttl_sec", "roles", "send_invitation_email")
	if !ok {
		return
	}
	p.require("inviter", "invitee", "client_id")
	inviter, invitee := p.object("inviter"), p.object("invitee")
	clientID, connID := p.str("client_id"), p.str("connection_id")
	ttl := p.integer("ttl_sec")
	roles := p.strings("roles")
	appMeta, userMeta := p.object("app_metadata"), p.object("user_metadata")
	p.boolean("send_invitation_email")
	inviterName, _ := inviter["name"].(string)
	email, _ := invitee["email"].(string)
	switch {
	case p.err != "":
	case inviterName == "":
		p.fail("Payload validation error: 'Missing required property: name' on property inviter.")
	case len([]rune(inviterName)) > 300:
		p.fail("Payload validation error: 'String is too long (%d chars), maximum 300' on property inviter.name.", len([]rune(inviterName)))
	case email == "":
		p.fail("Payload validation error: 'Missing required property: email' on property invitee.")
	case !strings.Contains(email, "@"):
		p.fail("Payload validation error: 'Object didn't pass validation for format email: %s' on property invitee.email.", email)
	case ttl < 0:
		p.fail("Payload validation error: 'Number is less than the minimum value of 0' on property ttl_sec.")
	case ttl > maxInviteTTL:
		p.fail("Payload validation error: 'Number is greater than the maximum value of %d' on property ttl_sec.", maxInviteTTL)
	case len(roles) > 50:
		p.fail("Payload validation error: 'Array is too long (%d), maximum 50' on property roles.", len(roles))
	}
	if !p.check(w) {
		return
	}
	if ttl == 0 {
		ttl = defaultInviteTTL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.lookupOrg(w, r)
	if o == nil {
		return
	}
	if connID != "" && s.st.conn(connID) == nil {
		writeError(w, http.StatusBadRequest, "The specified connection does not exist.", "invalid_body")
		return
	}
	var missing []string
	for _, id := range roles {
		if s.st.role(id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		writeError(w, http.StatusBadRequest, "One or more of the specified roles do not exist: "+strings.Join(missing, ", "), "invalid_body")
		return
	}
	now := s.now()
	ticketID := s.randAlnum(32)
	inv := &OrgInvitation{
		ID: "uinv_" + s.randAlnum(16), OrganizationID: o.ID, Email: email, InviterName: inviterName,
		ClientID: clientID, ConnectionID: connID, TicketID: ticketID, Roles: roles,
		AppMetadata: cloneMap(appMeta), UserMetadata: cloneMap(userMeta),
		CreatedAt: now, ExpiresAt: now.Add(time.Duration(ttl) * time.Second),
		URL: s.base(r) + "/login?invitation=" + ticketID + "&organization=" + url.QueryEscape(o.ID) +
			"&organization_name=" + url.QueryEscape(o.Name),
	}
	o.invitations = append(o.invitations, inv)
	writeJSON(w, http.StatusCreated, invitationJSON(inv))
}

// listInvitations wraps a page as the recording shows: with include_totals, start and
// limit (the page's length) but no total.
func (s *Sim) listInvitations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.lookupOrg(w, r)
	if o == nil {
		return
	}
	all := []any{}
	for _, inv := range o.liveInvitations(s.now()) {
		all = append(all, invitationJSON(inv))
	}
	pg := readPaging(r)
	start := min(pg.page*pg.perPage, len(all))
	page := all[start:min(start+pg.perPage, len(all))]
	if !pg.totals {
		writeJSON(w, http.StatusOK, page)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"invitations": page, "start": start, "limit": len(page)})
}

func (s *Sim) findInvitation(w http.ResponseWriter, r *http.Request) (*org, *OrgInvitation) {
	o := s.lookupOrg(w, r)
	if o == nil {
		return nil, nil
	}
	for _, inv := range o.liveInvitations(s.now()) {
		if inv.ID == r.PathValue("inv") {
			return o, inv
		}
	}
	writeError(w, http.StatusNotFound, msgInvNotFound, "inexistent_invitation")
	return nil, nil
}

func (s *Sim) getInvitation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, inv := s.findInvitation(w, r); inv != nil {
		writeJSON(w, http.StatusOK, invitationJSON(inv))
	}
}

func (s *Sim) deleteInvitation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, inv := s.findInvitation(w, r)
	if inv == nil {
		return
	}
	o.invitations = slices.DeleteFunc(o.invitations, func(x *OrgInvitation) bool { return x == inv })
	writeNoContent(w)
}

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
