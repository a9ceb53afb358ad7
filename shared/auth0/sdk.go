package auth0

import (
	"context"

	"github.com/auth0/go-auth0/management"
)

// api is the part of the Management API Identity uses.
type api interface {
	usersByEmail(ctx context.Context, email string) ([]*management.User, error)
	readUser(ctx context.Context, id string) (*management.User, error)
	createUser(ctx context.Context, u *management.User) error
	updateUser(ctx context.Context, id string, u *management.User) error
	deleteUser(ctx context.Context, id string) error
	assignRoles(ctx context.Context, id string, roles []*management.Role) error
	removeRoles(ctx context.Context, id string, roles []*management.Role) error
	userRoles(ctx context.Context, id string, opts ...management.RequestOption) (*management.RoleList, error)
	roles(ctx context.Context, opts ...management.RequestOption) (*management.RoleList, error)
	passwordChangeTicket(ctx context.Context, t *management.Ticket) error
	connectionByName(ctx context.Context, name string) (*management.Connection, error)
	createInvitation(ctx context.Context, orgID string, inv *management.OrganizationInvitation) error
	readInvitation(ctx context.Context, orgID, invID string) (*management.OrganizationInvitation, error)
	invitations(ctx context.Context, orgID string, opts ...management.RequestOption) (*management.OrganizationInvitationList, error)
	deleteInvitation(ctx context.Context, orgID, invID string) error
	members(ctx context.Context, orgID string, opts ...management.RequestOption) (*management.OrganizationMemberList, error)
	readOrganization(ctx context.Context, id string) (*management.Organization, error)
}

// sdk is api on go-auth0.
type sdk struct{ m *management.Management }

func (s sdk) usersByEmail(ctx context.Context, email string) ([]*management.User, error) {
	return s.m.User.ListByEmail(ctx, email)
}

func (s sdk) readUser(ctx context.Context, id string) (*management.User, error) {
	return s.m.User.Read(ctx, id)
}

func (s sdk) createUser(ctx context.Context, u *management.User) error {
	return s.m.User.Create(ctx, u)
}

func (s sdk) updateUser(ctx context.Context, id string, u *management.User) error {
	return s.m.User.Update(ctx, id, u)
}

func (s sdk) deleteUser(ctx context.Context, id string) error {
	return s.m.User.Delete(ctx, id)
}

func (s sdk) assignRoles(ctx context.Context, id string, roles []*management.Role) error {
	return s.m.User.AssignRoles(ctx, id, roles)
}

func (s sdk) removeRoles(ctx context.Context, id string, roles []*management.Role) error {
	return s.m.User.RemoveRoles(ctx, id, roles)
}

func (s sdk) userRoles(ctx context.Context, id string, opts ...management.RequestOption) (*management.RoleList, error) {
	return s.m.User.Roles(ctx, id, opts...)
}

func (s sdk) roles(ctx context.Context, opts ...management.RequestOption) (*management.RoleList, error) {
	return s.m.Role.List(ctx, opts...)
}

func (s sdk) passwordChangeTicket(ctx context.Context, t *management.Ticket) error {
	return s.m.Ticket.ChangePassword(ctx, t)
}

func (s sdk) connectionByName(ctx context.Context, name string) (*management.Connection, error) {
	return s.m.Connection.ReadByName(ctx, name)
}

func (s sdk) createInvitation(ctx context.Context, orgID string, inv *management.OrganizationInvitation) error {
	return s.m.Organization.CreateInvitation(ctx, orgID, inv)
}

func (s sdk) readInvitation(ctx context.Context, orgID, invID string) (*management.OrganizationInvitation, error) {
	return s.m.Organization.Invitation(ctx, orgID, invID)
}

func (s sdk) invitations(ctx context.Context, orgID string, opts ...management.RequestOption) (*management.OrganizationInvitationList, error) {
	return s.m.Organization.Invitations(ctx, orgID, opts...)
}

func (s sdk) deleteInvitation(ctx context.Context, orgID, invID string) error {
	return s.m.Organization.DeleteInvitation(ctx, orgID, invID)
}

func (s sdk) members(ctx context.Context, orgID string, opts ...management.RequestOption) (*management.OrganizationMemberList, error) {
	return s.m.Organization.Members(ctx, orgID, opts...)
}

func (s sdk) readOrganization(ctx context.Context, id string) (*management.Organization, error) {
	return s.m.Organization.Read(ctx, id)
}
