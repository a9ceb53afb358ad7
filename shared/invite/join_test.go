package invite_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

var reviewPerms = []string{invite.PermReview, invite.PermRead, invite.PermCreate, invite.PermDelete}

var (
	appReviewer  = invite.Actor{Sub: appAdmin.Sub, Name: "Ada Admin", Permissions: reviewPerms}
	acmeReviewer = invite.Actor{Sub: acmeAdmin.Sub, Name: "Olga Acme", Permissions: reviewPerms, OrgID: orgAcme}
	otherReview  = invite.Actor{Sub: otherAdmin.Sub, Name: "Otto Other", Permissions: reviewPerms, OrgID: orgOther}
)

type joinFixture struct {
	*fixture
	join   *invite.Join
	jstore *inmem.JoinStore
}

func newJoinFixture(t *testing.T, edit ...func(*invite.JoinConfig)) *joinFixture {
	t.Helper()
	f := &joinFixture{fixture: newFixture(t), jstore: inmem.NewJoinStore()}
	cfg := invite.JoinConfig{Invites: f.svc, Store: f.jstore, Counter: inmem.NewCounter()}
	for _, e := range edit {
		e(&cfg)
	}
	j, err := invite.NewJoin(cfg)
	if err != nil {
		t.Fatalf("NewJoin: %v", err)
	}
	f.join = j
	return f
}

// verifyToken is the token of the last verification email to addr.
func (f *joinFixture) verifyToken(t *testing.T, addr string) string {
	t.Helper()
	sent := f.mail.SentTo(addr)
	if len(sent) == 0 || sent[len(sent)-1].Template != invite.TemplateJoinVerify {
		t.Fatalf("no verification email to %s (sent %d)", addr, len(sent))
	}
	token, ok := strings.CutPrefix(sent[len(sent)-1].Link, baseURL+"/r/")
	if !ok || !invite.ValidToken(token) {
		t.Fatalf("verification link %q: want %s/r/<token>", sent[len(sent)-1].Link, baseURL)
	}
	return token
}

func (f *joinFixture) request(t *testing.T, email, org string) {
	t.Helper()
	if err := f.join.RequestAccess(f.ctx, invite.PublicRequest{Email: email, Name: "Ann", OrganizationID: org, Note: "hello"}); err != nil {
		t.Fatalf("RequestAccess(%s): %v", email, err)
	}
}

func (f *joinFixture) only(t *testing.T, a invite.Actor, org string) *invite.AccessRequest {
	t.Helper()
	p, err := f.join.ListRequests(f.ctx, a, invite.RequestListRequest{OrganizationID: org})
	if err != nil {
		t.Fatalf("ListRequests: %v", err)
	}
	if len(p.Requests) != 1 {
		t.Fatalf("listed %d requests, want 1", len(p.Requests))
	}
	return p.Requests[0]
}

// TestRequestVerifyApprove: a request reaches reviewers only once its address is
// proven; an approval creates and emails the invitation with the roles at once.
func TestRequestVerifyApprove(t *testing.T) {
	f := newJoinFixture(t)
	f.request(t, "ann@example.com", "")
	if p, _ := f.join.ListRequests(f.ctx, appReviewer, invite.RequestListRequest{}); len(p.Requests) != 0 {
		t.Fatalf("an unverified request is listed: %+v", p.Requests)
	}
	token := f.verifyToken(t, "ann@example.com")
	if _, err := f.join.VerifyPage(f.ctx, token); err != nil {
		t.Fatalf("VerifyPage: %v", err)
	}
	if got, err := f.join.Verify(f.ctx, token); err != nil || got != invite.VerifiedPending {
		t.Fatalf("Verify = %q, %v; want pending", got, err)
	}
	_, err := f.join.Verify(f.ctx, token) // spent: the link is no longer known
	wantCode(t, err, invite.CodeNotFound)

	r := f.only(t, appReviewer, "")
	approved, err := f.join.Approve(f.ctx, appReviewer, r.ID, invite.ApproveRequest{Roles: []string{"rol_editor"}})
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	if approved.Status != invite.RequestApproved || approved.InvitationID == "" {
		t.Fatalf("approved = %+v", approved)
	}
	inv := f.stored(t, approved.InvitationID)
	if inv.Email != "ann@example.com" || !slices.Equal(inv.Roles, []string{"rol_editor"}) || inv.Inviter.Sub != appReviewer.Sub {
		t.Errorf("invitation = %+v", inv)
	}
	if sent := f.mail.SentTo("ann@example.com"); sent[len(sent)-1].Template != invite.TemplateApplication {
		t.Errorf("last email is %s, want the invitation", sent[len(sent)-1].Template)
	}
	var hist []string
	for _, e := range approved.History {
		hist = append(hist, e.Event)
	}
	if want := []string{"created", "verified", "approved"}; !slices.Equal(hist, want) {
		t.Errorf("history %v, want %v", hist, want)
	}
	_, err = f.join.Approve(f.ctx, appReviewer, r.ID, invite.ApproveRequest{})
	wantCode(t, err, invite.CodeConflict)
}

