package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/internal/testsupport/localserve"
	"github.com/doormanhq/doorman/shared/events"
)

// hookReceiver is the loopback webhook endpoint the console's admin registers: it
// records every delivery and answers 204.
type hookReceiver struct {
	mu  sync.Mutex
	got []hookDelivery
}

type hookDelivery struct {
	headers events.Headers
	body    []byte
	typ     string
	email   string
}

func (rv *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b struct {
		Type string `json:"type"`
		Data struct {
			Email string `json:"email"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &b)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.got = append(rv.got, hookDelivery{body: body, typ: b.Type, email: b.Data.Email, headers: events.Headers{
		ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"), Signature: r.Header.Get("webhook-signature"),
	}})
	w.WriteHeader(http.StatusNoContent)
}

func (rv *hookReceiver) deliveries() []hookDelivery {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]hookDelivery(nil), rv.got...)
}

// checkWebhooks checks what the admin did in the webhook panel: the secret shown once
// (and copied) signs the invitation.created delivery the receiver got for the person
// invited, the attempts the panel listed show it succeeded, the endpoint was disabled,
// its secret rotated to a new one, and it is gone after the delete.
func checkWebhooks(t *testing.T, s *localserve.Server, res consoleRun, rv *hookReceiver, invitee string) {
	t.Helper()
	if !strings.HasPrefix(res.HookSecret, "whsec_") || res.CopiedSecret != res.HookSecret {
		t.Errorf("secret shown %q, copied %q; want one whsec_ secret, copied as shown", res.HookSecret, res.CopiedSecret)
	}
	if !strings.Contains(res.SecretNote, "Shown once") || res.SecretFocus != "Copy secret" {
		t.Errorf("the secret's note reads %q and focus is on %q; want it shown once and focus on Copy secret", res.SecretNote, res.SecretFocus)
	}
	if !strings.HasPrefix(res.RotatedSecret, "whsec_") || res.RotatedSecret == res.HookSecret {
		t.Errorf("rotated secret %q, want a new whsec_ secret", res.RotatedSecret)
	}
	if !strings.Contains(res.AttemptsShown, "invitation.created") || !strings.Contains(res.AttemptsShown, "succeeded") {
		t.Errorf("attempts shown %q, want invitation.created succeeded", res.AttemptsShown)
	}
	if res.HookState != "disabled" {
		t.Errorf("after Disable the endpoint's badge reads %q, want disabled", res.HookState)
	}
	var created *hookDelivery
	for _, d := range rv.deliveries() {
		if d.typ == "invitation.created" && d.email == invitee {
			created = &d
		}
	}
	if created == nil {
		t.Fatalf("the receiver got no invitation.created for %s (got %d deliveries)", invitee, len(rv.deliveries()))
	}
	if err := events.Verify(res.HookSecret, created.headers, created.body, time.Now(), 10*time.Minute); err != nil {
		t.Errorf("the delivery does not verify with the secret shown: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, s.Base+"/v1/webhook-endpoints/"+res.EndpointID, nil)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET the endpoint %q after the delete: status %d, want 404", res.EndpointID, resp.StatusCode)
	}
}
