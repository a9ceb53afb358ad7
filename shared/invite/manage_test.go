package invite_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

func TestAuthorization(t *testing.T) {
	only := func(perms ...string) invite.Actor {
		return invite.Actor{Sub: "auth0|limited", Permissions: perms}
	}
	acmeOnly := func(perms ...string) invite.Actor {
		return invite.Actor{Sub: "auth0|limited", Permissions: perms, OrgID: orgAcme}
	}
	type target int
	const (
		appInv target = iota
		acmeInv
		otherInv
	)
	ops := map[string]func(f *fixture, a invite.Actor, id string) error{
		"get":    func(f *fixture, a invite.Actor, id string) error { _, err := f.svc.Get(f.ctx, a, id); return err },
		"resend": func(f *fixture, a invite.Actor, id string) error { _, err := f.svc.Resend(f.ctx, a, id, 0); return err },
		"ticket": func(f *fixture, a invite.Actor, id string) error { _, err := f.svc.Ticket(f.ctx, a, id); return err },
		"revoke": func(f *fixture, a invite.Actor, id string) error { _, err := f.svc.Revoke(f.ctx, a, id); return err },
	}
	tests := []struct {
		name   string
		actor  invite.Actor
		op     string
		target target
		want   invite.Code // "" means allowed
	}{
		{"anonymous get", invite.Actor{Permissions: allPerms}, "get", appInv, invite.CodeUnauth},
		{"read gets app", only(invite.PermRead), "get", appInv, ""},
		{"create cannot get", only(invite.PermCreate), "get", appInv, invite.CodeForbidden},
		{"read cannot resend", only(invite.PermRead), "resend", appInv, invite.CodeForbidden},
		{"update resends", only(invite.PermUpdate), "resend", appInv, ""},
		{"read cannot ticket", only(invite.PermRead), "ticket", appInv, invite.CodeForbidden},
		{"update tickets", only(invite.PermUpdate), "ticket", appInv, ""},
		{"update cannot revoke", only(invite.PermUpdate), "revoke", appInv, invite.CodeForbidden},
		{"delete revokes", only(invite.PermDelete), "revoke", appInv, ""},
		{"app token cannot see org", only(allPerms...), "get", acmeInv, invite.CodeNotFound},
		{"app token cannot revoke org", only(allPerms...), "revoke", acmeInv, invite.CodeNotFound},
		{"admin sees org", only(invite.PermRead, invite.PermAdmin), "get", acmeInv, ""},
		{"admin revokes org", only(invite.PermDelete, invite.PermAdmin), "revoke", otherInv, ""},
		{"org token sees its org", acmeOnly(invite.PermRead), "get", acmeInv, ""},
		{"org token cannot see other org", acmeOnly(invite.PermRead), "get", otherInv, invite.CodeNotFound},
		{"org token cannot see app", acmeOnly(invite.PermRead), "get", appInv, invite.CodeNotFound},
		{"org token with admin still scoped", acmeOnly(invite.PermRead, invite.PermAdmin), "get", otherInv, invite.CodeNotFound},
		{"org token cannot resend other org", acmeOnly(invite.PermUpdate), "resend", otherInv, invite.CodeNotFound},
		{"org token cannot revoke other org", acmeOnly(invite.PermDelete), "revoke", otherInv, invite.CodeNotFound},
		{"org token revokes its org", acmeOnly(invite.PermDelete), "revoke", acmeInv, ""},
		{"missing permission before scope", acmeOnly(invite.PermRead), "revoke", otherInv, invite.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ids := map[target]string{
				appInv:   f.create(t, appAdmin, appRequest("pat@example.com")).Invitation.ID,
				acmeInv:  f.create(t, acmeAdmin, orgRequest("pat@example.com", orgAcme)).Invitation.ID,
				otherInv: f.create(t, otherAdmin, orgRequest("pat@example.com", orgOther)).Invitation.ID,
			}
			f.clock.Advance(time.Hour) // past the resend interval
			err := ops[tt.op](f, tt.actor, ids[tt.target])
			if tt.want == "" {
				if err != nil {
					t.Fatalf("%s: got %v, want allowed", tt.op, err)
				}
				return
			}
			e := wantCode(t, err, tt.want)
			if tt.want == invite.CodeNotFound && e.Message != "invitation not found" {
				t.Errorf("not_found message: got %q, want the same as for an unknown id", e.Message)
			}
		})
	}

	t.Run("unknown id reads the same as hidden", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.svc.Get(f.ctx, appAdmin, "01JXXXXXXXXXXXXXXXXXXXXXXX")
		if e := wantCode(t, err, invite.CodeNotFound); e.Message != "invitation not found" {
			t.Errorf("message: got %q", e.Message)
		}
	})
}

