package invite_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

func TestApplicationInvitationEndToEnd(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, appAdmin, appRequest("  Ann@Example.COM "))
	if c.AcceptURL != "" {
		t.Errorf("AcceptURL: got %q, want none when the email is sent", c.AcceptURL)
	}
	inv := f.stored(t, c.Invitation.ID)
	if inv.Status != invite.StatusPending || inv.Kind != invite.KindApplication || inv.Email != "Ann@example.com" {
		t.Fatalf("stored: got %s %s %q, want pending application Ann@example.com", inv.Status, inv.Kind, inv.Email)
	}
	if got, want := inv.ExpiresAt.Sub(inv.CreatedAt), invite.DefaultTTL; got != want {
		t.Errorf("lifetime: got %s, want %s", got, want)
	}
	if inv.Delivery.Status != invite.DeliverySent || inv.Delivery.Sends != 1 || inv.Delivery.MessageID == "" {
		t.Errorf("delivery: got %+v, want sent once with a message id", inv.Delivery)
	}
	if got, want := events(inv), []string{invite.EventCreated, invite.EventEmailSent}; !slices.Equal(got, want) {
		t.Errorf("history: got %v, want %v", got, want)
	}
	if inv.Version != c.Invitation.Version {
		t.Errorf("returned version %d, stored %d", c.Invitation.Version, inv.Version)
	}

	// Auth0: a new unverified user flagged as invited, with the roles.
	u, ok := f.idp.User(inv.Auth0UserID)
	if !ok || !inv.UserCreated {
		t.Fatalf("Auth0 user %q: got created=%v exists=%v, want a user Doorman created", inv.Auth0UserID, inv.UserCreated, ok)
	}
	if u.AppMetadata["needsInvitation"] != true || u.AppMetadata["invitationId"] != inv.ID || u.EmailVerified {
		t.Errorf("Auth0 user: got app_metadata %v verified=%v, want needsInvitation and invitationId, unverified", u.AppMetadata, u.EmailVerified)
	}
	if !slices.Equal(u.Roles, []string{"rol_viewer"}) {
		t.Errorf("roles: got %v, want [rol_viewer]", u.Roles)
	}

	// The email.
	sent := f.mail.SentTo("Ann@example.com")
	if len(sent) != 1 {
		t.Fatalf("emails: got %d, want 1", len(sent))
	}
	m := sent[0]
	if m.Template != invite.TemplateApplication || m.TargetName != "Example App" || m.InviterName != "Ada Admin" || m.Message != "Welcome aboard" || !m.ExpiresAt.Equal(inv.ExpiresAt) {
		t.Errorf("email: got %+v", m.Mail)
	}
	token := tokenOf(t, m.Link)
	if invite.TokenHash(token) != inv.TokenHash {
		t.Errorf("stored token hash does not match the emailed link")
	}

	// The invitee opens the link three times: recorded once, later views write nothing.
	if _, err := f.svc.Landing(f.ctx, token); err != nil {
		t.Fatalf("Landing: %v", err)
	}
	opened := f.stored(t, inv.ID)
	for range 2 {
		if _, err := f.svc.Landing(f.ctx, token); err != nil {
			t.Fatalf("Landing: %v", err)
		}
	}
	inv = f.stored(t, inv.ID)
	if got := countEvents(inv, invite.EventLinkOpened); got != 1 || inv.Version != opened.Version {
		t.Errorf("link_opened: got %d events, version %d after %d, want 1 event and no further write", got, inv.Version, opened.Version)
	}

	// Continue mints a ticket that returns to the login client.
	target, err := f.svc.Continue(f.ctx, token)
	if err != nil {
		t.Fatalf("Continue: %v", err)
	}
	tickets := f.idp.Tickets()
	if len(tickets) != 1 || tickets[0].UserID != inv.Auth0UserID || tickets[0].ClientID != loginCID || tickets[0].ResultURL != "" || tickets[0].TTL != invite.DefaultTicketTTL {
		t.Errorf("tickets: got %+v, want one for %s with client %s", tickets, inv.Auth0UserID, loginCID)
	}
	if !strings.Contains(target, "/lo/reset?ticket=") {
		t.Errorf("Continue: got %q, want the ticket URL", target)
	}
	if got := countEvents(f.stored(t, inv.ID), invite.EventLinkUsed); got != 1 {
		t.Errorf("link_used: got %d, want 1", got)
	}

	// The first login accepts it and clears the flag.
	at := f.clock.Now().Add(time.Minute)
	acc, err := f.svc.Accept(f.ctx, inv.ID, invite.AcceptSource{Source: "auth0", Detail: "log 9001", At: at})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	inv = f.stored(t, inv.ID)
	if inv.Status != invite.StatusAccepted || !inv.AcceptedAt.Equal(at) || inv.FlagClearPending || acc.FlagClearPending {
		t.Errorf("accepted: got %s at %s pending-flag=%v, want accepted at %s with the flag cleared", inv.Status, inv.AcceptedAt, inv.FlagClearPending, at)
	}
	if u, _ := f.idp.User(inv.Auth0UserID); u.AppMetadata["needsInvitation"] != nil || u.AppMetadata["invitationId"] != inv.ID {
		t.Errorf("Auth0 app_metadata after accept: got %v, want invitationId only", u.AppMetadata)
	}
	if _, ok := f.store.Reserved(invite.ScopeApplication, "ann@example.com"); ok {
		t.Errorf("reservation: still held after accept")
	}
	_, err = f.svc.Landing(f.ctx, token)
	wantCode(t, err, invite.CodeGone)
}

