package auth0

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"

	"github.com/doormanhq/doorman/shared/invite"
)

// Config configures an Identity.
type Config struct {
	// Domain is the tenant's domain ("acme.eu.auth0.com", a scheme is ignored), or a
	// full http:// URL for the local stand-in, which is then spoken to without TLS.
	Domain       string
	ClientID     string
	ClientSecret string
	// Connection is the database connection invited users are created in and found by.
	Connection string
	// LoginClientID is the application invitees sign in to: the default client of
	// organization invitations and of tickets that name no result URL.
	LoginClientID string
	// TicketTTL is the password-change tickets' lifetime; default 1h.
	TicketTTL time.Duration
	// Timeout bounds each operation, retries included, unless ctx ends sooner;
	// default 10s.
	Timeout time.Duration
	// RetryMaxAttempts is how many times a request is sent when Auth0 answers 429 or
	// the connection fails; default 3.
	RetryMaxAttempts int
	// Logger receives what Auth0's failures say beyond their error (status, wait,
	// Auth0's message); the calls' outcomes are the caller's to log. Default
	// slog.Default().
	Logger *slog.Logger
	// HTTPClient is the base client; default a clone of http.DefaultTransport.
	HTTPClient *http.Client
	// Rand is the source of user passwords; default crypto/rand.
	Rand io.Reader
	// Now is the clock, used to turn X-RateLimit-Reset into a wait; default time.Now.
	Now func() time.Time
	// Limiter paces the Management API requests, every retry included; nil sends them
	// as they come and leaves 429s to the retries. Share one per process.
	Limiter *Limiter
}

// Identity is invite.Identity on Auth0's Management API.
type Identity struct {
	api  api
	cfg  Config
	log  *slog.Logger
	rand io.Reader
	now  func() time.Time

	mu      sync.Mutex
	connIDs map[string]string // connection name → id, looked up once per process
}

var _ invite.Identity = (*Identity)(nil)

// New builds the Management API client. No request is made: the client-credentials
// token is fetched on the first call and reused until shortly before it expires.
func New(ctx context.Context, cfg Config) (*Identity, error) {
	if cfg.Domain == "" || cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.Connection == "" {
		return nil, errors.New("auth0: Domain, ClientID, ClientSecret and Connection are required")
	}
	if cfg.TicketTTL <= 0 {
		cfg.TicketTTL = time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RetryMaxAttempts <= 0 {
		cfg.RetryMaxAttempts = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	transport := base.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}

	domain := cfg.Domain
	var opts []management.Option
	if u, err := url.Parse(domain); err == nil && u.Scheme == "http" && u.Host != "" {
		// go-auth0 forces https; WithInsecure puts http back. It must come before the
		// credentials, which read the URL to build the token endpoint.
		domain = u.Host
		opts = append(opts, management.WithInsecure())
	}
	// The token source keeps the context it is given for every later token fetch, so
	// it gets one that outlives ctx, and a client whose own timeout bounds the fetch.
	tokenCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient,
		&http.Client{Transport: transport, Timeout: cfg.Timeout})
	// The limiter sits under go-auth0's retries, so that each attempt waits its turn.
	mgmtTransport := transport
	if cfg.Limiter != nil {
		mgmtTransport = cfg.Limiter.Transport(transport)
	}
	opts = append(opts,
		management.WithClient(&http.Client{Transport: observer{base: mgmtTransport, now: cfg.Now}, Timeout: base.Timeout}),
		management.WithRetryStrategy(management.RetryStrategy{
			MaxRetries: cfg.RetryMaxAttempts - 1,
			Statuses:   []int{http.StatusTooManyRequests},
		}),
		management.WithClientCredentials(tokenCtx, cfg.ClientID, cfg.ClientSecret),
	)
	m, err := management.New(domain, opts...)
	if err != nil {
		return nil, fmt.Errorf("auth0: management client for %s: %w", cfg.Domain, err)
	}
	return newIdentity(sdk{m}, cfg), nil
}

func newIdentity(a api, cfg Config) *Identity {
	return &Identity{api: a, cfg: cfg, log: cfg.Logger, rand: cfg.Rand, now: cfg.Now, connIDs: map[string]string{}}
}

