package httpapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

func TestCreate(t *testing.T) {
	cases := []struct {
		name       string
		claims     httpapi.Claims
		body       string
		existing   string // an email that already has an Auth0 account
		wantKind   string
		wantStatus string
		wantAccept bool
		wantMail   invite.Template
	}{
		{"application", appAdmin, createBody("ann@example.com"), "", "application", "pending", false, invite.TemplateApplication},
		{"application without email", appAdmin, createBody("ann@example.com", `"send_email":false`), "", "application", "pending", true, ""},
		{"organization token", acmeAdmin, createBody("bob@example.com"), "", "organization", "pending", false, invite.TemplateOrganization},
		// An account's owner gets the roles only by following the link and signing in.
		{"existing account is asked to sign in", appAdmin, createBody("cy@example.com"), "cy@example.com", "application", "pending", false, invite.TemplateExistingAccount},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.existing != "" {
				f.idp.AddUser(tc.existing, 3)
			}
			res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: tc.body, Claims: &tc.claims})
			if res.Status != http.StatusCreated {
				t.Fatalf("status = %d, want 201; body %s", res.Status, res.Body)
			}
			inv := res.json(t)
			if got, want := res.Header.Get("Location"), "/v1/invitations/"+inv["id"].(string); got != want {
				t.Errorf("Location = %q, want %q", got, want)
			}
			if inv["kind"] != tc.wantKind || inv["status"] != tc.wantStatus {
				t.Errorf("kind, status = %v, %v; want %s, %s", inv["kind"], inv["status"], tc.wantKind, tc.wantStatus)
			}
			if _, has := inv["accept_url"]; has != tc.wantAccept {
				t.Errorf("accept_url present = %v, want %v", has, tc.wantAccept)
			}
			for _, absent := range []string{"accepted_at", "revoked_at"} {
				if tc.wantStatus == "pending" && inv[absent] != nil {
					t.Errorf("%s = %v on a pending invitation, want absent", absent, inv[absent])
				}
			}
			if inviter := inv["inviter"].(map[string]any); inviter["sub"] != tc.claims.Sub {
				t.Errorf("inviter.sub = %v, want %s", inviter["sub"], tc.claims.Sub)
			}
			sent := f.mail.Sent()
			switch {
			case tc.wantMail == "" && len(sent) != 0:
				t.Errorf("sent %d emails, want none", len(sent))
			case tc.wantMail != "" && (len(sent) != 1 || sent[0].Template != tc.wantMail):
				t.Errorf("sent %+v, want one %s email", sent, tc.wantMail)
			}
			if got := f.store.Len(); got != 1 {
				t.Errorf("stored invitations = %d, want 1", got)
			}
		})
	}
}

