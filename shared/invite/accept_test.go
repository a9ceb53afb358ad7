package invite_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

func newAcceptor(t *testing.T, f *fixture, edit ...func(*invite.AcceptorConfig)) *invite.Acceptor {
	t.Helper()
	cfg := invite.AcceptorConfig{Service: f.svc, Store: f.store}
	for _, e := range edit {
		e(&cfg)
	}
	a, err := invite.NewAcceptor(cfg)
	if err != nil {
		t.Fatalf("NewAcceptor: %v", err)
	}
	return a
}

// apply runs one batch and fails the test on error.
func apply(t *testing.T, f *fixture, a *invite.Acceptor, events ...invite.IdentityEvent) *invite.ApplyResult {
	t.Helper()
	res, err := a.Apply(f.ctx, events)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

func login(logID, userID string, at time.Time) invite.IdentityEvent {
	return invite.IdentityEvent{LogID: logID, Type: invite.LogSuccessLogin, At: at, UserID: userID}
}

func passwordSet(logID, userID string, at time.Time) invite.IdentityEvent {
	return invite.IdentityEvent{LogID: logID, Type: invite.LogPasswordChanged, At: at, UserID: userID}
}

func orgLogin(logID, typ, userID, email, org string, at time.Time) invite.IdentityEvent {
	return invite.IdentityEvent{LogID: logID, Type: typ, At: at, UserID: userID, Email: email, OrganizationID: org}
}

// sortedEvents is the history's event names in order of name, for comparing
// histories built from events delivered in different orders.
func sortedEvents(inv *invite.Invitation) []string {
	e := events(inv)
	slices.Sort(e)
	return e
}

func TestAcceptApplicationInvitation(t *testing.T) {
	base := time.Date(2025, 6, 2, 9, 5, 0, 0, time.UTC)
	scp := func(u string) invite.IdentityEvent { return passwordSet("log-scp", u, base) }
	s := func(u string) invite.IdentityEvent { return login("log-s", u, base.Add(time.Minute)) }
	tests := []struct {
		name    string
		batches func(u string) [][]invite.IdentityEvent
	}{
		{"scp then s in one batch", func(u string) [][]invite.IdentityEvent { return [][]invite.IdentityEvent{{scp(u), s(u)}} }},
		{"s before scp", func(u string) [][]invite.IdentityEvent { return [][]invite.IdentityEvent{{s(u), scp(u)}} }},
		{"each event twice in one batch", func(u string) [][]invite.IdentityEvent {
			return [][]invite.IdentityEvent{{scp(u), s(u), scp(u), s(u)}}
		}},
		{"the same batch twice", func(u string) [][]invite.IdentityEvent {
			return [][]invite.IdentityEvent{{scp(u), s(u)}, {scp(u), s(u)}}
		}},
		{"split differently on retry", func(u string) [][]invite.IdentityEvent {
			return [][]invite.IdentityEvent{{s(u)}, {scp(u), s(u)}, {scp(u)}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := newAcceptor(t, f)
			inv := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation
			for _, b := range tt.batches(inv.Auth0UserID) {
				apply(t, f, a, b...)
			}
			got := f.stored(t, inv.ID)
			if got.Status != invite.StatusAccepted {
				t.Fatalf("status: got %s, want accepted", got.Status)
			}
			if !got.AcceptedAt.Equal(base.Add(time.Minute)) {
				t.Errorf("accepted_at: got %s, want the login's time %s", got.AcceptedAt, base.Add(time.Minute))
			}
			if got.FlagClearPending {
				t.Errorf("FlagClearPending: got true, want false once Auth0 cleared it")
			}
			if n := countEvents(got, invite.EventAccepted); n != 1 {
				t.Errorf("accepted events: got %d, want 1 (history %v)", n, events(got))
			}
			if n := countEvents(got, invite.EventPasswordSet); n != 1 {
				t.Errorf("password_set events: got %d, want 1 (history %v)", n, events(got))
			}
			u, _ := f.idp.User(inv.Auth0UserID)
			if _, ok := u.AppMetadata["needsInvitation"]; ok {
				t.Errorf("app_metadata: got %v, want needsInvitation cleared", u.AppMetadata)
			}
		})
	}
}

func TestAcceptOrderDoesNotChangeEndState(t *testing.T) {
	at := time.Date(2025, 6, 2, 9, 5, 0, 0, time.UTC)
	end := func(order []int) *invite.Invitation {
		f := newFixture(t)
		a := newAcceptor(t, f)
		inv := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation
		all := []invite.IdentityEvent{passwordSet("l1", inv.Auth0UserID, at), login("l2", inv.Auth0UserID, at.Add(time.Second))}
		for _, i := range order {
			apply(t, f, a, all[i])
		}
		return f.stored(t, inv.ID)
	}
	inOrder, reversed := end([]int{0, 1}), end([]int{1, 0})
	if inOrder.Status != reversed.Status || inOrder.FlagClearPending != reversed.FlagClearPending || !inOrder.AcceptedAt.Equal(reversed.AcceptedAt) {
		t.Errorf("end state: in order %s/%v/%s, reversed %s/%v/%s", inOrder.Status, inOrder.FlagClearPending, inOrder.AcceptedAt,
			reversed.Status, reversed.FlagClearPending, reversed.AcceptedAt)
	}
	if a, b := sortedEvents(inOrder), sortedEvents(reversed); !slices.Equal(a, b) {
		t.Errorf("history: in order %v, reversed %v", a, b)
	}
}

func TestAcceptFlagClearFailureIsQueued(t *testing.T) {
	f := newFixture(t)
	a := newAcceptor(t, f)
	inv := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation
	f.idp.FailNext(inmem.OpClearInvitationFlag, 1, invite.CodeUpstream)
	res := apply(t, f, a, login("l1", inv.Auth0UserID, time.Time{}))
	if res.Applied != 1 {
		t.Errorf("applied: got %d, want 1", res.Applied)
	}
	got := f.stored(t, inv.ID)
	if got.Status != invite.StatusAccepted || !got.FlagClearPending {
		t.Fatalf("got %s with FlagClearPending %v, want accepted with the clear pending", got.Status, got.FlagClearPending)
	}
	if _, err := f.svc.RetryFlagClear(f.ctx, inv.ID); err != nil {
		t.Fatalf("RetryFlagClear: %v", err)
	}
	if got := f.stored(t, inv.ID); got.FlagClearPending {
		t.Errorf("after the sweeper's retry: FlagClearPending still set")
	}
}

func TestAcceptAfterEndIsHistoryOnly(t *testing.T) {
	tests := []struct {
		name   string
		end    func(f *fixture, id string)
		status invite.Status
	}{
		{"revoked", func(f *fixture, id string) {
			if _, err := f.svc.Revoke(f.ctx, appAdmin, id); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
		}, invite.StatusRevoked},
		{"expired", func(f *fixture, id string) {
			f.clock.Advance(8 * 24 * time.Hour)
			if _, err := f.svc.Expire(f.ctx, id); err != nil {
				t.Fatalf("Expire: %v", err)
			}
		}, invite.StatusExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *invite.Config) { c.ExpiredUserPolicy = invite.UserKeep })
			a := newAcceptor(t, f)
			inv := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation
			tt.end(f, inv.ID)
			// Revoke deletes the user Doorman created; the event may still be in flight.
			apply(t, f, a, login("l1", inv.Auth0UserID, time.Time{}), login("l1", inv.Auth0UserID, time.Time{}))
			got := f.stored(t, inv.ID)
			if got.Status != tt.status {
				t.Errorf("status: got %s, want %s", got.Status, tt.status)
			}
			if n := countEvents(got, invite.EventAfterEnd); n != 1 {
				t.Errorf("%s events: got %d, want 1 (history %v)", invite.EventAfterEnd, n, events(got))
			}
			if !got.AcceptedAt.IsZero() {
				t.Errorf("accepted_at: got %s, want unset", got.AcceptedAt)
			}
		})
	}
}

