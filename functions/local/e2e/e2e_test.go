package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
)

// TestBrowserFlow runs both kinds of invitation through a real browser against
// `functions/local serve`, then checks the outcome through Doorman's API and the
// Auth0 stand-in's Management API.
func TestBrowserFlow(t *testing.T) {
	root := requireBrowser(t)
	s := startServe(t, root)
	run := time.Now().UnixNano()

	t.Run("both kinds accepted", func(t *testing.T) {
		app := s.invitee(t, fmt.Sprintf("ada+%d@example.com", run), "Ada", "")
		org := s.invitee(t, fmt.Sprintf("grace+%d@example.com", run), "Grace", s.org)

		res := s.runFlow(t, root, "accept", map[string]person{"app": app, "org": org})
		t.Logf("login click → accepted visible through the API: application %d ms, organization %d ms",
			res.LoginToAcceptedMs["application"], res.LoginToAcceptedMs["organization"])
		t.Logf("screenshots: %s", strings.Join(res.Screenshots, ", "))

		s.checkApplicationAccepted(t, app.ID)
		s.checkMemberAccepted(t, org.ID, org.Email, 1)
	})

	t.Run("organization invitation opened as another account", func(t *testing.T) {
		// B has an account and is signed in; the invitation is for A.
		b := s.invitee(t, fmt.Sprintf("bea+%d@example.com", run), "Bea", "")
		a := s.invitee(t, fmt.Sprintf("alan+%d@example.com", run), "Alan", s.org)
		first := s.invitation(t, a.ID)

		res := s.runFlow(t, root, "wrong-account", map[string]person{"app": b, "org": a})
		t.Logf("refused accept → new email: %d ms; login click → accepted visible through the API: organization %d ms",
			res.RefusedToNewMailMs, res.LoginToAcceptedMs["organization"])
		t.Logf("screenshots: %s", strings.Join(res.Screenshots, ", "))

		s.checkApplicationAccepted(t, b.ID)
		inv := s.checkMemberAccepted(t, a.ID, a.Email, 2)
		for _, want := range []string{"accept_failed", "reissued"} {
			if !slices.Contains(inv.events(), want) {
				t.Errorf("history %v lacks %q", inv.events(), want)
			}
		}
		reason := inv.detailOf("accept_failed")
		for _, want := range []string{"signed in as another account (" + b.Email + ")", "Auth0 lets only " + a.Email + " accept it"} {
			if !strings.Contains(reason, want) {
				t.Errorf("accept_failed detail %q lacks %q", reason, want)
			}
		}
		if inv.Auth0InvitationID == first.Auth0InvitationID {
			t.Errorf("auth0_invitation_id %s unchanged after the reissue", inv.Auth0InvitationID)
		}

		mails := s.mailTo(t, a.Email, 2)
		again := mails[1]
		if link := s.linkIn(t, again); link == a.Link {
			t.Errorf("the second email repeats the first link")
		}
		if want := "It is for " + a.Email + ": please sign in or sign up with that address."; !strings.Contains(again.Body.Text, want) {
			t.Errorf("the second email's text lacks %q:\n%s", want, again.Body.Text)
		}
		// The wrong account's address is for admins only.
		if strings.Contains(again.Body.Text, b.Email) || strings.Contains(again.Body.HTML, b.Email) {
			t.Errorf("the second email to %s names the other account %s", a.Email, b.Email)
		}
		// Resending replaces the token: the first link stops working.
		resp, err := http.Get(a.Link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET the first link after the reissue: status %d, want %d", resp.StatusCode, http.StatusNotFound)
		}
		var members []struct {
			UserID string `json:"user_id"`
		}
		s.mgmt(t, "/api/v2/organizations/"+url.PathEscape(s.org)+"/members", http.StatusOK, &members)
		bID := s.userByEmail(t, b.Email)
		if slices.ContainsFunc(members, func(m struct {
			UserID string `json:"user_id"`
		}) bool {
			return m.UserID == bID
		}) {
			t.Errorf("%s (the wrong account) became a member of %s", b.Email, s.org)
		}
	})

	t.Run("existing verified account accepts by signing in", func(t *testing.T) {
		uid, owner, mail := s.inviteAccount(t, person{Email: fmt.Sprintf("olivia+%d@example.com", run), Password: "Olivias-Own-Pass-4"}, "Olivia", true)
		if want := "You already have an account with this address."; !strings.Contains(mail.Body.Text, want) {
			t.Errorf("the email's text lacks %q:\n%s", want, mail.Body.Text)
		}
		s.checkNothingGranted(t, owner.ID, uid)

		res := s.runFlow(t, root, "existing-account", map[string]person{"owner": owner})
		t.Logf("login click → accepted visible through the API: %d ms", res.LoginToAcceptedMs["owner"])
		t.Logf("screenshots: %s", strings.Join(res.Screenshots, ", "))

		inv := s.checkOwnerAccepted(t, owner.ID, uid, "signed in after following the link")
		checkHistory(t, inv, "created", "email_sent", "link_opened", "link_used", "accepted")
		if slices.Contains(inv.events(), "password_set") {
			t.Errorf("history %v: the owner of a verified account was asked for a new password", inv.events())
		}
	})

	t.Run("a squatter's unverified account gets nothing; the owner claims it", func(t *testing.T) {
		uid, squatter, mail := s.inviteAccount(t, person{Email: fmt.Sprintf("sam+%d@example.com", run), Password: "Squatters-Own-Pass-7"}, "Sam", false)
		// An unverified account is not trusted: its invitee sets a password, as a new one does.
		if want := "After you accept, you will set up how you sign in"; !strings.Contains(mail.Body.Text, want) || strings.Contains(mail.Body.Text, "You already have an account") {
			t.Errorf("the email to an unverified account's address is not the ordinary invitation (%q):\n%s", want, mail.Body.Text)
		}
		s.checkNothingGranted(t, squatter.ID, uid)

		res := s.runFlow(t, root, "squatter", map[string]person{"squatter": squatter})
		t.Logf("squatter's login click → owner_unproven in the history: %d ms", res.LoginToNotedMs)
		t.Logf("screenshots: %s", strings.Join(res.Screenshots, ", "))
		inv := s.checkNothingGranted(t, squatter.ID, uid)
		for _, want := range []string{"Auth0 login", "before the owner set a password through the invitation link", "nothing granted"} {
			if d := inv.detailOf("owner_unproven"); !strings.Contains(d, want) {
				t.Errorf("owner_unproven detail %q lacks %q", d, want)
			}
		}

		owner := person{ID: squatter.ID, Email: squatter.Email, Link: squatter.Link}
		res = s.runFlow(t, root, "owner-claims", map[string]person{"owner": owner, "squatter": squatter})
		t.Logf("owner's login click → accepted visible through the API: %d ms", res.LoginToAcceptedMs["owner"])
		t.Logf("screenshots: %s", strings.Join(res.Screenshots, ", "))

		inv = s.checkOwnerAccepted(t, owner.ID, uid, "signed in after setting a password through the link")
		checkHistory(t, inv, "created", "email_sent", "owner_unproven", "link_opened", "link_used", "password_set", "accepted")
	})

	t.Run("SES's mailbox simulator: delivered, bounced, complained, suppressed", func(t *testing.T) {
		s.checkDeliveryStates(t, run)
	})

	t.Run("an inviter grants only roles it holds", func(t *testing.T) {
		perms := []string{"create:invitations", "read:invitations"}
		// Ines is a user of the application with invitation permissions and no role.
		ines := s.createAccount(t, fmt.Sprintf("ines+%d@example.com", run), "Ines-Own-Pass-5", true)
		token := s.mintToken(t, ines, "Ines", perms...)
		var grantable struct {
			Roles []struct {
				ID string `json:"id"`
			} `json:"roles"`
		}
		s.call(t, http.MethodGet, "/v1/roles", token, nil, http.StatusOK, &grantable)
		if len(grantable.Roles) != 0 {
			t.Errorf("GET /v1/roles as an inviter without roles: %+v, want none", grantable.Roles)
		}

		refused := fmt.Sprintf("rita+%d@example.com", run)
		var p struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
			Field  string `json:"field"`
		}
		h := s.call(t, http.MethodPost, "/v1/invitations", token, map[string]any{"email": refused, "roles": []string{s.memberRole}}, http.StatusForbidden, &p)
		if ct := h.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("refusal Content-Type %q, want application/problem+json", ct)
		}
		if p.Status != http.StatusForbidden || p.Code != "forbidden" || p.Field != "roles[0]" {
			t.Errorf("refusal %+v, want status 403, code forbidden, field roles[0]", p)
		}

		// Without the role, the same inviter invites.
		s.create(t, token, map[string]any{"email": fmt.Sprintf("nora+%d@example.com", run)})
		// Someone who holds the role may grant it.
		hugo := s.createAccount(t, fmt.Sprintf("hugo+%d@example.com", run), "Hugos-Own-Pass-6", true)
		s.mgmtDo(t, http.MethodPost, "/api/v2/users/"+url.PathEscape(hugo)+"/roles", map[string]any{"roles": []string{s.memberRole}}, http.StatusNoContent, nil)
		granted := fmt.Sprintf("gia+%d@example.com", run)
		s.create(t, s.mintToken(t, hugo, "Hugo", perms...), map[string]any{"email": granted, "roles": []string{s.memberRole}})

		s.mailTo(t, granted, 1)
		if got := localaws.EmailsTo(t, s.ses, refused); len(got) != 0 {
			t.Errorf("%d emails to %s, whose invitation was refused; want none", len(got), refused)
		}
	})
}

