package auth0sim

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// browser is a cookie-keeping client that does not follow redirects, so tests see them.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func submit(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// eventsOf returns the emitted events of one type.
func eventsOf(sim *Sim, typ string) []LogEvent {
	var out []LogEvent
	for _, e := range sim.Logs() {
		if e.Data.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func newTicket(t *testing.T, sim *Sim, token string, body map[string]any) string {
	t.Helper()
	resp, m, raw := api(t, sim, token, "POST", "/api/v2/tickets/password-change", body)
	if resp.StatusCode != 201 {
		t.Fatalf("ticket: got status %d, want 201: %s", resp.StatusCode, raw)
	}
	return strings.TrimSuffix(m["ticket"].(string), "#")
}

func TestPasswordChangeTicket(t *testing.T) {
	clock := newClock()
	sim := NewTestServer(t, Options{RateLimit: -1, Now: clock.Now})
	token := managementToken(t, sim)
	u := sim.AddUser(User{Email: "ann@example.com", Password: "Old-password-1"})
	c := browser(t)
	ticketURL := newTicket(t, sim, token, map[string]any{"user_id": u.ID, "result_url": "https://app.example/done",
		"ttl_sec": 300, "mark_email_as_verified": true, "includeEmailInRedirect": true})
	if !strings.HasPrefix(ticketURL, sim.BaseURL()+"/u/reset-password?ticket=") {
		t.Fatalf("got ticket %s, want %s/u/reset-password?ticket=…", ticketURL, sim.BaseURL())
	}
	resp, page := get(t, c, ticketURL)
	if resp.StatusCode != 200 || !strings.Contains(page, "ann@example.com") || !strings.Contains(page, `name="password"`) {
		t.Fatalf("got %d %s, want the password form", resp.StatusCode, page)
	}
	ticket := strings.TrimPrefix(ticketURL, sim.BaseURL()+"/u/reset-password?ticket=")
	action := sim.BaseURL() + "/u/reset-password"

	tests := []struct {
		name       string
		pw, again  string
		wantStatus int
		wantText   string
	}{
		{name: "mismatch", pw: "New-password-2", again: "New-password-3", wantStatus: 400, wantText: "the same"},
		{name: "too weak", pw: "weak", again: "weak", wantStatus: 400, wantText: "Password is too weak"},
		{name: "success", pw: "New-password-2", again: "New-password-2", wantStatus: 302},
		{name: "reuse", pw: "New-password-4", again: "New-password-4", wantStatus: 400, wantText: linkExpiredTitle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, page := submit(t, c, action, url.Values{"ticket": {ticket}, "password": {tt.pw}, "password_confirm": {tt.again}})
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got status %d, want %d: %s", resp.StatusCode, tt.wantStatus, page)
			}
			if !strings.Contains(page, tt.wantText) {
				t.Errorf("got page %s, want it to say %q", page, tt.wantText)
			}
			if tt.wantStatus == 302 {
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if loc.Host != "app.example" || loc.Query().Get("success") != "true" || loc.Query().Get("email") != "ann@example.com" {
					t.Errorf("got redirect %s, want result_url with success=true and email", loc)
				}
			}
		})
	}
	got, _ := sim.User(u.ID)
	if !got.EmailVerified {
		t.Error("got email_verified false, want true after mark_email_as_verified")
	}
	if n := len(eventsOf(sim, "scp")); n != 1 {
		t.Errorf("got %d scp events, want 1", n)
	}
	if resp, body := submit(t, c, sim.BaseURL()+"/login", url.Values{"email": {"ann@example.com"}, "password": {"New-password-2"}}); resp.StatusCode != 200 {
		t.Errorf("got %d logging in with the new password, want 200: %s", resp.StatusCode, body)
	}

	t.Run("expired", func(t *testing.T) {
		expiring := newTicket(t, sim, token, map[string]any{"user_id": u.ID, "ttl_sec": 60})
		clock.Advance(61 * time.Second)
		resp, page := get(t, c, expiring)
		if resp.StatusCode != 400 || !strings.Contains(page, linkExpiredTitle) {
			t.Errorf("got %d %s, want 400 %q", resp.StatusCode, page, linkExpiredTitle)
		}
	})
	t.Run("superseded by a newer ticket", func(t *testing.T) {
		older := newTicket(t, sim, token, map[string]any{"user_id": u.ID})
		newer := newTicket(t, sim, token, map[string]any{"user_id": u.ID})
		if resp, _ := get(t, c, older); resp.StatusCode != 400 {
			t.Errorf("got %d for the older ticket, want 400", resp.StatusCode)
		}
		if resp, _ := get(t, c, newer); resp.StatusCode != 200 {
			t.Errorf("got %d for the newer ticket, want 200", resp.StatusCode)
		}
	})
}