// orgFixture creates an organization invitation and returns it.
func orgFixture(t *testing.T, f *fixture, email string) *invite.Invitation {
	t.Helper()
	return f.create(t, acmeAdmin, orgRequest(email, orgAcme)).Invitation
}

func TestAcceptOrganizationInvitation(t *testing.T) {
	at := time.Date(2025, 6, 2, 9, 5, 0, 0, time.UTC)
	tests := []struct {
		name       string
		typ        string
		email      string
		member     bool
		wantStatus invite.Status
		wantEvent  string
	}{
		{"login of a member", invite.LogSuccessLogin, "carol@example.net", true, invite.StatusAccepted, invite.EventAccepted},
		{"signup of a member", invite.LogSuccessSignup, "carol@example.net", true, invite.StatusAccepted, invite.EventAccepted},
		{"email in another case", invite.LogSuccessLogin, "Carol@EXAMPLE.net", true, invite.StatusAccepted, invite.EventAccepted},
		{"not a member", invite.LogSuccessLogin, "carol@example.net", false, invite.StatusPending, invite.EventNotMember},
		{"another email", invite.LogSuccessLogin, "dave@example.net", true, invite.StatusPending, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := newAcceptor(t, f)
			inv := orgFixture(t, f, "carol@example.net")
			uid := f.idp.AddUser(tt.email, 0)
			if tt.member {
				if err := f.idp.AcceptOrgInvitation(orgAcme, inv.Auth0InvitationID, uid); err != nil {
					t.Fatalf("AcceptOrgInvitation: %v", err)
				}
			}
			ev := orgLogin("l1", tt.typ, uid, tt.email, orgAcme, at)
			apply(t, f, a, ev, ev)
			apply(t, f, a, ev)
			got := f.stored(t, inv.ID)
			if got.Status != tt.wantStatus {
				t.Fatalf("status: got %s, want %s (history %v)", got.Status, tt.wantStatus, events(got))
			}
			if tt.wantEvent != "" && countEvents(got, tt.wantEvent) != 1 {
				t.Errorf("history: got %v, want one %s", events(got), tt.wantEvent)
			}
			if tt.wantEvent == "" && len(got.History) != len(inv.History) {
				t.Errorf("history: got %v, want it unchanged %v", events(got), events(inv))
			}
		})
	}
}