func TestApplicationInvitationRedirectURL(t *testing.T) {
	f := newFixture(t)
	req := appRequest("ann@example.com")
	req.RedirectURL = "https://app.example.com/welcome"
	f.create(t, appAdmin, req)
	if _, err := f.svc.Continue(f.ctx, f.lastToken(t, "ann@example.com")); err != nil {
		t.Fatalf("Continue: %v", err)
	}
	tickets := f.idp.Tickets()
	if len(tickets) != 1 || tickets[0].ResultURL != req.RedirectURL || tickets[0].ClientID != "" {
		t.Errorf("ticket: got %+v, want result URL %s and no client", tickets, req.RedirectURL)
	}
}

func TestOrganizationInvitationEndToEnd(t *testing.T) {
	f := newFixture(t)
	req := orgRequest("bob@example.com", orgAcme)
	req.Roles = []string{"rol_viewer", "rol_editor"}
	req.TTL = 48 * time.Hour
	c := f.create(t, acmeAdmin, req)
	inv := f.stored(t, c.Invitation.ID)
	if inv.Kind != invite.KindOrganization || inv.OrganizationID != orgAcme || inv.Auth0UserID != "" || inv.Auth0InvitationID == "" {
		t.Fatalf("stored: got kind %s org %s user %q auth0 invitation %q", inv.Kind, inv.OrganizationID, inv.Auth0UserID, inv.Auth0InvitationID)
	}
	ois := f.idp.OrgInvitations(orgAcme)
	if len(ois) != 1 || ois[0].ID != inv.Auth0InvitationID || !ois[0].ExpiresAt.Equal(inv.ExpiresAt) {
		t.Fatalf("Auth0 organization invitations: got %+v, want one matching %s expiring %s", ois, inv.Auth0InvitationID, inv.ExpiresAt)
	}
	if inv.Auth0InvitationURL != "" {
		t.Errorf("stored Auth0 invitation URL %q: it works as a credential and is read when needed", inv.Auth0InvitationURL)
	}
	if got := f.idp.OrgInvitationRoles(orgAcme, inv.Auth0InvitationID); !slices.Equal(got, req.Roles) {
		t.Errorf("Auth0 invitation roles: got %v, want %v", got, req.Roles)
	}
	if f.idp.UserCount() != 0 {
		t.Errorf("users: got %d, want none for an organization invitation", f.idp.UserCount())
	}
	sent := f.mail.SentTo("bob@example.com")
	if len(sent) != 1 || sent[0].Template != invite.TemplateOrganization || sent[0].TargetName != "Acme Corp" {
		t.Fatalf("email: got %+v, want one organization invitation naming Acme Corp (header-safe)", sent)
	}
	token := tokenOf(t, sent[0].Link)
	target, err := f.svc.Continue(f.ctx, token)
	if err != nil {
		t.Fatalf("Continue: %v", err)
	}
	if target != ois[0].URL {
		t.Errorf("Continue: got %q, want the Auth0 invitation URL %q", target, ois[0].URL)
	}
	if _, err := f.svc.Accept(f.ctx, inv.ID, invite.AcceptSource{Source: "auth0"}); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if got := f.stored(t, inv.ID); got.Status != invite.StatusAccepted || got.FlagClearPending {
		t.Errorf("accepted: got %s flag=%v, want accepted without a flag to clear", got.Status, got.FlagClearPending)
	}
}