func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	acme := f.create(acmeAdmin, createBody("bob@example.com"))
	id := acme["id"].(string)
	noPerms := httpapi.Claims{Sub: "auth0|nobody", Permissions: []string{}}
	cases := []struct {
		name    string
		c       call
		status  int
		code    invite.Code
		invalid bool
	}{
		{"create without claims", call{Method: "POST", Path: "/v1/invitations", Body: createBody("a@example.com"), InvalidRequest: true}, 401, invite.CodeUnauth, true},
		{"list without claims", call{Method: "GET", Path: "/v1/invitations", InvalidRequest: true}, 401, invite.CodeUnauth, true},
		{"create without permission", call{Method: "POST", Path: "/v1/invitations", Body: createBody("a@example.com"), Claims: &noPerms}, 403, invite.CodeForbidden, false},
		{"read-only token cannot create", call{Method: "POST", Path: "/v1/invitations", Body: createBody("a@example.com"), Claims: claims(readOnly)}, 403, invite.CodeForbidden, false},
		{"another organization's invitation", call{Method: "GET", Path: "/v1/invitations/" + id, Claims: claims(otherAdmin)}, 404, invite.CodeNotFound, false},
		{"application token on an organization's invitation", call{Method: "DELETE", Path: "/v1/invitations/" + id, Claims: claims(appAdmin)}, 404, invite.CodeNotFound, false},
		{"malformed id", call{Method: "GET", Path: "/v1/invitations/not-an-id", Claims: claims(appAdmin)}, 404, invite.CodeNotFound, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(tc.c)
			wantProblem(t, res, tc.status, tc.code)
			if tc.status == 401 && res.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// A read-only token can read.
	res := f.do(call{Method: "GET", Path: "/v1/invitations", Claims: claims(readOnly)})
	if res.Status != http.StatusOK {
		t.Errorf("list with read:invitations: status %d, want 200; %s", res.Status, res.Body)
	}
}

func TestCreateRejectsBadInput(t *testing.T) {
	cases := []struct {
		name      string
		body      string
		status    int
		wantField string
		// valid says the OpenAPI document cannot see the problem (it is the
		// allow-list's or the byte limit's), so the request passes it.
		valid bool
	}{
		{"unknown field", createBody("a@example.com", `"nmae":"typo"`), 400, "nmae", false},
		{"wrong type", createBody("a@example.com", `"ttl_seconds":"soon"`), 400, "ttl_seconds", false},
		{"wrong type in list", `{"email":"a@example.com","roles":"rol_viewer"}`, 400, "roles", false},
		{"trailing data", createBody("a@example.com") + `{"email":"b@example.com"}`, 400, "body", true}, // kin-openapi reads the first value only
		{"not JSON", `{"email":`, 400, "body", false},
		{"redirect not allowed", createBody("a@example.com", `"redirect_url":"https://evil.example.net/x"`), 400, "redirect_url", true},
		{"bad email", `{"email":"not an email"}`, 400, "email", true},
		{"too large", createBody("a@example.com", `"app_metadata":{"pad":"`+strings.Repeat("x", 70<<10)+`"}`), 413, "body", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: tc.body, Claims: claims(appAdmin), InvalidRequest: !tc.valid})
			p := wantProblem(t, res, tc.status, invite.CodeInvalid)
			if p["field"] != tc.wantField {
				t.Errorf("field = %v, want %s; detail %v", p["field"], tc.wantField, p["detail"])
			}
			if got := f.store.Len(); got != 0 {
				t.Errorf("stored invitations = %d, want 0", got)
			}
		})
	}
}

// TestTTLOutOfRange: every lifetime out of range gets the domain's one answer, the
// values the API refuses before the service (0, and more seconds than a Duration
// holds) included.
func TestTTLOutOfRange(t *testing.T) {
	want := fmt.Sprintf("must be between %d and %d seconds", int(invite.MinTTL.Seconds()), int(invite.MaxTTL.Seconds()))
	f := newFixture(t)
	for _, secs := range []string{"0", "-5", "3599", "2592001", "25920001", "9223372036854775807"} {
		t.Run(secs, func(t *testing.T) {
			res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("a@example.com", `"ttl_seconds":`+secs),
				Claims: claims(appAdmin), InvalidRequest: true})
			p := wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid)
			if p["field"] != "ttl_seconds" || p["detail"] != want {
				t.Errorf("got field %v, detail %v; want ttl_seconds, %q", p["field"], p["detail"], want)
			}
		})
	}
}

func TestCreateConflict(t *testing.T) {
	f := newFixture(t)
	first := f.create(appAdmin, createBody("ann@example.com"))
	f.clock.Advance(2 * time.Minute) // past the resend interval

	res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("ann@example.com"), Claims: claims(appAdmin)})
	p := wantProblem(t, res, http.StatusConflict, invite.CodeConflict)
	if p["existing_id"] != first["id"] {
		t.Errorf("existing_id = %v, want %v", p["existing_id"], first["id"])
	}

	res = f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("ann@example.com", `"on_conflict":"resend"`), Claims: claims(appAdmin)})
	if res.Status != http.StatusOK {
		t.Fatalf("on_conflict=resend: status %d, want 200; %s", res.Status, res.Body)
	}
	inv := res.json(t)
	if inv["id"] != first["id"] || inv["resent"] != true {
		t.Errorf("on_conflict=resend answered id %v resent %v, want id %v resent true", inv["id"], inv["resent"], first["id"])
	}
	if got := len(f.mail.SentTo("ann@example.com")); got != 2 {
		t.Errorf("emails to ann = %d, want 2 (invitation and resend)", got)
	}
	if got := f.store.Len(); got != 1 {
		t.Errorf("stored invitations = %d, want 1", got)
	}
}

