package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/invite"
)

// Machine tokens as Auth0 issues them through the client-credentials grant: their
// permissions are in scope.
var (
	machine      = httpapi.Claims{Sub: "m2m@clients", Scope: "create:invitations read:invitations", Gty: invite.GrantClientCredentials}
	machineAdmin = httpapi.Claims{Sub: "ops@clients", Scope: "admin:invitations create:invitations read:invitations", Gty: invite.GrantClientCredentials}
)

// TestScopeCountsOnlyForMachineTokens: the permissions claim is authoritative; a
// user's scope grants nothing (an application may ask for any scope without RBAC),
// while a client-credentials token's scope holds its permissions.
func TestScopeCountsOnlyForMachineTokens(t *testing.T) {
	// A user token whose scope names every permission, and none in permissions.
	scoped := httpapi.Claims{Sub: "auth0|scoped", Name: "Sam", Scope: "openid admin:invitations create:invitations read:invitations"}
	// A user token whose permissions allow creating, with admin only in its scope.
	scopedAdmin := httpapi.Claims{Sub: "auth0|creator", Name: "Cai", Permissions: []string{invite.PermCreate, invite.PermRead}, Scope: "admin:invitations"}
	noRoles := `{"email":"ann@example.com","name":"Ann"}`
	cases := []struct {
		name      string
		claims    httpapi.Claims
		method    string
		path      string
		body      string
		status    int
		wantField string
	}{
		{"user scope does not create", scoped, "POST", "/v1/invitations", noRoles, http.StatusForbidden, ""},
		{"user scope does not read", scoped, "GET", "/v1/invitations", "", http.StatusForbidden, ""},
		{"user scope admin does not reach an organization", scopedAdmin, "POST", "/v1/invitations",
			`{"email":"ann@example.com","organization_id":"` + orgAcme + `"}`, http.StatusForbidden, ""},
		{"user scope admin does not grant a role", scopedAdmin, "POST", "/v1/invitations", createBody("ann@example.com"), http.StatusForbidden, "roles[0]"},
		{"machine scope creates", machine, "POST", "/v1/invitations", noRoles, http.StatusCreated, ""},
		{"machine scope reads", machine, "GET", "/v1/invitations", "", http.StatusOK, ""},
		{"machine without admin grants no role", machine, "POST", "/v1/invitations", createBody("ann@example.com"), http.StatusForbidden, "roles[0]"},
		{"machine with admin grants the ceiling's roles", machineAdmin, "POST", "/v1/invitations", createBody("ann@example.com"), http.StatusCreated, ""},
		{"machine with admin reaches an organization", machineAdmin, "POST", "/v1/invitations",
			createBody("ann@example.com", `"organization_id":"`+orgAcme+`"`), http.StatusCreated, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			res := f.do(call{Method: tc.method, Path: tc.path, Body: tc.body, Claims: claims(tc.claims)})
			if tc.status >= 400 {
				p := wantProblem(t, res, tc.status, invite.CodeForbidden)
				if tc.wantField != "" && p["field"] != tc.wantField {
					t.Errorf("field = %v, want %s", p["field"], tc.wantField)
				}
				if f.store.Len() != 0 {
					t.Errorf("stored invitations = %d, want none", f.store.Len())
				}
				return
			}
			if res.Status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", res.Status, tc.status, res.Body)
			}
		})
	}
}

// TestCreateRefusesGrantsBeyondTheCeiling: what the operator did not allow is refused
// 403, naming the field, for a single create and for a batch's item; nothing starts.
func TestCreateRefusesGrantsBeyondTheCeiling(t *testing.T) {
	cases := []struct {
		name      string
		claims    httpapi.Claims
		body      string
		wantField string
	}{
		{"role outside GRANTABLE_ROLES", appAdmin, `{"email":"ann@example.com","roles":["rol_viewer","rol_admin"]}`, "roles[1]"},
		{"role the caller does not hold", helper, `{"email":"ann@example.com","roles":["rol_editor"]}`, "roles[0]"},
		{"a role held elsewhere than the organization", helperInAcme, `{"email":"ann@example.com","roles":["rol_viewer"]}`, "roles[0]"},
		{"app_metadata key", appAdmin, `{"email":"ann@example.com","app_metadata":{"isAdmin":true}}`, "app_metadata.isAdmin"},
		{"connection", appAdmin, `{"email":"ann@example.com","connection":"google-oauth2"}`, "connection"},
		{"client", appAdmin, `{"email":"ann@example.com","client_id":"client_other"}`, "client_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.idp.AddRoles("rol_admin")
			f.idp.AddInviter(helper.Sub, []string{"rol_viewer"}, nil)
			res := f.do(call{Method: "POST", Path: "/v1/invitations", Body: tc.body, Claims: claims(tc.claims)})
			p := wantProblem(t, res, http.StatusForbidden, invite.CodeForbidden)
			if tc.wantField != "" && p["field"] != tc.wantField {
				t.Errorf("create: field = %v, want %s", p["field"], tc.wantField)
			}

			res = f.do(call{Method: "POST", Path: "/v1/invitation-batches", Body: batchBody(`{"email":"bob@example.com"}`, tc.body), Claims: claims(tc.claims)})
			p = wantProblem(t, res, http.StatusBadRequest, invite.CodeInvalid)
			items, _ := p["errors"].([]any)
			if len(items) != 1 {
				t.Fatalf("batch: errors = %v, want the one item", p["errors"])
			}
			item := items[0].(map[string]any)
			if item["index"] != float64(1) || item["code"] != string(invite.CodeForbidden) || (tc.wantField != "" && item["field"] != tc.wantField) {
				t.Errorf("batch: item problem = %v, want index 1 forbidden naming %s", item, tc.wantField)
			}
			if f.store.Len() != 0 || f.queue.Stats().Sent != 0 || f.idp.UserCount() != 0 {
				t.Errorf("refused requests left %d invitations, %d queued items, %d users; want none", f.store.Len(), f.queue.Stats().Sent, f.idp.UserCount())
			}
		})
	}
}