// TestCreateExistingAccountGrantsNothingYet: an address with a verified account gets an
// invitation that says to sign in with it; nothing is granted or accepted at create,
// and no ticket would lock the owner out.
func TestCreateExistingAccountGrantsNothingYet(t *testing.T) {
	f := newFixture(t)
	uid := f.idp.AddUser("carol@example.com", 12)
	c := f.create(t, appAdmin, appRequest("Carol@example.com"))
	inv := f.stored(t, c.Invitation.ID)
	if inv.Status != invite.StatusPending || inv.Auth0UserID != uid || inv.UserCreated || inv.Account != invite.AccountExisting {
		t.Fatalf("stored: got %s user %s created=%v account=%q, want pending for %s, not created, existing", inv.Status, inv.Auth0UserID, inv.UserCreated, inv.Account, uid)
	}
	if u, _ := f.idp.User(uid); len(u.Roles) != 0 {
		t.Errorf("roles at create: got %v, want none", u.Roles)
	}
	if f.idp.UserCount() != 1 {
		t.Errorf("users: got %d, want the existing one only", f.idp.UserCount())
	}
	sent := f.mail.SentTo("carol@example.com")
	if len(sent) != 1 || sent[0].Template != invite.TemplateExistingAccount || tokenOf(t, sent[0].Link) == "" {
		t.Errorf("email: got %+v, want one existing_account_invitation with the Doorman link", sent)
	}
	if len(f.idp.Tickets()) != 0 {
		t.Errorf("tickets: got %d, want none (a reset would lock the owner out)", len(f.idp.Tickets()))
	}
	// A pending invitation holds the email.
	if _, err := f.svc.Create(f.ctx, appAdmin, appRequest("carol@example.com")); !invite.IsCode(err, invite.CodeConflict) {
		t.Errorf("second invitation: %v, want conflict", err)
	}
}

func TestCreateAdoptsUnfinishedInvitedUser(t *testing.T) {
	f := newFixture(t, func(c *invite.Config) { c.ExpiredUserPolicy = invite.UserKeep })
	first := f.create(t, appAdmin, appRequest("dan@example.com"))
	f.clock.Advance(invite.DefaultTTL + time.Minute)
	if _, err := f.svc.Expire(f.ctx, first.Invitation.ID); err != nil {
		t.Fatalf("Expire: %v", err)
	}
	second := f.create(t, appAdmin, appRequest("dan@example.com"))
	inv := f.stored(t, second.Invitation.ID)
	if inv.Status != invite.StatusPending || inv.Auth0UserID != first.Invitation.Auth0UserID || !inv.UserCreated {
		t.Errorf("second invitation: got %s user %s created=%v, want pending on the kept user %s", inv.Status, inv.Auth0UserID, inv.UserCreated, first.Invitation.Auth0UserID)
	}
	if f.idp.UserCount() != 1 {
		t.Errorf("users: got %d, want 1", f.idp.UserCount())
	}
}

