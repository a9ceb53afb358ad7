package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"

	"github.com/doormanhq/doorman/functions/internal/lambdaharness"
	"github.com/doormanhq/doorman/internal/testsupport/localaws"
)

func TestLocalEnv(t *testing.T) {
	const base = "http://127.0.0.1:9999"
	cases := []struct {
		name     string
		env      map[string]string
		wantErr  string
		wantSim  bool
		wantIss  string
		wantJWKS string
	}{
		{name: "defaults use the stand-in", wantSim: true, wantIss: base + "/", wantJWKS: base + "/.well-known/jwks.json"},
		{name: "a real tenant", env: map[string]string{"AUTH0_DOMAIN": "acme.eu.auth0.com"},
			wantIss: "https://acme.eu.auth0.com/", wantJWKS: "https://acme.eu.auth0.com/.well-known/jwks.json"},
		{name: "explicit issuer and JWKS", env: map[string]string{"AUTH_ISSUER": "https://issuer.example/", "AUTH_JWKS_URL": "https://keys.example/jwks"},
			wantSim: true, wantIss: "https://issuer.example/", wantJWKS: "https://keys.example/jwks"},
		{name: "bad JWKS URL", env: map[string]string{"AUTH_JWKS_URL": "keys.example/jwks"}, wantErr: "AUTH_JWKS_URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := localEnv(func(k string) string { return tc.env[k] }, base)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("localEnv: %v", err)
			}
			if l.UseSim != tc.wantSim || l.Issuer != tc.wantIss || l.JWKSURL != tc.wantJWKS {
				t.Errorf("got sim=%v issuer=%q jwks=%q, want sim=%v issuer=%q jwks=%q", l.UseSim, l.Issuer, l.JWKSURL, tc.wantSim, tc.wantIss, tc.wantJWKS)
			}
			if got := l.getenv("PUBLIC_BASE_URL"); got != base {
				t.Errorf("PUBLIC_BASE_URL = %q, want %q", got, base)
			}
			// The stand-in's seeded member role is grantable, so that the printed
			// curl works; a real tenant's operator says what is.
			wantRoles := ""
			if tc.wantSim {
				wantRoles = simMemberRole
			}
			if got := l.getenv("GRANTABLE_ROLES"); got != wantRoles {
				t.Errorf("GRANTABLE_ROLES = %q, want %q", got, wantRoles)
			}
			if len(l.WebhookToken) < 32 {
				t.Errorf("generated webhook token has %d characters, want at least 32", len(l.WebhookToken))
			}
		})
	}
	if _, err := listenAddr(func(string) string { return "8080" }); err == nil || !strings.Contains(err.Error(), "LISTEN_ADDR") {
		t.Errorf("listenAddr(8080): got %v, want an error naming LISTEN_ADDR", err)
	}
}

// TestServe runs the real program as `make dev` does: it must create the table, serve
// the Auth0 stand-in, print a token that the stand-in's JWKS validates, and stop
// cleanly on Ctrl-C (SIGINT).
func TestServe(t *testing.T) {
	ddb := localaws.DynamoEndpoint(t)
	sesURL := localaws.SESEndpoint(t)
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"LISTEN_ADDR="+addr, "DYNAMODB_ENDPOINT="+ddb, "SES_ENDPOINT="+sesURL, "AUTH0_DOMAIN=",
		"TABLE_NAME=doorman-serve-test-"+time.Now().Format("150405.000000000"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs lambdaharness.SyncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	token := readToken(t, stdout)
	base := "http://" + addr
	issuer, _ := url.Parse(base + "/")
	provider := jwks.NewCachingProvider(issuer, time.Minute)
	v, err := validator.New(provider.KeyFunc, validator.RS256, issuer.String(), []string{"https://doorman.local/api"})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.ValidateToken(context.Background(), token)
	if err != nil {
		t.Fatalf("the printed token does not validate against %s/.well-known/jwks.json: %v", base, err)
	}
	if got := claims.(*validator.ValidatedClaims).RegisteredClaims.Subject; got != "auth0|local-admin" {
		t.Errorf("token subject = %q, want auth0|local-admin", got)
	}

	resp, err := http.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var oidc struct {
		Issuer string `json:"issuer"`
	}
	err = json.NewDecoder(resp.Body).Decode(&oidc)
	resp.Body.Close()
	if err != nil || oidc.Issuer != base+"/" {
		t.Errorf("openid-configuration issuer = %q (%v), want %q", oidc.Issuer, err, base+"/")
	}

	// The API answers: 401 without a token, 201 for an invitation with the token.
	if got := post(t, base+"/v1/invitations", "", `{"email":"ada@example.com"}`); got.StatusCode != http.StatusUnauthorized {
		t.Errorf("create without a token: status %d, want 401", got.StatusCode)
	}
	email := "serve-" + time.Now().Format("150405.000000000") + "@example.com"
	if got := post(t, base+"/v1/invitations", token, `{"email":"`+email+`","name":"Ada"}`); got.StatusCode != http.StatusCreated {
		t.Errorf("create with the printed token: status %d, want 201", got.StatusCode)
	}

	// A batch is worked by the in-process worker until it is done.
	batchBody := `{"invitations":[{"email":"a-` + email + `"},{"email":"b-` + email + `"},{"email":"c-` + email + `"}]}`
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/invitation-batches", strings.NewReader(batchBody))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	location := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(location, "/v1/invitation-batches/") {
		t.Fatalf("create a batch: status %d, Location %q; want 202 and the batch's URL", resp.StatusCode, location)
	}
	var batch struct {
		Status string
		Totals struct{ Succeeded, Failed int }
	}
	for deadline := time.Now().Add(30 * time.Second); batch.Status != "done"; {
		if time.Now().After(deadline) {
			t.Fatalf("batch still %q after 30 s", batch.Status)
		}
		time.Sleep(100 * time.Millisecond)
		req, _ := http.NewRequest(http.MethodGet, base+location, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&batch)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d, %v", location, resp.StatusCode, err)
		}
	}
	if batch.Totals.Succeeded != 3 || batch.Totals.Failed != 0 {
		t.Errorf("batch totals %+v, want 3 succeeded", batch.Totals)
	}
	checkItemLines(t, strings.TrimPrefix(location, "/v1/invitation-batches/"), logs.String())

	// `token` mints through the running server, and what it mints is accepted.
	mint := exec.Command(bin, "token", "-sub", "auth0|reader", "-perm", "read:invitations")
	mint.Env = append(os.Environ(), "LISTEN_ADDR="+addr)
	minted, err := mint.Output()
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/v1/invitations", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(minted)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("list with a minted read token: status %d, want 200", resp.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGINT the program exited with %v, want a clean exit", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the program did not stop within 10 s of SIGINT")
	}
}

