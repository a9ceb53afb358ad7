package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/events"
)

// receipt is one delivery a test receiver got.
type receipt struct {
	at      time.Time
	headers events.Headers
	body    []byte
	typ     string
	subject string
	status  int
}

// receiver is a loopback webhook endpoint that records every delivery and fails the
// first attempt of the types in failFirst.
type receiver struct {
	mu        sync.Mutex
	got       []receipt
	failFirst map[string]bool
	failed    map[string]bool
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b struct {
		Type string `json:"type"`
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &b)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rc := receipt{at: time.Now(), body: body, typ: b.Type, subject: b.Data.ID, status: http.StatusNoContent, headers: events.Headers{
		ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"), Signature: r.Header.Get("webhook-signature"),
	}}
	if rv.failFirst[b.Type] && !rv.failed[rc.headers.ID] {
		rv.failed[rc.headers.ID] = true
		rc.status = http.StatusServiceUnavailable
	}
	rv.got = append(rv.got, rc)
	w.WriteHeader(rc.status)
}

func (rv *receiver) receipts() []receipt {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return slices.Clone(rv.got)
}

// TestLocalWebhooks registers a loopback endpoint on the local run, invites and
// revokes, and fails the first attempt of invitation.sent: every event arrives once
// per id with a valid signature, in order, the failed one again within about 5 s,
// and no payload carries a link or token. The feed serves the same events.
func TestLocalWebhooks(t *testing.T) {
	ddb, sesURL := localaws.DynamoEndpoint(t), localaws.SESEndpoint(t)
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "LISTEN_ADDR="+addr, "DYNAMODB_ENDPOINT="+ddb, "SES_ENDPOINT="+sesURL, "AUTH0_DOMAIN=",
		"TABLE_NAME=doorman-events-test-"+time.Now().Format("150405.000000000"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	banner := readBanner(t, stdout)

	rv := &receiver{failFirst: map[string]bool{"invitation.sent": true}, failed: map[string]bool{}}
	srv := httptest.NewServer(rv)
	t.Cleanup(srv.Close)

	var ep struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	call(t, http.MethodPost, base+"/v1/webhook-endpoints", banner.token, fmt.Sprintf(`{"url":%q}`, srv.URL+"/hook"), http.StatusCreated, &ep)
	if !strings.HasPrefix(ep.Secret, "whsec_") {
		t.Fatalf("secret %q, want whsec_…", ep.Secret)
	}
	email := fmt.Sprintf("hooks+%d@example.com", time.Now().UnixNano())
	var inv struct {
		ID string `json:"id"`
	}
	call(t, http.MethodPost, base+"/v1/invitations", banner.token, fmt.Sprintf(`{"email":%q,"name":"Hook","roles":[%q]}`, email, banner.memberRole), http.StatusCreated, &inv)
	call(t, http.MethodDelete, base+"/v1/invitations/"+inv.ID, banner.token, "", http.StatusOK, nil)

	want := []string{"invitation.created", "invitation.sent", "invitation.revoked"}
	deadline := time.Now().Add(30 * time.Second)
	var ok []receipt
	for {
		ok = ok[:0]
		for _, rc := range rv.receipts() {
			if rc.status < 300 && rc.subject == inv.ID {
				ok = append(ok, rc)
			}
		}
		if len(ok) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var got []string
	ids := map[string]bool{}
	for _, rc := range ok {
		got = append(got, rc.typ)
		if ids[rc.headers.ID] {
			t.Errorf("event %s delivered twice", rc.headers.ID)
		}
		ids[rc.headers.ID] = true
		if err := events.Verify(ep.Secret, rc.headers, rc.body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("%s: %v", rc.typ, err)
		}
		for _, secret := range []string{"accept_url", "/i/", "token_hash", "ticket", "auth0_inv_url"} {
			if strings.Contains(string(rc.body), secret) {
				t.Errorf("%s payload contains %q: %s", rc.typ, secret, rc.body)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v in this order", got, want)
	}
	var first, retry time.Time
	for _, rc := range rv.receipts() {
		if rc.typ == "invitation.sent" && rc.status >= 300 {
			first = rc.at
		}
		if rc.typ == "invitation.sent" && rc.status < 300 {
			retry = rc.at
		}
	}
	if d := retry.Sub(first); first.IsZero() || d < 4*time.Second || d > 8*time.Second {
		t.Errorf("the failed delivery came back after %s, want about 5 s", d)
	}

	var feed struct {
		Events []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"events"`
		NextCursor string `json:"next_cursor"`
	}
	call(t, http.MethodGet, base+"/v1/events?type=invitation.revoked", banner.token, "", http.StatusOK, &feed)
	if len(feed.Events) != 1 || feed.Events[0].ID != ok[2].headers.ID {
		t.Errorf("feed of revocations = %+v, want the one delivered as %s", feed.Events, ok[2].headers.ID)
	}
	var attempts struct {
		Attempts []struct {
			Outcome string `json:"outcome"`
		} `json:"attempts"`
	}
	call(t, http.MethodGet, base+"/v1/webhook-endpoints/"+ep.ID+"/attempts", banner.token, "", http.StatusOK, &attempts)
	if len(attempts.Attempts) != 4 {
		t.Errorf("%d attempts recorded, want 4 (three events, one retried)", len(attempts.Attempts))
	}
}