func TestCreateWithoutEmailReturnsAcceptURL(t *testing.T) {
	f := newFixture(t)
	req := appRequest("erin@example.com")
	req.SendEmail = false
	c := f.create(t, appAdmin, req)
	token := tokenOf(t, c.AcceptURL)
	if c.Invitation.Delivery.Status != invite.DeliveryNone || f.mail.Calls() != 0 {
		t.Errorf("delivery: got %s with %d sends, want not_sent and no email", c.Invitation.Delivery.Status, f.mail.Calls())
	}
	if inv, err := f.svc.Landing(f.ctx, token); err != nil || inv.ID != c.Invitation.ID {
		t.Errorf("Landing(accept URL): got %v, %v, want the invitation", inv, err)
	}
}

func TestCreateDuplicatePendingConflicts(t *testing.T) {
	f := newFixture(t)
	first := f.create(t, appAdmin, appRequest("fay@example.com"))
	_, err := f.svc.Create(f.ctx, appAdmin, appRequest("FAY@example.com"))
	e := wantCode(t, err, invite.CodeConflict)
	if e.ExistingID != first.Invitation.ID {
		t.Errorf("ExistingID: got %q, want %q", e.ExistingID, first.Invitation.ID)
	}
	if got := f.store.Len(); got != 1 {
		t.Errorf("stored invitations: got %d, want 1", got)
	}
	// Another scope is another invitation.
	f.create(t, acmeAdmin, orgRequest("fay@example.com", orgAcme))
}

func TestCreateOnConflictResend(t *testing.T) {
	f := newFixture(t)
	first := f.create(t, appAdmin, appRequest("gil@example.com"))
	oldToken := f.lastToken(t, "gil@example.com")
	f.clock.Advance(2 * time.Minute)

	req := appRequest("gil@example.com")
	req.OnConflict = invite.OnConflictResend
	c := f.create(t, appAdmin, req)
	if !c.Resent || c.Invitation.ID != first.Invitation.ID {
		t.Fatalf("Create: got resent=%v id=%s, want a resend of %s", c.Resent, c.Invitation.ID, first.Invitation.ID)
	}
	if got := len(f.mail.SentTo("gil@example.com")); got != 2 {
		t.Errorf("emails: got %d, want 2", got)
	}
	if _, err := f.svc.Landing(f.ctx, oldToken); invite.ErrorCode(err) != invite.CodeNotFound {
		t.Errorf("old link: got %v, want not_found", err)
	}
	if got := countEvents(f.stored(t, first.Invitation.ID), invite.EventResent); got != 1 {
		t.Errorf("resent events: got %d, want 1", got)
	}

	// Without send_email the caller gets a fresh link instead.
	req.SendEmail = false
	c = f.create(t, appAdmin, req)
	if !c.Resent || c.AcceptURL == "" || len(f.mail.SentTo("gil@example.com")) != 2 {
		t.Errorf("Create without email: got resent=%v url=%q, want a fresh link and no email", c.Resent, c.AcceptURL)
	}

	// Resending needs update:invitations.
	creator := invite.Actor{Sub: "auth0|creator", Permissions: []string{invite.PermCreate}}
	_, err := f.svc.Create(f.ctx, creator, req)
	wantCode(t, err, invite.CodeForbidden)
}

func TestCreateAuth0FailureMarksFailedAndReleases(t *testing.T) {
	tests := []struct {
		name     string
		op       inmem.Op
		code     invite.Code
		req      invite.CreateRequest
		wantCode invite.Code
	}{
		// Refusals that may pass defer to the worker instead (TestCreateAuth0BusyDefers).
		{"create user refused", inmem.OpCreateUser, invite.CodeInvalid, appRequest("hal@example.com"), invite.CodeInvalid},
		{"org invitation refused", inmem.OpCreateOrgInvitation, invite.CodeInvalid, orgRequest("hal@example.com", orgAcme), invite.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.idp.FailNext(tt.op, 1, tt.code)
			_, err := f.svc.Create(f.ctx, superAdmin, tt.req)
			wantCode(t, err, tt.wantCode)
			all := f.store.All()
			if len(all) != 1 {
				t.Fatalf("stored: got %d invitations, want the failed one", len(all))
			}
			failed := all[0]
			if failed.Status != invite.StatusFailed || !strings.Contains(failed.FailedReason, "Auth0") || countEvents(failed, invite.EventFailed) != 1 {
				t.Errorf("stored: got %s reason %q, want failed with a readable reason", failed.Status, failed.FailedReason)
			}
			if f.mail.Calls() != 0 || f.idp.UserCount() != 0 || len(f.idp.OrgInvitations(orgAcme)) != 0 {
				t.Errorf("side effects: %d emails, %d users, %d org invitations; want none", f.mail.Calls(), f.idp.UserCount(), len(f.idp.OrgInvitations(orgAcme)))
			}
			// The reservation is released: the same email can be invited again.
			again := f.create(t, superAdmin, tt.req)
			if again.Invitation.Status != invite.StatusPending {
				t.Errorf("second attempt: got %s, want pending", again.Invitation.Status)
			}
		})
	}
}