// TestPasswordChangeTicketVerifiesOnlyWhenAsked: setting the password through a ticket
// marks the address verified only when the ticket said mark_email_as_verified, which
// Auth0 defaults to false.
func TestPasswordChangeTicketVerifiesOnlyWhenAsked(t *testing.T) {
	tests := []struct {
		name         string
		mark         any // mark_email_as_verified; nil leaves it out
		wantVerified bool
	}{
		{"marked", true, true},
		{"not marked", false, false},
		{"left out", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := NewTestServer(t, Options{RateLimit: -1})
			token := managementToken(t, sim)
			u := sim.AddUser(User{Email: "ann@example.com", Password: "Old-password-1"})
			body := map[string]any{"user_id": u.ID, "result_url": "https://app.example/done"}
			if tt.mark != nil {
				body["mark_email_as_verified"] = tt.mark
			}
			ticketURL := newTicket(t, sim, token, body)
			ticket := strings.TrimPrefix(ticketURL, sim.BaseURL()+"/u/reset-password?ticket=")
			resp, page := submit(t, browser(t), sim.BaseURL()+"/u/reset-password",
				url.Values{"ticket": {ticket}, "password": {"New-password-2"}, "password_confirm": {"New-password-2"}})
			if resp.StatusCode != 302 {
				t.Fatalf("got status %d, want 302: %s", resp.StatusCode, page)
			}
			got, _ := sim.User(u.ID)
			if got.EmailVerified != tt.wantVerified {
				t.Errorf("got email_verified %v, want %v", got.EmailVerified, tt.wantVerified)
			}
			scp := eventsOf(sim, "scp")
			if len(scp) != 1 {
				t.Fatalf("got %d scp events, want 1", len(scp))
			}
			if q, _ := scp[0].Data.Details["query"].(map[string]any); q["markEmailAsVerified"] != tt.wantVerified {
				t.Errorf("got scp query %v, want markEmailAsVerified %v", q, tt.wantVerified)
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: -1})
	u := sim.AddUser(User{Email: "ann@example.com", Password: "Secret-pass-1", LoginsCount: 2})
	c := browser(t)
	tests := []struct {
		name       string
		email, pw  string
		wantStatus int
		wantType   string
	}{
		{name: "wrong password", email: "ann@example.com", pw: "nope", wantStatus: 401, wantType: "fp"},
		{name: "unknown email", email: "bob@example.com", pw: "nope", wantStatus: 401, wantType: "fu"},
		{name: "success", email: "ANN@example.com", pw: "Secret-pass-1", wantStatus: 200, wantType: "s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, page := submit(t, c, sim.BaseURL()+"/login", url.Values{"email": {tt.email}, "password": {tt.pw}, "client_id": {"app"}})
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got status %d, want %d: %s", resp.StatusCode, tt.wantStatus, page)
			}
			logs := sim.Logs()
			last := logs[len(logs)-1]
			if last.Data.Type != tt.wantType {
				t.Errorf("got event %q, want %q", last.Data.Type, tt.wantType)
			}
			if last.LogID == "" || last.LogID != last.Data.LogID || len(last.LogID) != 56 {
				t.Errorf("got log_id %q / %q, want matching 56-digit ids", last.LogID, last.Data.LogID)
			}
		})
	}
	s := eventsOf(sim, "s")[0]
	stats, _ := s.Data.Details["stats"].(map[string]any)
	if stats["loginsCount"] != 3 || s.Data.UserID != u.ID || s.Data.ClientID != "app" || s.Data.StrategyType != "database" {
		t.Errorf("got s event %+v, want loginsCount 3 for %s via client app", s.Data, u.ID)
	}
	got, _ := sim.User(u.ID)
	if got.LoginsCount != 3 || got.LastLogin.IsZero() {
		t.Errorf("got logins_count %d last_login %v, want 3 and set", got.LoginsCount, got.LastLogin)
	}
	fp := eventsOf(sim, "fp")[0]
	if fp.Data.Description != "Wrong email or password." || fp.Data.UserID != u.ID {
		t.Errorf("got fp event %+v, want Auth0's description and the user id", fp.Data)
	}
}