func TestIdempotencyReplay(t *testing.T) {
	f := newFixture(t)
	body := createBody("ann@example.com")
	key := map[string]string{"Idempotency-Key": "create-ann-1"}
	first := f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: claims(appAdmin), Header: key})
	if first.Status != http.StatusCreated {
		t.Fatalf("first: status %d; %s", first.Status, first.Body)
	}
	f.clock.Advance(23 * time.Hour)
	second := f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: claims(appAdmin), Header: key})
	if second.Status != first.Status || string(second.Body) != string(first.Body) {
		t.Errorf("replay = %d %s\nwant  %d %s", second.Status, second.Body, first.Status, first.Body)
	}
	if got, want := second.Header.Get("Location"), first.Header.Get("Location"); got != want {
		t.Errorf("replayed Location = %q, want %q", got, want)
	}
	if second.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay lacks Idempotent-Replayed: true")
	}
	if got := f.store.Len(); got != 1 {
		t.Errorf("stored invitations = %d, want 1", got)
	}
	if got := len(f.mail.Sent()); got != 1 {
		t.Errorf("emails = %d, want 1", got)
	}

	// Another caller's same key is another key.
	other := f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("bob@example.com"), Claims: claims(acmeAdmin), Header: key})
	if other.Status != http.StatusCreated {
		t.Errorf("same key, other caller: status %d, want 201; %s", other.Status, other.Body)
	}

	// The same key with another body is refused.
	res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("zed@example.com"), Claims: claims(appAdmin), Header: key})
	p := wantProblem(t, res, http.StatusUnprocessableEntity, invite.CodeInvalid)
	if p["field"] != "Idempotency-Key" {
		t.Errorf("field = %v, want Idempotency-Key", p["field"])
	}

	// After 24 hours the key is free again; the duplicate is then the store's conflict.
	f.clock.Advance(2 * time.Hour)
	res = f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: claims(appAdmin), Header: key})
	wantProblem(t, res, http.StatusConflict, invite.CodeConflict)
}

// TestIdempotencyKeyPerOrganization: one user holding tokens of two organizations
// sends the same key and body with each; they are two requests, and neither
// organization is answered with the other's invitation.
// TestIdempotencyKeepsNoLink: a create answered with the invitee's link (send_email
// false) is stored without it, and its replay is refused, naming the invitation, so
// that the caller asks /tickets for a fresh link; a record an earlier version stored
// with the link is refused the same way.
func TestIdempotencyKeepsNoLink(t *testing.T) {
	f := newFixture(t)
	key := map[string]string{"Idempotency-Key": "quiet-1"}
	body := createBody("quiet@example.com", `"send_email":false`)
	first := f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: claims(appAdmin), Header: key})
	if first.Status != http.StatusCreated || !strings.Contains(string(first.Body), `"accept_url"`) {
		t.Fatalf("first: %d %s, want 201 with the link", first.Status, first.Body)
	}
	// The key as an application token's records are keyed (idempotency_internal_test).
	recordKey := func(k string) string { return fmt.Sprintf("v1:%d:%s:%s", len(appAdmin.Sub), appAdmin.Sub, k) }
	stored, ok := f.idem.Record(recordKey("quiet-1"))
	if !ok {
		t.Fatalf("no record for the key")
	}
	if strings.Contains(string(stored.Body), "/i/") || strings.Contains(string(stored.Body), "accept_url\"") {
		t.Errorf("the stored record holds the link: %s", stored.Body)
	}
	second := f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: claims(appAdmin), Header: key})
	var first0 map[string]any
	_ = json.Unmarshal(first.Body, &first0)
	if p := wantProblem(t, second, http.StatusConflict, invite.CodeConflict); p["existing_id"] != first0["id"] {
		t.Errorf("replay: existing_id %v, want %v", p["existing_id"], first0["id"])
	}
	if strings.Contains(string(second.Body), "/i/") {
		t.Errorf("the replay carries a link: %s", second.Body)
	}

	// As an earlier version stored it: the whole body, link included.
	legacy := f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("old@example.com", `"send_email":false`), Claims: claims(appAdmin),
		Header: map[string]string{"Idempotency-Key": "old-1"}})
	rec, ok := f.idem.Record(recordKey("old-1"))
	if !ok {
		t.Fatal("no record for old-1")
	}
	rec.Body = legacy.Body // as the earlier version completed it
	f.idem.Seed(rec)
	again := f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("old@example.com", `"send_email":false`), Claims: claims(appAdmin),
		Header: map[string]string{"Idempotency-Key": "old-1"}})
	wantProblem(t, again, http.StatusConflict, invite.CodeConflict)
}