func TestAcceptOrganizationTransientFailureThenRetry(t *testing.T) {
	f := newFixture(t)
	a := newAcceptor(t, f)
	inv := orgFixture(t, f, "carol@example.net")
	uid := f.idp.AddUser("carol@example.net", 0)
	if err := f.idp.AcceptOrgInvitation(orgAcme, inv.Auth0InvitationID, uid); err != nil {
		t.Fatalf("AcceptOrgInvitation: %v", err)
	}
	ev := orgLogin("l1", invite.LogSuccessLogin, uid, "carol@example.net", orgAcme, time.Time{})
	f.idp.FailNext(inmem.OpOrgMember, 1, invite.CodeUpstream)
	_, err := a.Apply(f.ctx, []invite.IdentityEvent{ev})
	wantCode(t, err, invite.CodeUpstream)
	if got := f.stored(t, inv.ID); got.Status != invite.StatusPending {
		t.Fatalf("after the failure: got %s, want pending", got.Status)
	}
	res := apply(t, f, a, ev)
	if res.Applied != 1 {
		t.Errorf("retry: applied %d, want 1", res.Applied)
	}
	if got := f.stored(t, inv.ID); got.Status != invite.StatusAccepted {
		t.Errorf("after the retry: got %s, want accepted", got.Status)
	}
}

func failedAccept(logID, userID, email, org, auth0InvitationID string) invite.IdentityEvent {
	return invite.IdentityEvent{
		LogID: logID, Type: invite.LogFailedInviteAccept, UserID: userID, Email: email, OrganizationID: org,
		Auth0InvitationID: auth0InvitationID, Description: "the specified account is not allowed to accept the current invitation",
	}
}

func TestFailedAcceptReissues(t *testing.T) {
	f := newFixture(t)
	a := newAcceptor(t, f)
	inv := orgFixture(t, f, "carol@example.net")
	oldToken := f.lastToken(t, "carol@example.net")
	f.clock.Advance(2 * time.Minute)
	ev := failedAccept("l-fi", "auth0|bob", "bob@example.org", orgAcme, inv.Auth0InvitationID)
	// Auth0 consumed the invitation.
	if err := f.idp.DeleteOrgInvitation(f.ctx, orgAcme, inv.Auth0InvitationID); err != nil {
		t.Fatalf("DeleteOrgInvitation: %v", err)
	}
	apply(t, f, a, ev, ev)
	apply(t, f, a, ev) // a redelivery after the mark: nothing more

	got := f.stored(t, inv.ID)
	if got.Status != invite.StatusPending {
		t.Fatalf("status: got %s, want pending", got.Status)
	}
	if got.Auth0InvitationID == inv.Auth0InvitationID || got.Auth0InvitationID == "" {
		t.Errorf("auth0 invitation: got %q, want a fresh one (was %q)", got.Auth0InvitationID, inv.Auth0InvitationID)
	}
	if open := f.idp.OrgInvitations(orgAcme); len(open) != 1 || open[0].ID != got.Auth0InvitationID {
		t.Errorf("open Auth0 invitations: got %v, want only %s", open, got.Auth0InvitationID)
	}
	if n := countEvents(got, invite.EventReissued); n != 1 {
		t.Errorf("reissued events: got %d, want 1 (history %v)", n, events(got))
	}
	var reason string
	for _, e := range got.History {
		if e.Event == invite.EventAcceptFailed {
			reason = e.Detail
		}
	}
	if !strings.Contains(reason, "signed in as another account (bob@example.org)") || !strings.Contains(reason, "carol@example.net") {
		t.Errorf("accept_failed detail: got %q, want the accounts named", reason)
	}
	sent := f.mail.SentTo("carol@example.net")
	if len(sent) != 2 {
		t.Fatalf("emails to the invitee: got %d, want 2", len(sent))
	}
	m := sent[1]
	if m.Template != invite.TemplateOrganization || !strings.Contains(m.Message, "carol@example.net") || strings.Contains(m.Message, "bob@") {
		t.Errorf("new email: template %s, message %q; want the organization template naming only the invitee's address", m.Template, m.Message)
	}
	newToken := tokenOf(t, m.Link)
	if newToken == oldToken {
		t.Errorf("link: got the old token, want a new one")
	}
	if _, err := f.svc.Landing(f.ctx, oldToken); invite.ErrorCode(err) != invite.CodeNotFound {
		t.Errorf("old link: got %v, want not_found", err)
	}
}