// inviteAccount registers who's account (its email verified or not) through the
// Management API, then invites its address with the member role as the admin. It
// returns the account's id, who with the invitation's id and emailed link, and the
// email.
func (s *server) inviteAccount(t *testing.T, who person, name string, verified bool) (string, person, localaws.Email) {
	t.Helper()
	uid := s.createAccount(t, who.Email, who.Password, verified)
	who.ID = s.invite(t, map[string]any{"email": who.Email, "name": name, "roles": []string{s.memberRole}}).ID
	mail := s.mailTo(t, who.Email, 1)[0]
	who.Link = s.linkIn(t, mail)
	return uid, who, mail
}

// checkNothingGranted checks that an invitation to an existing account is pending,
// names that account, and that the account holds no role yet.
func (s *server) checkNothingGranted(t *testing.T, id, userID string) invitation {
	t.Helper()
	inv := s.invitation(t, id)
	if inv.Status != "pending" || inv.Auth0UserID != userID {
		t.Errorf("invitation %s: status %q auth0_user_id %q, want pending for %s; history %v", id, inv.Status, inv.Auth0UserID, userID, inv.events())
	}
	if slices.Contains(inv.events(), "accepted") {
		t.Errorf("invitation %s: history %v has accepted", id, inv.events())
	}
	if roles := s.userRoles(t, userID); len(roles) != 0 {
		t.Errorf("account %s holds roles %v, want none yet", userID, roles)
	}
	return inv
}