func TestIdempotencyKeyPerOrganization(t *testing.T) {
	f := newFixture(t)
	inAcme := httpapi.Claims{Sub: "auth0|olga", Name: "Olga", Permissions: allPerms, OrgID: orgAcme}
	inOther := inAcme
	inOther.OrgID = orgOther
	body := `{"email":"ann@example.com","name":"Ann"}`
	key := map[string]string{"Idempotency-Key": "invite-ann"}
	var ids []any
	for _, c := range []httpapi.Claims{inAcme, inOther} {
		res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: &c, Header: key})
		if res.Status != http.StatusCreated || res.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("%s: status %d (replayed %q), want 201 not replayed; %s", c.OrgID, res.Status, res.Header.Get("Idempotent-Replayed"), res.Body)
		}
		inv := res.json(t)
		if inv["organization_id"] != c.OrgID {
			t.Errorf("%s: organization_id = %v, want %s", c.OrgID, inv["organization_id"], c.OrgID)
		}
		ids = append(ids, inv["id"])
	}
	if ids[0] == ids[1] {
		t.Errorf("both organizations got invitation %v, want one each", ids[0])
	}
	// Within one organization the key still replays.
	res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: &inAcme, Header: key})
	if res.Header.Get("Idempotent-Replayed") != "true" || res.json(t)["id"] != ids[0] {
		t.Errorf("repeat in %s: replayed %q, id %v; want a replay of %v", orgAcme, res.Header.Get("Idempotent-Replayed"), res.json(t)["id"], ids[0])
	}
}

func TestIdempotencyKeyValidation(t *testing.T) {
	f := newFixture(t)
	for _, key := range []string{strings.Repeat("k", 256), "tab\there"} {
		res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("a@example.com"), Claims: claims(appAdmin),
			Header: map[string]string{"Idempotency-Key": key}, InvalidRequest: true})
		p := wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid)
		if p["field"] != "Idempotency-Key" {
			t.Errorf("key %q: field = %v, want Idempotency-Key", key, p["field"])
		}
	}
}

func TestIdempotencyInFlight(t *testing.T) {
	cases := []struct {
		name string
		// finish decides whether the first request completes while the second waits.
		finish     bool
		wantStatus int
	}{
		{"first still running: 409", false, http.StatusConflict},
		{"first finishes while the second waits: replay", true, http.StatusCreated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *httpapi.Config) { c.IdempotencyWait = 600 * time.Millisecond })
			entered, release := f.store.holdCreates()
			t.Cleanup(release)
			body := createBody("ann@example.com")
			key := map[string]string{"Idempotency-Key": "k-1"}
			firstDone := make(chan response, 1)
			go func() {
				firstDone <- f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: claims(appAdmin), Header: key})
			}()
			<-entered // the first request holds the key and is inside the service
			if tc.finish {
				time.AfterFunc(200*time.Millisecond, release)
			}
			second := f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: claims(appAdmin), Header: key})
			release()
			first := <-firstDone
			if first.Status != http.StatusCreated {
				t.Fatalf("first: status %d; %s", first.Status, first.Body)
			}
			if second.Status != tc.wantStatus {
				t.Fatalf("second: status %d, want %d; %s", second.Status, tc.wantStatus, second.Body)
			}
			if tc.finish && string(second.Body) != string(first.Body) {
				t.Errorf("second body = %s, want the first's %s", second.Body, first.Body)
			}
			if !tc.finish {
				wantProblem(t, second, http.StatusConflict, invite.CodeConflict)
			}
			if got := f.store.Len(); got != 1 {
				t.Errorf("stored invitations = %d, want 1", got)
			}
		})
	}
}

