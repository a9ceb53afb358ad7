package inmem_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

var t0 = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

func wantCode(t *testing.T, err error, want invite.Code) *invite.Error {
	t.Helper()
	if got := invite.ErrorCode(err); got != want {
		t.Fatalf("error: got %q (%v), want %q", got, err, want)
	}
	return invite.AsError(err)
}

func newIdentity(t *testing.T) *inmem.Identity {
	t.Helper()
	d := inmem.NewIdentity(func() time.Time { return t0 })
	d.AddRoles("rol_a", "rol_b")
	d.AddOrganization(invite.Organization{ID: "org_acme", Name: "acme", DisplayName: "Acme"})
	return d
}

func TestIdentityUsers(t *testing.T) {
	ctx := t.Context()
	d := newIdentity(t)
	u, err := d.CreateUser(ctx, invite.NewUser{Email: "Ann@Example.com", InvitationID: "INV1", AppMetadata: map[string]any{"plan": "pro"}})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.EmailVerified || u.AppMetadata["needsInvitation"] != true || u.AppMetadata["invitationId"] != "INV1" || u.AppMetadata["plan"] != "pro" {
		t.Errorf("created: got %+v", u)
	}
	_, err = d.CreateUser(ctx, invite.NewUser{Email: "ann@example.com"})
	wantCode(t, err, invite.CodeConflict)

	found, err := d.FindUserByEmail(ctx, "ANN@example.com")
	if err != nil || found.ID != u.ID {
		t.Fatalf("FindUserByEmail: got %v, %v, want %s", found, err, u.ID)
	}
	found.AppMetadata["plan"] = "changed"
	if again, _ := d.GetUser(ctx, u.ID); again.AppMetadata["plan"] != "pro" {
		t.Errorf("user changed through a returned value")
	}
	_, err = d.FindUserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, invite.CodeNotFound)

	wantCode(t, d.AssignRoles(ctx, u.ID, []string{"rol_a", "rol_ghost"}), invite.CodeNotFound)
	if err := d.AssignRoles(ctx, u.ID, []string{"rol_a", "rol_b"}); err != nil {
		t.Fatalf("AssignRoles: %v", err)
	}
	if err := d.AssignRoles(ctx, u.ID, []string{"rol_a"}); err != nil {
		t.Fatalf("AssignRoles again: %v", err)
	}
	if st, _ := d.User(u.ID); !slices.Equal(st.Roles, []string{"rol_a", "rol_b"}) {
		t.Errorf("roles: got %v", st.Roles)
	}

	if err := d.ClearInvitationFlag(ctx, u.ID); err != nil {
		t.Fatalf("ClearInvitationFlag: %v", err)
	}
	if st, _ := d.User(u.ID); st.AppMetadata["needsInvitation"] != nil || st.AppMetadata["invitationId"] != "INV1" {
		t.Errorf("after clear: got %v", st.AppMetadata)
	}

	_, err = d.PasswordChangeTicket(ctx, invite.TicketRequest{UserID: u.ID, ResultURL: "https://a", ClientID: "c"})
	wantCode(t, err, invite.CodeInvalid)
	url, err := d.PasswordChangeTicket(ctx, invite.TicketRequest{UserID: u.ID, ClientID: "c"})
	if err != nil || !strings.HasPrefix(url, "https://") {
		t.Errorf("ticket: got %q, %v", url, err)
	}

	// Deleted only when it never logged in and still belongs to the invitation.
	if err := d.RecordLogin(u.ID); err != nil {
		t.Fatal(err)
	}
	if deleted, err := d.DeleteUserIfNeverLoggedIn(ctx, u.ID, "INV1"); err != nil || deleted {
		t.Errorf("delete after login: got %v, %v, want kept", deleted, err)
	}
	bob, err := d.CreateUser(ctx, invite.NewUser{Email: "bob@example.com", InvitationID: "INV2"})
	if err != nil {
		t.Fatal(err)
	}
	fresh := bob.ID
	if deleted, err := d.DeleteUserIfNeverLoggedIn(ctx, fresh, "INV_OTHER"); err != nil || deleted {
		t.Errorf("delete for another invitation: got %v, %v, want kept", deleted, err)
	}
	if deleted, err := d.DeleteUserIfNeverLoggedIn(ctx, fresh, "INV2"); err != nil || !deleted {
		t.Errorf("delete: got %v, %v, want deleted", deleted, err)
	}
	if deleted, err := d.DeleteUserIfNeverLoggedIn(ctx, fresh, "INV2"); err != nil || !deleted {
		t.Errorf("delete again: got %v, %v, want deleted (already gone)", deleted, err)
	}
	wantCode(t, d.BlockUser(ctx, fresh), invite.CodeNotFound)
	if err := d.BlockUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.User(u.ID); !st.Blocked {
		t.Errorf("BlockUser: user not blocked")
	}
}

