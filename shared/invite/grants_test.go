package invite_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestGrantRules: nothing beyond the operator's ceiling, and no caller grants more than
// it holds (DESIGN.md, "Who may grant what, to whom"). Each refusal is forbidden and
// names the field.
func TestGrantRules(t *testing.T) {
	machine := invite.Actor{Sub: "m2m@clients", Permissions: allPerms, Machine: true}
	machineAdmin := invite.Actor{Sub: "ops@clients", Permissions: append([]string{invite.PermAdmin}, allPerms...), Machine: true}
	viewer := invite.Actor{Sub: "auth0|viewer", Name: "Vic", Permissions: allPerms}
	tests := []struct {
		name      string
		actor     invite.Actor
		edit      func(*invite.CreateRequest)
		wantField string // "" means allowed
	}{
		{"admin grants within the ceiling", superAdmin, func(r *invite.CreateRequest) { r.Roles = []string{"rol_viewer", "rol_editor"} }, ""},
		{"admin role outside the ceiling", superAdmin, func(r *invite.CreateRequest) { r.Roles = []string{"rol_viewer", "rol_admin"} }, "roles[1]"},
		{"inviter grants a role it holds", viewer, func(r *invite.CreateRequest) { r.Roles = []string{"rol_viewer"} }, ""},
		{"inviter grants a role it lacks", viewer, func(r *invite.CreateRequest) { r.Roles = []string{"rol_viewer", "rol_editor"} }, "roles[1]"},
		{"inviter without roles invites without roles", invite.Actor{Sub: "auth0|nobody", Permissions: allPerms}, func(r *invite.CreateRequest) { r.Roles = nil }, ""},
		{"machine token without admin", machine, func(r *invite.CreateRequest) { r.Roles = []string{"rol_viewer"} }, "roles[0]"},
		{"machine token with admin", machineAdmin, func(r *invite.CreateRequest) { r.Roles = []string{"rol_viewer"} }, ""},
		{"org member grants its member roles", acmeAdmin, func(r *invite.CreateRequest) { r.OrganizationID = orgAcme }, ""},
		{"org member lacks the role there", otherAdmin, func(r *invite.CreateRequest) { r.OrganizationID = orgOther; r.Roles = []string{"rol_admin"} }, "roles[0]"},
		{"app_metadata key in the ceiling", superAdmin, func(r *invite.CreateRequest) { r.AppMetadata = map[string]any{"plan": "pro"} }, ""},
		{"app_metadata key outside it", superAdmin, func(r *invite.CreateRequest) { r.AppMetadata = map[string]any{"isAdmin": true} }, "app_metadata.isAdmin"},
		{"unlisted connection", superAdmin, func(r *invite.CreateRequest) { r.Connection = "google-oauth2" }, "connection"},
		{"unlisted client", superAdmin, func(r *invite.CreateRequest) { r.ClientID = "client_other" }, "client_id"},
		{"the login client", superAdmin, func(r *invite.CreateRequest) { r.ClientID = loginCID }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.idp.AddInviter(viewer.Sub, []string{"rol_viewer"}, nil)
			req := appRequest("grantee@example.com")
			tt.edit(&req)
			_, err := f.svc.Create(f.ctx, tt.actor, req)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Create: %v, want it allowed", err)
				}
				return
			}
			e := invite.AsError(err)
			if e == nil || e.Code != invite.CodeForbidden || e.Field != tt.wantField {
				t.Fatalf("Create: %v, want forbidden naming %s", err, tt.wantField)
			}
			if all := f.store.All(); len(all) != 0 || f.idp.UserCount() != 0 {
				t.Errorf("a refused create left %d invitations and %d users, want none", len(all), f.idp.UserCount())
			}
		})
	}
}

// TestBatchItemsFollowTheGrantRules: a batch with an item beyond the caller's roles is
// refused whole, naming the item and the role.
func TestBatchItemsFollowTheGrantRules(t *testing.T) {
	b := newBulk(t, 0)
	beyond := appRequest("b@example.com")
	beyond.Roles = []string{"rol_viewer", "rol_admin"}
	_, err := b.svc.SubmitBatch(b.ctx, superAdmin, []invite.CreateRequest{appRequest("a@example.com"), beyond})
	e := invite.AsError(err)
	if e == nil || len(e.Items) != 1 || e.Items[0].Index != 1 || e.Items[0].Code != invite.CodeForbidden || e.Items[0].Field != "roles[1]" {
		t.Fatalf("SubmitBatch: %v (items %+v), want item 1 forbidden naming roles[1]", err, e)
	}
}