// checkItemLines: each delivery of a batch item by the in-process worker is a unit
// of work with an id of its own, which every line about the item carries.
func checkItemLines(t *testing.T, batchID, logs string) {
	t.Helper()
	lines := lambdaharness.LogLines(logs)
	idOf := map[string]string{} // invitation id → the request id of its delivery
	for _, l := range lines {
		if l.Get("msg") == "invitation created" && l.Get("batch_id") == batchID {
			idOf[l.Get("invitation_id")] = l.Get("request_id")
		}
	}
	seen := map[string]bool{}
	for inv, id := range idOf {
		if id == "" || seen[id] {
			t.Errorf("invitation %s was created under request_id %q, want an id of its own", inv, id)
		}
		seen[id] = true
	}
	if len(idOf) != 3 {
		t.Errorf("%d batch items logged as created, want 3:\n%s", len(idOf), logs)
	}
	for _, l := range lines {
		if want, ok := idOf[l.Get("invitation_id")]; ok && l.Get("request_id") != want {
			t.Errorf("%q for %s has request_id %q, want its delivery's %q", l.Get("msg"), l.Get("invitation_id"), l.Get("request_id"), want)
		}
	}
}

func post(t *testing.T, url, token, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func readToken(t *testing.T, r interface{ Read([]byte) (int, error) }) string {
	t.Helper()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	sawHeading := false
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the program ended before printing a token")
			}
			if strings.Contains(line, "admin access token") {
				sawHeading = true
				continue
			}
			if sawHeading && strings.Count(strings.TrimSpace(line), ".") == 2 {
				return strings.TrimSpace(line)
			}
		case <-deadline:
			t.Fatal("no token printed within 60 s")
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestInvoke runs `local invoke` (what `make invoke` runs) for a fixture of each kind:
// the function's real bootstrap answers the event with the local stack behind it.
func TestInvoke(t *testing.T) {
	ddb := localaws.DynamoEndpoint(t)
	sesURL := localaws.SESEndpoint(t)
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	table := "doorman-invoke-test-" + time.Now().Format("150405.000000000")
	cases := []struct {
		fn, event string
		want      func(t *testing.T, answer map[string]any)
	}{
		{"api", "apigw/create-application.json", func(t *testing.T, a map[string]any) {
			if a["statusCode"] != float64(http.StatusCreated) {
				t.Errorf("statusCode = %v, want 201 (the placeholders replaced by the stand-in's role)", a["statusCode"])
			}
		}},
		{"logstream", "apigw/webhook-logs.json", func(t *testing.T, a map[string]any) {
			if a["statusCode"] != float64(http.StatusOK) {
				t.Errorf("statusCode = %v, want 200 (the webhook token put in)", a["statusCode"])
			}
		}},
		{"sweeper", "scheduled/sweeper.json", func(t *testing.T, a map[string]any) {
			if a["Complete"] != true {
				t.Errorf("sweep result %v, want Complete", a)
			}
		}},
		{"worker", "sqs/worker.json", func(t *testing.T, a map[string]any) {
			if f, ok := a["batchItemFailures"].([]any); !ok || len(f) != 0 {
				t.Errorf("answer %v, want no batch item failures (the items' batch is not in the table: nothing to do)", a)
			}
		}},
		{"sesevents", "ses/sqs-batch.json", func(t *testing.T, a map[string]any) {
			if f, ok := a["batchItemFailures"].([]any); !ok || len(f) != 0 {
				t.Errorf("answer %v, want no batch item failures (no such invitation, a malformed record: both dropped)", a)
			}
		}},
		{"publisher", "dynamodb/invitation-stream.json", func(t *testing.T, a map[string]any) {
			if a != nil {
				t.Errorf("answer %v, want null (the stream batch published)", a)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.fn, func(t *testing.T) {
			cmd := exec.Command(bin, "invoke", tc.fn, filepath.Join("..", "..", "events", tc.event))
			cmd.Env = append(os.Environ(), "DYNAMODB_ENDPOINT="+ddb, "SES_ENDPOINT="+sesURL, "AUTH0_DOMAIN=", "TABLE_NAME="+table)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("invoke %s: %v\n%s", tc.fn, err, stderr.String())
			}
			var answer map[string]any
			if err := json.Unmarshal(out, &answer); err != nil {
				t.Fatalf("answer %q: %v", out, err)
			}
			tc.want(t, answer)
		})
	}
}
