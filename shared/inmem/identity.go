package inmem

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Op names an Identity operation, for injected failures and call counts.
type Op string

// The operations of invite.Identity.
const (
	OpFindUserByEmail     Op = "FindUserByEmail"
	OpGetUser             Op = "GetUser"
	OpCreateUser          Op = "CreateUser"
	OpAssignRoles         Op = "AssignRoles"
	OpClearInvitationFlag Op = "ClearInvitationFlag"
	OpDeleteUser          Op = "DeleteUserIfNeverLoggedIn"
	OpPasswordTicket      Op = "PasswordChangeTicket"
	OpCreateOrgInvitation Op = "CreateOrgInvitation"
	OpGetOrgInvitation    Op = "GetOrgInvitation"
	OpFindOrgInvitations  Op = "FindOrgInvitations"
	OpDeleteOrgInvitation Op = "DeleteOrgInvitation"
	OpOrgMember           Op = "OrgMember"
	OpOrganization        Op = "Organization"
	OpBlockUser           Op = "BlockUser"
	OpAdoptUser           Op = "AdoptUser"
	OpRoles               Op = "Roles"
	OpUserRoles           Op = "UserRoles"
)

// Auth0's limits for organization invitations.
const (
	orgInvitationDefaultTTL = 7 * 24 * time.Hour
	orgInvitationMaxTTL     = 30 * 24 * time.Hour
	maxOrgRoles             = 50
)

// UserState is everything the fake Identity knows of a user.
type UserState struct {
	invite.User
	Name         string
	Connection   string
	Blocked      bool
	Roles        []string
	UserMetadata map[string]any
}

// Identity is an in-memory invite.Identity with Auth0's semantics: emails are matched
// case-insensitively, a second user with the same email is a conflict, unknown roles
// are refused (and nothing changes), a user's roles are a set, the roles of a user
// that does not exist are not_found, deleted organization invitations are not_found.
type Identity struct {
	mu       sync.Mutex
	now      func() time.Time
	domain   string
	seq      int
	users    map[string]*UserState
	inviters map[string]bool // users added by AddInviter
	roles    map[string]invite.Role
	orgs     map[string]*orgState
	tickets  []invite.TicketRequest
	calls    map[Op]int
	failures map[Op][]invite.Code
}

type orgState struct {
	org         invite.Organization
	invitations map[string]*invite.OrgInvitation
	inviteRoles map[string][]string
	members     map[string]*invite.Member
}

var _ invite.Identity = (*Identity)(nil)

// NewIdentity returns an empty tenant whose clock is now (time.Now when nil).
func NewIdentity(now func() time.Time) *Identity {
	if now == nil {
		now = time.Now
	}
	return &Identity{
		now:      now,
		domain:   "doorman-test.eu.auth0.com",
		users:    map[string]*UserState{},
		inviters: map[string]bool{},
		roles:    map[string]invite.Role{},
		orgs:     map[string]*orgState{},
		calls:    map[Op]int{},
		failures: map[Op][]invite.Code{},
	}
}

// AddRoles defines role ids that AssignRoles and CreateOrgInvitation accept, each
// named as its id.
func (d *Identity) AddRoles(ids ...string) {
	for _, id := range ids {
		d.AddRole(invite.Role{ID: id, Name: id})
	}
}

// AddRole defines a role with its name and description.
func (d *Identity) AddRole(r invite.Role) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.roles[r.ID] = r
}

// AddOrganization defines an organization.
func (d *Identity) AddOrganization(o invite.Organization) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.orgs[o.ID] = &orgState{
		org:         o,
		invitations: map[string]*invite.OrgInvitation{},
		inviteRoles: map[string][]string{},
		members:     map[string]*invite.Member{},
	}
}

// AddUser defines an existing user (one Doorman did not create) and returns its id.
func (d *Identity) AddUser(email string, loginsCount int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := d.nextID("auth0|")
	d.users[id] = &UserState{User: invite.User{ID: id, Email: strings.ToLower(email), EmailVerified: true, LoginsCount: loginsCount, AppMetadata: map[string]any{}}}
	return id
}