// TestCreateAuth0BusyDefers: a refusal that may pass (rate limited, unavailable) never
// fails a create: the invitation is deferred, pending and not yet provisioned, and the
// worker finishes it exactly once, email included.
func TestCreateAuth0BusyDefers(t *testing.T) {
	tests := []struct {
		name string
		op   inmem.Op
		code invite.Code
		req  invite.CreateRequest
	}{
		{"find user unavailable", inmem.OpFindUserByEmail, invite.CodeUpstream, appRequest("hal@example.com")},
		{"create user rate limited", inmem.OpCreateUser, invite.CodeRateLimited, appRequest("hal@example.com")},
		{"roles unavailable after the user was created", inmem.OpAssignRoles, invite.CodeUpstream, appRequest("hal@example.com")},
		{"org invitation unavailable", inmem.OpCreateOrgInvitation, invite.CodeUpstream, orgRequest("hal@example.com", orgAcme)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBulk(t, 0)
			b.idp.FailNext(tt.op, 1, tt.code)
			c, err := b.svc.Create(b.ctx, superAdmin, tt.req)
			if err != nil {
				t.Fatalf("Create: %v, want it deferred", err)
			}
			inv := b.stored(t, c.Invitation.ID)
			if !c.Deferred || inv.Status != invite.StatusPending || inv.Provisioned() || !inv.Deferred {
				t.Fatalf("created: deferred=%v, stored %s provisioned=%v; want deferred, pending, not provisioned", c.Deferred, inv.Status, inv.Provisioned())
			}
			if b.mail.Calls() != 0 {
				t.Errorf("%d emails before provisioning, want none", b.mail.Calls())
			}
			_, err = b.svc.Resend(b.ctx, superAdmin, inv.ID, 0)
			wantCode(t, err, invite.CodeConflict)
			_, err = b.svc.Ticket(b.ctx, superAdmin, inv.ID)
			wantCode(t, err, invite.CodeConflict)

			b.run(t)
			done := b.stored(t, inv.ID)
			if done.Status != invite.StatusPending || !done.Provisioned() || countEvents(done, invite.EventFailed) != 0 {
				t.Fatalf("after the worker: %s provisioned=%v history %v; want pending, provisioned, never failed", done.Status, done.Provisioned(), events(done))
			}
			if n := len(b.mail.SentTo("hal@example.com")); n != 1 {
				t.Errorf("emails: %d, want 1", n)
			}
			if tt.req.OrganizationID == "" && b.idp.UserCount() != 1 {
				t.Errorf("users: %d, want 1", b.idp.UserCount())
			}
			if tt.req.OrganizationID != "" && len(b.idp.OrgInvitations(orgAcme)) != 1 {
				t.Errorf("organization invitations: %d, want 1", len(b.idp.OrgInvitations(orgAcme)))
			}
		})
	}
}