// checkOwnerAccepted checks an application invitation to an existing account accepted
// as how says: the same account, now verified, holding the member role.
func (s *server) checkOwnerAccepted(t *testing.T, id, userID, how string) invitation {
	t.Helper()
	inv := s.invitation(t, id)
	if inv.Status != "accepted" || inv.AcceptedAt == "" || inv.Auth0UserID != userID {
		t.Fatalf("invitation %s: status %q accepted_at %q auth0_user_id %q, want accepted by %s; history %v",
			id, inv.Status, inv.AcceptedAt, inv.Auth0UserID, userID, inv.events())
	}
	if d := inv.detailOf("accepted"); !strings.Contains(d, how) {
		t.Errorf("accepted detail %q, want %q", d, how)
	}
	var user struct {
		EmailVerified bool `json:"email_verified"`
	}
	s.mgmt(t, "/api/v2/users/"+url.PathEscape(userID), http.StatusOK, &user)
	if !user.EmailVerified {
		t.Errorf("account %s: email_verified false, want true", userID)
	}
	if roles := s.userRoles(t, userID); !slices.Equal(roles, []string{s.memberRole}) {
		t.Errorf("account %s holds roles %v, want [%s]", userID, roles, s.memberRole)
	}
	return inv
}

// invitee creates an invitation with the member role (for the organization, when org
// is set) and returns its invitee with the link from the email.
func (s *server) invitee(t *testing.T, email, name, org string) person {
	t.Helper()
	body := map[string]any{"email": email, "name": name, "roles": []string{s.memberRole}}
	if org != "" {
		body["organization_id"] = org
	}
	inv := s.invite(t, body)
	return person{ID: inv.ID, Email: email, Link: s.linkIn(t, s.mailTo(t, email, 1)[0])}
}

