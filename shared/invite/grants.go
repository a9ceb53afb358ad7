package invite

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Who may grant what (DESIGN.md, "Who may grant what, to whom"). An invitation is a
// promise of access, so what it carries is checked here, for single creates and bulk
// items alike, before anything is stored:
//   - the ceiling the operator set (Ceiling): the roles Doorman may ever grant, the
//     app_metadata keys, connections and clients an invitation may name;
//   - the caller's entitlement: a tenant-level token holding PermAdmin grants any role
//     in the ceiling; a machine token (client credentials) without it grants none; any
//     other caller grants only roles it holds itself (its tenant roles for an
//     application invitation, its member roles in the organization for an
//     organization invitation), read from Auth0.

// Ceiling is the most an invitation may carry, set by the operator. Roles hold role
// ids or names; empty means invitations carry no roles. AppMetadataKeys empty means no
// app_metadata. Connections and ClientIDs list what an invitation may name besides
// the configured defaults (which an empty field means).
type Ceiling struct {
	Roles           []string
	AppMetadataKeys []string
	Connections     []string
	ClientIDs       []string
}

// Actor kinds: a machine token is one issued through the client-credentials grant.
const GrantClientCredentials = "client-credentials"

// entitlementTTL is how long a caller's own roles, read from Auth0, are trusted in a
// process: long enough that a burst of creates or a batch costs one read (the free
// tenant allows two Management API requests a second), short enough that a role taken
// from an inviter stops being grantable within a minute.
const entitlementTTL = time.Minute

// grants caches the tenant's roles (to resolve the ceiling's names) and the callers'
// own roles.
type grants struct {
	ceiling Ceiling

	mu      sync.Mutex
	roles   []Role // the tenant's, as of rolesAt
	rolesAt time.Time
	held    map[heldKey]heldRoles
}

type heldKey struct{ sub, orgID string }

type heldRoles struct {
	ids []string
	at  time.Time
}

// GrantableRoles lists the roles a caller may put on an invitation to orgID ("" for
// the application; an organization's token means its own), for pickers.
func (s *Service) GrantableRoles(ctx context.Context, a Actor, orgID string) ([]Role, error) {
	if err := authorize(a, PermCreate); err != nil {
		return nil, err
	}
	if orgID != "" && !validOrgID(orgID) {
		return nil, Invalid("organization_id", "must be an Auth0 organization id (org_...)")
	}
	orgID, err := a.orgFor(orgID)
	if err != nil {
		return nil, err
	}
	ceiling, err := s.ceilingRoles(ctx)
	if err != nil {
		return nil, err
	}
	entitled, err := s.entitled(ctx, a, orgID, ceiling)
	if err != nil {
		return nil, err
	}
	out := make([]Role, 0, len(entitled))
	for _, r := range ceiling {
		if slices.Contains(entitled, r.ID) {
			out = append(out, r)
		}
	}
	return out, nil
}

// checkGrant refuses, as forbidden naming the field, a prepared request that carries
// more than the ceiling allows or than the actor may grant.
func (s *Service) checkGrant(ctx context.Context, a Actor, req CreateRequest) error {
	c := s.grants.ceiling
	for k := range req.AppMetadata {
		if !slices.Contains(c.AppMetadataKeys, k) {
			return &Error{Code: CodeForbidden, Field: "app_metadata." + k, Message: "the operator does not let invitations set this app_metadata key (APP_METADATA_KEYS)"}
		}
	}
	if req.Connection != "" && !slices.Contains(c.Connections, req.Connection) {
		return &Error{Code: CodeForbidden, Field: "connection", Message: "invitations may not name this connection"}
	}
	if req.ClientID != "" && req.ClientID != s.loginCID && !slices.Contains(c.ClientIDs, req.ClientID) {
		return &Error{Code: CodeForbidden, Field: "client_id", Message: "invitations may not name this client"}
	}
	if len(req.Roles) == 0 {
		return nil
	}
	ceiling, err := s.ceilingRoles(ctx)
	if err != nil {
		return err
	}
	entitled, err := s.entitled(ctx, a, req.OrganizationID, ceiling)
	if err != nil {
		return err
	}
	for i, id := range req.Roles {
		field := fmt.Sprintf("roles[%d]", i)
		if !slices.ContainsFunc(ceiling, func(r Role) bool { return r.ID == id }) {
			return &Error{Code: CodeForbidden, Field: field, Message: "Doorman may not grant this role (GRANTABLE_ROLES)"}
		}
		if !slices.Contains(entitled, id) {
			return &Error{Code: CodeForbidden, Field: field, Message: "you may grant only roles you hold yourself"}
		}
	}
	return nil
}

