package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

var (
	reviewPerms = append([]string{invite.PermReview}, allPerms...)
	appReviewer = httpapi.Claims{Sub: appAdmin.Sub, Name: "Ada Admin", Permissions: reviewPerms}
	acmeReview  = httpapi.Claims{Sub: acmeAdmin.Sub, Name: "Olga Acme", Permissions: reviewPerms, OrgID: orgAcme}
)

// newJoinFixture is the handler fixture with the join flows on an in-memory store.
func newJoinFixture(t *testing.T, edit ...func(*httpapi.JoinConfig)) *fixture {
	t.Helper()
	return newFixture(t, func(c *httpapi.Config) {
		j, err := invite.NewJoin(invite.JoinConfig{Invites: c.Service, Store: inmem.NewJoinStore(), Counter: inmem.NewCounter()})
		if err != nil {
			t.Fatalf("NewJoin: %v", err)
		}
		c.Join = httpapi.JoinConfig{Service: j, Floor: -1}
		for _, e := range edit {
			e(&c.Join)
		}
	})
}

func formHeader() map[string]string {
	return map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
}

// lastLink is the path of the last email's link to addr under prefix ("/r/").
func (f *fixture) lastLink(t *testing.T, addr, prefix string) string {
	t.Helper()
	sent := f.mail.SentTo(addr)
	if len(sent) == 0 {
		t.Fatalf("no email to %s", addr)
	}
	p, ok := strings.CutPrefix(sent[len(sent)-1].Link, baseURL)
	if !ok || !strings.HasPrefix(p, prefix) {
		t.Fatalf("last link to %s is %q, want %s%s…", addr, sent[len(sent)-1].Link, baseURL, prefix)
	}
	return p
}

func wantPage(t *testing.T, res response, status int, contains ...string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d; body %s", res.Status, status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for _, h := range []string{"Content-Security-Policy", "Referrer-Policy", "X-Frame-Options"} {
		if res.Header.Get(h) == "" {
			t.Errorf("page without %s", h)
		}
	}
	for _, c := range contains {
		if !strings.Contains(string(res.Body), c) {
			t.Errorf("page lacks %q:\n%s", c, res.Body)
		}
	}
}

