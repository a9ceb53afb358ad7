package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/internal/testsupport/localserve"
)

// The stand-in's console administrator (functions/local/config.go).
const (
	consoleAdmin         = "admin@doorman.local"
	consoleAdminPassword = "Doorman-Local-Admin-1"
	// maxFirstRenderMs is the goal for the first render of a 50-row list (median of 10).
	maxFirstRenderMs = 100
)

// consoleRun is what console.mjs reports.
type consoleRun struct {
	Screens map[string][]struct {
		ID, Impact, Help string
		Nodes            []string
	} `json:"screens"`
	Screenshots    []string  `json:"screenshots"`
	CSPViolations  []string  `json:"cspViolations"`
	PageErrors     []string  `json:"pageErrors"`
	LoginHint      string    `json:"loginHint"`
	SignedInAs     string    `json:"signedInAs"`
	SignedInReload string    `json:"signedInAfterReload"`
	InvitationID   string    `json:"invitationId"`
	CopiedLink     string    `json:"copiedLink"`
	HistoryShown   string    `json:"historyShown"`
	PreviewRows    []int     `json:"previewRows"`
	PreviewClasses []string  `json:"previewClasses"`
	PreviewLines   []string  `json:"previewLines"`
	CSVKept        bool      `json:"csvKept"`
	InviteButton   string    `json:"inviteButton"`
	ProgressSeen   []string  `json:"progressSeen"`
	ProgressValue  []float64 `json:"progressValue"`
	BatchMs        int       `json:"batchMs"`
	TabAfterArrow  string    `json:"tabAfterArrow"`
	PhoneOverflow  float64   `json:"phoneOverflow"`
	ExampleRows    int       `json:"exampleRows"`
	FirstRenderMs  []float64 `json:"firstRenderMs"`
	RequestID      string    `json:"requestId"`
	QueueShown     []string  `json:"queueShown"`
	ApprovedRow    string    `json:"approvedRow"`
	HookSecret     string    `json:"hookSecret"`
	SecretNote     string    `json:"secretNote"`
	SecretFocus    string    `json:"secretFocus"`
	CopiedSecret   string    `json:"copiedSecret"`
	EndpointID     string    `json:"endpointId"`
	AttemptsShown  string    `json:"attemptsShown"`
	HookState      string    `json:"hookState"`
	RotatedSecret  string    `json:"rotatedSecret"`
}

