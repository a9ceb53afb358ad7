package auth0sim

import (
	"crypto/md5" //nolint:gosec // Gravatar addresses avatars by the MD5 of the email.
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Role is an Auth0 role.
type Role struct {
	ID, Name, Description string
}

// Organization is an Auth0 organization.
type Organization struct {
	ID, Name, DisplayName string
}

// Connection is an Auth0 connection. The Sim starts with the database connection
// named by Options.Connection.
type Connection struct {
	ID, Name, Strategy string
}

// User is a snapshot of an Auth0 user. Password is read only by AddUser (the password
// the login page accepts) and never returned.
type User struct {
	ID            string
	Email         string
	Connection    string
	EmailVerified bool
	Blocked       bool
	LoginsCount   int
	LastLogin     time.Time
	Name          string
	AppMetadata   map[string]any
	UserMetadata  map[string]any
	Roles         []string
	Password      string
}

// OrgInvitation is a snapshot of an organization invitation.
type OrgInvitation struct {
	ID             string
	OrganizationID string
	Email          string
	InviterName    string
	ClientID       string
	ConnectionID   string
	TicketID       string
	URL            string
	Roles          []string
	AppMetadata    map[string]any
	UserMetadata   map[string]any
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// Member is an organization member with its organization roles.
type Member struct {
	UserID string
	Email  string
	Roles  []string
}

type user struct {
	id, email, connection, password string
	emailVerified                   bool
	blocked                         *bool
	name, nickname, picture         string
	givenName, familyName, username string
	appMeta, userMeta               map[string]any
	createdAt, updatedAt            time.Time
	lastLogin, lastPasswordReset    time.Time
	loginsCount                     int
	lastIP                          string
}

type org struct {
	Organization
	branding, metadata map[string]any
	enabledConns       []map[string]any
	members            []string
	memberRoles        map[string][]string
	invitations        []*OrgInvitation
}

type ticket struct {
	id, userID, resultURL, clientID string
	markVerified, includeEmail      bool
	expiresAt                       time.Time
	used                            bool
}

// state is the tenant's data. Slices keep creation order, which lists follow.
type state struct {
	users     []*user
	roles     []*Role
	orgs      []*org
	conns     []*Connection
	userRoles map[string][]string
	tickets   map[string]*ticket
	sessions  map[string]string // session cookie → user id
	logs      []LogEvent
	// authorize.go: /authorize requests awaiting a login, and the codes they ended in.
	authz map[string]*authzRequest
	codes map[string]*authCode
}

func newState() state {
	return state{userRoles: map[string][]string{}, tickets: map[string]*ticket{}, sessions: map[string]string{},
		authz: map[string]*authzRequest{}, codes: map[string]*authCode{}}
}

func (st *state) addConnection(c Connection) *Connection {
	cc := c
	st.conns = append(st.conns, &cc)
	return &cc
}

// first returns the first element that matches, or nil.
func first[T any](list []*T, match func(*T) bool) *T {
	if i := slices.IndexFunc(list, match); i >= 0 {
		return list[i]
	}
	return nil
}

func (st *state) user(id string) *user {
	return first(st.users, func(u *user) bool { return u.id == id })
}

func (st *state) userByEmail(connection, email string) *user {
	return first(st.users, func(u *user) bool { return u.connection == connection && strings.EqualFold(u.email, email) })
}

func (st *state) deleteUser(id string) {
	st.users = slices.DeleteFunc(st.users, func(u *user) bool { return u.id == id })
	delete(st.userRoles, id)
	for _, o := range st.orgs {
		o.members = slices.DeleteFunc(o.members, func(m string) bool { return m == id })
		delete(o.memberRoles, id)
	}
	for k, v := range st.sessions {
		if v == id {
			delete(st.sessions, k)
		}
	}
}

func (st *state) role(id string) *Role {
	return first(st.roles, func(r *Role) bool { return r.ID == id })
}

func (st *state) org(id string) *org {
	return first(st.orgs, func(o *org) bool { return o.ID == id })
}

func (st *state) orgByName(name string) *org {
	return first(st.orgs, func(o *org) bool { return o.Name == name })
}

func (st *state) connByName(name string) *Connection {
	return first(st.conns, func(c *Connection) bool { return c.Name == name })
}

func (st *state) conn(id string) *Connection {
	return first(st.conns, func(c *Connection) bool { return c.ID == id })
}

// liveInvitations drops expired invitations, as Auth0 removes them at expiry.
func (o *org) liveInvitations(now time.Time) []*OrgInvitation {
	o.invitations = slices.DeleteFunc(o.invitations, func(inv *OrgInvitation) bool { return !now.Before(inv.ExpiresAt) })
	return o.invitations
}

func (o *org) isMember(userID string) bool { return slices.Contains(o.members, userID) }

func gravatar(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email)))) //nolint:gosec
	initials := strings.ToLower(email)
	if len(initials) > 2 {
		initials = initials[:2]
	}
	return "https://s.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) +
		"?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F" + initials + ".png"
}