// TestGrantableRolesAndTheirCost: GET /v1/roles's answer is the ceiling cut to what the
// caller holds, and the caller's roles are read from Auth0 once a minute at most.
func TestGrantableRolesAndTheirCost(t *testing.T) {
	f := newFixture(t)
	viewer := invite.Actor{Sub: "auth0|viewer", Permissions: allPerms}
	f.idp.AddInviter(viewer.Sub, []string{"rol_viewer", "rol_admin"}, nil)
	ids := func(a invite.Actor, org string) []string {
		t.Helper()
		roles, err := f.svc.GrantableRoles(f.ctx, a, org)
		if err != nil {
			t.Fatalf("GrantableRoles: %v", err)
		}
		var out []string
		for _, r := range roles {
			out = append(out, r.ID)
		}
		return out
	}
	if got := ids(superAdmin, ""); !slices.Equal(got, []string{"rol_editor", "rol_viewer"}) && !slices.Equal(got, []string{"rol_viewer", "rol_editor"}) {
		t.Errorf("admin: %v, want the ceiling", got)
	}
	if got := ids(viewer, ""); !slices.Equal(got, []string{"rol_viewer"}) {
		t.Errorf("viewer: %v, want [rol_viewer] (rol_admin is outside the ceiling)", got)
	}
	if got := ids(acmeAdmin, ""); len(got) != 2 {
		t.Errorf("acme's member roles: %v, want both", got)
	}
	before := f.idp.Calls(inmem.OpUserRoles)
	for range 3 {
		f.create(t, viewer, appRequest("r"+time.Now().Format("150405.000000000")+"@example.com"))
	}
	if n := f.idp.Calls(inmem.OpUserRoles) - before; n != 0 {
		t.Errorf("three creates read the inviter's roles %d more times, want 0 (cached)", n)
	}
	f.clock.Advance(time.Minute + time.Second)
	f.create(t, viewer, appRequest("later@example.com"))
	if n := f.idp.Calls(inmem.OpUserRoles) - before; n != 1 {
		t.Errorf("after a minute: %d reads, want 1", n)
	}
}

// TestExistingAccountOwnerAccepts: a verified account accepts by following the link and
// then signing in; a sign-in before the link grants nothing.
func TestExistingAccountOwnerAccepts(t *testing.T) {
	f := newFixture(t)
	a := newAcceptor(t, f)
	uid := f.idp.AddUser("owner@example.com", 40)
	req := appRequest("owner@example.com")
	req.Roles = []string{"rol_editor"}
	inv := f.create(t, appAdmin, req).Invitation

	f.clock.Advance(time.Minute)
	apply(t, f, a, login("log-early", uid, f.clock.Now()))
	if got := f.stored(t, inv.ID); got.Status != invite.StatusPending || countEvents(got, invite.EventOwnerUnproven) != 1 {
		t.Fatalf("a sign-in before the link: %s, history %v; want pending with owner_unproven", got.Status, events(got))
	}
	target, err := f.svc.Continue(f.ctx, tokenOf(t, f.mail.SentTo("owner@example.com")[0].Link))
	if err != nil || target != "https://app.example.com/" {
		t.Fatalf("Continue: %q, %v; want the application, to sign in", target, err)
	}
	if len(f.idp.Tickets()) != 0 {
		t.Errorf("Continue minted %d tickets for an existing account, want none", len(f.idp.Tickets()))
	}
	f.clock.Advance(time.Minute)
	apply(t, f, a, login("log-owner", uid, f.clock.Now()))
	got := f.stored(t, inv.ID)
	if got.Status != invite.StatusAccepted || got.FlagClearPending {
		t.Fatalf("after the owner signed in: %s (flag %v), want accepted, no flag to clear", got.Status, got.FlagClearPending)
	}
	if u, _ := f.idp.User(uid); !slices.Equal(u.Roles, []string{"rol_editor"}) {
		t.Errorf("roles: %v, want [rol_editor]", u.Roles)
	}
}