// TestDeferredRevokedLeavesNothing: a deferred invitation revoked before the worker
// gets to it ends with nothing in Auth0.
func TestDeferredRevokedLeavesNothing(t *testing.T) {
	b := newBulk(t, 0)
	b.idp.FailNext(inmem.OpAssignRoles, 1, invite.CodeUpstream) // the user exists, unrecorded
	c, err := b.svc.Create(b.ctx, superAdmin, appRequest("gone@example.com"))
	if err != nil || !c.Deferred {
		t.Fatalf("Create: %v deferred=%v", err, c != nil && c.Deferred)
	}
	if _, err := b.svc.Revoke(b.ctx, superAdmin, c.Invitation.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	b.run(t)
	if n := b.idp.UserCount(); n != 0 {
		t.Errorf("users left: %d, want none", n)
	}
	if b.mail.Calls() != 0 {
		t.Errorf("emails: %d, want none", b.mail.Calls())
	}
}

// TestSweeperQueuesLostDeferredAgain: a deferred invitation whose message was lost is
// queued again by the sweeper after ProvisioningGrace, and then finished.
func TestSweeperQueuesLostDeferredAgain(t *testing.T) {
	b := newBulk(t, 0)
	b.useQueue(t, dyingQueue{})
	b.idp.FailNext(inmem.OpCreateUser, 1, invite.CodeRateLimited)
	var c *invite.Created
	func() {
		defer func() { _ = recover() }() // the queue dies under the create
		c, _ = b.svc.Create(b.ctx, superAdmin, appRequest("lost@example.com"))
	}()
	all := b.store.All()
	if len(all) != 1 || !all[0].Deferred {
		t.Fatalf("stored %v (created %v), want one deferred invitation", all, c)
	}
	b.useQueue(t, b.queue)
	sweeper := b.newSweeper(t)
	if res := b.sweep(t, sweeper); res.DeferredRequeued != 0 {
		t.Fatalf("within the grace: %d requeued, want none", res.DeferredRequeued)
	}
	b.clock.Advance(invite.ProvisioningGrace + time.Minute)
	if res := b.sweep(t, sweeper); res.DeferredRequeued != 1 {
		t.Fatalf("after the grace: %d requeued, want 1", res.DeferredRequeued)
	}
	b.run(t)
	if got := b.stored(t, all[0].ID); !got.Provisioned() || len(b.mail.SentTo("lost@example.com")) != 1 {
		t.Errorf("after the requeue: provisioned=%v, %d emails; want provisioned and mailed once", got.Provisioned(), len(b.mail.SentTo("lost@example.com")))
	}
}

func TestCreateUnknownOrganizationIsInvalid(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.Create(f.ctx, superAdmin, orgRequest("ivy@example.com", "org_nosuch"))
	if e := wantCode(t, err, invite.CodeInvalid); e.Field != "organization_id" {
		t.Errorf("field: got %q, want organization_id", e.Field)
	}
	if f.store.Len() != 0 {
		t.Errorf("stored: got %d invitations, want none", f.store.Len())
	}
}

func TestCreateAssignRolesFailureLeavesNoUser(t *testing.T) {
	tests := []struct {
		name     string
		roles    []string
		fail     invite.Code
		wantCode invite.Code
	}{
		{"unknown role", []string{"rol_viewer"}, invite.CodeNotFound, invite.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.fail != "" {
				f.idp.FailNext(inmem.OpAssignRoles, 1, tt.fail)
			}
			req := appRequest("jay@example.com")
			req.Roles = tt.roles
			_, err := f.svc.Create(f.ctx, appAdmin, req)
			wantCode(t, err, tt.wantCode)
			if n := f.idp.UserCount(); n != 0 {
				t.Errorf("users: got %d, want 0 (the created user is deleted)", n)
			}
			if all := f.store.All(); len(all) != 1 || all[0].Status != invite.StatusFailed {
				t.Errorf("stored: got %v, want one failed invitation", all)
			}
			if _, ok := f.store.Reserved(invite.ScopeApplication, "jay@example.com"); ok {
				t.Errorf("reservation still held")
			}
		})
	}
}