// TestConsoleInBrowser drives /console in Chromium (console.mjs) against `functions/local
// serve` and checks what the admin saw and, through the API, what it did.
func TestConsoleInBrowser(t *testing.T) {
	root := localserve.RequireNode(t, true, "playwright-core", "axe-core")
	// The stand-in at a paid tenant's rate, so that the 47 invitations of the import
	// provision within the test's patience.
	// The README's plain-HTML example, on an origin of its own, pointed at this server.
	var s *localserve.Server
	example := httptest.NewServer(examplePage(t, root, func() *localserve.Server { return s }))
	t.Cleanup(example.Close)
	s = localserve.Start(t, root, "AUTH0_SIM_RATE=100", "CORS_ORIGINS="+example.URL)
	// The webhook endpoint the admin adds in the console (make dev takes loopback URLs).
	hooks := &hookReceiver{}
	receiver := httptest.NewServer(hooks)
	t.Cleanup(receiver.Close)
	run := time.Now().UnixNano()
	bad := []int{7, 23, 41}
	asker, denied := fmt.Sprintf("joan+%d@example.com", run), fmt.Sprintf("dan+%d@example.com", run)
	hookURL, hookInvitee := receiver.URL+"/doorman", fmt.Sprintf("grace+%d@example.com", run)
	in, _ := json.Marshal(map[string]any{"base": s.Base, "ses": s.SES, "asker": asker, "denied": denied, "token": s.Token, "out": filepath.Join(root, "test-output", "console"),
		"hook": hookURL, "hookInvitee": hookInvitee,
		"email": consoleAdmin, "password": consoleAdminPassword, "run": fmt.Sprint(run), "badRows": bad,
		"example": example.URL + "/plain.html"})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "console.mjs")
	cmd.Env = append(os.Environ(), "CONSOLE_INPUT="+string(in), "CHROMIUM="+localserve.Chromium)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node console.mjs: %v\n%s", err, stderr.String())
	}
	var res consoleRun
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("console.mjs output: %v\n%s", err, stdout.String())
	}
	t.Logf("screenshots: %s", strings.Join(res.Screenshots, ", "))

	// Someone new finds the local credentials on the sign-in page itself.
	if !strings.Contains(res.LoginHint, consoleAdmin) || !strings.Contains(res.LoginHint, consoleAdminPassword) {
		t.Errorf("the stand-in's sign-in page says %q, want the console admin's credentials", res.LoginHint)
	}
	if res.SignedInAs != consoleAdmin || res.SignedInReload != consoleAdmin {
		t.Errorf("signed in as %q, after a reload %q; want %s both times", res.SignedInAs, res.SignedInReload, consoleAdmin)
	}
	if len(res.CSPViolations) > 0 || len(res.PageErrors) > 0 {
		t.Errorf("CSP violations %v, page errors %v; want none", res.CSPViolations, res.PageErrors)
	}
	if len(res.Screens) < 17 {
		t.Errorf("axe ran on %d screens, want every one (17)", len(res.Screens))
	}
	for name, v := range res.Screens {
		if len(v) > 0 {
			t.Errorf("axe on %s: serious or critical violations: %+v", name, v)
		}
	}

	// The invitation: created with the role, resent, a link copied, revoked.
	var inv struct {
		Email   string   `json:"email"`
		Status  string   `json:"status"`
		Roles   []string `json:"roles"`
		History []struct {
			Event string `json:"event"`
		} `json:"history"`
	}
	getJSON(t, s, "/v1/invitations/"+res.InvitationID, &inv)
	var events []string
	for _, h := range inv.History {
		events = append(events, h.Event)
	}
	if inv.Status != "revoked" || !slices.Equal(inv.Roles, []string{s.MemberRole}) {
		t.Errorf("invitation %s: status %q roles %v, want revoked with [%s]", res.InvitationID, inv.Status, inv.Roles, s.MemberRole)
	}
	for _, want := range []string{"created", "resent", "ticket_issued", "revoked"} {
		if !slices.Contains(events, want) {
			t.Errorf("history %v lacks %s", events, want)
		}
	}
	if !strings.HasPrefix(res.CopiedLink, s.Base+"/i/") {
		t.Errorf("copied link %q, want a %s/i/ link", res.CopiedLink, s.Base)
	}
	if !strings.Contains(res.HistoryShown, "resent") {
		t.Errorf("history shown %q lacks resent", res.HistoryShown)
	}

	// The import: the preview shows exactly the bad rows; the rest were invited.
	if !slices.Equal(res.PreviewRows, bad) {
		t.Errorf("preview rows %v (%v), want exactly %v", res.PreviewRows, res.PreviewClasses, bad)
	}
	// The lines of the file, after its header line.
	if want := []string{"9", "25", "43"}; !slices.Equal(res.PreviewLines, want) || !res.CSVKept {
		t.Errorf("preview lines %v (CSV text kept: %v), want %v and the text kept", res.PreviewLines, res.CSVKept, want)
	}
	if want := []string{"invalid", "invalid", "not grantable"}; !slices.Equal(res.PreviewClasses, want) {
		t.Errorf("preview classes %v, want %v", res.PreviewClasses, want)
	}
	if res.InviteButton != "Invite 47 people" || len(res.ProgressValue) != 2 || res.ProgressValue[0] != 47 || res.ProgressValue[1] != 47 {
		t.Errorf("button %q, final progress %v, want Invite 47 people and 47 of 47", res.InviteButton, res.ProgressValue)
	}
	t.Logf("batch of 47: done %d ms after submit; progress seen: %q", res.BatchMs, res.ProgressSeen)
	for _, i := range []int{0, 49} {
		var list struct {
			Invitations []struct {
				Status string `json:"status"`
			} `json:"invitations"`
		}
		getJSON(t, s, fmt.Sprintf("/v1/invitations?email=bulk%d%%2B%d%%40example.com", i, run), &list)
		if len(list.Invitations) != 1 || list.Invitations[0].Status != "pending" {
			t.Errorf("row %d: invitations %+v, want one pending", i, list.Invitations)
		}
	}

	checkAccessRequests(t, s, res, asker, denied)
	checkWebhooks(t, s, res, hooks, hookInvitee)

	if res.TabAfterArrow != "Invitations" {
		t.Errorf("ArrowRight from the last tab focused %q, want Invitations", res.TabAfterArrow)
	}
	if res.PhoneOverflow > 0 {
		t.Errorf("at phone width the page scrolls sideways by %v px", res.PhoneOverflow)
	}

	if res.ExampleRows == 0 {
		t.Errorf("the plain-HTML example signed in and listed %d invitations, want some", res.ExampleRows)
	}

	times := slices.Clone(res.FirstRenderMs)
	sort.Float64s(times)
	if len(times) != 10 {
		t.Fatalf("%d render timings, want 10", len(times))
	}
	median := (times[4] + times[5]) / 2
	t.Logf("first render of a 50-row list: median %.1f ms of 10 (min %.1f, max %.1f)", median, times[0], times[9])
	if median > maxFirstRenderMs {
		t.Errorf("first render of a 50-row list: median %.1f ms, want ≤ %d", median, maxFirstRenderMs)
	}
}