// AddInviter defines a user with a given id (an inviter's token subject) holding the
// tenant roles roleIDs, and, for each organization in orgRoles, a membership with
// those roles: the roles an inviter may grant.
func (d *Identity) AddInviter(userID string, roleIDs []string, orgRoles map[string][]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[userID] = &UserState{User: invite.User{ID: userID, EmailVerified: true, LoginsCount: 1, AppMetadata: map[string]any{}},
		Roles: slices.Clone(roleIDs)}
	d.inviters[userID] = true
	for orgID, roles := range orgRoles {
		if o, ok := d.orgs[orgID]; ok {
			o.members[userID] = &invite.Member{UserID: userID, Roles: slices.Clone(roles)}
		}
	}
}

// SetEmailVerified sets the user's email_verified, as Auth0's verification email or
// a ticket marking the address verified does.
func (d *Identity) SetEmailVerified(userID string, verified bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[userID]
	if !ok {
		return notFound("The user does not exist.")
	}
	u.EmailVerified = verified
	return nil
}

// RecordLogin counts a successful login of the user, as Auth0 does.
func (d *Identity) RecordLogin(userID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[userID]
	if !ok {
		return notFound("The user does not exist.")
	}
	u.LoginsCount++
	return nil
}

// AcceptOrgInvitation does what Auth0 does when the invitee accepts: the user becomes
// a member with the invitation's roles and the invitation is gone.
func (d *Identity) AcceptOrgInvitation(orgID, invitationID, userID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.orgs[orgID]
	if !ok {
		return notFound("No organization found by that id.")
	}
	oi, ok := o.invitations[invitationID]
	if !ok {
		return notFound("The invitation does not exist.")
	}
	o.members[userID] = &invite.Member{UserID: userID, Email: oi.Email, Roles: slices.Clone(o.inviteRoles[invitationID])}
	delete(o.invitations, invitationID)
	delete(o.inviteRoles, invitationID)
	return nil
}

// FailNext makes the next n calls of op fail with code (and count as calls).
func (d *Identity) FailNext(op Op, n int, code invite.Code) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for range n {
		d.failures[op] = append(d.failures[op], code)
	}
}

// Calls returns how many times op was called, failed calls included.
func (d *Identity) Calls(op Op) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[op]
}

// User returns a copy of the user's state.
func (d *Identity) User(userID string) (UserState, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[userID]
	if !ok {
		return UserState{}, false
	}
	return copyUserState(u), true
}

// UserByEmail returns a copy of the state of the user with that email.
func (d *Identity) UserByEmail(email string) (UserState, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if u := d.findByEmail(email); u != nil {
		return copyUserState(u), true
	}
	return UserState{}, false
}

// UserCount returns how many users the tenant has, the inviters of AddInviter aside.
func (d *Identity) UserCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.users) - len(d.inviters)
}

// OrgInvitations returns copies of an organization's open invitations, by id.
func (d *Identity) OrgInvitations(orgID string) []invite.OrgInvitation {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.orgs[orgID]
	if !ok {
		return nil
	}
	out := make([]invite.OrgInvitation, 0, len(o.invitations))
	for _, oi := range o.invitations {
		out = append(out, *oi)
	}
	slices.SortFunc(out, func(a, b invite.OrgInvitation) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// OrgInvitationRoles returns the roles an open organization invitation grants.
func (d *Identity) OrgInvitationRoles(orgID, invitationID string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o, ok := d.orgs[orgID]; ok {
		return slices.Clone(o.inviteRoles[invitationID])
	}
	return nil
}

// Tickets returns the password-change tickets issued so far.
func (d *Identity) Tickets() []invite.TicketRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.tickets)
}

// begin counts a call of op and returns the injected failure due, if any. The caller
// holds d.mu.
//
// It honours the context's invite.Pause as Auth0's adapter does: a paused call fails
// at once, uncounted, and a rate_limited answer pauses it.
func (d *Identity) begin(ctx context.Context, op Op) error {
	pause := invite.PauseOf(ctx)
	if pause.Paused() {
		return invite.ErrPaused
	}
	d.calls[op]++
	if q := d.failures[op]; len(q) > 0 {
		d.failures[op] = q[1:]
		if q[0] == invite.CodeRateLimited {
			pause.Stop()
		}
		return &invite.Error{Code: q[0], Message: fmt.Sprintf("injected %s failure of %s", q[0], op)}
	}
	return nil
}