func TestIdempotencyReleasedAfterServerError(t *testing.T) {
	f := newFixture(t)
	f.store.createErrs = []error{invite.Errorf(invite.CodeUpstream, "the database is unavailable")}
	key := map[string]string{"Idempotency-Key": "retry-me"}
	body := createBody("ann@example.com")
	res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: claims(appAdmin), Header: key})
	wantProblem(t, res, http.StatusServiceUnavailable, invite.CodeUpstream)
	res = f.do(call{Method: "POST", Path: "/v1/invitations", Body: body, Claims: claims(appAdmin), Header: key})
	if res.Status != http.StatusCreated {
		t.Fatalf("retry with the same key after a 503: status %d, want 201; %s", res.Status, res.Body)
	}
}

func TestInviterHourlyCap(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.InvitesPerHour = 2 })
	f.clock.Advance(15 * time.Minute) // 09:15: the window ends at 10:00
	for i := range 2 {
		f.create(appAdmin, createBody(fmt.Sprintf("user%d@example.com", i)))
	}
	res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("user3@example.com"), Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusTooManyRequests, invite.CodeRateLimited)
	if got, want := res.Header.Get("Retry-After"), "2700"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	// Another inviter has a cap of its own.
	f.create(acmeAdmin, createBody("user3@example.com"))
	// The next hour starts over.
	f.clock.Advance(time.Hour)
	f.create(appAdmin, createBody("user4@example.com"))
}

// TestCapChargedAfterValidation: the cap counts requests that pass validation only.
// An invalid or unpermitted request is answered with its reason, also past the cap,
// and leaves the inviter's hour as it was.
func TestCapChargedAfterValidation(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.InvitesPerHour = 2 })
	invalid := createBody("ann@example.com", `"redirect_url":"https://elsewhere.example.net/"`)
	refused := []struct {
		name   string
		claims httpapi.Claims
		body   string
		status int
		code   invite.Code
	}{
		{"invalid", appAdmin, invalid, http.StatusBadRequest, invite.CodeInvalid},
		{"unpermitted", readOnly, createBody("ann@example.com"), http.StatusForbidden, invite.CodeForbidden},
	}
	for range 3 {
		for _, tc := range refused {
			res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: tc.body, Claims: claims(tc.claims)})
			wantProblem(t, res, tc.status, tc.code)
		}
	}
	for i := range 2 {
		f.create(appAdmin, createBody(fmt.Sprintf("user%d@example.com", i)))
	}
	res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: invalid, Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid)
	res = f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("user2@example.com"), Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusTooManyRequests, invite.CodeRateLimited)
}

func TestCounterFailureIsUnavailable(t *testing.T) {
	f := newFixture(t)
	f.counter.FailNext(1, invite.CodeUpstream)
	res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("ann@example.com"), Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusServiceUnavailable, invite.CodeUpstream)
	if f.store.Len() != 0 {
		t.Error("an invitation was created although the cap could not be checked")
	}
}

func TestResend(t *testing.T) {
	f := newFixture(t)
	inv := f.create(appAdmin, createBody("ann@example.com"))
	path := "/v1/invitations/" + inv["id"].(string) + "/resend"

	res := f.do(call{Method: "POST", Path: path, Claims: claims(appAdmin)})
	p := wantProblem(t, res, http.StatusTooManyRequests, invite.CodeRateLimited)
	if res.Header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After = %q, want 60 (%v)", res.Header.Get("Retry-After"), p["detail"])
	}

	f.clock.Advance(2 * time.Minute)
	res = f.do(call{Method: "POST", Path: path, Body: `{"ttl_seconds":86400}`, Claims: claims(appAdmin)})
	if res.Status != http.StatusOK {
		t.Fatalf("resend: status %d; %s", res.Status, res.Body)
	}
	got := res.json(t)
	if want := f.clock.Now().Add(24 * time.Hour).Format(time.RFC3339); got["expires_at"] != want {
		t.Errorf("expires_at = %v, want %s", got["expires_at"], want)
	}
	if d := got["delivery"].(map[string]any); d["sends"] != float64(2) {
		t.Errorf("delivery.sends = %v, want 2", d["sends"])
	}

	res = f.do(call{Method: "POST", Path: path, Body: `{"ttl":1}`, Claims: claims(appAdmin), InvalidRequest: true})
	if p := wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid); p["field"] != "ttl" {
		t.Errorf("field = %v, want ttl", p["field"])
	}
}