// FindUserByEmail makes one call: GET /users-by-email, which answers for every
// connection, so the match is the user with an identity in the configured one.
func (id *Identity) FindUserByEmail(ctx context.Context, email string) (*invite.User, error) {
	if email == "" {
		return nil, invite.Invalid("email", "an email is required")
	}
	ctx, done := id.call(ctx)
	defer done()
	// Auth0 keeps database users' addresses lower-cased and matches exactly.
	users, err := id.api.usersByEmail(ctx, invite.EmailKey(email))
	if err != nil {
		return nil, id.fail(ctx, "find user by email", err)
	}
	for _, u := range users {
		for _, ident := range u.Identities {
			if ident.GetConnection() == id.cfg.Connection {
				return toUser(u), nil
			}
		}
	}
	return nil, invite.Errorf(invite.CodeNotFound, "no user with that email in connection %s", id.cfg.Connection)
}

// GetUser makes one call: GET /users/{id}.
func (id *Identity) GetUser(ctx context.Context, userID string) (*invite.User, error) {
	if userID == "" {
		return nil, invite.Invalid("user_id", "a user id is required")
	}
	ctx, done := id.call(ctx)
	defer done()
	u, err := id.api.readUser(ctx, userID)
	if err != nil {
		return nil, id.fail(ctx, "get user", err, "auth0_user_id", userID)
	}
	return toUser(u), nil
}

// CreateUser makes one call: POST /users.
func (id *Identity) CreateUser(ctx context.Context, nu invite.NewUser) (*invite.User, error) {
	if nu.Email == "" {
		return nil, invite.Invalid("email", "an email is required")
	}
	password, err := randomPassword(id.rand, personalData(nu)...)
	if err != nil {
		return nil, invite.Wrap(invite.CodeInternal, err, "cannot generate a password")
	}
	connection := nu.Connection
	if connection == "" {
		connection = id.cfg.Connection
	}
	meta := make(map[string]interface{}, len(nu.AppMetadata)+2)
	for k, v := range nu.AppMetadata {
		meta[k] = v
	}
	meta["needsInvitation"] = true
	meta["invitationId"] = nu.InvitationID
	u := &management.User{
		Connection:    &connection,
		Email:         &nu.Email,
		Password:      &password,
		EmailVerified: ptr(false),
		VerifyEmail:   ptr(false),
		AppMetadata:   &meta,
	}
	if nu.Name != "" {
		u.Name = &nu.Name
	}
	if len(nu.UserMetadata) > 0 {
		um := map[string]interface{}(nu.UserMetadata)
		u.UserMetadata = &um
	}
	ctx, done := id.call(ctx)
	defer done()
	if err := id.api.createUser(ctx, u); err != nil {
		return nil, id.fail(ctx, "create user", err, "invitation_id", nu.InvitationID)
	}
	return toUser(u), nil
}

// AssignRoles makes one call, POST /users/{id}/roles, or none for no roles.
func (id *Identity) AssignRoles(ctx context.Context, userID string, roleIDs []string) error {
	if userID == "" {
		return invite.Invalid("user_id", "a user id is required")
	}
	if len(roleIDs) == 0 {
		return nil
	}
	ctx, done := id.call(ctx)
	defer done()
	if err := id.api.assignRoles(ctx, userID, roleRefs(roleIDs)); err != nil {
		return id.fail(ctx, "assign roles", err, "auth0_user_id", userID)
	}
	return nil
}

// ClearInvitationFlag makes one call: PATCH /users/{id} with
// {"app_metadata":{"needsInvitation":null}}. Auth0 merges app_metadata key by key and
// removes a key set to null, so invitationId and the rest stay.
func (id *Identity) ClearInvitationFlag(ctx context.Context, userID string) error {
	if userID == "" {
		return invite.Invalid("user_id", "a user id is required")
	}
	meta := map[string]interface{}{"needsInvitation": nil}
	ctx, done := id.call(ctx)
	defer done()
	if err := id.api.updateUser(ctx, userID, &management.User{AppMetadata: &meta}); err != nil {
		return id.fail(ctx, "clear invitation flag", err, "auth0_user_id", userID)
	}
	return nil
}