func TestFailedAcceptWithoutReissueFails(t *testing.T) {
	f := newFixture(t)
	a := newAcceptor(t, f, func(c *invite.AcceptorConfig) { c.KeepFailedAccept = true })
	inv := orgFixture(t, f, "carol@example.net")
	apply(t, f, a, failedAccept("l-fi", "auth0|bob", "bob@example.org", orgAcme, inv.Auth0InvitationID))
	got := f.stored(t, inv.ID)
	if got.Status != invite.StatusFailed {
		t.Fatalf("status: got %s, want failed", got.Status)
	}
	if !strings.Contains(got.FailedReason, "another account (bob@example.org)") {
		t.Errorf("failed reason: got %q, want the account named", got.FailedReason)
	}
	if n := len(f.mail.SentTo("carol@example.net")); n != 1 {
		t.Errorf("emails: got %d, want only the first", n)
	}
}

func TestAcceptIgnoresEventsBeforeTheInvitation(t *testing.T) {
	f := newFixture(t)
	a := newAcceptor(t, f)
	inv := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation
	res := apply(t, f, a, login("l-old", inv.Auth0UserID, inv.CreatedAt.Add(-time.Second)))
	if res.Unchanged != 1 {
		t.Errorf("result: got %+v, want the event unchanged", *res)
	}
	if got := f.stored(t, inv.ID); got.Status != invite.StatusPending || len(got.History) != len(inv.History) {
		t.Errorf("got %s with history %v, want pending and unchanged", got.Status, events(got))
	}
}

func TestApplySkipsUnusableAndUnmatched(t *testing.T) {
	f := newFixture(t)
	a := newAcceptor(t, f)
	inv := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation
	res := apply(t, f, a,
		invite.IdentityEvent{Type: invite.LogSuccessLogin, UserID: inv.Auth0UserID}, // no log id
		invite.IdentityEvent{LogID: "l1", Type: "fp", UserID: inv.Auth0UserID},      // not relevant
		login("l2", "auth0|stranger", time.Time{}),
	)
	want := invite.ApplyResult{Skipped: 2, Unmatched: 1}
	if *res != want {
		t.Errorf("result: got %+v, want %+v", *res, want)
	}
	if got := f.stored(t, inv.ID); got.Status != invite.StatusPending {
		t.Errorf("status: got %s, want pending", got.Status)
	}
}

func TestApplyReadsOnce(t *testing.T) {
	f := newFixture(t)
	a := newAcceptor(t, f)
	var batch []invite.IdentityEvent
	for i := range 5 {
		inv := f.create(t, appAdmin, appRequest("user"+string(rune('a'+i))+"@example.com")).Invitation
		batch = append(batch, login("l"+string(rune('a'+i)), inv.Auth0UserID, time.Time{}))
	}
	before := f.store.Lookups()
	if res := apply(t, f, a, batch...); res.Applied != 5 {
		t.Errorf("applied: got %d, want 5", res.Applied)
	}
	if got := f.store.Lookups() - before; got != 1 {
		t.Errorf("lookups: got %d, want 1", got)
	}
}

func TestNewAcceptorNeedsItsParts(t *testing.T) {
	if _, err := invite.NewAcceptor(invite.AcceptorConfig{}); err == nil {
		t.Error("NewAcceptor without Service and Store: got nil error")
	}
}
