package events_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/events"
)

// nodeOrSkip finds node and the repository's node_modules (npm ci), or skips.
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		if _, err = os.Stat("../../node_modules/standardwebhooks/package.json"); err == nil {
			return node
		}
	}
	if os.Getenv("REQUIRE_LOCAL_STACK") != "" {
		t.Fatalf("node and node_modules/standardwebhooks are required: %v (run npm ci)", err)
	}
	t.Skipf("node or node_modules/standardwebhooks missing (%v): run npm ci", err)
	return ""
}

// verifyWithLibrary asks the npm standardwebhooks library whether the delivery
// verifies.
func verifyWithLibrary(t *testing.T, node, secret string, h events.Headers, body []byte) string {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"secret": secret, "body": string(body), "headers": map[string]string{
		"webhook-id": h.ID, "webhook-timestamp": h.Timestamp, "webhook-signature": h.Signature,
	}})
	cmd := exec.Command(node, "testdata/verify.mjs")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node verify.mjs: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func testSecret(b byte) string {
	return events.SecretPrefix + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

func TestSignaturesVerifyWithStandardWebhooksLibrary(t *testing.T) {
	node := nodeOrSkip(t)
	body := []byte(`{"type":"invitation.accepted","timestamp":"2026-01-01T00:00:00Z","data":{"id":"x","email":"ünï@example.com"}}`)
	now := time.Now()
	current, old, other := testSecret(1), testSecret(2), testSecret(3)
	h, err := events.Sign("evt_1", now, body, []string{current, old})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		secret string
		h      events.Headers
		body   []byte
		want   string
	}{
		{"current secret", current, h, body, "ok"},
		{"rotated-out secret, while it overlaps", old, h, body, "ok"},
		{"another secret", other, h, body, "refused"},
		{"altered body", current, h, append(bytes.Clone(body[:len(body)-1]), ' ', '}'), "refused"},
		{"other id", current, events.Headers{ID: "evt_2", Timestamp: h.Timestamp, Signature: h.Signature}, body, "refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := verifyWithLibrary(t, node, tc.secret, tc.h, tc.body)
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("library says %q, want %s", got, tc.want)
			}
		})
	}
}

// TestSignatureIndependently recomputes the signature from the specification's
// words, without Sign: HMAC-SHA256 keyed with the base64-decoded secret (after
// whsec_) over "<id>.<timestamp>.<body>", base64, prefixed "v1,".
func TestSignatureIndependently(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	body := []byte(`{"type":"invitation.created"}`)
	at := time.Unix(1700000000, 0)
	h, err := events.Sign("evt_abc", at, body, []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "evt_abc.1700000000.%s", body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	if h.Signature != want || h.Timestamp != "1700000000" || h.ID != "evt_abc" {
		t.Errorf("headers = %+v, want signature %s", h, want)
	}
	if err := events.Verify(secret, h, body, at.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := events.Verify(secret, h, body, at.Add(10*time.Minute), 5*time.Minute); err == nil {
		t.Error("Verify accepted a delivery 10 minutes old")
	}
}

// TestReadmeReceiver runs the receiver the README shows (testdata/receiver.mjs, which
// must appear in the README verbatim) and posts it a signed delivery and a forged one.
func TestReadmeReceiver(t *testing.T) {
	node := nodeOrSkip(t)
	src, err := os.ReadFile("testdata/receiver.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.TrimSpace(string(src)), "\n") + 1; n > 10 {
		t.Errorf("the receiver has %d lines, want at most 10", n)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, src) {
		t.Error("README.md does not show testdata/receiver.mjs verbatim")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	secret := testSecret(9)
	abs, _ := filepath.Abs("testdata/receiver.mjs")
	cmd := exec.Command(node, abs)
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+secret, fmt.Sprintf("PORT=%d", port))
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	post := func(h events.Headers, body []byte) int {
		t.Helper()
		for i := 0; ; i++ {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("webhook-id", h.ID)
			req.Header.Set("webhook-timestamp", h.Timestamp)
			req.Header.Set("webhook-signature", h.Signature)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if i < 50 {
					time.Sleep(100 * time.Millisecond) // the receiver is starting
					continue
				}
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
	}
	body := []byte(`{"type":"invitation.accepted","timestamp":"2026-01-01T00:00:00Z","data":{}}`)
	h, _ := events.Sign("evt_readme", time.Now(), body, []string{secret})
	if got := post(h, body); got != http.StatusNoContent {
		t.Errorf("signed delivery: status %d, want 204", got)
	}
	forged, _ := events.Sign("evt_forged", time.Now(), body, []string{testSecret(8)})
	if got := post(forged, body); got != http.StatusBadRequest {
		t.Errorf("forged delivery: status %d, want 400", got)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if want := "evt_readme invitation.accepted"; strings.TrimSpace(line) != want {
		t.Errorf("receiver printed %q, want %q", line, want)
	}
}