// DeleteUserIfNeverLoggedIn makes two calls (GET, then DELETE /users/{id}) when the
// user never logged in and its app_metadata.invitationId is invitationID, and one
// (the GET) when it is kept or already gone.
func (id *Identity) DeleteUserIfNeverLoggedIn(ctx context.Context, userID, invitationID string) (bool, error) {
	if userID == "" || invitationID == "" {
		return false, invite.Invalid("user_id", "a user id and an invitation id are required")
	}
	ctx, done := id.call(ctx)
	defer done()
	u, err := id.api.readUser(ctx, userID)
	if status(err) == http.StatusNotFound {
		return true, nil
	}
	if err != nil {
		return false, id.fail(ctx, "read user before delete", err, "auth0_user_id", userID)
	}
	// A later invitation that adopted the user rewrote invitationId: it is that
	// invitation's user now, whatever becomes of this one.
	if u.GetLoginsCount() > 0 || invitationIDOf(u) != invitationID {
		return false, nil
	}
	if err := id.api.deleteUser(ctx, userID); err != nil && status(err) != http.StatusNotFound {
		return false, id.fail(ctx, "delete user", err, "auth0_user_id", userID)
	}
	return true, nil
}

// AdoptUser makes two calls when the user holds exactly roleIDs already (GET
// /users/{id}/roles, then PATCH /users/{id}), one more when it lacks some (POST
// /users/{id}/roles) and one more when it holds others (DELETE /users/{id}/roles):
// four at most, plus a GET per further 100 roles it holds. The roles come first, the
// missing ones before the extra ones: Auth0 assigns all or none, so an unknown role
// fails before anything changed. The PATCH sends {"blocked":false,"app_metadata":
// {"needsInvitation":true,"invitationId":…}}; Auth0 merges app_metadata key by key,
// so the rest of it stays.
func (id *Identity) AdoptUser(ctx context.Context, userID, invitationID string, roleIDs []string) error {
	if userID == "" || invitationID == "" {
		return invite.Invalid("user_id", "a user id and an invitation id are required")
	}
	ctx, done := id.call(ctx)
	defer done()
	held, err := id.userRoles(ctx, userID)
	if err != nil {
		return err
	}
	has := make(map[string]bool, len(held))
	for _, r := range held {
		has[r.ID] = true
	}
	wanted := make(map[string]bool, len(roleIDs))
	var missing, extra []string
	for _, r := range roleIDs {
		if !has[r] && !wanted[r] {
			missing = append(missing, r)
		}
		wanted[r] = true
	}
	for _, r := range held {
		if !wanted[r.ID] {
			extra = append(extra, r.ID)
		}
	}
	if len(missing) > 0 {
		if err := id.api.assignRoles(ctx, userID, roleRefs(missing)); err != nil {
			return id.fail(ctx, "assign roles", err, "auth0_user_id", userID, "invitation_id", invitationID)
		}
	}
	if len(extra) > 0 {
		if err := id.api.removeRoles(ctx, userID, roleRefs(extra)); err != nil {
			return id.fail(ctx, "remove roles", err, "auth0_user_id", userID, "invitation_id", invitationID)
		}
	}
	meta := map[string]interface{}{"needsInvitation": true, "invitationId": invitationID}
	if err := id.api.updateUser(ctx, userID, &management.User{Blocked: ptr(false), AppMetadata: &meta}); err != nil {
		return id.fail(ctx, "adopt user", err, "auth0_user_id", userID, "invitation_id", invitationID)
	}
	return nil
}

// rolesPage is the largest page of roles Auth0 serves.
const rolesPage = 100

// Roles pages through GET /roles, 100 at a time: one call for a tenant of up to 100
// roles, one more per further 100.
func (id *Identity) Roles(ctx context.Context) ([]invite.Role, error) {
	ctx, done := id.call(ctx)
	defer done()
	return id.allRoles(ctx, "list roles", func(opts ...management.RequestOption) (*management.RoleList, error) {
		return id.api.roles(ctx, opts...)
	})
}

// UserRoles pages through GET /users/{id}/roles, 100 at a time: one call for a user
// of up to 100 roles. not_found is Auth0's 404 for a user that does not exist.
func (id *Identity) UserRoles(ctx context.Context, userID string) ([]invite.Role, error) {
	if userID == "" {
		return nil, invite.Invalid("user_id", "a user id is required")
	}
	ctx, done := id.call(ctx)
	defer done()
	return id.userRoles(ctx, userID)
}

func (id *Identity) userRoles(ctx context.Context, userID string) ([]invite.Role, error) {
	return id.allRoles(ctx, "list user roles", func(opts ...management.RequestOption) (*management.RoleList, error) {
		return id.api.userRoles(ctx, userID, opts...)
	}, "auth0_user_id", userID)
}