func TestCreateAuthorization(t *testing.T) {
	tests := []struct {
		name    string
		actor   invite.Actor
		org     string
		want    invite.Code
		wantOrg string
	}{
		{"anonymous", invite.Actor{Permissions: allPerms}, "", invite.CodeUnauth, ""},
		{"no create permission", invite.Actor{Sub: "auth0|r", Permissions: []string{invite.PermRead}}, "", invite.CodeForbidden, ""},
		{"app token app invitation", appAdmin, "", "", ""},
		{"app token org invitation", appAdmin, orgAcme, invite.CodeForbidden, ""},
		{"admin org invitation", superAdmin, orgOther, "", orgOther},
		{"org token own org", acmeAdmin, orgAcme, "", orgAcme},
		{"org token defaults to own org", acmeAdmin, "", "", orgAcme},
		{"org token other org", acmeAdmin, orgOther, invite.CodeForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c, err := f.svc.Create(f.ctx, tt.actor, orgRequest("quinn@example.com", tt.org))
			if tt.want != "" {
				wantCode(t, err, tt.want)
				if f.store.Len() != 0 || f.idp.UserCount() != 0 {
					t.Errorf("side effects: %d invitations, %d users; want none", f.store.Len(), f.idp.UserCount())
				}
				return
			}
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if c.Invitation.OrganizationID != tt.wantOrg {
				t.Errorf("organization: got %q, want %q", c.Invitation.OrganizationID, tt.wantOrg)
			}
		})
	}
}