// TestSquatterGetsNothing: whoever registered the address first, without verifying it,
// gets nothing by signing in; the real owner follows the emailed link, sets a password
// (which verifies the address and evicts the squatter) and then has the account and
// the roles.
func TestSquatterGetsNothing(t *testing.T) {
	f := newFixture(t)
	a := newAcceptor(t, f)
	uid := f.idp.AddUser("newhire@example.com", 1)
	if err := f.idp.SetEmailVerified(uid, false); err != nil {
		t.Fatal(err)
	}
	inv := f.create(t, appAdmin, appRequest("newhire@example.com")).Invitation
	stored := f.stored(t, inv.ID)
	if stored.Account != invite.AccountUnclaimed || f.mail.SentTo("newhire@example.com")[0].Template != invite.TemplateApplication {
		t.Fatalf("account %q, email %s; want unclaimed and the ordinary invitation (set a password)", stored.Account, f.mail.SentTo("newhire@example.com")[0].Template)
	}
	f.clock.Advance(time.Minute)
	apply(t, f, a, login("log-squat", uid, f.clock.Now()))
	if got := f.stored(t, inv.ID); got.Status != invite.StatusPending {
		t.Fatalf("the squatter's sign-in: %s, want pending", got.Status)
	}
	if u, _ := f.idp.User(uid); len(u.Roles) != 0 {
		t.Fatalf("the squatter holds %v, want nothing", u.Roles)
	}
	// The owner follows the emailed link: a ticket that verifies the address.
	if _, err := f.svc.Continue(f.ctx, tokenOf(t, f.mail.SentTo("newhire@example.com")[0].Link)); err != nil {
		t.Fatalf("Continue: %v", err)
	}
	if tk := f.idp.Tickets(); len(tk) != 1 || tk[0].UserID != uid || !tk[0].MarkVerified {
		t.Fatalf("tickets %+v, want one for the account that verifies the address", tk)
	}
	// Auth0 marks the address verified when the password is set through that ticket.
	if err := f.idp.SetEmailVerified(uid, true); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	apply(t, f, a, passwordSet("log-scp", uid, f.clock.Now()))
	f.clock.Advance(time.Minute)
	apply(t, f, a, login("log-owner", uid, f.clock.Now()))
	if got := f.stored(t, inv.ID); got.Status != invite.StatusAccepted {
		t.Fatalf("the owner's sign-in after setting the password: %s, want accepted", got.Status)
	}
	if u, _ := f.idp.User(uid); !slices.Equal(u.Roles, []string{"rol_viewer"}) {
		t.Errorf("roles: %v, want [rol_viewer]", u.Roles)
	}
}

// TestDisclosedLinksNeverVerify: a link handed to the API caller leads to a ticket that
// does not mark the address verified, unless the operator allows it; an emailed one
// does.
func TestDisclosedLinksNeverVerify(t *testing.T) {
	for _, allow := range []bool{false, true} {
		f := newFixture(t, func(c *invite.Config) { c.VerifyDisclosedLinks = allow })
		req := appRequest("quiet@example.com")
		req.SendEmail = false
		c := f.create(t, appAdmin, req)
		if _, err := f.svc.Continue(f.ctx, tokenOf(t, c.AcceptURL)); err != nil {
			t.Fatalf("Continue: %v", err)
		}
		f.clock.Advance(2 * time.Minute)
		tk, err := f.svc.Ticket(f.ctx, appAdmin, c.Invitation.ID)
		if err != nil {
			t.Fatalf("Ticket: %v", err)
		}
		if _, err := f.svc.Continue(f.ctx, tokenOf(t, tk.AcceptURL)); err != nil {
			t.Fatalf("Continue: %v", err)
		}
		f.clock.Advance(2 * time.Minute)
		if _, err := f.svc.Resend(f.ctx, appAdmin, c.Invitation.ID, 0); err != nil {
			t.Fatalf("Resend: %v", err)
		}
		if _, err := f.svc.Continue(f.ctx, f.lastToken(t, "quiet@example.com")); err != nil {
			t.Fatalf("Continue: %v", err)
		}
		var got []bool
		for _, tk := range f.idp.Tickets() {
			got = append(got, tk.MarkVerified)
		}
		if want := []bool{allow, allow, true}; !slices.Equal(got, want) {
			t.Errorf("VerifyDisclosedLinks=%v: tickets verify %v, want %v (created link, /tickets link, emailed link)", allow, got, want)
		}
	}
}