// allRoles reads every page of a role list. go-auth0 asks for include_totals, so
// HasNext knows from start, limit and total whether another page follows.
func (id *Identity) allRoles(ctx context.Context, op string, list func(...management.RequestOption) (*management.RoleList, error), attrs ...any) ([]invite.Role, error) {
	out := []invite.Role{}
	for page := 0; ; page++ {
		l, err := list(management.Page(page), management.PerPage(rolesPage))
		if err != nil {
			return nil, id.fail(ctx, op, err, append(attrs, "page", page)...)
		}
		if l == nil {
			return out, nil
		}
		for _, r := range l.Roles {
			out = append(out, invite.Role{ID: r.GetID(), Name: r.GetName(), Description: r.GetDescription()})
		}
		if !l.HasNext() || len(l.Roles) == 0 {
			return out, nil
		}
	}
}

// BlockUser makes one call: PATCH /users/{id} {"blocked":true}.
func (id *Identity) BlockUser(ctx context.Context, userID string) error {
	if userID == "" {
		return invite.Invalid("user_id", "a user id is required")
	}
	ctx, done := id.call(ctx)
	defer done()
	if err := id.api.updateUser(ctx, userID, &management.User{Blocked: ptr(true)}); err != nil {
		return id.fail(ctx, "block user", err, "auth0_user_id", userID)
	}
	return nil
}

// PasswordChangeTicket makes one call: POST /tickets/password-change. Auth0 refuses
// result_url together with client_id, so only one is sent. mark_email_as_verified is
// always sent, false included, so that the ticket says what it does.
func (id *Identity) PasswordChangeTicket(ctx context.Context, req invite.TicketRequest) (string, error) {
	if req.UserID == "" {
		return "", invite.Invalid("user_id", "a user id is required")
	}
	ttl := req.TTL
	if ttl <= 0 {
		ttl = id.cfg.TicketTTL
	}
	t := &management.Ticket{
		UserID:                 &req.UserID,
		TTLSec:                 ptr(seconds(ttl)),
		MarkEmailAsVerified:    ptr(req.MarkVerified),
		IncludeEmailInRedirect: ptr(false),
	}
	switch client := firstNonEmpty(req.ClientID, id.cfg.LoginClientID); {
	case req.ResultURL != "":
		t.ResultURL = &req.ResultURL
	case client != "":
		t.ClientID = &client
	}
	ctx, done := id.call(ctx)
	defer done()
	if err := id.api.passwordChangeTicket(ctx, t); err != nil {
		return "", id.fail(ctx, "password-change ticket", err, "auth0_user_id", req.UserID)
	}
	if t.GetTicket() == "" {
		return "", invite.Errorf(invite.CodeUpstream, "Auth0 returned a ticket without a URL")
	}
	return t.GetTicket(), nil
}

// CreateOrgInvitation makes one call, POST /organizations/{id}/invitations, plus,
// the first time a connection name is used in this process, GET /connections?name=
// to learn its id. req.InvitationID goes into app_metadata.invitationId, where
// FindOrgInvitations reads it back.
func (id *Identity) CreateOrgInvitation(ctx context.Context, req invite.OrgInvitationRequest) (*invite.OrgInvitation, error) {
	if req.OrganizationID == "" {
		return nil, invite.Invalid("organization_id", "an organization id is required")
	}
	if req.Email == "" {
		return nil, invite.Invalid("email", "an email is required")
	}
	ctx, done := id.call(ctx)
	defer done()
	inviter := firstNonEmpty(req.InviterName, "Doorman") // Auth0 requires a name
	appMeta := req.AppMetadata
	if req.InvitationID != "" {
		// A copy: the caller's map is its own.
		appMeta = make(map[string]any, len(req.AppMetadata)+1)
		for k, v := range req.AppMetadata {
			appMeta[k] = v
		}
		appMeta["invitationId"] = req.InvitationID
	}
	inv := &management.OrganizationInvitation{
		Inviter:             &management.OrganizationInvitationInviter{Name: &inviter},
		Invitee:             &management.OrganizationInvitationInvitee{Email: &req.Email},
		SendInvitationEmail: ptr(false),
		Roles:               req.Roles,
		AppMetadata:         appMeta,
		UserMetadata:        req.UserMetadata,
	}
	if client := firstNonEmpty(req.ClientID, id.cfg.LoginClientID); client != "" {
		inv.ClientID = &client
	}
	if req.TTL > 0 {
		inv.TTLSec = ptr(seconds(req.TTL))
	}
	if req.Connection != "" {
		connID, err := id.connectionID(ctx, req.Connection)
		if err != nil {
			return nil, err
		}
		inv.ConnectionID = &connID
	}
	if err := id.api.createInvitation(ctx, req.OrganizationID, inv); err != nil {
		return nil, id.fail(ctx, "create organization invitation", err, "organization_id", req.OrganizationID)
	}
	return toOrgInvitation(inv, req.OrganizationID), nil
}