// checkApplicationAccepted checks an accepted application invitation: its history,
// the needsInvitation flag gone from the Auth0 user, the role applied.
func (s *server) checkApplicationAccepted(t *testing.T, id string) {
	t.Helper()
	inv := s.invitation(t, id)
	if inv.Status != "accepted" || inv.AcceptedAt == "" {
		t.Fatalf("invitation %s: status %q accepted_at %q, want accepted with a time; history %v", id, inv.Status, inv.AcceptedAt, inv.events())
	}
	checkHistory(t, inv, "created", "email_sent", "link_opened", "link_used", "password_set", "accepted")
	var user struct {
		EmailVerified bool           `json:"email_verified"`
		AppMetadata   map[string]any `json:"app_metadata"`
	}
	s.mgmt(t, "/api/v2/users/"+url.PathEscape(inv.Auth0UserID), http.StatusOK, &user)
	if _, ok := user.AppMetadata["needsInvitation"]; ok || user.AppMetadata["invitationId"] != id {
		t.Errorf("app_metadata = %v, want no needsInvitation and invitationId %s", user.AppMetadata, id)
	}
	if !user.EmailVerified {
		t.Errorf("email_verified = false after the ticket, want true")
	}
	if roles := s.userRoles(t, inv.Auth0UserID); !slices.Equal(roles, []string{s.memberRole}) {
		t.Errorf("user roles = %v, want [%s]", roles, s.memberRole)
	}
}

// checkMemberAccepted checks an accepted organization invitation sent `sends` times:
// its history, the Auth0 invitation used up, the member's roles in the organization.
func (s *server) checkMemberAccepted(t *testing.T, id, email string, sends int) invitation {
	t.Helper()
	inv := s.invitation(t, id)
	if inv.Status != "accepted" || inv.AcceptedAt == "" || inv.Kind != "organization" {
		t.Fatalf("invitation %s: kind %q status %q accepted_at %q, want an accepted organization invitation; history %v",
			id, inv.Kind, inv.Status, inv.AcceptedAt, inv.events())
	}
	checkHistory(t, inv, "created", "email_sent", "link_opened", "link_used", "accepted")
	if got := count(inv.events(), "email_sent"); got != sends || inv.Delivery.Sends != sends {
		t.Errorf("email_sent events %d, delivery.sends %d, want %d", got, inv.Delivery.Sends, sends)
	}
	user := s.userByEmail(t, email)
	if d := inv.detailOf("accepted"); !strings.Contains(d, user) {
		t.Errorf("accepted detail %q does not name the member %s", d, user)
	}
	s.mgmt(t, "/api/v2/organizations/"+url.PathEscape(s.org)+"/invitations/"+url.PathEscape(inv.Auth0InvitationID), http.StatusNotFound, nil)
	var roles []struct {
		ID string `json:"id"`
	}
	s.mgmt(t, "/api/v2/organizations/"+url.PathEscape(s.org)+"/members/"+url.PathEscape(user)+"/roles", http.StatusOK, &roles)
	if len(roles) != 1 || roles[0].ID != s.memberRole {
		t.Errorf("member roles in %s = %+v, want [%s]", s.org, roles, s.memberRole)
	}
	return inv
}

// checkHistory checks that the events happened in this order (others may come between).
func checkHistory(t *testing.T, inv invitation, want ...string) {
	t.Helper()
	got := inv.events()
	i := 0
	for _, e := range got {
		if i < len(want) && e == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("invitation %s: history %v lacks %v in that order (first missing: %q)", inv.ID, got, want, want[i])
	}
}

func count(list []string, v string) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}