// TestApproveWithinGrants: a reviewer grants only what the grant rules let them.
func TestApproveWithinGrants(t *testing.T) {
	f := newJoinFixture(t)
	f.request(t, "ann@example.com", "")
	if _, err := f.join.Verify(f.ctx, f.verifyToken(t, "ann@example.com")); err != nil {
		t.Fatal(err)
	}
	r := f.only(t, appReviewer, "")
	_, err := f.join.Approve(f.ctx, appReviewer, r.ID, invite.ApproveRequest{Roles: []string{"rol_admin"}})
	if e := wantCode(t, err, invite.CodeForbidden); e.Field != "roles[0]" {
		t.Errorf("field %q, want roles[0]", e.Field)
	}
	if got, _ := f.join.GetRequest(f.ctx, appReviewer, r.ID); got.Status != invite.RequestPending {
		t.Errorf("after a refused approval the request is %s, want pending", got.Status)
	}
}

// TestReviewerConfined: an organization's reviewer sees and decides only its own
// organization's requests.
func TestReviewerConfined(t *testing.T) {
	f := newJoinFixture(t)
	f.request(t, "ann@example.com", orgAcme)
	if _, err := f.join.Verify(f.ctx, f.verifyToken(t, "ann@example.com")); err != nil {
		t.Fatal(err)
	}
	r := f.only(t, acmeReviewer, "")
	_, err := f.join.GetRequest(f.ctx, otherReview, r.ID)
	wantCode(t, err, invite.CodeNotFound)
	_, err = f.join.Deny(f.ctx, otherReview, r.ID, invite.DenyRequest{})
	wantCode(t, err, invite.CodeNotFound)
	_, err = f.join.ListRequests(f.ctx, otherReview, invite.RequestListRequest{OrganizationID: orgAcme})
	wantCode(t, err, invite.CodeForbidden)
	_, err = f.join.GetRequest(f.ctx, appAdmin, r.ID)
	wantCode(t, err, invite.CodeForbidden)
	denied, err := f.join.Deny(f.ctx, acmeReviewer, r.ID, invite.DenyRequest{Note: "Use your work address.", Notify: true})
	if err != nil || denied.Status != invite.RequestDenied {
		t.Fatalf("Deny = %+v, %v", denied, err)
	}
	sent := f.mail.SentTo("ann@example.com")
	if last := sent[len(sent)-1]; last.Template != invite.TemplateJoinDenied || last.Message != "Use your work address." || last.Link != "" {
		t.Errorf("denial email = %+v", last)
	}
}

// TestPolicies: per-domain rules decide what a verified request becomes; a denied
// domain, an unknown organization or a malformed address is dropped without a trace
// or an email, and RequestAccess answers alike.
func TestPolicies(t *testing.T) {
	f := newJoinFixture(t)
	_, err := f.join.PutPolicy(f.ctx, appReviewer, invite.PolicyRequest{
		Default: invite.JoinRule{Mode: invite.JoinRequireApproval},
		Domains: map[string]invite.JoinRule{
			"Friends.example": {Mode: invite.JoinAutoApprove, Roles: []string{"rol_viewer"}},
			"spam.example":    {Mode: invite.JoinDeny},
		}})
	if err != nil {
		t.Fatalf("PutPolicy: %v", err)
	}
	_, err = f.join.PutPolicy(f.ctx, appReviewer, invite.PolicyRequest{Default: invite.JoinRule{Mode: invite.JoinAutoApprove, Roles: []string{"rol_admin"}}})
	wantCode(t, err, invite.CodeForbidden)

	for _, addr := range []string{"eve@spam.example", "not an address", "x@y"} {
		f.request(t, addr, "")
	}
	f.request(t, "ann@example.com", "org_nosuchorg")
	if n := len(f.mail.Sent()); n != 0 {
		t.Fatalf("%d emails sent for dropped requests", n)
	}
	f.request(t, "fred@friends.example", "")
	got, err := f.join.Verify(f.ctx, f.verifyToken(t, "fred@friends.example"))
	if err != nil || got != invite.VerifiedInvited {
		t.Fatalf("Verify of an auto-approved domain = %q, %v; want invited", got, err)
	}
	r := f.only(t, appReviewer, "")
	if r.Status != invite.RequestApproved || f.stored(t, r.InvitationID).Roles[0] != "rol_viewer" {
		t.Errorf("auto-approved request = %+v", r)
	}
}