// invite creates an organization invitation through the Management API.
func invite(t *testing.T, sim *Sim, token, orgID, email string, roles ...string) map[string]any {
	t.Helper()
	req := map[string]any{
		"inviter": map[string]any{"name": "Bo"}, "invitee": map[string]any{"email": email},
		"client_id": "app", "send_invitation_email": false,
	}
	if len(roles) > 0 {
		req["roles"] = roles
	}
	resp, body, raw := api(t, sim, token, "POST", "/api/v2/organizations/"+orgID+"/invitations", req)
	if resp.StatusCode != 201 {
		t.Fatalf("invite: got status %d, want 201: %s", resp.StatusCode, raw)
	}
	return body
}

// invitationForm is the hidden part of the invitation page's forms.
func invitationForm(t *testing.T, invitationURL string, extra url.Values) url.Values {
	t.Helper()
	u, err := url.Parse(invitationURL)
	if err != nil {
		t.Fatal(err)
	}
	f := url.Values{"invitation": {u.Query().Get("invitation")}, "organization": {u.Query().Get("organization")}}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

func TestOrgInvitationPages(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: -1})
	token := managementToken(t, sim)
	org := sim.CreateOrganization("acme", "Acme Inc")
	role := sim.CreateRole("member", "")
	existing := sim.AddUser(User{Email: "eve@example.com", Password: "Secret-pass-1"})
	other := sim.AddUser(User{Email: "mallory@example.com", Password: "Secret-pass-2"})

	t.Run("signup accepts", func(t *testing.T) {
		inv := invite(t, sim, token, org.ID, "new@example.com", role.ID)
		c := browser(t)
		resp, page := get(t, c, inv["invitation_url"].(string))
		if resp.StatusCode != 200 || !strings.Contains(page, "Sign up") || !strings.Contains(page, "new@example.com") {
			t.Fatalf("got %d %s, want the invitation page with the invitee's address", resp.StatusCode, page)
		}
		resp, page = submit(t, c, sim.BaseURL()+"/login", invitationForm(t, inv["invitation_url"].(string), url.Values{"action": {"signup"}, "password": {"Fresh-pass-1"}}))
		if resp.StatusCode != 200 {
			t.Fatalf("signup: got %d, want 200: %s", resp.StatusCode, page)
		}
		u, ok := sim.UserByEmail("new@example.com")
		if !ok || !u.EmailVerified || u.LoginsCount != 1 {
			t.Fatalf("got user %+v, want a verified user with one login", u)
		}
		assertMember(t, sim, org.ID, u.ID, role.ID)
		assertNoInvitation(t, sim, org.ID, inv["id"].(string))
		ss, s := eventsOf(sim, "ss"), eventsOf(sim, "s")
		if len(ss) != 1 || ss[0].Data.UserID != u.ID || ss[0].Data.OrganizationID != org.ID {
			t.Errorf("got ss events %+v, want one for %s in %s", ss, u.ID, org.ID)
		}
		if len(s) == 0 || s[len(s)-1].Data.OrganizationID != org.ID || s[len(s)-1].Data.OrganizationName != "acme" {
			t.Errorf("got s events %+v, want the last in organization acme", s)
		}
		if resp, _ := get(t, c, inv["invitation_url"].(string)); resp.StatusCode != 400 {
			t.Errorf("got %d reopening an accepted invitation, want 400", resp.StatusCode)
		}
	})
	t.Run("existing account logs in and accepts", func(t *testing.T) {
		inv := invite(t, sim, token, org.ID, "Eve@Example.com", role.ID)
		c := browser(t)
		resp, page := submit(t, c, sim.BaseURL()+"/login", invitationForm(t, inv["invitation_url"].(string),
			url.Values{"action": {"login"}, "email": {"eve@example.com"}, "password": {"Secret-pass-1"}}))
		if resp.StatusCode != 200 {
			t.Fatalf("login: got %d, want 200: %s", resp.StatusCode, page)
		}
		assertMember(t, sim, org.ID, existing.ID, role.ID)
		assertNoInvitation(t, sim, org.ID, inv["id"].(string))
	})
	t.Run("wrong password keeps the invitation", func(t *testing.T) {
		inv := invite(t, sim, token, org.ID, "eve2@example.com")
		c := browser(t)
		resp, _ := submit(t, c, sim.BaseURL()+"/login", invitationForm(t, inv["invitation_url"].(string),
			url.Values{"action": {"login"}, "email": {"eve@example.com"}, "password": {"wrong"}}))
		if resp.StatusCode != 401 {
			t.Errorf("got %d, want 401", resp.StatusCode)
		}
		if len(sim.OrgInvitations(org.ID)) != 1 {
			t.Errorf("got %d invitations, want the invitation kept", len(sim.OrgInvitations(org.ID)))
		}
		if _, err := deleteInvitation(t, sim, token, org.ID, inv["id"].(string)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another account's session fails and consumes", func(t *testing.T) {
		c := browser(t)
		if resp, page := submit(t, c, sim.BaseURL()+"/login", url.Values{"email": {"mallory@example.com"}, "password": {"Secret-pass-2"}}); resp.StatusCode != 200 {
			t.Fatalf("login: got %d: %s", resp.StatusCode, page)
		}
		inv := invite(t, sim, token, org.ID, "invitee@example.com", role.ID)
		resp, page := get(t, c, inv["invitation_url"].(string))
		if resp.StatusCode != 200 || !strings.Contains(page, "Continue as mallory@example.com") {
			t.Fatalf("got %d %s, want a page offering the session", resp.StatusCode, page)
		}
		resp, page = submit(t, c, sim.BaseURL()+"/login", invitationForm(t, inv["invitation_url"].(string), url.Values{"action": {"continue"}}))
		const desc = "the specified account is not allowed to accept the current invitation"
		if resp.StatusCode != 403 || !strings.Contains(page, desc) {
			t.Fatalf("got %d %s, want 403 saying %q", resp.StatusCode, page, desc)
		}
		fi := eventsOf(sim, "fi")
		if len(fi) != 1 {
			t.Fatalf("got %d fi events, want 1", len(fi))
		}
		d := fi[0].Data
		invDetail, _ := d.Details["invitation"].(map[string]any)
		if d.Description != desc || d.UserID != other.ID || d.OrganizationID != org.ID || invDetail["id"] != inv["id"] {
			t.Errorf("got fi %+v, want the description, mallory, the organization and the invitation id", d)
		}
		assertNoInvitation(t, sim, org.ID, inv["id"].(string))
		for _, m := range sim.OrgMembers(org.ID) {
			if m.UserID == other.ID {
				t.Errorf("got %s added as a member, want not", other.ID)
			}
		}
	})
}

func deleteInvitation(t *testing.T, sim *Sim, token, orgID, id string) (int, error) {
	t.Helper()
	resp, _, raw := api(t, sim, token, "DELETE", "/api/v2/organizations/"+orgID+"/invitations/"+id, nil)
	if resp.StatusCode != 204 {
		t.Fatalf("delete invitation: got %d: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, nil
}

func assertMember(t *testing.T, sim *Sim, orgID, userID, roleID string) {
	t.Helper()
	for _, m := range sim.OrgMembers(orgID) {
		if m.UserID == userID {
			if len(m.Roles) != 1 || m.Roles[0] != roleID {
				t.Errorf("got member roles %v, want [%s]", m.Roles, roleID)
			}
			return
		}
	}
	t.Errorf("got %s not a member of %s, want a member", userID, orgID)
}

func assertNoInvitation(t *testing.T, sim *Sim, orgID, id string) {
	t.Helper()
	for _, inv := range sim.OrgInvitations(orgID) {
		if inv.ID == id {
			t.Errorf("got invitation %s still pending, want it consumed", id)
		}
	}
}