func (d *Identity) nextID(prefix string) string {
	d.seq++
	return fmt.Sprintf("%s%024x", prefix, d.seq)
}

func (d *Identity) findByEmail(email string) *UserState {
	email = strings.ToLower(strings.TrimSpace(email))
	for _, u := range d.users {
		if u.Email == email {
			return u
		}
	}
	return nil
}

func notFound(msg string) error { return &invite.Error{Code: invite.CodeNotFound, Message: msg} }

func badRequest(msg string, args ...any) error {
	return &invite.Error{Code: invite.CodeInvalid, Message: fmt.Sprintf(msg, args...)}
}

func copyUserState(u *UserState) UserState {
	c := *u
	c.AppMetadata = deepCopy(u.AppMetadata)
	c.UserMetadata = deepCopy(u.UserMetadata)
	c.Roles = slices.Clone(u.Roles)
	return c
}

func copyUser(u *UserState) *invite.User {
	c := u.User
	c.AppMetadata = deepCopy(u.AppMetadata)
	return &c
}

// deepCopy copies a JSON-shaped map through Invitation.Clone, which knows how.
func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return (&invite.Invitation{AppMetadata: m}).Clone().AppMetadata
}

// FindUserByEmail implements invite.Identity.
func (d *Identity) FindUserByEmail(ctx context.Context, email string) (*invite.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpFindUserByEmail); err != nil {
		return nil, err
	}
	u := d.findByEmail(email)
	if u == nil {
		return nil, notFound("No user with that email.")
	}
	return copyUser(u), nil
}

// GetUser implements invite.Identity.
func (d *Identity) GetUser(ctx context.Context, userID string) (*invite.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpGetUser); err != nil {
		return nil, err
	}
	u, ok := d.users[userID]
	if !ok {
		return nil, notFound("The user does not exist.")
	}
	return copyUser(u), nil
}

// CreateUser implements invite.Identity, setting app_metadata as the real adapter does.
func (d *Identity) CreateUser(ctx context.Context, nu invite.NewUser) (*invite.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpCreateUser); err != nil {
		return nil, err
	}
	if nu.Email == "" || !strings.Contains(nu.Email, "@") {
		return nil, badRequest("Payload validation error: 'Object didn't pass validation for format email: %s' on property email.", nu.Email)
	}
	if d.findByEmail(nu.Email) != nil {
		return nil, &invite.Error{Code: invite.CodeConflict, Message: "The user already exists."}
	}
	meta := deepCopy(nu.AppMetadata)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["needsInvitation"] = true
	meta["invitationId"] = nu.InvitationID
	id := d.nextID("auth0|")
	u := &UserState{
		User:         invite.User{ID: id, Email: strings.ToLower(strings.TrimSpace(nu.Email)), AppMetadata: meta},
		Name:         nu.Name,
		Connection:   cmp.Or(nu.Connection, "Username-Password-Authentication"),
		UserMetadata: deepCopy(nu.UserMetadata),
	}
	d.users[id] = u
	return copyUser(u), nil
}

// unknownRoles returns the ids the tenant does not define.
func (d *Identity) unknownRoles(ids []string) []string {
	var unknown []string
	for _, r := range ids {
		if _, ok := d.roles[r]; !ok {
			unknown = append(unknown, r)
		}
	}
	return unknown
}

// AssignRoles implements invite.Identity.
func (d *Identity) AssignRoles(ctx context.Context, userID string, roleIDs []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpAssignRoles); err != nil {
		return err
	}
	u, ok := d.users[userID]
	if !ok {
		return notFound("The user does not exist.")
	}
	if unknown := d.unknownRoles(roleIDs); len(unknown) > 0 {
		return notFound("Role not found: " + strings.Join(unknown, ", "))
	}
	for _, r := range roleIDs {
		if !slices.Contains(u.Roles, r) {
			u.Roles = append(u.Roles, r)
		}
	}
	return nil
}