func TestList(t *testing.T) {
	f := newFixture(t)
	var appIDs []string
	for _, e := range []string{"a1@example.com", "a2@example.com", "a3@example.com", "a4@example.com", "a5@example.com"} {
		appIDs = append(appIDs, f.create(t, appAdmin, appRequest(e)).Invitation.ID)
		f.clock.Advance(time.Second)
	}
	f.create(t, acmeAdmin, orgRequest("b1@example.com", orgAcme))
	other := invite.Actor{Sub: "auth0|second", Name: "Second", Permissions: allPerms}
	f.idp.AddInviter(other.Sub, []string{"rol_viewer"}, nil)
	f.create(t, other, appRequest("c1@example.com"))
	if _, err := f.svc.Revoke(f.ctx, appAdmin, appIDs[0]); err != nil {
		t.Fatalf("Revoke: %v", err)
	}

	// Newest first, paged.
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := f.svc.List(f.ctx, appAdmin, invite.ListRequest{Inviter: appAdmin.Sub, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, inv := range page.Invitations {
			got = append(got, inv.ID)
		}
		if page.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("List: cursor never ends")
		}
		cursor = page.NextCursor
	}
	want := slices.Clone(appIDs)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Errorf("List: got %v, want %v", got, want)
	}

	tests := []struct {
		name  string
		actor invite.Actor
		req   invite.ListRequest
		want  int
		code  invite.Code
		field string
	}{
		{"status filter", appAdmin, invite.ListRequest{Status: invite.StatusRevoked}, 1, "", ""},
		{"email filter any case", appAdmin, invite.ListRequest{Email: "A3@EXAMPLE.com"}, 1, "", ""},
		{"inviter filter", appAdmin, invite.ListRequest{Inviter: other.Sub}, 1, "", ""},
		{"org token sees its org", acmeAdmin, invite.ListRequest{}, 1, "", ""},
		{"org token names other org", acmeAdmin, invite.ListRequest{OrganizationID: orgOther}, 0, invite.CodeForbidden, ""},
		{"app token names org", appAdmin, invite.ListRequest{OrganizationID: orgAcme}, 0, invite.CodeForbidden, ""},
		{"admin names org", superAdmin, invite.ListRequest{OrganizationID: orgAcme}, 1, "", ""},
		{"bad status", appAdmin, invite.ListRequest{Status: "lost"}, 0, invite.CodeInvalid, "status"},
		{"limit too big", appAdmin, invite.ListRequest{Limit: 101}, 0, invite.CodeInvalid, "limit"},
		{"no read permission", invite.Actor{Sub: "x", Permissions: []string{invite.PermCreate}}, invite.ListRequest{}, 0, invite.CodeForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := f.svc.List(f.ctx, tt.actor, tt.req)
			if tt.code != "" {
				if e := wantCode(t, err, tt.code); e.Field != tt.field {
					t.Errorf("field: got %q, want %q", e.Field, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(page.Invitations) != tt.want {
				t.Errorf("got %d invitations, want %d", len(page.Invitations), tt.want)
			}
		})
	}

	t.Run("cursor of another filter", func(t *testing.T) {
		page, err := f.svc.List(f.ctx, appAdmin, invite.ListRequest{Limit: 1})
		if err != nil || page.NextCursor == "" {
			t.Fatalf("List: got %v, %v, want a next page", page, err)
		}
		_, err = f.svc.List(f.ctx, appAdmin, invite.ListRequest{Limit: 1, Status: invite.StatusPending, Cursor: page.NextCursor})
		wantCode(t, err, invite.CodeInvalid)
		_, err = f.svc.List(f.ctx, superAdmin, invite.ListRequest{OrganizationID: orgAcme, Cursor: page.NextCursor})
		wantCode(t, err, invite.CodeInvalid)
	})
}

func TestResendRateLimitAndRotation(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, appAdmin, appRequest("rae@example.com"))
	id := c.Invitation.ID
	first := f.lastToken(t, "rae@example.com")

	f.clock.Advance(20 * time.Second)
	_, err := f.svc.Resend(f.ctx, appAdmin, id, 0)
	if e := wantCode(t, err, invite.CodeRateLimited); e.RetryAfter != 40*time.Second {
		t.Errorf("RetryAfter: got %s, want 40s", e.RetryAfter)
	}

	f.clock.Advance(40 * time.Second)
	inv, err := f.svc.Resend(f.ctx, appAdmin, id, 0)
	if err != nil {
		t.Fatalf("Resend: %v", err)
	}
	second := f.lastToken(t, "rae@example.com")
	if second == first {
		t.Fatal("Resend: the token was not replaced")
	}
	if _, err := f.svc.Landing(f.ctx, first); invite.ErrorCode(err) != invite.CodeNotFound {
		t.Errorf("old link: got %v, want not_found", err)
	}
	if _, err := f.svc.Continue(f.ctx, first); invite.ErrorCode(err) != invite.CodeNotFound {
		t.Errorf("old link Continue: got %v, want not_found", err)
	}
	if _, err := f.svc.Landing(f.ctx, second); err != nil {
		t.Errorf("new link: %v", err)
	}
	if inv.Delivery.Sends != 2 || countEvents(inv, invite.EventResent) != 1 {
		t.Errorf("after resend: got %d sends and history %v", inv.Delivery.Sends, events(inv))
	}

	// MaxSends (5) in all.
	for range 3 {
		f.clock.Advance(time.Minute)
		if _, err := f.svc.Resend(f.ctx, appAdmin, id, 0); err != nil {
			t.Fatalf("Resend: %v", err)
		}
	}
	f.clock.Advance(time.Hour)
	_, err = f.svc.Resend(f.ctx, appAdmin, id, 0)
	wantCode(t, err, invite.CodeRateLimited)
	if got := len(f.mail.SentTo("rae@example.com")); got != 5 {
		t.Errorf("emails: got %d, want 5", got)
	}
}

