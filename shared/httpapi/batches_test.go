package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// superAdmin is an application-level token with admin:invitations: it may invite to
// any organization and sees every batch.
var superAdmin = httpapi.Claims{Sub: "auth0|super", Name: "Sam Super", Permissions: append([]string{invite.PermAdmin}, allPerms...)}

// batchOut is a Batch of the API.
type batchOut struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Total  int    `json:"total"`
	Totals struct {
		Queued    int `json:"queued"`
		Succeeded int `json:"succeeded"`
		Failed    int `json:"failed"`
	} `json:"totals"`
	CreatedAt  string    `json:"created_at"`
	Items      []itemOut `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

type itemOut struct {
	Index        int         `json:"index"`
	Email        string      `json:"email"`
	Status       string      `json:"status"`
	InvitationID string      `json:"invitation_id"`
	Resent       bool        `json:"resent"`
	Error        *problemOut `json:"error"`
}

// problemOut is one item's problem, in a batch's results or a refused batch's errors.
type problemOut struct {
	Index      int    `json:"index"`
	Code       string `json:"code"`
	Detail     string `json:"detail"`
	Field      string `json:"field"`
	ExistingID string `json:"existing_id"`
}

// batchBody is a POST /v1/invitation-batches body holding items.
func batchBody(items ...string) string {
	return `{"invitations":[` + strings.Join(items, ",") + `]}`
}

// emails is a batch of n valid items for user0@example.com … user<n-1>@example.com.
func emails(n int) []string {
	items := make([]string, n)
	for i := range items {
		items[i] = createBody(fmt.Sprintf("user%d@example.com", i))
	}
	return items
}

func decodeBatch(t testing.TB, res response) batchOut {
	t.Helper()
	var b batchOut
	if err := json.Unmarshal(res.Body, &b); err != nil {
		t.Fatalf("batch body: %v\n%s", err, res.Body)
	}
	return b
}

// submit posts a batch and wants it accepted.
func (f *fixture) submit(c httpapi.Claims, body string) batchOut {
	f.t.Helper()
	res := f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: body, Claims: &c})
	if res.Status != http.StatusAccepted {
		f.t.Fatalf("submit batch: status %d, want 202; body %s", res.Status, res.Body)
	}
	return decodeBatch(f.t, res)
}

// batch reads a batch with the query query and wants it found.
func (f *fixture) batch(c httpapi.Claims, id, query string) batchOut {
	f.t.Helper()
	path := "/v1/invitation-batches/" + id
	if query != "" {
		path += "?" + query
	}
	res := f.do(call{Method: "GET", Path: path, Claims: &c})
	if res.Status != http.StatusOK {
		f.t.Fatalf("GET %s: status %d, want 200; body %s", path, res.Status, res.Body)
	}
	return decodeBatch(f.t, res)
}

func TestBatchSubmitAndWork(t *testing.T) {
	cases := []struct {
		name     string
		claims   httpapi.Claims
		wantKind string
		wantOrg  string
		wantMail invite.Template
	}{
		{"application token", appAdmin, "application", "", invite.TemplateApplication},
		{"organization token", acmeAdmin, "organization", orgAcme, invite.TemplateOrganization},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			items := emails(3)
			res := f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: batchBody(items...), Claims: &tc.claims})
			if res.Status != http.StatusAccepted {
				t.Fatalf("status = %d, want 202; body %s", res.Status, res.Body)
			}
			b := decodeBatch(t, res)
			if got, want := res.Header.Get("Location"), "/v1/invitation-batches/"+b.ID; b.ID == "" || got != want {
				t.Errorf("Location = %q, id %q; want %q", got, b.ID, want)
			}
			if b.Status != "queued" || b.Total != 3 || b.Totals.Queued != 3 || b.Totals.Succeeded != 0 || b.Totals.Failed != 0 {
				t.Errorf("accepted batch = %s, want status queued, total 3, totals 3/0/0", res.Body)
			}
			if want := f.clock.Now().Format(time.RFC3339); b.CreatedAt != want {
				t.Errorf("created_at = %q, want %q", b.CreatedAt, want)
			}
			if b.Items != nil {
				t.Errorf("accepted batch lists items %+v, want none", b.Items)
			}
			if got := f.queue.Stats().Sent; got != 3 {
				t.Errorf("queued messages = %d, want 3", got)
			}
			if got := f.store.Len(); got != 0 {
				t.Errorf("stored invitations before the worker ran = %d, want 0", got)
			}

			f.work()

			done := f.batch(tc.claims, b.ID, "")
			if done.Status != "done" || done.Totals.Queued != 0 || done.Totals.Succeeded != 3 || done.Totals.Failed != 0 {
				t.Errorf("worked batch: status %s totals %+v, want done with 3 succeeded", done.Status, done.Totals)
			}
			if done.NextCursor != "" {
				t.Errorf("next_cursor = %q on the only page, want none", done.NextCursor)
			}
			if len(done.Items) != 3 {
				t.Fatalf("items = %+v, want 3", done.Items)
			}
			seen := map[string]bool{}
			for i, it := range done.Items {
				wantEmail := fmt.Sprintf("user%d@example.com", i)
				if it.Index != i || it.Email != wantEmail || it.Status != "succeeded" || it.Error != nil || it.Resent {
					t.Errorf("item %d = %+v, want index %d, %s, succeeded, no error", i, it, i, wantEmail)
				}
				if it.InvitationID == "" || seen[it.InvitationID] {
					t.Errorf("item %d: invitation_id %q, want a fresh id", i, it.InvitationID)
					continue
				}
				seen[it.InvitationID] = true
				r := f.do(call{Method: "GET", Path: "/v1/invitations/" + it.InvitationID, Claims: &tc.claims})
				if r.Status != http.StatusOK {
					t.Errorf("GET item %d's invitation: status %d, want 200; %s", i, r.Status, r.Body)
					continue
				}
				inv := r.json(t)
				if inv["email"] != wantEmail || inv["kind"] != tc.wantKind || inv["status"] != "pending" {
					t.Errorf("item %d's invitation: email %v kind %v status %v, want %s %s pending", i, inv["email"], inv["kind"], inv["status"], wantEmail, tc.wantKind)
				}
				if org, _ := inv["organization_id"].(string); org != tc.wantOrg {
					t.Errorf("item %d's invitation: organization_id %q, want %q", i, org, tc.wantOrg)
				}
				if inviter := inv["inviter"].(map[string]any); inviter["sub"] != tc.claims.Sub {
					t.Errorf("item %d's invitation: inviter.sub %v, want %s", i, inviter["sub"], tc.claims.Sub)
				}
				if sent := f.mail.SentTo(wantEmail); len(sent) != 1 || sent[0].Template != tc.wantMail {
					t.Errorf("emails to %s = %+v, want one %s email", wantEmail, sent, tc.wantMail)
				}
			}
			if got := f.store.Len(); got != 3 {
				t.Errorf("stored invitations = %d, want 3", got)
			}
			if dead := f.queue.Dead(); len(dead) != 0 {
				t.Errorf("dead letters = %+v, want none", dead)
			}
		})
	}
}

func TestBatchLooksUpEachOrganizationOnce(t *testing.T) {
	f := newFixture(t)
	org := func(id string) string { return `"organization_id":"` + id + `"` }
	b := f.submit(superAdmin, batchBody(
		createBody("a@example.com", org(orgAcme)),
		createBody("b@example.com", org(orgOther)),
		createBody("c@example.com", org(orgAcme)),
		createBody("d@example.com", org(orgOther)),
		createBody("a@example.com"), // the same person at application level is no duplicate
	))
	if got := f.idp.Calls(inmem.OpOrganization); got != 2 {
		t.Errorf("organization lookups = %d, want 2 (one per distinct organization)", got)
	}
	if b.Total != 5 {
		t.Errorf("total = %d, want 5", b.Total)
	}
	f.work()
	if done := f.batch(superAdmin, b.ID, ""); done.Totals.Succeeded != 5 {
		t.Errorf("worked batch: totals %+v, want 5 succeeded; items %+v", done.Totals, done.Items)
	}
}

func TestBatchRefusesInvalidItems(t *testing.T) {
	type want struct {
		index int
		code  invite.Code
		field string
	}
	cases := []struct {
		name   string
		claims httpapi.Claims
		body   string
		// field is the problem's own field; items are its errors.
		field string
		items []want
		// valid says the OpenAPI document cannot see the problem, so the request
		// passes it.
		valid bool
	}{
		{
			name:   "decode errors name their items",
			claims: appAdmin,
			body: batchBody(
				createBody("ok@example.com"),
				createBody("a@example.com", `"nmae":"typo"`),
				`{"email":"b@example.com","roles":"rol_viewer"}`,
				createBody("c@example.com", `"ttl_seconds":0`),
				createBody("d@example.com", `"ttl_seconds":"soon"`),
				`null`,
			),
			field: "invitations",
			items: []want{
				{1, invite.CodeInvalid, "nmae"},
				{2, invite.CodeInvalid, "roles"},
				{3, invite.CodeInvalid, "ttl_seconds"},
				{4, invite.CodeInvalid, "ttl_seconds"},
				{5, invite.CodeInvalid, "body"},
			},
		},
		{
			name:   "validation errors name their items",
			claims: appAdmin,
			body: batchBody(
				`{"email":"not an email"}`,
				createBody("ok@example.com"),
				createBody("a@example.com", `"redirect_url":"https://evil.example.net/x"`),
			),
			field: "invitations",
			items: []want{
				{0, invite.CodeInvalid, "email"},
				{2, invite.CodeInvalid, "redirect_url"},
			},
			valid: true,
		},
		{
			name:   "decode and validation errors together",
			claims: appAdmin,
			body: batchBody(
				createBody("a@example.com", `"nmae":"typo"`),
				`{"email":"not an email"}`,
				createBody("ok@example.com"),
			),
			field: "invitations",
			items: []want{
				{0, invite.CodeInvalid, "nmae"},
				{1, invite.CodeInvalid, "email"},
			},
		},
		{
			name:   "duplicates within the batch",
			claims: appAdmin,
			body: batchBody(
				createBody("ann@example.com"),
				createBody("bob@example.com"),
				createBody("Ann@Example.com"),
				createBody("ann@example.com"),
			),
			field: "invitations",
			items: []want{
				{2, invite.CodeInvalid, "email"},
				{3, invite.CodeInvalid, "email"},
			},
			valid: true,
		},
		{
			name:   "unknown organization",
			claims: superAdmin,
			body: batchBody(
				createBody("a@example.com", `"organization_id":"org_nope"`),
				createBody("b@example.com", `"organization_id":"`+orgAcme+`"`),
				createBody("c@example.com", `"organization_id":"org_nope"`),
			),
			field: "invitations",
			items: []want{
				{0, invite.CodeInvalid, "organization_id"},
				{2, invite.CodeInvalid, "organization_id"},
			},
			valid: true,
		},
		{
			name:   "organization token names another organization",
			claims: acmeAdmin,
			body: batchBody(
				createBody("a@example.com"),
				createBody("b@example.com", `"organization_id":"`+orgOther+`"`),
			),
			field: "invitations",
			items: []want{{1, invite.CodeForbidden, ""}},
			valid: true,
		},
		{
			name:   "resend without update permission",
			claims: httpapi.Claims{Sub: "auth0|creator", Permissions: []string{invite.PermCreate, invite.PermRead}},
			body: batchBody(
				createBody("a@example.com", `"on_conflict":"resend"`),
				createBody("b@example.com"),
			),
			field: "invitations",
			items: []want{{0, invite.CodeForbidden, ""}},
			valid: true,
		},
		{"no items", appAdmin, batchBody(), "invitations", nil, false},
		{"1001 items", appAdmin, batchBody(emails(1001)...), "invitations", nil, false},
		{"invitations is not an array", appAdmin, `{"invitations":{}}`, "invitations", nil, false},
		{"unknown top-level field", appAdmin, `{"invitations":[` + createBody("a@example.com") + `],"dry_run":true}`, "dry_run", nil, false},
		{"no body", appAdmin, ``, "body", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			res := f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: tc.body, Claims: &tc.claims, InvalidRequest: !tc.valid})
			p := wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid)
			if p["field"] != tc.field {
				t.Errorf("field = %v, want %s; detail %v", p["field"], tc.field, p["detail"])
			}
			var body struct {
				Errors []problemOut `json:"errors"`
			}
			if err := json.Unmarshal(res.Body, &body); err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, e := range body.Errors {
				got = append(got, want{e.Index, invite.Code(e.Code), e.Field})
				if e.Detail == "" {
					t.Errorf("item %d: empty detail", e.Index)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.items) {
				t.Errorf("errors (index, code, field) = %v\nwant %v\nbody %s", got, tc.items, res.Body)
			}
			if got := f.queue.Stats().Sent; got != 0 {
				t.Errorf("queued messages = %d, want 0", got)
			}
			f.work()
			if got := f.store.Len(); got != 0 {
				t.Errorf("stored invitations = %d, want 0", got)
			}
			if got := len(f.mail.Sent()); got != 0 {
				t.Errorf("emails = %d, want 0", got)
			}
		})
	}
}

func TestBatchBodyLimit(t *testing.T) {
	cases := []struct {
		name       string
		limit      int64
		items      int
		wantStatus int
	}{
		// A thousand items are over the single invitation's 64 KiB limit.
		{"1000 items under the default limit", 0, 1000, http.StatusAccepted},
		{"over a small limit", 2048, 40, http.StatusRequestEntityTooLarge},
		{"under a small limit", 2048, 10, http.StatusAccepted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The items would count against the hourly cap; it is not what this tests.
			f := newFixture(t, func(c *httpapi.Config) { c.MaxBatchBody, c.InvitesPerHour = tc.limit, -1 })
			body := batchBody(emails(tc.items)...)
			if tc.limit > 0 && (int64(len(body)) > tc.limit) != (tc.wantStatus == http.StatusRequestEntityTooLarge) {
				t.Fatalf("the test's body is %d bytes; it must be on the other side of %d", len(body), tc.limit)
			}
			res := f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: body, Claims: claims(appAdmin)})
			wantSent := tc.items
			if tc.wantStatus == http.StatusRequestEntityTooLarge {
				if p := wantProblem(t, res, tc.wantStatus, invite.CodeInvalid); p["field"] != "body" {
					t.Errorf("field = %v, want body", p["field"])
				}
				wantSent = 0
			} else if res.Status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %.300s", res.Status, tc.wantStatus, res.Body)
			}
			if got := f.queue.Stats().Sent; got != wantSent {
				t.Errorf("queued messages = %d, want %d", got, wantSent)
			}
		})
	}
}

func TestBatchAuthorization(t *testing.T) {
	f := newFixture(t)
	appBatch := f.submit(appAdmin, batchBody(createBody("ann@example.com"))).ID
	acmeBatch := f.submit(acmeAdmin, batchBody(createBody("bob@example.com"))).ID
	noPerms := httpapi.Claims{Sub: "auth0|nobody", Permissions: []string{}}
	get := func(id string, c *httpapi.Claims) call {
		return call{Method: "GET", Path: "/v1/invitation-batches/" + id, Claims: c, InvalidRequest: c == nil}
	}
	post := func(c *httpapi.Claims) call {
		return call{Method: "POST", Path: "/v1/invitation-batches", Body: batchBody(createBody("cy@example.com")), Claims: c, InvalidRequest: c == nil}
	}
	cases := []struct {
		name   string
		c      call
		status int
		code   invite.Code // for an error
		wantID string      // for a 200
	}{
		{"submit without claims", post(nil), 401, invite.CodeUnauth, ""},
		{"get without claims", get(appBatch, nil), 401, invite.CodeUnauth, ""},
		{"submit without permissions", post(&noPerms), 403, invite.CodeForbidden, ""},
		{"read-only token cannot submit", post(claims(readOnly)), 403, invite.CodeForbidden, ""},
		{"get without permissions", get(appBatch, &noPerms), 403, invite.CodeForbidden, ""},
		{"read-only token reads an application batch", get(appBatch, claims(readOnly)), 200, "", appBatch},
		{"organization token on an application batch", get(appBatch, claims(acmeAdmin)), 404, invite.CodeNotFound, ""},
		{"application token on an organization's batch", get(acmeBatch, claims(appAdmin)), 404, invite.CodeNotFound, ""},
		{"read-only application token on an organization's batch", get(acmeBatch, claims(readOnly)), 404, invite.CodeNotFound, ""},
		{"another organization's batch", get(acmeBatch, claims(otherAdmin)), 404, invite.CodeNotFound, ""},
		{"its organization's batch", get(acmeBatch, claims(acmeAdmin)), 200, "", acmeBatch},
		{"admin reads an organization's batch", get(acmeBatch, claims(superAdmin)), 200, "", acmeBatch},
		{"admin reads an application batch", get(appBatch, claims(superAdmin)), 200, "", appBatch},
		{"malformed id", get("not-an-id", claims(appAdmin)), 404, invite.CodeNotFound, ""},
		{"an invitation's id is no batch", get(f.create(appAdmin, createBody("dan@example.com"))["id"].(string), claims(appAdmin)), 404, invite.CodeNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sent := f.queue.Stats().Sent
			res := f.do(tc.c)
			if tc.status == http.StatusOK {
				if res.Status != http.StatusOK {
					t.Fatalf("status = %d, want 200; %s", res.Status, res.Body)
				}
				if got := decodeBatch(t, res); got.ID != tc.wantID || len(got.Items) != 1 {
					t.Errorf("batch %s with %d items, want %s with 1", got.ID, len(got.Items), tc.wantID)
				}
				return
			}
			wantProblem(t, res, tc.status, tc.code)
			if tc.status == 401 && res.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if got := f.queue.Stats().Sent; got != sent {
				t.Errorf("queued messages went from %d to %d, want no change", sent, got)
			}
		})
	}
}

func TestBatchIdempotencyReplay(t *testing.T) {
	f := newFixture(t)
	body := batchBody(emails(3)...)
	key := map[string]string{"Idempotency-Key": "batch-1"}
	first := f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: body, Claims: claims(appAdmin), Header: key})
	if first.Status != http.StatusAccepted {
		t.Fatalf("first: status %d; %s", first.Status, first.Body)
	}
	f.work()
	f.clock.Advance(time.Hour)

	second := f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: body, Claims: claims(appAdmin), Header: key})
	if second.Status != http.StatusAccepted || string(second.Body) != string(first.Body) {
		t.Errorf("replay = %d %s\nwant  %d %s", second.Status, second.Body, first.Status, first.Body)
	}
	if got, want := decodeBatch(t, second).ID, decodeBatch(t, first).ID; got != want {
		t.Errorf("replayed batch id = %s, want %s", got, want)
	}
	if got, want := second.Header.Get("Location"), first.Header.Get("Location"); got != want {
		t.Errorf("replayed Location = %q, want %q", got, want)
	}
	if second.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay lacks Idempotent-Replayed: true")
	}
	f.work()
	if got := f.queue.Stats().Sent; got != 3 {
		t.Errorf("queued messages = %d, want 3 (the first request's only)", got)
	}
	if got := f.store.Len(); got != 3 {
		t.Errorf("stored invitations = %d, want 3", got)
	}

	// The same key with another batch is refused and queues nothing.
	res := f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: batchBody(createBody("zed@example.com")), Claims: claims(appAdmin), Header: key})
	if p := wantProblem(t, res, http.StatusUnprocessableEntity, invite.CodeInvalid); p["field"] != "Idempotency-Key" {
		t.Errorf("field = %v, want Idempotency-Key", p["field"])
	}
	if got := f.queue.Stats().Sent; got != 3 {
		t.Errorf("queued messages after a reused key = %d, want 3", got)
	}
}

func TestBatchItemOutcomes(t *testing.T) {
	cases := []struct {
		name       string
		extra      []string // fields of the item for the person already invited
		wantStatus string
		wantCode   invite.Code
		wantResent bool
		wantMails  int // to ann, the invitation's included
	}{
		{"conflict with a pending invitation", nil, "failed", invite.CodeConflict, false, 1},
		{"on_conflict=resend resends it", []string{`"on_conflict":"resend"`}, "succeeded", "", true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			existing := f.create(appAdmin, createBody("ann@example.com"))["id"].(string)
			f.clock.Advance(2 * time.Minute) // past the resend interval

			b := f.submit(appAdmin, batchBody(createBody("ann@example.com", tc.extra...), createBody("bob@example.com")))
			f.work()
			done := f.batch(appAdmin, b.ID, "")
			wantFailed := 0
			if tc.wantStatus == "failed" {
				wantFailed = 1
			}
			if done.Status != "done" || done.Totals.Succeeded != 2-wantFailed || done.Totals.Failed != wantFailed || done.Totals.Queued != 0 {
				t.Errorf("batch: status %s totals %+v, want done with %d failed", done.Status, done.Totals, wantFailed)
			}
			if len(done.Items) != 2 {
				t.Fatalf("items = %+v, want 2", done.Items)
			}
			ann, bob := done.Items[0], done.Items[1]
			if ann.Status != tc.wantStatus || ann.Resent != tc.wantResent {
				t.Errorf("ann's item: status %s resent %v, want %s resent %v", ann.Status, ann.Resent, tc.wantStatus, tc.wantResent)
			}
			switch {
			case tc.wantCode == "" && ann.Error != nil:
				t.Errorf("ann's item: error %+v, want none", ann.Error)
			case tc.wantCode == "" && ann.InvitationID != existing:
				t.Errorf("ann's item: invitation_id %q, want the resent %s", ann.InvitationID, existing)
			case tc.wantCode != "" && (ann.Error == nil || ann.Error.Code != string(tc.wantCode) || ann.Error.ExistingID != existing || ann.Error.Index != 0):
				t.Errorf("ann's item: error %+v, want index 0, code %s, existing_id %s", ann.Error, tc.wantCode, existing)
			case tc.wantCode != "" && ann.InvitationID != "":
				t.Errorf("ann's failed item: invitation_id %q, want none", ann.InvitationID)
			}
			if bob.Status != "succeeded" || bob.InvitationID == "" {
				t.Errorf("bob's item = %+v, want succeeded with an invitation", bob)
			}
			if got := len(f.mail.SentTo("ann@example.com")); got != tc.wantMails {
				t.Errorf("emails to ann = %d, want %d", got, tc.wantMails)
			}
			if got := f.store.Len(); got != 2 {
				t.Errorf("stored invitations = %d, want 2 (ann's first and bob's)", got)
			}
		})
	}
}

func TestBatchPaging(t *testing.T) {
	f := newFixture(t)
	b := f.submit(appAdmin, batchBody(emails(7)...))
	// Another batch, of other people: a person in both would fail one of them.
	var others []string
	for i := range 4 {
		others = append(others, createBody(fmt.Sprintf("other%d@example.com", i)))
	}
	other := f.submit(appAdmin, batchBody(others...))
	f.work()

	var (
		indexes []int
		pages   []int
		cursor  string
	)
	for range 5 {
		q := url.Values{"limit": {"3"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page := f.batch(appAdmin, b.ID, q.Encode())
		if page.ID != b.ID || page.Total != 7 || page.Totals.Succeeded != 7 {
			t.Errorf("page of %s: id %s total %d totals %+v, want the whole batch's", b.ID, page.ID, page.Total, page.Totals)
		}
		pages = append(pages, len(page.Items))
		for _, it := range page.Items {
			indexes = append(indexes, it.Index)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if got, want := fmt.Sprint(pages), "[3 3 1]"; got != want {
		t.Errorf("page sizes = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(indexes), "[0 1 2 3 4 5 6]"; got != want {
		t.Errorf("indexes = %s, want %s", got, want)
	}

	// A cursor of the other batch, to use on this one.
	otherCursor := f.batch(appAdmin, other.ID, "limit=1").NextCursor
	if otherCursor == "" {
		t.Fatal("the other batch's first page of 1 has no next_cursor")
	}
	// This batch's own first cursor, its last character altered.
	altered := []byte(f.batch(appAdmin, b.ID, "limit=3").NextCursor)
	altered[len(altered)-1] ^= 1
	bad := []struct {
		name    string
		query   string
		field   string
		invalid bool
	}{
		{"garbage cursor", "cursor=" + url.QueryEscape("garbage"), "cursor", false},
		{"altered cursor", "cursor=" + url.QueryEscape(string(altered)), "cursor", false},
		{"forged cursor", "cursor=" + url.QueryEscape(b.ID+".5"), "cursor", false},
		{"another batch's cursor", "cursor=" + url.QueryEscape(otherCursor), "cursor", false},
		{"limit 0", "limit=0", "limit", true},
		{"limit over 1000", "limit=1001", "limit", true},
		{"limit not a number", "limit=ten", "limit", true},
		{"unknown parameter", "colour=red", "colour", false},
		{"limit twice", "limit=1&limit=2", "limit", false},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(call{Method: "GET", Path: "/v1/invitation-batches/" + b.ID + "?" + tc.query, Claims: claims(appAdmin), InvalidRequest: tc.invalid})
			if p := wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid); p["field"] != tc.field {
				t.Errorf("field = %v, want %s; detail %v", p["field"], tc.field, p["detail"])
			}
		})
	}
}

func TestBatchHourlyCap(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.BatchesPerHour = 2 })
	f.clock.Advance(15 * time.Minute) // 09:15: the window ends at 10:00
	for i := range 2 {
		f.submit(appAdmin, batchBody(createBody(fmt.Sprintf("user%d@example.com", i))))
	}
	res := f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: batchBody(createBody("user2@example.com")), Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusTooManyRequests, invite.CodeRateLimited)
	if got, want := res.Header.Get("Retry-After"), "2700"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	if got := f.queue.Stats().Sent; got != 2 {
		t.Errorf("queued messages = %d, want 2 (the refused batch's none)", got)
	}
	// Single invitations have a cap of their own.
	f.create(appAdmin, createBody("single@example.com"))
	// Another inviter has a cap of its own.
	f.submit(acmeAdmin, batchBody(createBody("user2@example.com")))
	// The next hour starts over.
	f.clock.Advance(time.Hour)
	f.submit(appAdmin, batchBody(createBody("user3@example.com")))
}

// TestBatchCapChargedAfterValidation: a batch the service refuses as invalid, or that
// fails to decode, does not count against the inviter's batches of the hour.
func TestBatchCapChargedAfterValidation(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.BatchesPerHour = 1 })
	refused := []string{
		batchBody(createBody("ann@example.com", `"redirect_url":"https://elsewhere.example.net/"`)),
		batchBody(createBody("ann@example.com"), createBody("ann@example.com")), // the same person twice
	}
	for range 2 {
		for _, body := range refused {
			res := f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: body, Claims: claims(appAdmin)})
			wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid)
		}
	}
	f.submit(appAdmin, batchBody(createBody("user0@example.com")))
	res := f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: refused[0], Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid)
	res = f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: batchBody(createBody("user1@example.com")), Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusTooManyRequests, invite.CodeRateLimited)
}

func TestBatchesUnlimited(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.BatchesPerHour = -1 })
	for i := range httpapi.DefaultBatchesPerHour + 1 {
		f.submit(appAdmin, batchBody(createBody(fmt.Sprintf("user%d@example.com", i))))
	}
}

// TestBatchItemsCountAgainstTheInvitesCap: a batch's items count against the
// inviter's hourly cap on invitations as single creates do. A batch that would pass
// it is refused whole (429) and costs nothing on either cap; so does one refused for
// an item the caller may not grant.
func TestBatchItemsCountAgainstTheInvitesCap(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.InvitesPerHour, c.BatchesPerHour = 5, 2 })
	f.clock.Advance(15 * time.Minute) // 09:15: the window ends at 10:00
	post := func(body string) response {
		return f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: body, Claims: claims(appAdmin)})
	}
	items := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = createBody(fmt.Sprintf("%s%d@example.com", prefix, i))
		}
		return out
	}
	for i := range 2 {
		f.create(appAdmin, createBody(fmt.Sprintf("single%d@example.com", i)))
	}

	// 2 created + 4 would pass the 5 of the hour.
	res := post(batchBody(items("over", 4)...))
	wantProblem(t, res, http.StatusTooManyRequests, invite.CodeRateLimited)
	if got, want := res.Header.Get("Retry-After"), "2700"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	// A batch larger than the cap never fits: waiting would not help.
	res = post(batchBody(items("huge", 6)...))
	if p := wantProblem(t, res, http.StatusTooManyRequests, invite.CodeRateLimited); !strings.Contains(p["detail"].(string), "split it") {
		t.Errorf("detail = %v, want it to say to split the batch", p["detail"])
	}
	if got := res.Header.Get("Retry-After"); got != "" {
		t.Errorf("Retry-After = %q for a batch that never fits, want none", got)
	}
	// An item beyond the ceiling refuses the batch before anything starts.
	res = post(batchBody(`{"email":"grant@example.com","roles":["rol_admin"]}`))
	if p := wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid); !strings.Contains(string(res.Body), `"field":"roles[0]"`) {
		t.Errorf("problem = %v, want the item's roles[0] named", p)
	}
	if got := f.queue.Stats().Sent; got != 0 {
		t.Fatalf("queued messages = %d, want 0 (every batch refused)", got)
	}

	// None of the refusals cost anything: 3 items fill the hour exactly, and the
	// batch is the first of the two an hour.
	f.submit(appAdmin, batchBody(items("fits", 3)...))
	res = f.do(call{Method: "POST", Path: "/v1/invitations", Body: createBody("late@example.com"), Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusTooManyRequests, invite.CodeRateLimited)
	res = post(batchBody(items("second", 1)...))
	wantProblem(t, res, http.StatusTooManyRequests, invite.CodeRateLimited)
	// Another inviter has a cap of its own; the next hour starts over.
	f.submit(acmeAdmin, batchBody(items("acme", 5)...))
	f.clock.Advance(time.Hour)
	f.submit(appAdmin, batchBody(items("next", 5)...))
}
