package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/auth0sim"
)

// TestLocalFlow drives the local run the way an admin and an invitee do, over HTTP:
// the admin invites with the printed token; the invitee's email arrives in the local
// SES; the invitee opens the link, continues to the stand-in's password page, sets a
// password and logs in; the stand-in's log stream posts the login to the webhook, and
// the API shows the invitation accepted, with the role applied and the flag cleared.
func TestLocalFlow(t *testing.T) {
	ddb, sesURL := localaws.DynamoEndpoint(t), localaws.SESEndpoint(t)
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "LISTEN_ADDR="+addr, "DYNAMODB_ENDPOINT="+ddb, "SES_ENDPOINT="+sesURL, "AUTH0_DOMAIN=",
		"TABLE_NAME=doorman-flow-test-"+time.Now().Format("150405.000000000"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	banner := readBanner(t, stdout)
	token := banner.token
	role := banner.memberRole

	email := fmt.Sprintf("flow+%d@example.com", time.Now().UnixNano())
	var created struct {
		ID string `json:"id"`
	}
	call(t, http.MethodPost, base+"/v1/invitations", token, fmt.Sprintf(`{"email":%q,"name":"Flo","roles":[%q]}`, email, role), http.StatusCreated, &created)

	link := linkInMail(t, sesURL, email, base)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	page := get(t, browser, link, http.StatusOK)
	if !strings.Contains(page, "Continue") {
		t.Fatalf("landing page has no Continue button:\n%s", page)
	}
	resp, err := browser.PostForm(link, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ticketURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(ticketURL, base+"/") {
		t.Fatalf("Continue: status %d to %q, want 303 to the stand-in's ticket page", resp.StatusCode, ticketURL)
	}
	page = get(t, browser, ticketURL, http.StatusOK)
	action, ticket := formAction(t, page, ticketURL), hiddenValue(t, page, "ticket")
	const password = "Correct-Horse-Battery-9"
	resp, err = browser.PostForm(action, url.Values{"ticket": {ticket}, "password": {password}, "password_confirm": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Fatalf("setting the password: status %d", resp.StatusCode)
	}

	resp, err = browser.PostForm(base+"/login", url.Values{"action": {"login"}, "email": {email}, "password": {password}, "client_id": {simLoginClient}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loggedIn := time.Now()
	if resp.StatusCode >= 400 {
		t.Fatalf("login: status %d", resp.StatusCode)
	}

	var inv struct {
		Status  string                   `json:"status"`
		Roles   []string                 `json:"roles"`
		AUserID string                   `json:"auth0_user_id"`
		History []struct{ Event string } `json:"history"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		call(t, http.MethodGet, base+"/v1/invitations/"+created.ID, token, "", http.StatusOK, &inv)
		if inv.Status == "accepted" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if inv.Status != "accepted" {
		t.Fatalf("status %q 20 s after the login, want accepted; history %+v", inv.Status, inv.History)
	}
	t.Logf("login → accepted visible through the API: %v", time.Since(loggedIn).Round(time.Millisecond))
	// In the stand-in, through the Management API as Doorman sees it: the flag is
	// gone, the provenance kept, the role applied.
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	resp, err = http.PostForm(base+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {simClientID}, "client_secret": {simClientSecret}, "audience": {base + "/api/v2/"}})
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("M2M token: %v", err)
	}
	var user struct {
		AppMetadata map[string]any `json:"app_metadata"`
	}
	// The flag is cleared right after the acceptance is stored, by a Management API
	// call that waits its turn at the stand-in's 2 requests a second: read until it
	// has happened.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		user.AppMetadata = nil
		call(t, http.MethodGet, base+"/api/v2/users/"+url.PathEscape(inv.AUserID), tok.AccessToken, "", http.StatusOK, &user)
		if _, ok := user.AppMetadata["needsInvitation"]; !ok || time.Now().After(deadline) {
			break
		}
	}
	if _, ok := user.AppMetadata["needsInvitation"]; ok || user.AppMetadata["invitationId"] != created.ID {
		t.Errorf("app_metadata = %v, want no needsInvitation and invitationId %s", user.AppMetadata, created.ID)
	}
	var roles []struct {
		ID string `json:"id"`
	}
	call(t, http.MethodGet, base+"/api/v2/users/"+url.PathEscape(inv.AUserID)+"/roles", tok.AccessToken, "", http.StatusOK, &roles)
	if len(roles) != 1 || roles[0].ID != role {
		t.Errorf("user roles = %+v, want [%s]", roles, role)
	}

	var events []string
	for _, h := range inv.History {
		events = append(events, h.Event)
	}
	for _, want := range []string{"created", "email_sent", "link_opened", "link_used", "password_set", "accepted"} {
		if !strings.Contains(strings.Join(events, " "), want) {
			t.Errorf("history %v lacks %q", events, want)
		}
	}
}

type bannerInfo struct{ token, memberRole string }

// readBanner reads serve's banner up to its last line.
func readBanner(t *testing.T, r io.Reader) bannerInfo {
	t.Helper()
	done := make(chan bannerInfo, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if strings.Contains(b.String(), "Press Ctrl-C") || err != nil {
				text := b.String()
				var info bannerInfo
				if m := regexp.MustCompile(`access token \(12 hours\):\s+(\S+)`).FindStringSubmatch(text); m != nil {
					info.token = m[1]
				}
				if m := regexp.MustCompile(`roles (\S+)=member`).FindStringSubmatch(text); m != nil {
					info.memberRole = m[1]
				}
				done <- info
				_, _ = io.Copy(io.Discard, r)
				return
			}
		}
	}()
	select {
	case info := <-done:
		if info.token == "" || info.memberRole == "" {
			t.Fatalf("banner without a token or role: %+v", info)
		}
		return info
	case <-time.After(60 * time.Second):
		t.Fatal("no banner within 60 s")
	}
	return bannerInfo{}
}

func call(t *testing.T, method, url, token, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	c := http.DefaultClient
	if strings.Contains(url, "/api/v2/") {
		// The stand-in's Management API limits this test's reads together with
		// Doorman's calls, as a tenant does.
		c = auth0sim.PatientClient()
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
}

func get(t *testing.T, c *http.Client, url string, want int) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d", url, resp.StatusCode, want)
	}
	return string(raw)
}

// linkInMail waits for the invitation email to the address in the local SES and
// returns the Doorman link in its text body.
func linkInMail(t *testing.T, sesURL, to, base string) string {
	t.Helper()
	text := localaws.AwaitEmailsTo(t, sesURL, to, 1, 10*time.Second)[0].Body.Text
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/i/[A-Za-z0-9_-]+`).FindString(text)
	if link == "" {
		t.Fatalf("the email to %s has no %s/i/ link:\n%s", to, base, text)
	}
	return link
}

func formAction(t *testing.T, page, pageURL string) string {
	t.Helper()
	m := regexp.MustCompile(`<form method="post" action="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form on the page:\n%s", page)
	}
	u, _ := url.Parse(pageURL)
	ref, err := u.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	return ref.String()
}

func hiddenValue(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s field on the page:\n%s", name, page)
	}
	return m[1]
}