func TestResendNewTTL(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, acmeAdmin, orgRequest("sue@example.com", orgAcme))
	oldAuth0 := c.Invitation.Auth0InvitationID
	f.clock.Advance(time.Hour)

	_, err := f.svc.Resend(f.ctx, acmeAdmin, c.Invitation.ID, 10*time.Minute)
	if e := wantCode(t, err, invite.CodeInvalid); e.Field != "ttl_seconds" {
		t.Errorf("field: got %q, want ttl_seconds", e.Field)
	}

	inv, err := f.svc.Resend(f.ctx, acmeAdmin, c.Invitation.ID, 20*24*time.Hour)
	if err != nil {
		t.Fatalf("Resend: %v", err)
	}
	wantExp := f.clock.Now().Add(20 * 24 * time.Hour)
	stored := f.stored(t, inv.ID)
	if !stored.ExpiresAt.Equal(wantExp) {
		t.Errorf("expires: got %s, want %s", stored.ExpiresAt, wantExp)
	}
	ois := f.idp.OrgInvitations(orgAcme)
	if len(ois) != 1 || ois[0].ID == oldAuth0 || ois[0].ID != stored.Auth0InvitationID || !ois[0].ExpiresAt.Equal(wantExp) {
		t.Errorf("Auth0 invitations: got %+v, want only the new one (%s) expiring %s", ois, stored.Auth0InvitationID, wantExp)
	}
	target, err := f.svc.Continue(f.ctx, f.lastToken(t, "sue@example.com"))
	if err != nil || target != ois[0].URL {
		t.Errorf("Continue: got %q, %v, want the new Auth0 URL", target, err)
	}
}

func TestResendNotPending(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, appAdmin, appRequest("tom@example.com"))
	if _, err := f.svc.Revoke(f.ctx, appAdmin, c.Invitation.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	f.clock.Advance(time.Hour)
	_, err := f.svc.Resend(f.ctx, appAdmin, c.Invitation.ID, 0)
	wantCode(t, err, invite.CodeConflict)
	_, err = f.svc.Ticket(f.ctx, appAdmin, c.Invitation.ID)
	wantCode(t, err, invite.CodeConflict)
}

func TestTicket(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, appAdmin, appRequest("uma@example.com"))
	old := f.lastToken(t, "uma@example.com")
	out, err := f.svc.Ticket(f.ctx, appAdmin, c.Invitation.ID)
	if err != nil {
		t.Fatalf("Ticket: %v", err)
	}
	token := tokenOf(t, out.AcceptURL)
	if len(f.mail.Sent()) != 1 {
		t.Errorf("emails: got %d, want only the first", len(f.mail.Sent()))
	}
	if _, err := f.svc.Landing(f.ctx, token); err != nil {
		t.Errorf("Landing(ticket): %v", err)
	}
	if _, err := f.svc.Landing(f.ctx, old); invite.ErrorCode(err) != invite.CodeNotFound {
		t.Errorf("Landing(old): got %v, want not_found", err)
	}
	if got := countEvents(f.stored(t, c.Invitation.ID), invite.EventTicket); got != 1 {
		t.Errorf("ticket_issued: got %d, want 1", got)
	}
}

