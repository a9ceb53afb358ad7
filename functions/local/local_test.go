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

	"github.com/doormanhq/doorman/shared/localstack"
)

func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "defaults", env: nil},
		{name: "bad dynamodb endpoint", env: map[string]string{"DYNAMODB_ENDPOINT": "127.0.0.1:8000"}, wantErr: "DYNAMODB_ENDPOINT"},
		{name: "bad ses endpoint", env: map[string]string{"SES_ENDPOINT": "ftp://x"}, wantErr: "SES_ENDPOINT"},
		{name: "bad listen address", env: map[string]string{"LISTEN_ADDR": "8080"}, wantErr: "LISTEN_ADDR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(func(k string) string { return tc.env[k] })
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("loadConfig: %v", err)
				}
				if cfg.ListenAddr != "127.0.0.1:8080" || cfg.TableName != "doorman-local" {
					t.Errorf("got %+v, want the documented defaults", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
}

// TestServe runs the real program as `make dev` does: it must create the table, serve
// the Auth0 stand-in, print a token that the stand-in's JWKS validates, and stop
// cleanly on Ctrl-C (SIGINT).
func TestServe(t *testing.T) {
	ddb := localstack.DynamoEndpoint(t)
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"LISTEN_ADDR="+addr, "DYNAMODB_ENDPOINT="+ddb,
		"TABLE_NAME=doorman-serve-test-"+time.Now().Format("150405.000000000"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
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
