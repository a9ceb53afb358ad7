package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/invite"
)

// Undeliverable overrides the fixture store's (the service's Deliveries): the addresses
// of the undeliverable set (none unless a test adds some) are refused by SES.
func (g *gatedStore) Undeliverable(_ context.Context, email string) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.undeliverable[invite.EmailKey(email)], nil
}

type dryRunOut struct {
	DryRun bool           `json:"dry_run"`
	Total  int            `json:"total"`
	Totals map[string]int `json:"totals"`
	Items  []struct {
		Index      int         `json:"index"`
		Email      string      `json:"email"`
		Class      string      `json:"class"`
		Error      *problemOut `json:"error"`
		ExistingID string      `json:"existing_id"`
		Unchecked  bool        `json:"unchecked"`
	} `json:"items"`
}

// TestBatchDryRun classifies one item of each kind and checks that nothing changed:
// no invitation, no Auth0 user, no email, no charge on the hourly caps, and no
// idempotency record that a real submit with the same key would be answered from.
func TestBatchDryRun(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.InvitesPerHour = 3; c.BatchesPerHour = 1 })
	pending := f.create(appAdmin, createBody("pending@example.com"))
	f.idp.AddUser("owner@example.com", 4)
	f.store.mu.Lock()
	f.store.undeliverable = map[string]bool{invite.EmailKey("bounce@example.com"): true}
	f.store.mu.Unlock()
	users, mails := f.idp.UserCount(), f.mail.Calls()

	items := []string{
		createBody("new@example.com"),                                 // 0 new
		createBody("Owner@Example.com"),                               // 1 existing_account
		createBody("pending@example.com"),                             // 2 already_pending
		createBody("not-an-email"),                                    // 3 invalid
		`{"email":"grant@example.com","roles":["rol_admin"]}`,         // 4 not_grantable (outside the ceiling)
		createBody("bounce@example.com"),                              // 5 undeliverable
		createBody("new@example.com"),                                 // 6 invalid: item 0 invites it already
		`{"email":"typed@example.com","send_email":"yes"}`,            // 7 invalid: does not decode
		createBody("org@example.com", `"organization_id":"org_acme"`), // 8 new (another scope)
	}
	want := []struct {
		class, field string
	}{
		{"new", ""}, {"existing_account", ""}, {"already_pending", ""}, {"invalid", "email"},
		{"not_grantable", "roles[0]"}, {"undeliverable", ""}, {"invalid", "email"}, {"invalid", "send_email"}, {"new", ""},
	}
	admin := superAdmin
	res := f.do(call{Method: "POST", Path: "/v1/invitation-batches?dry_run=true", Body: batchBody(items...), Claims: &admin,
		Header: map[string]string{"Idempotency-Key": "preview-then-submit"}, InvalidRequest: true})
	if res.Status != http.StatusOK {
		t.Fatalf("dry run: status %d, want 200; body %s", res.Status, res.Body)
	}
	var out dryRunOut
	if err := json.Unmarshal(res.Body, &out); err != nil {
		t.Fatal(err)
	}
	if !out.DryRun || out.Total != len(items) || len(out.Items) != len(items) {
		t.Fatalf("dry run: dry_run %v total %d items %d, want true, %d, %d", out.DryRun, out.Total, len(out.Items), len(items), len(items))
	}
	for i, w := range want {
		got := out.Items[i]
		field := ""
		if got.Error != nil {
			field = got.Error.Field
		}
		if got.Index != i || got.Class != w.class || field != w.field {
			t.Errorf("item %d: index %d class %q field %q, want class %q field %q (%+v)", i, got.Index, got.Class, field, w.class, w.field, got.Error)
		}
	}
	if got := out.Items[2].ExistingID; got != pending["id"] {
		t.Errorf("already_pending existing_id %q, want %v", got, pending["id"])
	}
	if out.Totals["new"] != 2 || out.Totals["invalid"] != 3 || out.Totals["not_grantable"] != 1 {
		t.Errorf("totals %v, want new 2, invalid 3, not_grantable 1", out.Totals)
	}

	// Nothing changed.
	if got := f.idp.UserCount(); got != users {
		t.Errorf("Auth0 users %d after the dry run, want %d", got, users)
	}
	if got := f.mail.Calls(); got != mails {
		t.Errorf("emails %d after the dry run, want %d", got, mails)
	}
	list := f.do(call{Method: "GET", Path: "/v1/invitations", Claims: &admin})
	if n := len(list.json(t)["invitations"].([]any)); n != 1 {
		t.Errorf("%d invitations after the dry run, want 1 (the pending one)", n)
	}
	// The hour still has room for the rest (2 of 3 invitations, 1 of 1 batch), and the
	// same Idempotency-Key submits for real.
	res = f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: batchBody(items[0], items[1]), Claims: &admin,
		Header: map[string]string{"Idempotency-Key": "preview-then-submit"}})
	if res.Status != http.StatusAccepted {
		t.Fatalf("submit after the dry run: status %d, want 202; body %s", res.Status, res.Body)
	}
}

func TestBatchDryRunRefusals(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		path   string
		body   string
		claims httpapi.Claims
		status int
		code   invite.Code
	}{
		{"dry_run neither true nor false", "/v1/invitation-batches?dry_run=maybe", batchBody(createBody("a@example.com")), appAdmin, http.StatusBadRequest, invite.CodeInvalid},
		{"unknown query parameter", "/v1/invitation-batches?dryrun=true", batchBody(createBody("a@example.com")), appAdmin, http.StatusBadRequest, invite.CodeInvalid},
		{"no items", "/v1/invitation-batches?dry_run=true", `{"invitations":[]}`, appAdmin, http.StatusBadRequest, invite.CodeInvalid},
		{"without create:invitations", "/v1/invitation-batches?dry_run=true", batchBody(createBody("a@example.com")), readOnly, http.StatusForbidden, invite.CodeForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(call{Method: "POST", Path: tc.path, Body: tc.body, Claims: &tc.claims, InvalidRequest: tc.status == http.StatusBadRequest && !strings.Contains(tc.path, "dryrun")})
			wantProblem(t, res, tc.status, tc.code)
			if strings.Contains(string(res.Body), "dry_run\":true") {
				t.Errorf("a refused dry run answered a preview: %s", res.Body)
			}
		})
	}
}
