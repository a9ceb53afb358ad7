package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
)

// joinEvent is adminRequest for the join flows: a reviewer's request (the fixture's
// admin, holding review:access-requests too), or, public, one with no authorizer
// context, as API Gateway sends a route without an authorizer. A form body is sent as
// a browser posts it.
func joinEvent(t *testing.T, method, path, body string, public, form bool) []byte {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(adminRequest(t, method, path, body), &ev); err != nil {
		t.Fatal(err)
	}
	if public {
		ev.RequestContext.Authorizer = nil
		delete(ev.Headers, "authorization")
	} else {
		claims := ev.RequestContext.Authorizer.JWT.Claims
		claims["permissions"] = strings.TrimSuffix(claims["permissions"], "]") + " review:access-requests]"
	}
	if form {
		ev.Headers["content-type"] = "application/x-www-form-urlencoded"
	}
	if p, q, ok := strings.Cut(path, "?"); ok {
		ev.RawPath, ev.RawQueryString, ev.RequestContext.HTTP.Path = p, q, p
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var verifyRE = regexp.MustCompile(`https://invite\.example\.com/r/([A-Za-z0-9_-]+)`)

// verifyToken waits for the verification email to addr and returns its token.
func verifyToken(t *testing.T, s *stack, addr string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range localaws.EmailsTo(t, s.ses, addr) {
			if sub := verifyRE.FindStringSubmatch(m.Body.Text); sub != nil {
				return sub[1]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no verification email to %s", addr)
	return ""
}

// driveJoin calls every operation of the join flows through the real api function:
// a request confirmed, listed, read, approved (and a denial refused, as it is no longer
// pending), the policy read and set, and a link created, listed, read, redeemed,
// confirmed and revoked.
func driveJoin(t *testing.T, s *stack, run string, call func(t *testing.T, op string, payload []byte, want int) events.APIGatewayV2HTTPResponse) {
	t.Helper()
	asker := "join+" + run + "@example.com"
	call(t, "POST /v1/access-requests", joinEvent(t, http.MethodPost, "/v1/access-requests", `{"email":"`+asker+`","name":"Jo"}`, true, false), http.StatusAccepted)
	call(t, "GET /join", joinEvent(t, http.MethodGet, "/join", "", true, false), http.StatusOK)
	call(t, "POST /join", joinEvent(t, http.MethodPost, "/join", url.Values{"email": {"join2+" + run + "@example.com"}}.Encode(), true, true), http.StatusOK)
	tok := verifyToken(t, s, asker)
	call(t, "GET /r/{token}", joinEvent(t, http.MethodGet, "/r/"+tok, "", true, false), http.StatusOK)
	call(t, "POST /r/{token}", joinEvent(t, http.MethodPost, "/r/"+tok, "", true, true), http.StatusOK)

	list := decode[struct {
		AccessRequests []struct{ ID string } `json:"access_requests"`
	}](t, call(t, "GET /v1/access-requests", joinEvent(t, http.MethodGet, "/v1/access-requests?status=pending&email="+url.QueryEscape(asker), "", false, false), http.StatusOK))
	if len(list.AccessRequests) != 1 {
		t.Fatalf("pending requests of %s: %+v, want one", asker, list.AccessRequests)
	}
	id := list.AccessRequests[0].ID
	call(t, "GET /v1/access-requests/{id}", joinEvent(t, http.MethodGet, "/v1/access-requests/"+id, "", false, false), http.StatusOK)
	approved := decode[struct {
		InvitationID string `json:"invitation_id"`
	}](t, call(t, "POST /v1/access-requests/{id}/approve", joinEvent(t, http.MethodPost, "/v1/access-requests/"+id+"/approve",
		fmt.Sprintf(`{"roles":[%q]}`, s.roleID), false, false), http.StatusOK))
	if approved.InvitationID == "" {
		t.Error("an approval without its invitation_id")
	}
	call(t, "POST /v1/access-requests/{id}/deny", joinEvent(t, http.MethodPost, "/v1/access-requests/"+id+"/deny", `{"note":"no"}`, false, false), http.StatusConflict)

	call(t, "GET /v1/join-policy", joinEvent(t, http.MethodGet, "/v1/join-policy", "", false, false), http.StatusOK)
	call(t, "PUT /v1/join-policy", joinEvent(t, http.MethodPut, "/v1/join-policy", `{"mode":"require_approval"}`, false, false), http.StatusOK)

	link := decode[struct {
		ID  string
		URL string
	}](t, call(t, "POST /v1/invite-links", joinEvent(t, http.MethodPost, "/v1/invite-links", `{"max_uses":2}`, false, false), http.StatusCreated))
	linkTok := strings.TrimPrefix(link.URL, "https://invite.example.com/j/")
	call(t, "GET /v1/invite-links", joinEvent(t, http.MethodGet, "/v1/invite-links", "", false, false), http.StatusOK)
	call(t, "GET /j/{token}", joinEvent(t, http.MethodGet, "/j/"+linkTok, "", true, false), http.StatusOK)
	colleague := "link+" + run + "@example.com"
	call(t, "POST /j/{token}", joinEvent(t, http.MethodPost, "/j/"+linkTok, url.Values{"email": {colleague}}.Encode(), true, true), http.StatusOK)
	// Admitted at once: on to the invitation's page.
	call(t, "POST /r/{token}", joinEvent(t, http.MethodPost, "/r/"+verifyToken(t, s, colleague), "", true, true), http.StatusSeeOther)
	got := decode[struct{ Uses int }](t, call(t, "GET /v1/invite-links/{id}", joinEvent(t, http.MethodGet, "/v1/invite-links/"+link.ID, "", false, false), http.StatusOK))
	if got.Uses != 1 {
		t.Errorf("link uses after one redemption: %d, want 1", got.Uses)
	}
	call(t, "DELETE /v1/invite-links/{id}", joinEvent(t, http.MethodDelete, "/v1/invite-links/"+link.ID, "", false, false), http.StatusOK)
}