// AddConnection seeds a connection ("auth0" strategy when empty) and returns it.
func (s *Sim) AddConnection(name, strategy string) Connection {
	if strategy == "" {
		strategy = "auth0"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.st.addConnection(Connection{ID: "con_" + s.randAlnum(16), Name: name, Strategy: strategy})
}

// ConnectionByName returns the named connection.
func (s *Sim) ConnectionByName(name string) (Connection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.connByName(name)
	if c == nil {
		return Connection{}, false
	}
	return *c, true
}

// CreateRole seeds a role.
func (s *Sim) CreateRole(name, description string) Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Role{ID: "rol_" + s.randAlnum(16), Name: name, Description: description}
	s.st.roles = append(s.st.roles, r)
	return *r
}

// CreateOrganization seeds an organization.
func (s *Sim) CreateOrganization(name, displayName string) Organization {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &org{Organization: Organization{ID: "org_" + s.randAlnum(16), Name: name, DisplayName: displayName}, memberRoles: map[string][]string{}}
	s.st.orgs = append(s.st.orgs, o)
	return o.Organization
}

// AddUser seeds an existing account and returns it as stored. An empty ID gets an
// "auth0|…" id, an empty Connection the default one; Roles are assigned (unknown role
// ids are kept as given, for tests of dangling references).
func (s *Sim) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if u.ID == "" {
		u.ID = "auth0|" + s.randHex(24)
	}
	if u.Connection == "" {
		u.Connection = s.opts.Connection
	}
	nu := &user{
		id: u.ID, email: u.Email, connection: u.Connection, password: u.Password,
		emailVerified: u.EmailVerified, name: u.Name,
		appMeta: cloneMap(u.AppMetadata), userMeta: cloneMap(u.UserMetadata),
		createdAt: now, updatedAt: now, loginsCount: u.LoginsCount, lastLogin: u.LastLogin,
	}
	if u.Blocked {
		b := true
		nu.blocked = &b
	}
	if nu.name == "" {
		nu.name = u.Email
	}
	nu.nickname, _, _ = strings.Cut(u.Email, "@")
	nu.picture = gravatar(u.Email)
	s.st.users = append(s.st.users, nu)
	if len(u.Roles) > 0 {
		s.st.userRoles[u.ID] = append([]string(nil), u.Roles...)
	}
	return s.snapshot(nu)
}

// User returns a snapshot of a user.
func (s *Sim) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.user(id)
	if u == nil {
		return User{}, false
	}
	return s.snapshot(u), true
}

// UserByEmail returns a snapshot of the default connection's user with that email.
func (s *Sim) UserByEmail(email string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.userByEmail(s.opts.Connection, email)
	if u == nil {
		return User{}, false
	}
	return s.snapshot(u), true
}

// UserRoles returns the ids of the user's (tenant-wide) roles.
func (s *Sim) UserRoles(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.st.userRoles[id]...)
}

// OrgInvitations returns the organization's live (unexpired) invitations.
func (s *Sim) OrgInvitations(orgID string) []OrgInvitation {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.st.org(orgID)
	if o == nil {
		return nil
	}
	var out []OrgInvitation
	for _, inv := range o.liveInvitations(s.now()) {
		out = append(out, cloneInvitation(inv))
	}
	return out
}

// OrgMembers returns the organization's members with their organization roles.
func (s *Sim) OrgMembers(orgID string) []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.st.org(orgID)
	if o == nil {
		return nil
	}
	var out []Member
	for _, id := range o.members {
		m := Member{UserID: id, Roles: append([]string(nil), o.memberRoles[id]...)}
		if u := s.st.user(id); u != nil {
			m.Email = u.email
		}
		out = append(out, m)
	}
	return out
}

// snapshot copies a user out. Callers hold s.mu.
func (s *Sim) snapshot(u *user) User {
	return User{
		ID: u.id, Email: u.email, Connection: u.connection, EmailVerified: u.emailVerified,
		Blocked: u.blocked != nil && *u.blocked, LoginsCount: u.loginsCount, LastLogin: u.lastLogin,
		Name: u.name, AppMetadata: cloneMap(u.appMeta), UserMetadata: cloneMap(u.userMeta),
		Roles: append([]string(nil), s.st.userRoles[u.id]...),
	}
}

func cloneInvitation(inv *OrgInvitation) OrgInvitation {
	c := *inv
	c.Roles = append([]string(nil), inv.Roles...)
	c.AppMetadata = cloneMap(inv.AppMetadata)
	c.UserMetadata = cloneMap(inv.UserMetadata)
	return c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = cloneValue(e)
		}
		return c
	default:
		return v
	}
}