func TestIdentityRoles(t *testing.T) {
	ctx := t.Context()
	d := inmem.NewIdentity(func() time.Time { return t0 })
	d.AddRole(invite.Role{ID: "rol_b", Name: "viewer", Description: "Views"})
	d.AddRoles("rol_a")
	roles, err := d.Roles(ctx)
	want := []invite.Role{{ID: "rol_a", Name: "rol_a"}, {ID: "rol_b", Name: "viewer", Description: "Views"}}
	if err != nil || !slices.Equal(roles, want) {
		t.Errorf("Roles: got %v, %v, want %v", roles, err, want)
	}
	u := d.AddUser("ann@example.com", 0)
	if got, err := d.UserRoles(ctx, u); err != nil || len(got) != 0 {
		t.Errorf("UserRoles of a user without roles: got %v, %v, want none", got, err)
	}
	if err := d.AssignRoles(ctx, u, []string{"rol_b"}); err != nil {
		t.Fatal(err)
	}
	if got, err := d.UserRoles(ctx, u); err != nil || !slices.Equal(got, want[1:]) {
		t.Errorf("UserRoles: got %v, %v, want %v", got, err, want[1:])
	}
	_, err = d.UserRoles(ctx, "auth0|missing")
	wantCode(t, err, invite.CodeNotFound)
	if got := d.Calls(inmem.OpUserRoles); got != 3 {
		t.Errorf("Calls(UserRoles): got %d, want 3", got)
	}
}