// ClearInvitationFlag implements invite.Identity.
func (d *Identity) ClearInvitationFlag(ctx context.Context, userID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpClearInvitationFlag); err != nil {
		return err
	}
	u, ok := d.users[userID]
	if !ok {
		return notFound("The user does not exist.")
	}
	delete(u.AppMetadata, "needsInvitation")
	return nil
}

// DeleteUserIfNeverLoggedIn implements invite.Identity: kept when the user has logged
// in or its app_metadata.invitationId names another invitation.
func (d *Identity) DeleteUserIfNeverLoggedIn(ctx context.Context, userID, invitationID string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpDeleteUser); err != nil {
		return false, err
	}
	if userID == "" || invitationID == "" {
		return false, badRequest("A user id and an invitation id are required.")
	}
	u, ok := d.users[userID]
	if !ok {
		return true, nil
	}
	if u.LoginsCount > 0 || u.AppMetadata["invitationId"] != invitationID {
		return false, nil
	}
	delete(d.users, userID)
	return true, nil
}

// AdoptUser implements invite.Identity: an unknown role is not_found and changes
// nothing, as the real adapter assigns the roles before anything else.
func (d *Identity) AdoptUser(ctx context.Context, userID, invitationID string, roleIDs []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpAdoptUser); err != nil {
		return err
	}
	if userID == "" || invitationID == "" {
		return badRequest("A user id and an invitation id are required.")
	}
	u, ok := d.users[userID]
	if !ok {
		return notFound("The user does not exist.")
	}
	if unknown := d.unknownRoles(roleIDs); len(unknown) > 0 {
		return notFound("Role not found: " + strings.Join(unknown, ", "))
	}
	roles := slices.DeleteFunc(slices.Clone(u.Roles), func(r string) bool { return !slices.Contains(roleIDs, r) })
	for _, r := range roleIDs {
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	u.Roles = roles
	if u.AppMetadata == nil {
		u.AppMetadata = map[string]any{}
	}
	u.AppMetadata["needsInvitation"] = true
	u.AppMetadata["invitationId"] = invitationID
	u.Blocked = false
	return nil
}

// Roles implements invite.Identity, by id.
func (d *Identity) Roles(ctx context.Context) ([]invite.Role, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpRoles); err != nil {
		return nil, err
	}
	out := make([]invite.Role, 0, len(d.roles))
	for _, r := range d.roles {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b invite.Role) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// UserRoles implements invite.Identity, in the order they were assigned.
func (d *Identity) UserRoles(ctx context.Context, userID string) ([]invite.Role, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpUserRoles); err != nil {
		return nil, err
	}
	u, ok := d.users[userID]
	if !ok {
		return nil, notFound("The user does not exist.")
	}
	out := make([]invite.Role, 0, len(u.Roles))
	for _, id := range u.Roles {
		out = append(out, d.roles[id])
	}
	return out, nil
}

// PasswordChangeTicket implements invite.Identity. Like Auth0 it refuses result_url
// together with client_id.
func (d *Identity) PasswordChangeTicket(ctx context.Context, req invite.TicketRequest) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpPasswordTicket); err != nil {
		return "", err
	}
	if _, ok := d.users[req.UserID]; !ok {
		return "", notFound("The user does not exist.")
	}
	if req.ResultURL != "" && req.ClientID != "" {
		return "", badRequest("The client_id and result_url parameters are mutually exclusive.")
	}
	d.tickets = append(d.tickets, req)
	return fmt.Sprintf("https://%s/lo/reset?ticket=%s#", d.domain, d.nextID("tkt")), nil
}