func TestCreateMailFailureKeepsPendingThenResend(t *testing.T) {
	f := newFixture(t)
	f.mail.FailNext(1, invite.CodeUpstream)
	c, err := f.svc.Create(f.ctx, appAdmin, appRequest("kim@example.com"))
	if err != nil {
		t.Fatalf("Create: got %v, want success: the invitation exists", err)
	}
	inv := f.stored(t, c.Invitation.ID)
	d := inv.Delivery
	now := f.clock.Now()
	if inv.Status != invite.StatusPending || d.Status != invite.DeliveryFailed || d.Attempts != 1 || d.Sends != 0 || d.LastError == "" {
		t.Fatalf("stored: got %s %+v, want pending with a failed delivery", inv.Status, d)
	}
	if !d.NextAttemptAt.Equal(now.Add(time.Minute)) {
		t.Errorf("retry: got %s, want %s", d.NextAttemptAt, now.Add(time.Minute))
	}
	if countEvents(inv, invite.EventEmailFailed) != 1 {
		t.Errorf("history: got %v, want email_failed", events(inv))
	}
	if c.Invitation.Delivery.Status != invite.DeliveryFailed {
		t.Errorf("returned delivery: got %s, want failed", c.Invitation.Delivery.Status)
	}

	// A resend right away is allowed: nothing was sent yet.
	got, err := f.svc.Resend(f.ctx, appAdmin, inv.ID, 0)
	if err != nil {
		t.Fatalf("Resend: %v", err)
	}
	if got.Delivery.Status != invite.DeliverySent || got.Delivery.Sends != 1 || got.Delivery.Attempts != 0 || !got.Delivery.NextAttemptAt.IsZero() {
		t.Errorf("delivery after resend: got %+v, want sent once, no retry queued", got.Delivery)
	}
	if len(f.mail.SentTo("kim@example.com")) != 1 {
		t.Errorf("emails: got %d, want 1", len(f.mail.SentTo("kim@example.com")))
	}
}

func TestRetryDelivery(t *testing.T) {
	f := newFixture(t)
	f.mail.FailNext(2, invite.CodeUpstream)
	c := f.create(t, appAdmin, appRequest("lou@example.com"))
	_, err := f.svc.RetryDelivery(f.ctx, c.Invitation.ID)
	if e := wantCode(t, err, invite.CodeRateLimited); e.RetryAfter != time.Minute {
		t.Errorf("RetryAfter: got %s, want 1m", e.RetryAfter)
	}
	f.clock.Advance(time.Minute)
	inv, err := f.svc.RetryDelivery(f.ctx, c.Invitation.ID)
	if err != nil {
		t.Fatalf("RetryDelivery: %v", err)
	}
	if inv.Delivery.Attempts != 2 || !inv.Delivery.NextAttemptAt.Equal(f.clock.Now().Add(2*time.Minute)) {
		t.Errorf("second failure: got %+v, want attempt 2 with a 2m backoff", inv.Delivery)
	}
	f.clock.Advance(2 * time.Minute)
	inv, err = f.svc.RetryDelivery(f.ctx, c.Invitation.ID)
	if err != nil {
		t.Fatalf("RetryDelivery: %v", err)
	}
	if inv.Delivery.Status != invite.DeliverySent {
		t.Errorf("third attempt: got %s, want sent", inv.Delivery.Status)
	}
	if _, err := f.svc.Landing(f.ctx, f.lastToken(t, "lou@example.com")); err != nil {
		t.Errorf("Landing(retried link): %v", err)
	}
	_, err = f.svc.RetryDelivery(f.ctx, c.Invitation.ID)
	wantCode(t, err, invite.CodeConflict)
}

func TestCreateMailRefusedForGoodQueuesNoRetry(t *testing.T) {
	f := newFixture(t)
	f.mail.FailNext(1, invite.CodeInvalid)
	c := f.create(t, appAdmin, appRequest("max@example.com"))
	if d := f.stored(t, c.Invitation.ID).Delivery; d.Status != invite.DeliveryFailed || !d.NextAttemptAt.IsZero() {
		t.Errorf("delivery: got %+v, want failed with no retry queued", d)
	}
}

func TestCreateInviterNameIsHeaderSafe(t *testing.T) {
	f := newFixture(t)
	a := appAdmin
	a.Name = "Ada\r\nBcc: eve@example.com"
	f.create(t, a, appRequest("ned@example.com"))
	if got := f.mail.SentTo("ned@example.com")[0].InviterName; strings.ContainsAny(got, "\r\n") {
		t.Errorf("InviterName: got %q, want no line breaks", got)
	}
}
