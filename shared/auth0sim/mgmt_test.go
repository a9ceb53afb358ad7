package auth0sim

import (
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPatchUserMetadata(t *testing.T) {
	tests := []struct {
		name  string
		start map[string]any
		patch string
		want  map[string]any
	}{
		{name: "null removes a key", start: map[string]any{"needsInvitation": true, "invitationId": "inv_1"},
			patch: `{"app_metadata":{"needsInvitation":null}}`, want: map[string]any{"invitationId": "inv_1"}},
		{name: "top level merges", start: map[string]any{"a": "1"},
			patch: `{"app_metadata":{"b":"2"}}`, want: map[string]any{"a": "1", "b": "2"}},
		{name: "nested objects are replaced", start: map[string]any{"o": map[string]any{"x": "1", "y": "2"}},
			patch: `{"app_metadata":{"o":{"x":"3"}}}`, want: map[string]any{"o": map[string]any{"x": "3"}}},
		{name: "empty object clears", start: map[string]any{"a": "1"},
			patch: `{"app_metadata":{}}`, want: nil},
		{name: "removing the last key clears", start: map[string]any{"a": "1"},
			patch: `{"app_metadata":{"a":null}}`, want: nil},
	}
	sim := NewTestServer(t, Options{RateLimit: -1})
	token := managementToken(t, sim)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := sim.AddUser(User{Email: "p-" + url.PathEscape(tt.name) + "@example.com", AppMetadata: tt.start})
			resp, body, raw := api(t, sim, token, "PATCH", "/api/v2/users/"+url.PathEscape(u.ID), tt.patch)
			if resp.StatusCode != 200 {
				t.Fatalf("got status %d, want 200: %s", resp.StatusCode, raw)
			}
			got, _ := body["app_metadata"].(map[string]any)
			if tt.want == nil {
				if _, present := body["app_metadata"]; present {
					t.Errorf("got app_metadata %v in the response, want none", got)
				}
			} else if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got app_metadata %v, want %v", got, tt.want)
			}
			stored, _ := sim.User(u.ID)
			if !reflect.DeepEqual(stored.AppMetadata, tt.want) && !(len(stored.AppMetadata) == 0 && tt.want == nil) {
				t.Errorf("got stored app_metadata %v, want %v", stored.AppMetadata, tt.want)
			}
		})
	}
}