// TestAbuseLimits: one address gets at most MailsPerDay emails however often it is
// asked for, and a duplicate request renews the verification link instead of opening
// another.
func TestAbuseLimits(t *testing.T) {
	f := newJoinFixture(t, func(c *invite.JoinConfig) { c.MailsPerDay = 2; c.RequestsPerHour = 100 })
	for range 5 {
		f.request(t, "ann@example.com", "")
	}
	if n := len(f.mail.SentTo("ann@example.com")); n != 2 {
		t.Errorf("emails to one address: %d, want 2", n)
	}
	f.clock.Advance(25 * time.Hour)
	f.request(t, "ann@example.com", "")
	if n := len(f.mail.SentTo("ann@example.com")); n != 3 {
		t.Errorf("emails after a day: %d, want 3", n)
	}
	// Only the newest link works: one open request.
	if _, err := f.join.Verify(f.ctx, f.verifyToken(t, "ann@example.com")); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	f.only(t, appReviewer, "")
}

// TestExpireRequests: open requests past their time are marked expired.
func TestExpireRequests(t *testing.T) {
	f := newJoinFixture(t)
	f.request(t, "ann@example.com", "")
	f.clock.Advance(invite.VerifyTTL + time.Minute)
	n, err := f.join.ExpireRequests(f.ctx, 100)
	if err != nil || n != 1 {
		t.Fatalf("ExpireRequests = %d, %v; want 1", n, err)
	}
	f.request(t, "ann@example.com", "") // the address is free again
	if len(f.mail.SentTo("ann@example.com")) != 2 {
		t.Errorf("no new verification email after the first request expired")
	}
}

// TestInviteLinkCap: a link admits its domains up to max_uses redemptions, counted
// when the address is proven, and nothing after; each redemption names its
// invitation.
func TestInviteLinkCap(t *testing.T) {
	f := newJoinFixture(t)
	l, token, err := f.join.CreateLink(f.ctx, appReviewer, invite.LinkRequest{Roles: []string{"rol_viewer"}, MaxUses: 2, AllowedDomains: []string{"Example.com"}})
	if err != nil {
		t.Fatalf("CreateLink: %v", err)
	}
	_, _, err = f.join.CreateLink(f.ctx, appReviewer, invite.LinkRequest{Roles: []string{"rol_admin"}, MaxUses: 2})
	wantCode(t, err, invite.CodeForbidden)
	v, err := f.join.OpenLink(f.ctx, token)
	if err != nil || v.Inviter != "Ada Admin" || v.Target != "Example App" {
		t.Fatalf("OpenLink = %+v, %v", v, err)
	}
	wantCode(t, f.join.Redeem(f.ctx, token, "eve@elsewhere.test", "Eve"), invite.CodeInvalid)
	var tokens []string
	for i := range 3 {
		addr := fmt.Sprintf("p%d@example.com", i)
		if err := f.join.Redeem(f.ctx, token, addr, "P"); err != nil {
			t.Fatalf("Redeem %s: %v", addr, err)
		}
		tokens = append(tokens, f.verifyToken(t, addr))
	}
	var outcomes []invite.VerifyOutcome
	for _, tok := range tokens {
		o, err := f.join.Verify(f.ctx, tok)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		outcomes = append(outcomes, o)
	}
	if want := []invite.VerifyOutcome{invite.VerifiedInvited, invite.VerifiedInvited, invite.VerifiedClosed}; !slices.Equal(outcomes, want) {
		t.Errorf("outcomes %v, want %v", outcomes, want)
	}
	_, err = f.join.OpenLink(f.ctx, token)
	wantCode(t, err, invite.CodeNotFound)
	got, reds, err := f.join.GetLink(f.ctx, appReviewer, l.ID)
	if err != nil || got.Uses != 2 || len(reds) != 2 || reds[0].InvitationID == "" {
		t.Errorf("GetLink = %+v, %+v, %v", got, reds, err)
	}
}

