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

type accessRequest struct {
	ID           string `json:"id"`
	Email        string `json:"email"`
	Status       string `json:"status"`
	InvitationID string `json:"invitation_id"`
}

// TestBrowserJoin runs the join flows through a real browser against `functions/local
// serve`: a request confirmed from its email, approved by a reviewer and accepted with
// the roles; an address of an auto-approved domain; one of a denied domain, which sees
// the same page and gets nothing; and an invite link redeemed up to its cap and
// refused after.
func TestBrowserJoin(t *testing.T) {
	root := requireBrowser(t)
	s := startServe(t, root)
	run := time.Now().UnixNano()
	s.call(t, http.MethodPut, "/v1/join-policy", s.token, map[string]any{"mode": "require_approval", "domains": []map[string]any{
		{"domain": "friends.example", "mode": "auto_approve", "roles": []string{s.memberRole}},
		{"domain": "spam.example", "mode": "deny"},
	}}, http.StatusOK, nil)

	asker := person{Email: fmt.Sprintf("jo+%d@example.com", run)}
	auto := person{Email: fmt.Sprintf("fred+%d@friends.example", run)}
	denied := person{Email: fmt.Sprintf("eve+%d@spam.example", run)}

	t.Run("request, confirm, approve, accept; an auto-approved and a denied domain", func(t *testing.T) {
		res := s.runFlow(t, root, "join-request", map[string]person{"asker": asker, "auto": auto, "denied": denied})
		t.Logf("screenshots: %s", strings.Join(res.Screenshots, ", "))
		if res.PageTexts["denied"] != res.PageTexts["asker"] || res.PageTexts["auto"] != res.PageTexts["asker"] {
			t.Errorf("the pages after a request differ by policy:\n%q\n%q\n%q", res.PageTexts["asker"], res.PageTexts["auto"], res.PageTexts["denied"])
		}
		if res.Outcomes["asker"] != "Request confirmed" {
			t.Errorf("after confirming: %v, want asker Request confirmed", res.Outcomes)
		}

		var list struct {
			AccessRequests []accessRequest `json:"access_requests"`
		}
		s.call(t, http.MethodGet, "/v1/access-requests?status=pending&email="+url.QueryEscape(asker.Email), s.token, nil, http.StatusOK, &list)
		if len(list.AccessRequests) != 1 {
			t.Fatalf("pending requests of %s: %+v, want one", asker.Email, list.AccessRequests)
		}
		var approved accessRequest
		s.call(t, http.MethodPost, "/v1/access-requests/"+list.AccessRequests[0].ID+"/approve", s.token,
			map[string]any{"roles": []string{s.memberRole}}, http.StatusOK, &approved)
		if approved.Status != "approved" || approved.InvitationID == "" {
			t.Fatalf("approved: %+v", approved)
		}
		mails := s.mailTo(t, asker.Email, 2) // the address check, then the invitation
		flow := s.runFlow(t, root, "join-accept", map[string]person{"app": {ID: approved.InvitationID, Email: asker.Email, Link: s.linkIn(t, mails[1])}})
		t.Logf("login click → accepted visible through the API: %d ms", flow.LoginToAcceptedMs["application"])
		s.checkApplicationAccepted(t, approved.InvitationID)
		if roles := s.userRoles(t, s.userByEmail(t, asker.Email)); !slices.Contains(roles, s.memberRole) {
			t.Errorf("%s holds %v, want %s", asker.Email, roles, s.memberRole)
		}

		// The auto-approved person goes from the confirmation straight on to the
		// invitation's page, sets a password and signs in: accepted, with the role.
		s.runFlow(t, root, "join-auto", map[string]person{"auto": auto})
		var invs struct {
			Invitations []struct {
				Status string   `json:"status"`
				Roles  []string `json:"roles"`
			} `json:"invitations"`
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			s.call(t, http.MethodGet, "/v1/invitations?email="+url.QueryEscape(auto.Email), s.token, nil, http.StatusOK, &invs)
			if len(invs.Invitations) == 1 && invs.Invitations[0].Status == "accepted" || time.Now().After(deadline) {
				break
			}
		}
		if len(invs.Invitations) != 1 || invs.Invitations[0].Status != "accepted" || !slices.Equal(invs.Invitations[0].Roles, []string{s.memberRole}) {
			t.Errorf("invitations of the auto-approved %s: %+v, want one accepted with %s", auto.Email, invs.Invitations, s.memberRole)
		}
		if roles := s.userRoles(t, s.userByEmail(t, auto.Email)); !slices.Contains(roles, s.memberRole) {
			t.Errorf("%s holds %v, want %s", auto.Email, roles, s.memberRole)
		}
		time.Sleep(time.Second) // what would have been sent has been by now
		if got := localaws.EmailsTo(t, s.ses, denied.Email); len(got) != 0 {
			t.Errorf("the denied address got %d emails", len(got))
		}
	})

	t.Run("an invite link up to its cap", func(t *testing.T) {
		var link struct {
			ID  string `json:"id"`
			URL string `json:"url"`
		}
		s.call(t, http.MethodPost, "/v1/invite-links", s.token, map[string]any{"roles": []string{s.memberRole}, "max_uses": 2,
			"allowed_domains": []string{"team.example"}}, http.StatusCreated, &link)
		people := map[string]person{"link": {Link: link.URL}, "wrong": {Email: fmt.Sprintf("x+%d@elsewhere.example", run)}}
		for _, role := range []string{"l1", "l2", "l3"} {
			people[role] = person{Email: fmt.Sprintf("%s+%d@team.example", role, run)}
		}
		res := s.runFlow(t, root, "join-link", people)
		t.Logf("screenshots: %s", strings.Join(res.Screenshots, ", "))
		want := map[string]string{"l1": "You are invited", "l2": "You are invited", "l3": "Link no longer available"}
		for role, w := range want {
			if res.Outcomes[role] != w {
				t.Errorf("%s after confirming: %q, want %q", role, res.Outcomes[role], w)
			}
		}
		var got struct {
			Uses        int    `json:"uses"`
			Status      string `json:"status"`
			Redemptions []struct {
				InvitationID string `json:"invitation_id"`
			} `json:"redemptions"`
		}
		s.call(t, http.MethodGet, "/v1/invite-links/"+link.ID, s.token, nil, http.StatusOK, &got)
		if got.Uses != 2 || got.Status != "spent" || len(got.Redemptions) != 2 || got.Redemptions[0].InvitationID == "" || got.Redemptions[1].InvitationID == "" {
			t.Errorf("the link after its redemptions: %+v", got)
		}
	})
}