func TestTicketsListGetRevoke(t *testing.T) {
	f := newFixture(t)
	a := f.create(appAdmin, createBody("ann@example.com"))
	f.clock.Advance(time.Second)
	b := f.create(appAdmin, createBody("bob@example.com"))
	id := a["id"].(string)

	res := f.do(call{Method: "POST", Path: "/v1/invitations/" + id + "/tickets", Claims: claims(appAdmin)})
	if res.Status != http.StatusOK {
		t.Fatalf("tickets: status %d; %s", res.Status, res.Body)
	}
	tok := token(t, res.json(t))
	if res := f.do(call{Method: "GET", Path: "/i/" + tok}); res.Status != http.StatusOK {
		t.Errorf("landing page of the ticket's link: status %d, want 200", res.Status)
	}

	res = f.do(call{Method: "GET", Path: "/v1/invitations?limit=1", Claims: claims(appAdmin)})
	if res.Status != http.StatusOK {
		t.Fatalf("list: status %d; %s", res.Status, res.Body)
	}
	var page struct {
		Invitations []map[string]any `json:"invitations"`
		NextCursor  string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(res.Body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Invitations) != 1 || page.Invitations[0]["id"] != b["id"] || page.NextCursor == "" {
		t.Fatalf("first page = %d invitations (first %v), cursor %q; want newest (%v) and a cursor", len(page.Invitations), page.Invitations, page.NextCursor, b["id"])
	}
	res = f.do(call{Method: "GET", Path: "/v1/invitations?limit=1&cursor=" + page.NextCursor, Claims: claims(appAdmin)})
	if got := res.json(t); got["next_cursor"] != nil || len(got["invitations"].([]any)) != 1 {
		t.Errorf("last page = %s, want one invitation and no next_cursor", res.Body)
	}
	res = f.do(call{Method: "GET", Path: "/v1/invitations?colour=red", Claims: claims(appAdmin)})
	if p := wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid); p["field"] != "colour" {
		t.Errorf("field = %v, want colour", p["field"])
	}

	res = f.do(call{Method: "GET", Path: "/v1/invitations/" + id, Claims: claims(appAdmin)})
	if got := res.json(t); res.Status != 200 || got["id"] != id || len(got["history"].([]any)) < 2 {
		t.Errorf("get: status %d body %s; want the invitation with its history", res.Status, res.Body)
	}

	res = f.do(call{Method: "DELETE", Path: "/v1/invitations/" + id, Claims: claims(appAdmin)})
	if got := res.json(t); res.Status != 200 || got["status"] != "revoked" || got["revoked_at"] == nil {
		t.Errorf("revoke: status %d body %s; want status revoked with revoked_at", res.Status, res.Body)
	}
	res = f.do(call{Method: "DELETE", Path: "/v1/invitations/" + id, Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusConflict, invite.CodeConflict)
}

func TestInternalErrorsShowNothing(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*gatedStore)
	}{
		{"failing dependency", func(g *gatedStore) {
			g.getErr = errors.New("dial tcp 10.0.3.7:8000: connection refused (table doorman-prod)")
		}},
		{"panicking dependency", func(g *gatedStore) { g.getBoom = true }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			inv := f.create(appAdmin, createBody("ann@example.com"))
			tc.setup(f.store)
			res := f.do(call{Method: "GET", Path: "/v1/invitations/" + inv["id"].(string), Claims: claims(appAdmin)})
			p := wantProblem(t, res, http.StatusInternalServerError, invite.CodeInternal)
			if p["detail"] != "internal error" {
				t.Errorf("detail = %v, want \"internal error\"", p["detail"])
			}
			if strings.Contains(string(res.Body), "10.0.3.7") {
				t.Errorf("the body leaks the cause: %s", res.Body)
			}
			if logs := f.logs.String(); !strings.Contains(logs, "10.0.3.7") || !strings.Contains(logs, p["request_id"].(string)) {
				t.Errorf("the log lacks the cause or the request id:\n%s", logs)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	f := newFixture(t)
	res := f.do(call{Method: "GET", Path: "/v1/invitations", Header: map[string]string{"X-Request-Id": "apigw-123"}, InvalidRequest: true})
	if p := wantProblem(t, res, http.StatusUnauthorized, invite.CodeUnauth); p["request_id"] != "apigw-123" {
		t.Errorf("request_id = %v, want the platform's apigw-123", p["request_id"])
	}
	res = f.do(call{Method: "GET", Path: "/v1/invitations", Header: map[string]string{"X-Request-Id": "bad id\x01"}, InvalidRequest: true})
	if p := wantProblem(t, res, http.StatusUnauthorized, invite.CodeUnauth); p["request_id"] == "bad id\x01" {
		t.Error("a malformed X-Request-Id was taken over")
	}
}

func TestUnroutedRequests(t *testing.T) {
	f := newFixture(t)
	res := f.do(call{Method: "GET", Path: "/v1/nothing-here", Claims: claims(appAdmin), Undocumented: true})
	wantProblem(t, res, http.StatusNotFound, invite.CodeNotFound)

	res = f.do(call{Method: "PUT", Path: "/v1/invitations", Claims: claims(appAdmin), Undocumented: true})
	if res.Status != http.StatusMethodNotAllowed || !strings.Contains(res.Header.Get("Allow"), "POST") {
		t.Errorf("PUT /v1/invitations: status %d Allow %q, want 405 naming POST", res.Status, res.Header.Get("Allow"))
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name       string
		c          call
		wantStatus int
		wantAllow  string
	}{
		{"preflight from the SPA", call{Method: "OPTIONS", Path: "/v1/invitations", Undocumented: true,
			Header: map[string]string{"Origin": spaOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}},
			http.StatusNoContent, spaOrigin},
		{"preflight from elsewhere", call{Method: "OPTIONS", Path: "/v1/invitations", Undocumented: true,
			Header: map[string]string{"Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"}},
			http.StatusNoContent, ""},
		{"request from the SPA", call{Method: "GET", Path: "/v1/invitations", Claims: claims(appAdmin),
			Header: map[string]string{"Origin": spaOrigin}}, http.StatusOK, spaOrigin},
		{"request from elsewhere", call{Method: "GET", Path: "/v1/invitations", Claims: claims(appAdmin),
			Header: map[string]string{"Origin": "https://evil.example.net"}}, http.StatusOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(tc.c)
			if res.Status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; %s", res.Status, tc.wantStatus, res.Body)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tc.wantAllow {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tc.wantAllow)
			}
			if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin in it", res.Header.Values("Vary"))
			}
			preflight := tc.c.Method == "OPTIONS"
			if preflight && tc.wantAllow != "" {
				for _, h := range []string{"Authorization", "Content-Type", "Idempotency-Key"} {
					if !strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), h) {
						t.Errorf("Access-Control-Allow-Headers = %q, want %s in it", res.Header.Get("Access-Control-Allow-Headers"), h)
					}
				}
				if !strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "DELETE") {
					t.Errorf("Access-Control-Allow-Methods = %q, want DELETE in it", res.Header.Get("Access-Control-Allow-Methods"))
				}
			}
			if tc.wantAllow == "" && res.Header.Get("Access-Control-Allow-Methods") != "" {
				t.Error("CORS headers for an origin that is not configured")
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	f := newFixture(t)
	_ = f
	cases := []struct {
		name string
		edit func(*httpapi.Config)
	}{
		{"wildcard origin", func(c *httpapi.Config) { c.CORSOrigins = []string{"*"} }},
		{"origin with a path", func(c *httpapi.Config) { c.CORSOrigins = []string{"https://admin.example.com/app"} }},
		{"no counter", func(c *httpapi.Config) { c.Counter = nil }},
		{"bad form-action source", func(c *httpapi.Config) { c.FormActionSources = []string{"https://a; script-src *"} }},
		// The stricter rule of the two that were: plain http only on loopback hosts,
		// and a form-action source is an origin, not any CSP expression.
		{"plain http origin", func(c *httpapi.Config) { c.CORSOrigins = []string{"http://admin.example.com"} }},
		{"form-action source with a comma", func(c *httpapi.Config) { c.FormActionSources = []string{"https://a,b"} }},
		{"form-action scheme source", func(c *httpapi.Config) { c.FormActionSources = []string{"data:"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := httpapi.Config{Service: &invite.Service{}, Idempotency: inmem.NewIdempotency(nil), Counter: inmem.NewCounter()}
			tc.edit(&cfg)
			if _, err := httpapi.New(cfg); err == nil {
				t.Error("New = nil error, want one")
			}
		})
	}
}

func TestOpenAPIServed(t *testing.T) {
	f := newFixture(t)
	res := f.do(call{Method: "GET", Path: "/v1/openapi.json"})
	if res.Status != http.StatusOK {
		t.Fatalf("status = %d", res.Status)
	}
	doc := res.json(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if b := schemes["bearer"].(map[string]any); b["scheme"] != "bearer" || b["bearerFormat"] != "JWT" {
		t.Errorf("bearer scheme = %v, want http bearer JWT", b)
	}
}

// TestCreateDeferredWhenAuth0IsBusy: a create that Auth0 keeps waiting past the budget
// answers 202 with the stored, pending invitation marked provisioning, and Location;
// the worker finishes it and GET then shows it provisioned.
func TestCreateDeferredWhenAuth0IsBusy(t *testing.T) {
	f := newFixture(t)
	f.idp.FailNext(inmem.OpCreateUser, 1, invite.CodeRateLimited)
	res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("busy@example.com"), Claims: claims(appAdmin)})
	if res.Status != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", res.Status, res.Body)
	}
	var inv map[string]any
	if err := json.Unmarshal(res.Body, &inv); err != nil {
		t.Fatal(err)
	}
	if inv["status"] != "pending" || inv["provisioning"] != true || inv["auth0_user_id"] != nil {
		t.Errorf("body %s, want pending, provisioning, no auth0_user_id", res.Body)
	}
	if loc := res.Header.Get("Location"); loc != "/v1/invitations/"+inv["id"].(string) {
		t.Errorf("Location %q", loc)
	}
	res = f.do(call{Method: "POST", Path: "/v1/invitations/" + inv["id"].(string) + "/tickets", Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusConflict, invite.CodeConflict)
	f.work()
	var got map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; {
		res = f.do(call{Method: "GET", Path: "/v1/invitations/" + inv["id"].(string), Claims: claims(appAdmin)})
		got = nil
		if err := json.Unmarshal(res.Body, &got); err != nil {
			t.Fatal(err)
		}
		if got["auth0_user_id"] != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got["provisioning"] != nil || got["auth0_user_id"] == nil {
		t.Errorf("after the worker: %v, want provisioned", got)
	}
}

// TestEveryLineNamesItsRequest: the handler's lines and the domain's lines logged while
// serving a request all carry its request id, once.
func TestEveryLineNamesItsRequest(t *testing.T) {
	f := newFixture(t)
	res := f.do(call{Method: "POST", Path: "/v1/invitations", Claims: &appAdmin,
		Header: map[string]string{"X-Request-Id": "req-lines-1"},
		Body:   `{"email":"lines@example.com","name":"Lena"}`})
	if res.Status != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", res.Status, res.Body)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		if strings.Count(line, `"request_id"`) > 1 {
			t.Errorf("request_id twice in %s", line)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["request_id"] != "req-lines-1" {
			t.Errorf("line %q has request_id %v, want req-lines-1", rec["msg"], rec["request_id"])
		}
		msgs = append(msgs, rec["msg"].(string))
	}
	for _, want := range []string{"invitation created", "request"} {
		if !slices.Contains(msgs, want) {
			t.Errorf("no %q line among %q", want, msgs)
		}
	}
}