// TestInviteLinkRace: many people proving their address at once through a link of
// few places: exactly max_uses invitations.
func TestInviteLinkRace(t *testing.T) {
	f := newJoinFixture(t, func(c *invite.JoinConfig) { c.RequestsPerHour = 1000 })
	_, token, err := f.join.CreateLink(f.ctx, appReviewer, invite.LinkRequest{MaxUses: 5})
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for i := range 20 {
		addr := fmt.Sprintf("r%d@example.com", i)
		if err := f.join.Redeem(f.ctx, token, addr, ""); err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, f.verifyToken(t, addr))
	}
	var mu sync.Mutex
	counts := map[invite.VerifyOutcome]int{}
	var wg sync.WaitGroup
	for _, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := f.join.Verify(f.ctx, tok)
			if err != nil {
				t.Errorf("Verify: %v", err)
			}
			mu.Lock()
			counts[o]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[invite.VerifiedInvited] != 5 || counts[invite.VerifiedClosed] != 15 {
		t.Errorf("outcomes %v, want 5 invited and 15 closed", counts)
	}
}

// TestRevokedLinkSaysNothing: a revoked link's page is the unknown link's.
func TestRevokedLinkSaysNothing(t *testing.T) {
	f := newJoinFixture(t)
	l, token, err := f.join.CreateLink(f.ctx, appReviewer, invite.LinkRequest{MaxUses: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.join.RevokeLink(f.ctx, appReviewer, l.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.join.OpenLink(f.ctx, token)
	e := wantCode(t, err, invite.CodeNotFound)
	if e.Message != "This link is not valid." {
		t.Errorf("message %q", e.Message)
	}
}

// TestLinkRequiringApproval: a redemption of a link that requires approval takes its
// place when the address is proven and waits for a reviewer; the approval names its
// invitation on the redemption.
func TestLinkRequiringApproval(t *testing.T) {
	f := newJoinFixture(t)
	l, token, err := f.join.CreateLink(f.ctx, appReviewer, invite.LinkRequest{MaxUses: 1, RequiresApproval: true, Roles: []string{"rol_viewer"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.join.Redeem(f.ctx, token, "ann@example.com", "Ann"); err != nil {
		t.Fatal(err)
	}
	if got, err := f.join.Verify(f.ctx, f.verifyToken(t, "ann@example.com")); err != nil || got != invite.VerifiedPending {
		t.Fatalf("Verify = %q, %v; want pending", got, err)
	}
	r := f.only(t, appReviewer, "")
	if r.LinkID != l.ID {
		t.Errorf("request's link %q, want %s", r.LinkID, l.ID)
	}
	approved, err := f.join.Approve(f.ctx, appReviewer, r.ID, invite.ApproveRequest{Roles: []string{"rol_viewer"}})
	if err != nil {
		t.Fatal(err)
	}
	_, reds, err := f.join.GetLink(f.ctx, appReviewer, l.ID)
	if err != nil || len(reds) != 1 || reds[0].InvitationID != approved.InvitationID {
		t.Errorf("redemptions %+v, %v; want one naming %s", reds, err, approved.InvitationID)
	}
}

// TestSweeperExpiresRequests: each sweep expires the open access requests whose time
// ran out, with the history entry that becomes access_request.expired.
func TestSweeperExpiresRequests(t *testing.T) {
	f := newJoinFixture(t)
	f.request(t, "ann@example.com", "")
	sw, err := invite.NewSweeper(invite.SweeperConfig{Service: f.svc, Store: f.store, Join: f.join})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sw.Run(f.ctx, time.Time{}); err != nil || res.RequestsExpired != 0 {
		t.Fatalf("sweep before the deadline: %+v, %v; want nothing expired", res, err)
	}
	f.clock.Advance(invite.VerifyTTL + time.Second)
	res, err := sw.Run(f.ctx, time.Time{})
	if err != nil || res.RequestsExpired != 1 || !res.Complete {
		t.Fatalf("sweep after it: %+v, %v; want 1 request expired", res, err)
	}
	expired, err := f.jstore.RequestsExpiringBefore(f.ctx, f.clock.Now().Add(time.Hour), 10)
	if err != nil || len(expired) != 0 {
		t.Errorf("open requests past their time after the sweep: %v, %v", expired, err)
	}
}