func TestRevoke(t *testing.T) {
	t.Run("application", func(t *testing.T) {
		f := newFixture(t)
		c := f.create(t, appAdmin, appRequest("vic@example.com"))
		token := f.lastToken(t, "vic@example.com")
		inv, err := f.svc.Revoke(f.ctx, appAdmin, c.Invitation.ID)
		if err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if inv.Status != invite.StatusRevoked || inv.RevokedAt.IsZero() || f.stored(t, inv.ID).Status != invite.StatusRevoked {
			t.Errorf("revoked: got %s at %s", inv.Status, inv.RevokedAt)
		}
		if _, ok := f.idp.User(c.Invitation.Auth0UserID); ok {
			t.Errorf("Auth0 user %s still exists", c.Invitation.Auth0UserID)
		}
		_, err = f.svc.Landing(f.ctx, token)
		wantCode(t, err, invite.CodeGone)
		_, err = f.svc.Continue(f.ctx, token)
		wantCode(t, err, invite.CodeGone)
		_, err = f.svc.Revoke(f.ctx, appAdmin, c.Invitation.ID)
		wantCode(t, err, invite.CodeConflict)
		f.create(t, appAdmin, appRequest("vic@example.com")) // the reservation is free
	})
	t.Run("organization", func(t *testing.T) {
		f := newFixture(t)
		c := f.create(t, acmeAdmin, orgRequest("wes@example.com", orgAcme))
		if _, err := f.svc.Revoke(f.ctx, acmeAdmin, c.Invitation.ID); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if ois := f.idp.OrgInvitations(orgAcme); len(ois) != 0 {
			t.Errorf("Auth0 invitations: got %+v, want none", ois)
		}
	})
	t.Run("user who logged in is kept", func(t *testing.T) {
		f := newFixture(t)
		c := f.create(t, appAdmin, appRequest("xia@example.com"))
		if err := f.idp.RecordLogin(c.Invitation.Auth0UserID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Revoke(f.ctx, appAdmin, c.Invitation.ID); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if _, ok := f.idp.User(c.Invitation.Auth0UserID); !ok {
			t.Errorf("Auth0 user deleted, want it kept after a login")
		}
	})
	t.Run("cleanup failure is recorded, not returned", func(t *testing.T) {
		f := newFixture(t)
		c := f.create(t, acmeAdmin, orgRequest("yan@example.com", orgAcme))
		f.idp.FailNext(inmem.OpDeleteOrgInvitation, 1, invite.CodeUpstream)
		inv, err := f.svc.Revoke(f.ctx, acmeAdmin, c.Invitation.ID)
		if err != nil {
			t.Fatalf("Revoke: got %v, want success once the revoke is stored", err)
		}
		stored := f.stored(t, inv.ID)
		if stored.Status != invite.StatusRevoked || countEvents(stored, invite.EventCleanupFailed) != 1 {
			t.Errorf("stored: got %s with history %v, want revoked with cleanup_failed", stored.Status, events(stored))
		}
	})
}

func TestAcceptFlagClearFailure(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, appAdmin, appRequest("zoe@example.com"))
	f.idp.FailNext(inmem.OpClearInvitationFlag, 1, invite.CodeUpstream)
	inv, err := f.svc.Accept(f.ctx, c.Invitation.ID, invite.AcceptSource{Source: "auth0"})
	if err != nil {
		t.Fatalf("Accept: got %v, want the accepted invitation", err)
	}
	if inv.Status != invite.StatusAccepted || !inv.FlagClearPending {
		t.Fatalf("returned: got %s flag=%v, want accepted with the flag pending", inv.Status, inv.FlagClearPending)
	}
	if s := f.stored(t, inv.ID); !s.FlagClearPending {
		t.Errorf("stored: FlagClearPending false, want true")
	}
	if u, _ := f.idp.User(inv.Auth0UserID); u.AppMetadata["needsInvitation"] != true {
		t.Errorf("Auth0: got %v, want the flag still set", u.AppMetadata)
	}
	inv, err = f.svc.RetryFlagClear(f.ctx, inv.ID)
	if err != nil {
		t.Fatalf("RetryFlagClear: %v", err)
	}
	if inv.FlagClearPending || f.stored(t, inv.ID).FlagClearPending {
		t.Errorf("after retry: flag still pending")
	}
	if u, _ := f.idp.User(inv.Auth0UserID); u.AppMetadata["needsInvitation"] != nil {
		t.Errorf("Auth0 after retry: got %v, want the flag cleared", u.AppMetadata)
	}
	_, err = f.svc.Accept(f.ctx, inv.ID, invite.AcceptSource{Source: "auth0"})
	wantCode(t, err, invite.CodeConflict)
}