// checkAccessRequests checks through the API what the admin decided in the queue: the
// first person's request approved with the role, its invitation pending with that role
// for the week picked, and the second denied with the reason typed.
func checkAccessRequests(t *testing.T, s *localserve.Server, res consoleRun, asker, denied string) {
	t.Helper()
	if !slices.Contains(res.QueueShown, asker) || !slices.Contains(res.QueueShown, denied) {
		t.Errorf("the queue showed %v, want %s and %s pending", res.QueueShown, asker, denied)
	}
	if !strings.Contains(res.ApprovedRow, "approved") || !strings.Contains(res.ApprovedRow, "member") {
		t.Errorf("the approved row reads %q, want approved with member", res.ApprovedRow)
	}
	var req struct {
		Email        string   `json:"email"`
		Status       string   `json:"status"`
		Roles        []string `json:"roles"`
		InvitationID string   `json:"invitation_id"`
	}
	getJSON(t, s, "/v1/access-requests/"+res.RequestID, &req)
	if req.Email != asker || req.Status != "approved" || !slices.Equal(req.Roles, []string{s.MemberRole}) || req.InvitationID == "" {
		t.Fatalf("access request %s: %+v, want %s approved with [%s] and an invitation", res.RequestID, req, asker, s.MemberRole)
	}
	var inv struct {
		Email     string    `json:"email"`
		Status    string    `json:"status"`
		Roles     []string  `json:"roles"`
		CreatedAt time.Time `json:"created_at"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	getJSON(t, s, "/v1/invitations/"+req.InvitationID, &inv)
	if inv.Email != asker || inv.Status != "pending" || !slices.Equal(inv.Roles, []string{s.MemberRole}) {
		t.Errorf("invitation %s of the approval: %+v, want %s pending with [%s]", req.InvitationID, inv, asker, s.MemberRole)
	}
	if ttl := inv.ExpiresAt.Sub(inv.CreatedAt); ttl < 7*24*time.Hour-time.Minute || ttl > 7*24*time.Hour+time.Minute {
		t.Errorf("invitation of the approval lasts %v, want the 7 days picked", ttl)
	}
	var list struct {
		AccessRequests []struct {
			Status   string `json:"status"`
			DenyNote string `json:"deny_note"`
		} `json:"access_requests"`
	}
	getJSON(t, s, "/v1/access-requests?email="+url.QueryEscape(denied), &list)
	if len(list.AccessRequests) != 1 || list.AccessRequests[0].Status != "denied" || list.AccessRequests[0].DenyNote != "Only staff for now." {
		t.Errorf("requests of %s: %+v, want one denied with the reason typed", denied, list.AccessRequests)
	}
}

// examplePage serves clients/typescript/examples/plain.html as the README shows it,
// with its placeholders (Doorman's URL, the tenant, the client id) and the CDN copy of
// auth0-spa-js replaced by this test's server, the stand-in and the pinned package.
func examplePage(t *testing.T, root string, server func() *localserve.Server) http.Handler {
	page, err := os.ReadFile(filepath.Join(root, "clients/typescript/examples/plain.html"))
	if err != nil {
		t.Fatal(err)
	}
	const cdn = "https://cdn.auth0.com/js/auth0-spa-js/2.28/auth0-spa-js.production.js"
	for _, want := range []string{cdn, "https://doorman.example.com", "YOUR_TENANT.eu.auth0.com", "YOUR_SPA_CLIENT_ID"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Fatalf("plain.html lacks %q", want)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plain.html", func(w http.ResponseWriter, r *http.Request) {
		s := server()
		// The replacer tries its pairs in order: the audience (the API's identifier)
		// before the API's URL.
		html := strings.NewReplacer(cdn, "/auth0-spa-js.production.js",
			"audience: 'https://doorman.example.com'", "audience: 'https://doorman.local/api'", "https://doorman.example.com", s.Base,
			"YOUR_TENANT.eu.auth0.com", s.Base, "YOUR_SPA_CLIENT_ID", "doorman-local-app").Replace(string(page))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(html))
	})
	mux.HandleFunc("GET /auth0-spa-js.production.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(root, "node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js"))
	})
	return mux
}

func getJSON(t *testing.T, s *localserve.Server, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.Base+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