func TestIdentityAdoptUser(t *testing.T) {
	ctx := t.Context()
	d := newIdentity(t)
	d.AddRoles("rol_c")
	created, err := d.CreateUser(ctx, invite.NewUser{Email: "ann@example.com", InvitationID: "INV1", AppMetadata: map[string]any{"plan": "pro"}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	if err := d.AssignRoles(ctx, id, []string{"rol_a", "rol_b"}); err != nil {
		t.Fatal(err)
	}
	if err := d.ClearInvitationFlag(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.BlockUser(ctx, id); err != nil {
		t.Fatal(err)
	}
	before, _ := d.User(id)

	tests := []struct {
		name      string
		userID    string
		roles     []string
		wantCode  invite.Code
		wantRoles []string
	}{
		{"unknown role changes nothing", id, []string{"rol_c", "rol_ghost"}, invite.CodeNotFound, nil},
		{"unknown user", "auth0|missing", []string{"rol_a"}, invite.CodeNotFound, nil},
		{"roles replaced", id, []string{"rol_b", "rol_c", "rol_c"}, "", []string{"rol_b", "rol_c"}},
		{"no roles", id, nil, "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.AdoptUser(ctx, tt.userID, "INV2", tt.roles)
			got, _ := d.User(id)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				if got.Blocked != before.Blocked || !slices.Equal(got.Roles, before.Roles) || got.AppMetadata["invitationId"] != "INV1" {
					t.Errorf("after a refused adoption: got %+v, want it unchanged (%+v)", got, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("AdoptUser: %v", err)
			}
			if !slices.Equal(got.Roles, tt.wantRoles) {
				t.Errorf("roles: got %v, want %v", got.Roles, tt.wantRoles)
			}
			want := map[string]any{"needsInvitation": true, "invitationId": "INV2", "plan": "pro"}
			if got.Blocked || !maps.Equal(got.AppMetadata, want) {
				t.Errorf("got blocked %v, app_metadata %v; want unblocked, %v", got.Blocked, got.AppMetadata, want)
			}
		})
	}
	// The old invitation's cleanup leaves the adopted user alone; the new one's does not.
	if deleted, err := d.DeleteUserIfNeverLoggedIn(ctx, id, "INV1"); err != nil || deleted {
		t.Errorf("delete for the old invitation: got %v, %v, want kept", deleted, err)
	}
	if deleted, err := d.DeleteUserIfNeverLoggedIn(ctx, id, "INV2"); err != nil || !deleted {
		t.Errorf("delete for the new invitation: got %v, %v, want deleted", deleted, err)
	}
}

func TestIdentityOrgInvitations(t *testing.T) {
	ctx := t.Context()
	d := newIdentity(t)
	tests := []struct {
		name string
		req  invite.OrgInvitationRequest
		want invite.Code
	}{
		{"unknown org", invite.OrgInvitationRequest{OrganizationID: "org_none", Email: "a@example.com"}, invite.CodeNotFound},
		{"unknown role", invite.OrgInvitationRequest{OrganizationID: "org_acme", Email: "a@example.com", Roles: []string{"rol_ghost"}}, invite.CodeInvalid},
		{"ttl too long", invite.OrgInvitationRequest{OrganizationID: "org_acme", Email: "a@example.com", TTL: 31 * 24 * time.Hour}, invite.CodeInvalid},
		{"no email", invite.OrgInvitationRequest{OrganizationID: "org_acme"}, invite.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.CreateOrgInvitation(ctx, tt.req)
			wantCode(t, err, tt.want)
		})
	}
	oi, err := d.CreateOrgInvitation(ctx, invite.OrgInvitationRequest{OrganizationID: "org_acme", Email: "a@example.com", Roles: []string{"rol_a"}})
	if err != nil {
		t.Fatalf("CreateOrgInvitation: %v", err)
	}
	if !oi.ExpiresAt.Equal(t0.Add(7*24*time.Hour)) || !strings.Contains(oi.URL, "invitation="+oi.ID) {
		t.Errorf("invitation: got %+v, want the 7-day default and a URL naming it", oi)
	}
	if got, err := d.GetOrgInvitation(ctx, "org_acme", oi.ID); err != nil || got.ID != oi.ID {
		t.Errorf("GetOrgInvitation: got %v, %v", got, err)
	}
	uid := d.AddUser("a@example.com", 1)
	if err := d.AcceptOrgInvitation("org_acme", oi.ID, uid); err != nil {
		t.Fatal(err)
	}
	m, err := d.OrgMember(ctx, "org_acme", uid)
	if err != nil || !slices.Equal(m.Roles, []string{"rol_a"}) {
		t.Errorf("OrgMember: got %v, %v, want the invitation's roles", m, err)
	}
	_, err = d.GetOrgInvitation(ctx, "org_acme", oi.ID)
	wantCode(t, err, invite.CodeNotFound)
	if err := d.DeleteOrgInvitation(ctx, "org_acme", oi.ID); err != nil {
		t.Errorf("DeleteOrgInvitation of a gone invitation: got %v, want nil", err)
	}
	_, err = d.OrgMember(ctx, "org_acme", "auth0|stranger")
	wantCode(t, err, invite.CodeNotFound)
	_, err = d.Organization(ctx, "org_none")
	wantCode(t, err, invite.CodeNotFound)
}

func TestIdentityFindOrgInvitations(t *testing.T) {
	ctx := t.Context()
	clock := inmem.NewClock(t0)
	d := inmem.NewIdentity(clock.Now)
	d.AddOrganization(invite.Organization{ID: "org_acme", Name: "acme"})
	d.AddOrganization(invite.Organization{ID: "org_other", Name: "other"})
	create := func(org, email, invID string, ttl time.Duration, meta map[string]any) string {
		t.Helper()
		oi, err := d.CreateOrgInvitation(ctx, invite.OrgInvitationRequest{OrganizationID: org, Email: email, InvitationID: invID, TTL: ttl, AppMetadata: meta})
		if err != nil {
			t.Fatalf("CreateOrgInvitation: %v", err)
		}
		if want := invID; want != "" && oi.InvitationID != want {
			t.Errorf("created: got InvitationID %q, want %q", oi.InvitationID, want)
		}
		return oi.ID
	}
	first := create("org_acme", "Ann@Example.com", "INV1", 0, map[string]any{"invitationId": "ignored", "plan": "pro"})
	second := create("org_acme", "ann@example.com", "", 0, map[string]any{"invitationId": "INV2"})
	create("org_acme", "ann@example.com", "INV3", time.Hour, nil) // expires below
	create("org_acme", "bob@example.com", "INV4", 0, nil)
	create("org_other", "ann@example.com", "INV5", 0, nil)
	clock.Advance(2 * time.Hour)

	tests := []struct {
		name, org, email string
		want             []string // InvitationIDs
		wantCode         invite.Code
	}{
		{"matched as EmailKey, expired left out", "org_acme", " ANN@example.COM", []string{"INV1", "INV2"}, ""},
		{"another invitee", "org_acme", "bob@example.com", []string{"INV4"}, ""},
		{"none is not an error", "org_acme", "carol@example.com", []string{}, ""},
		{"unknown organization", "org_none", "ann@example.com", nil, invite.CodeNotFound},
		{"no email", "org_acme", "", nil, invite.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.FindOrgInvitations(ctx, tt.org, tt.email)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatalf("FindOrgInvitations: %v", err)
			}
			ids := []string{}
			for _, oi := range got {
				ids = append(ids, oi.InvitationID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("got invitations for %v, want %v", ids, tt.want)
			}
		})
	}

	got, _ := d.FindOrgInvitations(ctx, "org_acme", "ann@example.com")
	if len(got) != 2 || got[0].ID != first || got[1].ID != second {
		t.Fatalf("got %+v, want %s and %s", got, first, second)
	}
	got[0].InvitationID = "changed"
	if again, _ := d.GetOrgInvitation(ctx, "org_acme", first); again.InvitationID != "INV1" {
		t.Errorf("invitation changed through a returned value: got %q", again.InvitationID)
	}

	d.FailNext(inmem.OpFindOrgInvitations, 1, invite.CodeRateLimited)
	_, err := d.FindOrgInvitations(ctx, "org_acme", "ann@example.com")
	wantCode(t, err, invite.CodeRateLimited)
	if got := d.Calls(inmem.OpFindOrgInvitations); got != len(tests)+2 {
		t.Errorf("Calls: got %d, want %d", got, len(tests)+2)
	}
}

func TestIdentityFailNextAndCalls(t *testing.T) {
	ctx := t.Context()
	d := newIdentity(t)
	d.FailNext(inmem.OpOrganization, 2, invite.CodeRateLimited)
	for i := range 2 {
		_, err := d.Organization(ctx, "org_acme")
		if invite.ErrorCode(err) != invite.CodeRateLimited {
			t.Fatalf("call %d: got %v, want rate_limited", i, err)
		}
	}
	if _, err := d.Organization(ctx, "org_acme"); err != nil {
		t.Fatalf("third call: got %v, want success", err)
	}
	if got := d.Calls(inmem.OpOrganization); got != 3 {
		t.Errorf("Calls: got %d, want 3", got)
	}
	if got := d.Calls(inmem.OpGetUser); got != 0 {
		t.Errorf("Calls(GetUser): got %d, want 0", got)
	}
}

func TestMailer(t *testing.T) {
	ctx := t.Context()
	m := inmem.NewMailer()
	m.FailNext(1, invite.CodeUpstream)
	_, err := m.Send(ctx, invite.Mail{To: "a@example.com"})
	wantCode(t, err, invite.CodeUpstream)
	_, err = m.Send(ctx, invite.Mail{To: "nobody"})
	wantCode(t, err, invite.CodeInvalid)
	id1, err := m.Send(ctx, invite.Mail{To: "a@example.com", Template: invite.TemplateApplication})
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := m.Send(ctx, invite.Mail{To: "b@example.com"})
	if id1 == "" || id1 == id2 {
		t.Errorf("message ids: got %q and %q, want distinct", id1, id2)
	}
	if got := m.SentTo("A@example.com"); len(got) != 1 || got[0].MessageID != id1 || got[0].Template != invite.TemplateApplication {
		t.Errorf("SentTo: got %+v", got)
	}
	if m.Calls() != 4 || len(m.Sent()) != 2 {
		t.Errorf("got %d calls and %d sent, want 4 and 2", m.Calls(), len(m.Sent()))
	}
	m.Reset()
	if len(m.Sent()) != 0 {
		t.Errorf("Reset: %d still recorded", len(m.Sent()))
	}
}