// connectionID resolves a connection name once per process; ids never change.
func (id *Identity) connectionID(ctx context.Context, name string) (string, error) {
	id.mu.Lock()
	connID, ok := id.connIDs[name]
	id.mu.Unlock()
	if ok {
		return connID, nil
	}
	c, err := id.api.connectionByName(ctx, name)
	if status(err) == http.StatusNotFound {
		return "", invite.Invalid("connection", "Auth0 has no connection named %q", name)
	}
	if err != nil {
		return "", id.fail(ctx, "look up connection", err, "connection", name)
	}
	id.mu.Lock()
	id.connIDs[name] = c.GetID()
	id.mu.Unlock()
	return c.GetID(), nil
}

// GetOrgInvitation makes one call: GET /organizations/{id}/invitations/{inv}.
func (id *Identity) GetOrgInvitation(ctx context.Context, orgID, invitationID string) (*invite.OrgInvitation, error) {
	if orgID == "" || invitationID == "" {
		return nil, invite.Invalid("auth0_invitation_id", "an organization id and an invitation id are required")
	}
	ctx, done := id.call(ctx)
	defer done()
	inv, err := id.api.readInvitation(ctx, orgID, invitationID)
	if err != nil {
		return nil, id.fail(ctx, "get organization invitation", err, "organization_id", orgID, "auth0_invitation_id", invitationID)
	}
	return toOrgInvitation(inv, orgID), nil
}

// invitationsPage is the largest page of organization invitations Auth0 serves.
const invitationsPage = 100

// FindOrgInvitations pages through GET /organizations/{id}/invitations, 100 at a
// time: one call for an organization with fewer than 100 open invitations. Auth0
// cannot filter them by invitee, so the match is made here. go-auth0's HasNext does
// not work on this route (go-auth0#48): a short page is the last.
func (id *Identity) FindOrgInvitations(ctx context.Context, orgID, email string) ([]*invite.OrgInvitation, error) {
	if orgID == "" {
		return nil, invite.Invalid("organization_id", "an organization id is required")
	}
	key := invite.EmailKey(email)
	if key == "" {
		return nil, invite.Invalid("email", "an email is required")
	}
	ctx, done := id.call(ctx)
	defer done()
	now := id.now()
	out := []*invite.OrgInvitation{}
	for page := 0; ; page++ {
		list, err := id.api.invitations(ctx, orgID, management.Page(page), management.PerPage(invitationsPage))
		if err != nil {
			return nil, id.fail(ctx, "list organization invitations", err, "organization_id", orgID, "page", page)
		}
		if list == nil {
			return out, nil
		}
		for _, inv := range list.OrganizationInvitations {
			if inv.Invitee == nil || invite.EmailKey(inv.Invitee.GetEmail()) != key {
				continue
			}
			oi := toOrgInvitation(inv, orgID)
			// Auth0 may list an invitation past its expiry until it purges it; it can
			// no longer be accepted, so it is not open.
			if !oi.ExpiresAt.IsZero() && !oi.ExpiresAt.After(now) {
				continue
			}
			out = append(out, oi)
		}
		if len(list.OrganizationInvitations) < invitationsPage {
			return out, nil
		}
	}
}

// DeleteOrgInvitation makes one call: DELETE /organizations/{id}/invitations/{inv}.
func (id *Identity) DeleteOrgInvitation(ctx context.Context, orgID, invitationID string) error {
	if orgID == "" || invitationID == "" {
		return invite.Invalid("auth0_invitation_id", "an organization id and an invitation id are required")
	}
	ctx, done := id.call(ctx)
	defer done()
	err := id.api.deleteInvitation(ctx, orgID, invitationID)
	if err != nil && status(err) != http.StatusNotFound {
		return id.fail(ctx, "delete organization invitation", err, "organization_id", orgID, "auth0_invitation_id", invitationID)
	}
	return nil
}

// membersPage is the largest page Auth0 serves with checkpoint pagination.
const membersPage = 100