// TestOrganizationAcceptanceNeedsAuth0: a member of the organization with the invited
// email does not accept the invitation until Auth0 consumed it.
func TestOrganizationAcceptanceNeedsAuth0(t *testing.T) {
	f := newFixture(t)
	a := newAcceptor(t, f)
	inv := f.create(t, acmeAdmin, orgRequest("olga@example.com", orgAcme)).Invitation
	uid := f.idp.AddUser("olga@example.com", 1)
	f.idp.AddInviter(uid, nil, map[string][]string{orgAcme: nil}) // a member, added some other way
	f.clock.Advance(time.Minute)
	apply(t, f, a, orgLogin("log-1", invite.LogSuccessLogin, uid, "olga@example.com", orgAcme, f.clock.Now()))
	if got := f.stored(t, inv.ID); got.Status != invite.StatusPending {
		t.Fatalf("a member by other means: %s, want pending", got.Status)
	}
	stored := f.stored(t, inv.ID)
	if err := f.idp.AcceptOrgInvitation(orgAcme, stored.Auth0InvitationID, uid); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	apply(t, f, a, orgLogin("log-2", invite.LogSuccessLogin, uid, "olga@example.com", orgAcme, f.clock.Now()))
	if got := f.stored(t, inv.ID); got.Status != invite.StatusAccepted {
		t.Fatalf("after Auth0 consumed the invitation: %s, want accepted", got.Status)
	}
}

// TestBatchResultsHideWhatTheReaderMayNotSee: a reader without PermAdmin sees the batch
// an admin submitted, but not the addresses of its organization items.
func TestBatchResultsHideWhatTheReaderMayNotSee(t *testing.T) {
	b := newBulk(t, 0)
	batch := b.submit(t, superAdmin, appRequest("app@example.com"), orgRequest("secret@example.net", orgAcme))
	b.run(t)
	reader := invite.Actor{Sub: "auth0|reader", Permissions: []string{invite.PermRead}}
	view, err := b.svc.Batch(b.ctx, reader, batch.ID, 10, "")
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	items := view.Page.Items
	if len(items) != 2 || items[0].Request.Email != "app@example.com" || items[0].ResultID == "" {
		t.Fatalf("the application item: %+v, want it whole", items[0])
	}
	if it := items[1]; it.Request.Email != "" || it.ResultID != "" || it.InvitationID != "" || it.Status != invite.ItemSucceeded {
		t.Errorf("the organization item: %+v, want its outcome without whom or which invitation", it)
	}
	if _, err := b.svc.Get(b.ctx, reader, view.Page.Items[0].ResultID); err != nil {
		t.Errorf("the reader can read the application invitation: %v", err)
	}
}

// TestAdoptionWaitsForTheEarlierCleanup: a user Doorman created for an earlier
// invitation is adopted only once that invitation's cleanup is done, and then names
// the new invitation and holds exactly its roles.
func TestAdoptionWaitsForTheEarlierCleanup(t *testing.T) {
	f := newFixture(t, func(c *invite.Config) { c.ExpiredUserPolicy = invite.UserKeep })
	first := f.create(t, appAdmin, appRequest("dan@example.com")).Invitation
	f.clock.Advance(invite.DefaultTTL + time.Minute)
	if _, err := f.svc.Expire(f.ctx, first.ID); err != nil {
		t.Fatalf("Expire: %v", err)
	}
	req := appRequest("dan@example.com")
	req.Roles = []string{"rol_editor"}
	second := f.create(t, appAdmin, req).Invitation
	u, _ := f.idp.User(first.Auth0UserID)
	if u.AppMetadata["invitationId"] != second.ID || !slices.Equal(u.Roles, []string{"rol_editor"}) || u.Blocked {
		t.Fatalf("adopted user: invitationId %v, roles %v, blocked %v; want %s, [rol_editor], unblocked", u.AppMetadata["invitationId"], u.Roles, u.Blocked, second.ID)
	}
	// The first invitation's cleanup, run late, leaves the adopted user alone.
	if _, err := f.svc.RetryCleanup(context.WithoutCancel(f.ctx), first.ID); err != nil && !invite.IsCode(err, invite.CodeConflict) {
		t.Fatalf("RetryCleanup: %v", err)
	}
	if _, ok := f.idp.User(first.Auth0UserID); !ok {
		t.Errorf("the adopted user was removed by the earlier invitation's cleanup")
	}
}
