package auth0sim

import (
	"net/http"
	"strings"
	"unicode"
)

const msgUserNotFound = "The user does not exist."

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
	putObjects(m, map[string]map[string]any{"user_metadata": u.userMeta, "app_metadata": u.appMeta})
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

// lookupUser finds a user or answers 404. Callers hold s.mu.
func (s *Sim) lookupUser(w http.ResponseWriter, id string) *user {
	return found(w, s.st.user(id), msgUserNotFound, "inexistent_user")
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.lookupUser(w, r.PathValue("id")); u != nil {
		writeJSON(w, http.StatusOK, s.userJSON(u))
	}
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
	u := s.lookupUser(w, r.PathValue("id"))
	if u == nil {
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

// userRoleList is the role list of /users/{id}/roles: the user's tenant-wide roles.
func (s *Sim) userRoleList(w http.ResponseWriter, r *http.Request) (map[string][]string, string, bool) {
	id := r.PathValue("id")
	if s.lookupUser(w, id) == nil {
		return nil, "", false
	}
	return s.st.userRoles, id, true
}

func (s *Sim) getUserBlocks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lookupUser(w, r.PathValue("id")) != nil {
		writeJSON(w, http.StatusOK, map[string]any{"blocked_for": []any{}})
	}
}

func (s *Sim) userSummary(id string) map[string]any {
	m := map[string]any{"user_id": id}
	if u := s.st.user(id); u != nil {
		m["email"], m["picture"], m["name"] = u.email, u.picture, u.name
	}
	return m
}