func TestManagementErrors(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: -1})
	token := managementToken(t, sim)
	ann := sim.AddUser(User{Email: "Ann@Example.com", Password: "Secret-pass-1"})
	role := sim.CreateRole("editor", "Edits")
	org := sim.CreateOrganization("acme", "Acme")
	annPath := "/api/v2/users/" + url.PathEscape(ann.ID)
	tests := []struct {
		name              string
		method, path      string
		body              any
		wantStatus        int
		wantMsg, wantCode string
	}{
		{name: "create existing email, other case", method: "POST", path: "/api/v2/users",
			body:       map[string]any{"connection": "Username-Password-Authentication", "email": "ann@example.com", "password": "Another-pass-2"},
			wantStatus: 409, wantMsg: "The user already exists.", wantCode: "auth0_idp_error"},
		{name: "create with unknown property", method: "POST", path: "/api/v2/users",
			body:       map[string]any{"connection": "Username-Password-Authentication", "email": "b@example.com", "password": "Another-pass-2", "foo": 1},
			wantStatus: 400, wantMsg: "Payload validation error: 'Additional properties not allowed: foo'.", wantCode: "invalid_body"},
		{name: "create without connection", method: "POST", path: "/api/v2/users",
			body:       map[string]any{"email": "b@example.com", "password": "Another-pass-2"},
			wantStatus: 400, wantMsg: "Payload validation error: 'Missing required property: connection'.", wantCode: "invalid_body"},
		{name: "create with weak password", method: "POST", path: "/api/v2/users",
			body:       map[string]any{"connection": "Username-Password-Authentication", "email": "b@example.com", "password": "short"},
			wantStatus: 400, wantMsg: "PasswordStrengthError: Password is too weak"},
		{name: "create in unknown connection", method: "POST", path: "/api/v2/users",
			body:       map[string]any{"connection": "nope", "email": "b@example.com", "password": "Another-pass-2"},
			wantStatus: 400, wantMsg: "The connection does not exist.", wantCode: "inexistent_connection"},
		{name: "malformed JSON", method: "POST", path: "/api/v2/users", body: `{"connection":`,
			wantStatus: 400, wantMsg: "Invalid request payload JSON format"},
		{name: "wrong type", method: "PATCH", path: annPath, body: `{"email_verified":"yes"}`,
			wantStatus: 400, wantMsg: "Payload validation error: 'Expected type boolean but found type string' on property email_verified.", wantCode: "invalid_body"},
		{name: "unknown user", method: "GET", path: "/api/v2/users/auth0%7Cnobody",
			wantStatus: 404, wantMsg: "The user does not exist.", wantCode: "inexistent_user"},
		{name: "assign unknown role", method: "POST", path: annPath + "/roles", body: map[string]any{"roles": []string{role.ID, "rol_0000000000000000"}},
			wantStatus: 404, wantMsg: "The role does not exist.", wantCode: "inexistent_role"},
		{name: "assign no role", method: "POST", path: annPath + "/roles", body: map[string]any{"roles": []string{}},
			wantStatus: 400, wantMsg: "Payload validation error: 'Array is too short (0), minimum 1' on property roles.", wantCode: "invalid_body"},
		{name: "unknown role", method: "GET", path: "/api/v2/roles/rol_0000000000000000",
			wantStatus: 404, wantMsg: "The role does not exist."},
		{name: "ticket with result_url and client_id", method: "POST", path: "/api/v2/tickets/password-change",
			body:       map[string]any{"user_id": ann.ID, "result_url": "https://app.example/done", "client_id": "abc"},
			wantStatus: 400, wantMsg: "Payload validation error: 'The result_url and client_id parameters are mutually exclusive.'", wantCode: "invalid_body"},
		{name: "unknown organization", method: "GET", path: "/api/v2/organizations/org_nope",
			wantStatus: 404, wantMsg: "No organization found by that id."},
		{name: "invitation ttl over 30 days", method: "POST", path: "/api/v2/organizations/" + org.ID + "/invitations",
			body:       map[string]any{"inviter": map[string]any{"name": "Bo"}, "invitee": map[string]any{"email": "c@example.com"}, "client_id": "app", "ttl_sec": 2592001},
			wantStatus: 400, wantMsg: "Payload validation error: 'Number is greater than the maximum value of 2592000' on property ttl_sec.", wantCode: "invalid_body"},
		{name: "invitation with unknown roles", method: "POST", path: "/api/v2/organizations/" + org.ID + "/invitations",
			body:       map[string]any{"inviter": map[string]any{"name": "Bo"}, "invitee": map[string]any{"email": "c@example.com"}, "client_id": "app", "roles": []string{"rol_a", "rol_b"}},
			wantStatus: 400, wantMsg: "One or more of the specified roles do not exist: rol_a, rol_b", wantCode: "invalid_body"},
		{name: "unknown invitation", method: "GET", path: "/api/v2/organizations/" + org.ID + "/invitations/uinv_nope",
			wantStatus: 404, wantMsg: "The invitation does not exist.", wantCode: "inexistent_invitation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, raw := api(t, sim, token, tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got status %d, want %d: %s", resp.StatusCode, tt.wantStatus, raw)
			}
			if body["statusCode"] != float64(tt.wantStatus) || body["error"] != http.StatusText(tt.wantStatus) {
				t.Errorf("got body %s, want statusCode %d and error %q", raw, tt.wantStatus, http.StatusText(tt.wantStatus))
			}
			if body["message"] != tt.wantMsg {
				t.Errorf("got message %q, want %q", body["message"], tt.wantMsg)
			}
			code, present := body["errorCode"]
			if tt.wantCode == "" && present {
				t.Errorf("got errorCode %v, want none", code)
			}
			if tt.wantCode != "" && code != tt.wantCode {
				t.Errorf("got errorCode %v, want %s", code, tt.wantCode)
			}
		})
	}
	if got := sim.UserRoles(ann.ID); len(got) != 0 {
		t.Errorf("got roles %v after a rejected assignment, want none (all or nothing)", got)
	}
}