// TestAccessRequestThroughTheAPI: request (CORS) → verify (GET shows, POST acts) →
// the reviewer lists and approves → the invitation exists with the roles.
func TestAccessRequestThroughTheAPI(t *testing.T) {
	f := newJoinFixture(t)
	res := f.do(call{Method: "POST", Path: "/v1/access-requests", Body: `{"email":"ann@example.com","name":"Ann","note":"hi"}`,
		Header: map[string]string{"Origin": spaOrigin}})
	if res.Status != http.StatusAccepted || len(res.Body) != 0 {
		t.Fatalf("request: %d %q, want 202 and no body", res.Status, res.Body)
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != spaOrigin {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
	verify := f.lastLink(t, "ann@example.com", "/r/")
	wantPage(t, f.do(call{Method: "GET", Path: verify}), http.StatusOK, "Confirm my request", "ann@example.com")
	wantPage(t, f.do(call{Method: "GET", Path: verify}), http.StatusOK) // a scanner's second fetch changes nothing
	wantPage(t, f.do(call{Method: "POST", Path: verify, Header: formHeader()}), http.StatusOK, "Request confirmed")

	list := f.do(call{Method: "GET", Path: "/v1/access-requests?status=pending", Claims: &appReviewer}).json(t)
	reqs := list["access_requests"].([]any)
	if len(reqs) != 1 {
		t.Fatalf("listed %d, want 1", len(reqs))
	}
	id := reqs[0].(map[string]any)["id"].(string)
	res = f.do(call{Method: "POST", Path: "/v1/access-requests/" + id + "/approve", Body: `{"roles":["rol_admin"]}`, Claims: &appReviewer})
	wantProblem(t, res, http.StatusForbidden, invite.CodeForbidden)
	res = f.do(call{Method: "POST", Path: "/v1/access-requests/" + id + "/approve", Body: `{"roles":["rol_editor"],"ttl_seconds":86400}`, Claims: &appReviewer})
	if res.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", res.Status, res.Body)
	}
	invID, _ := res.json(t)["invitation_id"].(string)
	inv := f.do(call{Method: "GET", Path: "/v1/invitations/" + invID, Claims: &appAdmin}).json(t)
	if roles := inv["roles"].([]any); len(roles) != 1 || roles[0] != "rol_editor" {
		t.Errorf("invitation roles %v", roles)
	}
	res = f.do(call{Method: "GET", Path: "/v1/access-requests/" + id, Claims: &readOnly})
	wantProblem(t, res, http.StatusForbidden, invite.CodeForbidden)
}

// TestPublicAnswersAlike: whatever the address, policy, organization, duplicate or
// honeypot, POST /v1/access-requests answers 202 with no body, after at least the
// floor; only the address that may ask gets an email.
func TestPublicAnswersAlike(t *testing.T) {
	const floor = 40 * time.Millisecond
	f := newJoinFixture(t, func(c *httpapi.JoinConfig) { c.Floor = floor })
	res := f.do(call{Method: "PUT", Path: "/v1/join-policy", Claims: &appReviewer,
		Body: `{"mode":"require_approval","domains":[{"domain":"spam.example","mode":"deny"}]}`})
	if res.Status != http.StatusOK {
		t.Fatalf("put policy: %d %s", res.Status, res.Body)
	}
	bodies := []string{
		`{"email":"ann@example.com","name":"Ann"}`,
		`{"email":"ann@example.com","name":"Ann"}`, // a duplicate
		`{"email":"eve@spam.example"}`,
		`{"email":"bob@example.com","organization_id":"org_nosuch"}`,
		`{"email":"not an address"}`,
		`{"email":"bot@example.com","website":"https://spam.example"}`,
	}
	for _, b := range bodies {
		start := time.Now()
		res := f.do(call{Method: "POST", Path: "/v1/access-requests", Body: b})
		if took := time.Since(start); took < floor {
			t.Errorf("%s: answered in %s, before the floor %s", b, took, floor)
		}
		if res.Status != http.StatusAccepted || len(res.Body) != 0 {
			t.Errorf("%s: %d %q, want 202 and no body", b, res.Status, res.Body)
		}
	}
	var to []string
	for _, m := range f.mail.Sent() {
		to = append(to, m.To)
	}
	if len(to) != 2 || to[0] != "ann@example.com" || to[1] != "ann@example.com" {
		t.Errorf("emails to %v, want ann@example.com twice (the duplicate renews the link)", to)
	}
}

// TestPublicSourceLimit: a source over its budget for the minute is refused 429 with
// Retry-After, on the JSON route and on the pages, each route counted apart.
func TestPublicSourceLimit(t *testing.T) {
	f := newJoinFixture(t, func(c *httpapi.JoinConfig) { c.PerSourceMinute = 2 })
	for i := range 2 {
		if res := f.do(call{Method: "POST", Path: "/v1/access-requests", Body: `{"email":"a@example.com"}`}); res.Status != http.StatusAccepted {
			t.Fatalf("request %d: %d", i, res.Status)
		}
	}
	res := f.do(call{Method: "POST", Path: "/v1/access-requests", Body: `{"email":"a@example.com"}`})
	wantProblem(t, res, http.StatusTooManyRequests, invite.CodeRateLimited)
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Each route has its own budget: the request page's form is refused on its third.
	form := url.Values{"email": {"a@example.com"}}.Encode()
	for range 2 {
		wantPage(t, f.do(call{Method: "POST", Path: "/join", Body: form, Header: formHeader()}), http.StatusOK)
	}
	wantPage(t, f.do(call{Method: "POST", Path: "/join", Body: form, Header: formHeader()}), http.StatusTooManyRequests)
	// The next minute, the source may ask again.
	f.clock.Advance(time.Minute)
	if res := f.do(call{Method: "POST", Path: "/v1/access-requests", Body: `{"email":"a@example.com"}`}); res.Status != http.StatusAccepted {
		t.Errorf("a minute later: %d, want 202", res.Status)
	}
}

// TestRequestPage: Doorman's own page has labelled fields, a honeypot hidden from
// people and assistive technology, and the invitee page's headers; its form answers
// with the same page whatever becomes of the request.
func TestRequestPage(t *testing.T) {
	f := newJoinFixture(t)
	res := f.do(call{Method: "GET", Path: "/join"})
	wantPage(t, res, http.StatusOK, `<label for="f-email">`, `type="email"`, `autocomplete="email"`,
		`<div class="hp" aria-hidden="true">`, `tabindex="-1"`, "Ask to join Example App.")
	for _, form := range []url.Values{
		{"email": {"ann@example.com"}, "name": {"Ann"}, "note": {"hi"}},
		{"email": {"bot@example.com"}, "website": {"x"}},
	} {
		res := f.do(call{Method: "POST", Path: "/join", Body: form.Encode(), Header: formHeader()})
		wantPage(t, res, http.StatusOK, "Check your email")
	}
	if n := len(f.mail.Sent()); n != 1 {
		t.Errorf("%d emails, want 1 (the honeypot's request is dropped)", n)
	}
}

// TestInviteLinkThroughTheAPI: create (url shown once), the page, a wrong domain, a
// redemption verified into an invitation, the cap, revocation.
func TestInviteLinkThroughTheAPI(t *testing.T) {
	f := newJoinFixture(t)
	res := f.do(call{Method: "POST", Path: "/v1/invite-links", Claims: &appAdmin,
		Body: `{"roles":["rol_viewer"],"max_uses":1,"allowed_domains":["example.com"],"expires_at":"2025-07-01T00:00:00Z"}`})
	if res.Status != http.StatusCreated {
		t.Fatalf("create link: %d %s", res.Status, res.Body)
	}
	link := res.json(t)
	path, ok := strings.CutPrefix(link["url"].(string), baseURL)
	if !ok || !strings.HasPrefix(path, "/j/") {
		t.Fatalf("url %v", link["url"])
	}
	id := link["id"].(string)
	got := f.do(call{Method: "GET", Path: "/v1/invite-links/" + id, Claims: &appAdmin}).json(t)
	if _, shown := got["url"]; shown {
		t.Error("the link's url is shown again")
	}
	wantPage(t, f.do(call{Method: "GET", Path: path}), http.StatusOK, "Ada Admin invites you to join Example App.", "example.com")
	wrong := url.Values{"email": {"eve@elsewhere.test"}}.Encode()
	wantPage(t, f.do(call{Method: "POST", Path: path, Body: wrong, Header: formHeader()}), http.StatusBadRequest, "example.com")
	for _, addr := range []string{"ann@example.com", "bob@example.com"} {
		form := url.Values{"email": {addr}, "name": {"X"}}.Encode()
		wantPage(t, f.do(call{Method: "POST", Path: path, Body: form, Header: formHeader()}), http.StatusOK, "Check your email")
	}
	// Approved at once: the browser that proved the address goes on to the invitation's
	// page, whose link is emailed too.
	res = f.do(call{Method: "POST", Path: f.lastLink(t, "ann@example.com", "/r/"), Header: formHeader()})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != baseURL+f.lastLink(t, "ann@example.com", "/i/") {
		t.Fatalf("confirming: %d to %q, want 303 to the invitation's link %s", res.Status, res.Header.Get("Location"), f.lastLink(t, "ann@example.com", "/i/"))
	}
	wantPage(t, f.do(call{Method: "GET", Path: f.lastLink(t, "ann@example.com", "/i/")}), http.StatusOK, "invited you to join <strong>Example App</strong>")
	wantPage(t, f.do(call{Method: "POST", Path: f.lastLink(t, "bob@example.com", "/r/"), Header: formHeader()}), http.StatusGone, "no places left")
	got = f.do(call{Method: "GET", Path: "/v1/invite-links/" + id, Claims: &appAdmin}).json(t)
	reds := got["redemptions"].([]any)
	if got["uses"] != float64(1) || got["status"] != "spent" || len(reds) != 1 || reds[0].(map[string]any)["invitation_id"] == nil {
		t.Errorf("link after its use: %v", got)
	}
	wantPage(t, f.do(call{Method: "GET", Path: path}), http.StatusNotFound, "This link is not valid.")
	res = f.do(call{Method: "DELETE", Path: "/v1/invite-links/" + id, Claims: &appAdmin})
	if res.Status != http.StatusOK || res.json(t)["status"] != "revoked" {
		t.Errorf("revoke: %d %s", res.Status, res.Body)
	}
	list := f.do(call{Method: "GET", Path: "/v1/invite-links", Claims: &appAdmin}).json(t)
	if n := len(list["invite_links"].([]any)); n != 1 {
		t.Errorf("listed %d links, want 1", n)
	}
	wantProblem(t, f.do(call{Method: "GET", Path: "/v1/invite-links/" + id, Claims: &acmeAdmin}), http.StatusNotFound, invite.CodeNotFound)
}

// TestJoinPolicyAPI: an organization's reviewer reads and sets its own policy only,
// and auto-approved roles stay within what it may grant.
func TestJoinPolicyAPI(t *testing.T) {
	f := newJoinFixture(t)
	got := f.do(call{Method: "GET", Path: "/v1/join-policy", Claims: &acmeReview}).json(t)
	if got["mode"] != "require_approval" || got["organization_id"] != orgAcme {
		t.Errorf("default policy %v", got)
	}
	res := f.do(call{Method: "PUT", Path: "/v1/join-policy", Claims: &acmeReview,
		Body: `{"mode":"deny","domains":[{"domain":"acme.example","mode":"auto_approve","roles":["rol_viewer"]}]}`})
	if res.Status != http.StatusOK {
		t.Fatalf("put: %d %s", res.Status, res.Body)
	}
	res = f.do(call{Method: "PUT", Path: "/v1/join-policy", Claims: &acmeReview, Body: `{"organization_id":"org_other","mode":"deny"}`})
	wantProblem(t, res, http.StatusForbidden, invite.CodeForbidden)
	res = f.do(call{Method: "PUT", Path: "/v1/join-policy", Claims: &acmeReview, Body: `{"mode":"auto_approve","roles":["rol_nope"]}`})
	wantProblem(t, res, http.StatusForbidden, invite.CodeForbidden)
	res = f.do(call{Method: "PUT", Path: "/v1/join-policy", Claims: &acmeReview, Body: `{"mode":"sometimes"}`, InvalidRequest: true})
	wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid)
	got = f.do(call{Method: "GET", Path: "/v1/join-policy", Claims: &acmeReview}).json(t)
	if got["mode"] != "deny" || len(got["domains"].([]any)) != 1 {
		t.Errorf("stored policy %v", got)
	}
}