// OrgMember pages through GET /organizations/{id}/members?fields=user_id,email,roles
// until it finds the user: one call for an organization of up to 100 members. The
// member-roles endpoint cannot answer alone: Auth0 keeps roles assigned to a user who
// is not (or no longer) a member, so roles prove nothing about membership.
func (id *Identity) OrgMember(ctx context.Context, orgID, userID string) (*invite.Member, error) {
	if orgID == "" || userID == "" {
		return nil, invite.Invalid("user_id", "an organization id and a user id are required")
	}
	ctx, done := id.call(ctx)
	defer done()
	from := ""
	for {
		opts := []management.RequestOption{
			management.IncludeFields("user_id", "email", "roles"),
			management.Take(membersPage),
		}
		if from != "" {
			opts = append(opts, management.From(from))
		}
		page, err := id.api.members(ctx, orgID, opts...)
		if err != nil {
			return nil, id.fail(ctx, "list organization members", err, "organization_id", orgID, "auth0_user_id", userID)
		}
		for _, m := range page.Members {
			if m.GetUserID() != userID {
				continue
			}
			member := &invite.Member{UserID: userID, Email: m.GetEmail(), Roles: []string{}}
			for _, r := range m.Roles {
				member.Roles = append(member.Roles, r.GetID())
			}
			return member, nil
		}
		// Auth0 sets next on every non-empty page; a short page is the last.
		if page.Next == "" || len(page.Members) < membersPage {
			return nil, invite.Errorf(invite.CodeNotFound, "the user is not a member of organization %s", orgID)
		}
		from = page.Next
	}
}

// Organization makes one call: GET /organizations/{id}.
func (id *Identity) Organization(ctx context.Context, orgID string) (*invite.Organization, error) {
	if orgID == "" {
		return nil, invite.Invalid("organization_id", "an organization id is required")
	}
	ctx, done := id.call(ctx)
	defer done()
	o, err := id.api.readOrganization(ctx, orgID)
	if err != nil {
		return nil, id.fail(ctx, "get organization", err, "organization_id", orgID)
	}
	return &invite.Organization{ID: o.GetID(), Name: o.GetName(), DisplayName: o.GetDisplayName()}, nil
}

// call bounds an operation by the configured timeout and attaches the record of its
// last response, from which a 429's wait is read, and the means to end it early when
// the rate limit outlasts the timeout.
func (id *Identity) call(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, id.cfg.Timeout)
	return context.WithValue(ctx, callKey{}, &callInfo{stop: cancel}), cancel
}

func toUser(u *management.User) *invite.User {
	out := &invite.User{
		ID:            u.GetID(),
		Email:         u.GetEmail(),
		EmailVerified: u.GetEmailVerified(),
		LoginsCount:   int(u.GetLoginsCount()),
	}
	if u.AppMetadata != nil {
		out.AppMetadata = map[string]any(*u.AppMetadata)
	}
	return out
}

// invitationIDOf is the user's app_metadata.invitationId, "" when it has none.
func invitationIDOf(u *management.User) string {
	v, _ := u.GetAppMetadata()["invitationId"].(string)
	return v
}

func roleRefs(ids []string) []*management.Role {
	roles := make([]*management.Role, len(ids))
	for i := range ids {
		roles[i] = &management.Role{ID: &ids[i]}
	}
	return roles
}

func toOrgInvitation(inv *management.OrganizationInvitation, orgID string) *invite.OrgInvitation {
	out := &invite.OrgInvitation{
		ID:             inv.GetID(),
		OrganizationID: firstNonEmpty(inv.GetOrganizationID(), orgID),
		URL:            inv.GetInvitationURL(),
	}
	if inv.Invitee != nil {
		out.Email = inv.Invitee.GetEmail()
	}
	if v, ok := inv.AppMetadata["invitationId"].(string); ok {
		out.InvitationID = v
	}
	if t, err := time.Parse(time.RFC3339Nano, inv.GetExpiresAt()); err == nil {
		out.ExpiresAt = t
	}
	return out
}

func seconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

// status is the HTTP status of a Management API error, or 0.
func status(err error) int {
	var me management.Error
	if errors.As(err, &me) {
		return me.Status()
	}
	return 0
}

// auth0Message is the message part of a go-auth0 error ("404 Not Found: The user
// does not exist." gives "The user does not exist.").
func auth0Message(err error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, ": "); ok {
		return rest
	}
	return msg
}