// CreateOrgInvitation implements invite.Identity with Auth0's checks and messages.
func (d *Identity) CreateOrgInvitation(ctx context.Context, req invite.OrgInvitationRequest) (*invite.OrgInvitation, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpCreateOrgInvitation); err != nil {
		return nil, err
	}
	o, ok := d.orgs[req.OrganizationID]
	if !ok {
		return nil, notFound("No organization found by that id.")
	}
	switch {
	case req.Email == "":
		return nil, badRequest("Invalid request body: invitee.email is required.")
	case len(req.Roles) > maxOrgRoles:
		return nil, badRequest("Invalid request body: at most %d roles.", maxOrgRoles)
	case req.TTL < 0 || req.TTL > orgInvitationMaxTTL:
		return nil, badRequest("Invalid request body: ttl_sec must be between 0 and %d.", int(orgInvitationMaxTTL.Seconds()))
	}
	if unknown := d.unknownRoles(req.Roles); len(unknown) > 0 {
		return nil, badRequest("One or more of the specified roles do not exist: %s", strings.Join(unknown, ", "))
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = orgInvitationDefaultTTL
	}
	id := d.nextID("uinv_")
	q := url.Values{"invitation": {id}, "organization": {o.org.ID}, "organization_name": {o.org.Name}}
	// As the real adapter does: InvitationID goes into app_metadata.invitationId, over
	// whatever the caller's app_metadata held there.
	doormanID, _ := req.AppMetadata["invitationId"].(string)
	oi := &invite.OrgInvitation{
		ID:             id,
		OrganizationID: o.org.ID,
		Email:          strings.ToLower(req.Email),
		URL:            "https://" + d.domain + "/login?" + q.Encode(),
		ExpiresAt:      d.now().Add(ttl).UTC(),
		InvitationID:   cmp.Or(req.InvitationID, doormanID),
	}
	o.invitations[id] = oi
	o.inviteRoles[id] = slices.Clone(req.Roles)
	c := *oi
	return &c, nil
}

// GetOrgInvitation implements invite.Identity; an expired invitation is not_found.
func (d *Identity) GetOrgInvitation(ctx context.Context, orgID, invitationID string) (*invite.OrgInvitation, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpGetOrgInvitation); err != nil {
		return nil, err
	}
	o, ok := d.orgs[orgID]
	if !ok {
		return nil, notFound("No organization found by that id.")
	}
	oi, ok := o.invitations[invitationID]
	if !ok || !oi.ExpiresAt.After(d.now()) {
		return nil, notFound("The invitation does not exist.")
	}
	c := *oi
	return &c, nil
}

// FindOrgInvitations implements invite.Identity: the organization's unexpired
// invitations whose invitee has email's EmailKey, by id.
func (d *Identity) FindOrgInvitations(ctx context.Context, orgID, email string) ([]*invite.OrgInvitation, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpFindOrgInvitations); err != nil {
		return nil, err
	}
	key := invite.EmailKey(email)
	if key == "" {
		return nil, badRequest("An email is required.")
	}
	o, ok := d.orgs[orgID]
	if !ok {
		return nil, notFound("No organization found by that id.")
	}
	out := []*invite.OrgInvitation{}
	for _, oi := range o.invitations {
		if invite.EmailKey(oi.Email) == key && oi.ExpiresAt.After(d.now()) {
			c := *oi
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *invite.OrgInvitation) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteOrgInvitation implements invite.Identity.
func (d *Identity) DeleteOrgInvitation(ctx context.Context, orgID, invitationID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpDeleteOrgInvitation); err != nil {
		return err
	}
	if o, ok := d.orgs[orgID]; ok {
		delete(o.invitations, invitationID)
		delete(o.inviteRoles, invitationID)
	}
	return nil
}

// OrgMember implements invite.Identity.
func (d *Identity) OrgMember(ctx context.Context, orgID, userID string) (*invite.Member, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpOrgMember); err != nil {
		return nil, err
	}
	o, ok := d.orgs[orgID]
	if !ok {
		return nil, notFound("No organization found by that id.")
	}
	m, ok := o.members[userID]
	if !ok {
		return nil, notFound("The user is not a member of the organization.")
	}
	c := *m
	c.Roles = slices.Clone(m.Roles)
	return &c, nil
}

// Organization implements invite.Identity.
func (d *Identity) Organization(ctx context.Context, orgID string) (*invite.Organization, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpOrganization); err != nil {
		return nil, err
	}
	o, ok := d.orgs[orgID]
	if !ok {
		return nil, notFound("No organization found by that id.")
	}
	c := o.org
	return &c, nil
}

// BlockUser implements invite.Identity.
func (d *Identity) BlockUser(ctx context.Context, userID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.begin(ctx, OpBlockUser); err != nil {
		return err
	}
	u, ok := d.users[userID]
	if !ok {
		return notFound("The user does not exist.")
	}
	u.Blocked = true
	return nil
}