func TestExpire(t *testing.T) {
	tests := []struct {
		name        string
		policy      invite.UserPolicy
		login       bool
		wantUser    bool
		wantBlocked bool
	}{
		{"delete", invite.UserDelete, false, false, false},
		{"default is delete", "", false, false, false},
		{"block", invite.UserBlock, false, true, true},
		{"keep", invite.UserKeep, false, true, false},
		{"delete keeps a user who logged in", invite.UserDelete, true, true, false},
		{"block spares a user who logged in", invite.UserBlock, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *invite.Config) { c.ExpiredUserPolicy = tt.policy })
			c := f.create(t, appAdmin, appRequest("amy@example.com"))
			uid := c.Invitation.Auth0UserID
			if tt.login {
				if err := f.idp.RecordLogin(uid); err != nil {
					t.Fatal(err)
				}
			}
			_, err := f.svc.Expire(f.ctx, c.Invitation.ID)
			wantCode(t, err, invite.CodeConflict) // not yet due

			f.clock.Advance(invite.DefaultTTL)
			token := f.lastToken(t, "amy@example.com")
			_, err = f.svc.Landing(f.ctx, token) // due, not yet swept
			wantCode(t, err, invite.CodeGone)

			inv, err := f.svc.Expire(f.ctx, c.Invitation.ID)
			if err != nil {
				t.Fatalf("Expire: %v", err)
			}
			if inv.Status != invite.StatusExpired || inv.ExpiredAt.IsZero() || f.stored(t, inv.ID).Status != invite.StatusExpired {
				t.Errorf("expired: got %s", inv.Status)
			}
			u, ok := f.idp.User(uid)
			if ok != tt.wantUser || u.Blocked != tt.wantBlocked {
				t.Errorf("Auth0 user: got exists=%v blocked=%v, want exists=%v blocked=%v", ok, u.Blocked, tt.wantUser, tt.wantBlocked)
			}
			_, err = f.svc.Expire(f.ctx, c.Invitation.ID)
			wantCode(t, err, invite.CodeConflict)
		})
	}

	t.Run("organization invitation deleted", func(t *testing.T) {
		f := newFixture(t)
		c := f.create(t, acmeAdmin, orgRequest("ben@example.com", orgAcme))
		f.clock.Advance(invite.DefaultTTL)
		if _, err := f.svc.Expire(f.ctx, c.Invitation.ID); err != nil {
			t.Fatalf("Expire: %v", err)
		}
		if ois := f.idp.OrgInvitations(orgAcme); len(ois) != 0 {
			t.Errorf("Auth0 invitations: got %+v, want none", ois)
		}
	})
}

func TestLandingUnknownTokens(t *testing.T) {
	f := newFixture(t)
	f.create(t, appAdmin, appRequest("cy@example.com"))
	for _, token := range []string{"", "nope", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		_, err := f.svc.Landing(f.ctx, token)
		wantCode(t, err, invite.CodeNotFound)
		_, err = f.svc.Continue(f.ctx, token)
		wantCode(t, err, invite.CodeNotFound)
	}
}

func TestLandingAcceptedIsGone(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, appAdmin, appRequest("dee@example.com"))
	token := f.lastToken(t, "dee@example.com")
	if _, err := f.svc.Accept(f.ctx, c.Invitation.ID, invite.AcceptSource{Source: "auth0"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Landing(f.ctx, token)
	if e := wantCode(t, err, invite.CodeGone); e.Message == "" {
		t.Errorf("gone without a reason")
	}
	if n := len(f.idp.Tickets()); n != 0 {
		t.Errorf("tickets: got %d, want none", n)
	}
}

func TestConcurrentAcceptRevoke(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, appAdmin, appRequest("eve@example.com"))
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if i%2 == 0 {
				_, errs[i] = f.svc.Accept(f.ctx, c.Invitation.ID, invite.AcceptSource{Source: "auth0"})
			} else {
				_, errs[i] = f.svc.Revoke(f.ctx, appAdmin, c.Invitation.ID)
			}
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch invite.ErrorCode(err) {
		case "":
			wins++
		case invite.CodeConflict:
		default:
			t.Errorf("goroutine %d: got %v, want success or conflict", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("winners: got %d, want exactly 1", wins)
	}
	inv := f.stored(t, c.Invitation.ID)
	terminal := countEvents(inv, invite.EventAccepted) + countEvents(inv, invite.EventRevoked)
	if terminal != 1 || inv.Status.Terminal() == false {
		t.Errorf("history: got %v, want exactly one terminal event", events(inv))
	}
}