// helper is an inviter without admin:invitations who holds rol_viewer as a tenant role
// and no membership anywhere; helperInAcme is the same user with a token of org_acme.
var (
	helper       = httpapi.Claims{Sub: "auth0|helper", Name: "Hal Helper", Permissions: allPerms}
	helperInAcme = httpapi.Claims{Sub: "auth0|helper", Name: "Hal Helper", Permissions: allPerms, OrgID: orgAcme}
)

func TestGrantableRoles(t *testing.T) {
	viewer := invite.Role{ID: "rol_viewer", Name: "viewer", Description: "Reads the application"}
	editor := invite.Role{ID: "rol_editor", Name: "editor", Description: "Edits the application"}
	cases := []struct {
		name   string
		claims *httpapi.Claims
		query  string
		status int
		want   []invite.Role
		// invalid says the OpenAPI document refuses the request too.
		invalid bool
	}{
		{"tenant roles the caller holds", claims(helper), "", http.StatusOK, []invite.Role{viewer}, false},
		{"every role in the ceiling it holds", claims(appAdmin), "", http.StatusOK, []invite.Role{editor, viewer}, false},
		{"member roles of the token's organization", claims(acmeAdmin), "", http.StatusOK, []invite.Role{editor, viewer}, false},
		{"the token's organization named", claims(acmeAdmin), "?organization_id=" + orgAcme, http.StatusOK, []invite.Role{editor, viewer}, false},
		{"no member roles in the token's organization", claims(helperInAcme), "", http.StatusOK, []invite.Role{}, false},
		{"machine without admin", claims(machine), "", http.StatusOK, []invite.Role{}, false},
		{"machine with admin, for an organization", claims(machineAdmin), "?organization_id=" + orgOther, http.StatusOK, []invite.Role{editor, viewer}, false},
		{"another organization than the token's", claims(acmeAdmin), "?organization_id=" + orgOther, http.StatusForbidden, nil, false},
		{"an organization without admin", claims(appAdmin), "?organization_id=" + orgAcme, http.StatusForbidden, nil, false},
		{"without create:invitations", claims(readOnly), "", http.StatusForbidden, nil, false},
		{"without a token", nil, "", http.StatusUnauthorized, nil, true},
		{"unknown parameter", claims(appAdmin), "?limit=5", http.StatusBadRequest, nil, false},
		{"malformed organization", claims(machineAdmin), "?organization_id=acme", http.StatusBadRequest, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.idp.AddRole(viewer)
			f.idp.AddRole(editor)
			f.idp.AddRole(invite.Role{ID: "rol_admin", Name: "admin"}) // outside the ceiling
			f.idp.AddInviter(helper.Sub, []string{"rol_viewer", "rol_admin"}, nil)
			res := f.do(call{Method: "GET", Path: "/v1/roles" + tc.query, Claims: tc.claims, InvalidRequest: tc.invalid})
			if tc.status != http.StatusOK {
				codes := map[int]invite.Code{400: invite.CodeInvalid, 401: invite.CodeUnauth, 403: invite.CodeForbidden}
				wantProblem(t, res, tc.status, codes[tc.status])
				return
			}
			if res.Status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", res.Status, res.Body)
			}
			var got struct {
				Roles []invite.Role `json:"roles"`
			}
			if err := json.Unmarshal(res.Body, &got); err != nil || got.Roles == nil {
				t.Fatalf("body %s: %v, want {\"roles\": [...]}", res.Body, err)
			}
			slices.SortFunc(got.Roles, func(a, b invite.Role) int { return strings.Compare(a.ID, b.ID) })
			if !slices.Equal(got.Roles, tc.want) {
				t.Errorf("roles = %+v, want %+v", got.Roles, tc.want)
			}
		})
	}
}