func TestUsersByEmailIsCaseInsensitive(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: -1})
	token := managementToken(t, sim)
	ann := sim.AddUser(User{Email: "Ann@Example.com"})
	resp, _, raw := api(t, sim, token, "GET", "/api/v2/users-by-email?email="+url.QueryEscape("ann@EXAMPLE.com"), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("got status %d, want 200", resp.StatusCode)
	}
	if want := `"user_id":"` + ann.ID + `"`; !strings.Contains(string(raw), want) {
		t.Errorf("got %s, want the user %s", raw, ann.ID)
	}
	resp, _, raw = api(t, sim, token, "GET", "/api/v2/users-by-email?email=nobody%40example.com", nil)
	if resp.StatusCode != 200 || string(raw) != "[]\n" {
		t.Errorf("got %d %q, want 200 and an empty array", resp.StatusCode, raw)
	}
}

func TestOrgInvitationLifecycle(t *testing.T) {
	clock := newClock()
	sim := NewTestServer(t, Options{RateLimit: -1, Now: clock.Now})
	token := managementToken(t, sim)
	org := sim.CreateOrganization("acme", "Acme Inc")
	role := sim.CreateRole("member", "")
	conn, _ := sim.ConnectionByName("Username-Password-Authentication")
	tests := []struct {
		name    string
		ttl     int
		wantTTL time.Duration
	}{
		{name: "zero ttl is seven days", ttl: 0, wantTTL: 7 * 24 * time.Hour},
		{name: "explicit ttl", ttl: 3600, wantTTL: time.Hour},
		{name: "thirty days", ttl: 2592000, wantTTL: 30 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, raw := api(t, sim, token, "POST", "/api/v2/organizations/"+org.ID+"/invitations", map[string]any{
				"inviter": map[string]any{"name": "Bo"}, "invitee": map[string]any{"email": "c@example.com"},
				"client_id": "app", "connection_id": conn.ID, "ttl_sec": tt.ttl, "roles": []string{role.ID},
				"send_invitation_email": false, "app_metadata": map[string]any{"k": "v"},
			})
			if resp.StatusCode != 201 {
				t.Fatalf("got status %d, want 201: %s", resp.StatusCode, raw)
			}
			created, _ := time.Parse(time.RFC3339, body["created_at"].(string))
			expires, _ := time.Parse(time.RFC3339, body["expires_at"].(string))
			if got := expires.Sub(created); got != tt.wantTTL {
				t.Errorf("got lifetime %v, want %v", got, tt.wantTTL)
			}
			u, err := url.Parse(body["invitation_url"].(string))
			if err != nil || u.Path != "/login" || u.Query().Get("invitation") != body["ticket_id"] ||
				u.Query().Get("organization") != org.ID || u.Query().Get("organization_name") != "acme" {
				t.Errorf("got invitation_url %v, want /login with invitation, organization and organization_name", body["invitation_url"])
			}
			if !strings.Contains(body["id"].(string), "uinv_") {
				t.Errorf("got id %v, want uinv_…", body["id"])
			}
		})
	}
	if got := len(sim.OrgInvitations(org.ID)); got != 3 {
		t.Fatalf("got %d invitations, want 3", got)
	}
	clock.Advance(2 * time.Hour)
	if got := len(sim.OrgInvitations(org.ID)); got != 2 {
		t.Errorf("got %d invitations after the one-hour one expired, want 2", got)
	}
	resp, _, raw := api(t, sim, token, "GET", "/api/v2/organizations/"+org.ID+"/invitations?include_totals=true&per_page=50", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"limit":2`) {
		t.Errorf("got %d %s, want 200 with limit 2", resp.StatusCode, raw)
	}
}

// TestRolePages checks the offset paging go-auth0's RoleList.HasNext relies on: with
// include_totals, start is the page's offset, limit the page size asked for and total
// every role, so that total > start+limit says another page follows.
func TestRolePages(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: -1})
	token := managementToken(t, sim)
	var ids []string
	for i := range 150 {
		ids = append(ids, sim.CreateRole("role-"+strconv.Itoa(i), "").ID)
	}
	ann := sim.AddUser(User{Email: "ann@example.com", Roles: ids})
	for _, path := range []string{"/api/v2/roles", "/api/v2/users/" + url.PathEscape(ann.ID) + "/roles"} {
		tests := []struct {
			query                string
			wantLen              int
			wantStart, wantLimit float64
			wantFirst            string
		}{
			{"?include_totals=true&per_page=100", 100, 0, 100, ids[0]},
			{"?include_totals=true&page=1&per_page=100", 50, 100, 100, ids[100]},
			{"?include_totals=true", 50, 0, 50, ids[0]},
		}
		for _, tt := range tests {
			t.Run(path+tt.query, func(t *testing.T) {
				resp, body, raw := api(t, sim, token, "GET", path+tt.query, nil)
				if resp.StatusCode != 200 {
					t.Fatalf("got status %d, want 200: %s", resp.StatusCode, raw)
				}
				roles, _ := body["roles"].([]any)
				if len(roles) != tt.wantLen || body["start"] != tt.wantStart || body["limit"] != tt.wantLimit || body["total"] != 150.0 {
					t.Errorf("got %d roles, start %v, limit %v, total %v; want %d, %v, %v, 150",
						len(roles), body["start"], body["limit"], body["total"], tt.wantLen, tt.wantStart, tt.wantLimit)
				}
				if len(roles) > 0 {
					first, _ := roles[0].(map[string]any)
					if first["id"] != tt.wantFirst || first["name"] == "" {
						t.Errorf("got first role %v, want %s with its name", first, tt.wantFirst)
					}
				}
			})
		}
	}
	resp, body, raw := api(t, sim, token, "GET", "/api/v2/users/auth0%7Cnobody/roles?include_totals=true", nil)
	if resp.StatusCode != 404 || body["message"] != "The user does not exist." {
		t.Errorf("roles of an unknown user: got %d %s, want 404 The user does not exist.", resp.StatusCode, raw)
	}
}

// TestPatchBlocked: PATCH sets and clears blocked, and the user then shows it.
func TestPatchBlocked(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: -1})
	token := managementToken(t, sim)
	ann := sim.AddUser(User{Email: "ann@example.com", Blocked: true, AppMetadata: map[string]any{"invitationId": "inv_1", "plan": "pro"}})
	path := "/api/v2/users/" + url.PathEscape(ann.ID)
	resp, body, raw := api(t, sim, token, "PATCH", path, `{"blocked":false,"app_metadata":{"needsInvitation":true,"invitationId":"inv_2"}}`)
	if resp.StatusCode != 200 || body["blocked"] != false {
		t.Fatalf("got %d %s, want 200 with blocked false", resp.StatusCode, raw)
	}
	got, _ := sim.User(ann.ID)
	if want := map[string]any{"needsInvitation": true, "invitationId": "inv_2", "plan": "pro"}; got.Blocked || !reflect.DeepEqual(got.AppMetadata, want) {
		t.Errorf("got blocked %v, app_metadata %v; want unblocked, %v", got.Blocked, got.AppMetadata, want)
	}
	if resp, body, raw := api(t, sim, token, "PATCH", path, `{"blocked":true}`); resp.StatusCode != 200 || body["blocked"] != true {
		t.Errorf("got %d %s, want 200 with blocked true", resp.StatusCode, raw)
	}
}