// ceilingRoles resolves the ceiling's role ids and names against the tenant's roles,
// read at most once per entitlementTTL. A name or id the tenant lacks grants nothing.
func (s *Service) ceilingRoles(ctx context.Context) ([]Role, error) {
	g := s.grants
	if len(g.ceiling.Roles) == 0 {
		return nil, nil
	}
	now := s.now()
	g.mu.Lock()
	roles, fresh := g.roles, g.roles != nil && now.Sub(g.rolesAt) < entitlementTTL
	g.mu.Unlock()
	if !fresh {
		all, err := s.identity.Roles(ctx)
		if err != nil {
			return nil, fmt.Errorf("list Auth0 roles: %w", err)
		}
		roles = make([]Role, 0, len(all))
		for _, r := range all {
			if slices.Contains(g.ceiling.Roles, r.ID) || slices.Contains(g.ceiling.Roles, r.Name) {
				roles = append(roles, r)
			}
		}
		g.mu.Lock()
		g.roles, g.rolesAt = roles, now
		g.mu.Unlock()
	}
	return roles, nil
}

// entitled returns the role ids of ceiling the actor may grant in orgID.
func (s *Service) entitled(ctx context.Context, a Actor, orgID string, ceiling []Role) ([]string, error) {
	switch {
	case len(ceiling) == 0:
		return nil, nil
	case a.OrgID == "" && a.Has(PermAdmin):
		ids := make([]string, len(ceiling))
		for i, r := range ceiling {
			ids[i] = r.ID
		}
		return ids, nil
	case a.Machine:
		return nil, nil
	}
	held, err := s.heldRoles(ctx, a.Sub, orgID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range ceiling {
		if slices.Contains(held, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// heldRoles returns the role ids the user holds: its tenant roles, or its member
// roles in orgID; cached for entitlementTTL.
func (s *Service) heldRoles(ctx context.Context, sub, orgID string) ([]string, error) {
	g, key, now := s.grants, heldKey{sub, orgID}, s.now()
	g.mu.Lock()
	h, ok := g.held[key]
	g.mu.Unlock()
	if ok && now.Sub(h.at) < entitlementTTL {
		return h.ids, nil
	}
	var ids []string
	if orgID == "" {
		roles, err := s.identity.UserRoles(ctx, sub)
		if err != nil && !IsCode(err, CodeNotFound) {
			return nil, fmt.Errorf("read the inviter's roles: %w", err)
		}
		for _, r := range roles {
			ids = append(ids, r.ID)
		}
	} else {
		m, err := s.identity.OrgMember(ctx, orgID, sub)
		if err != nil && !IsCode(err, CodeNotFound) {
			return nil, fmt.Errorf("read the inviter's roles in %s: %w", orgID, err)
		}
		if m != nil {
			ids = m.Roles
		}
	}
	g.mu.Lock()
	if len(g.held) > 10000 {
		clear(g.held) // a bound, not an eviction policy: the cache refills as it is used
	}
	g.held[key] = heldRoles{ids: ids, at: now}
	g.mu.Unlock()
	return ids, nil
}
