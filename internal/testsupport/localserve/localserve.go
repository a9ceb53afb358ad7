// Package localserve is test support for tests that drive a running
// `functions/local serve` from Node (the TypeScript client's tests, the console's
// browser tests): it finds the repository root, requires node and the pinned npm
// packages (skipping, or failing under REQUIRE_LOCAL_STACK, as localaws does), runs
// npm's tools, and builds and starts serve on a free loopback port with a table of its
// own, reading the stand-in's seed from its banner. Only tests import it.
package localserve

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
)

// Chromium is Debian's browser, which the browser tests drive.
const Chromium = "/usr/bin/chromium"

// Root returns the repository root (the directory of Doorman's go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(mod, []byte("module github.com/doormanhq/doorman\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no doorman go.mod above the test's directory")
		}
		dir = parent
	}
}

// RequireNode returns the repository root once node and the named npm packages
// (node_modules/<pkg>) are there, and Chromium too when browser is true; otherwise it
// skips t, or fails it under REQUIRE_LOCAL_STACK.
func RequireNode(t testing.TB, browser bool, packages ...string) string {
	t.Helper()
	root := Root(t)
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(root, "node_modules", p, "package.json")); err != nil {
			missing = append(missing, "node_modules/"+p+" (npm ci)")
		}
	}
	if _, err := os.Stat(Chromium); browser && err != nil {
		missing = append(missing, Chromium+" (apt-get install chromium)")
	}
	if len(missing) > 0 {
		msg := "this test needs " + strings.Join(missing, ", ")
		if localaws.Required() {
			t.Fatalf("%s, and REQUIRE_LOCAL_STACK is set", msg)
		}
		t.Skipf("skipping: %s; `make test` has them", msg)
	}
	return root
}

// Tool runs node_modules/.bin/<name> with args in dir and returns its combined
// output, failing t when it fails.
func Tool(t testing.TB, root, dir, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "node_modules", ".bin", name), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// Server is a running `functions/local serve` with the stand-in's seed.
type Server struct {
	Base, SES, Token string
	MemberRole, Org  string
	Log              *syncBuffer
}

// Start builds functions/local and runs `serve` on a free loopback port with a table
// of its own until the test ends; env adds settings.
func Start(t testing.TB, root string, env ...string) *Server {
	t.Helper()
	return StartBeside(t, root, func(string) []string { return env })
}

// StartBeside is Start for settings that name serve's own address (an application
// beside it that links back): beside gets serve's base URL before serve starts and
// returns the settings to add.
func StartBeside(t testing.TB, root string, beside func(base string) []string) *Server {
	t.Helper()
	ddb, ses := localaws.DynamoEndpoint(t), localaws.SESEndpoint(t)
	bin := filepath.Join(t.TempDir(), "local")
	build := exec.Command("go", "build", "-o", bin, "./functions/local")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./functions/local: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), "LISTEN_ADDR="+addr, "DYNAMODB_ENDPOINT="+ddb, "SES_ENDPOINT="+ses, "AUTH0_DOMAIN=",
		"TABLE_NAME=doorman-ts-"+time.Now().Format("150405.000000000")), beside("http://"+addr)...)
	s := &Server{Base: "http://" + addr, SES: ses, Log: &syncBuffer{}}
	cmd.Stderr = s.Log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("serve's log:\n%s", s.Log.String())
		}
	})
	banner := readBanner(t, stdout)
	for _, f := range []struct {
		into *string
		re   string
	}{
		{&s.Token, `access token \(12 hours\):\s+(\S+)`},
		{&s.MemberRole, `roles (\S+)=member`},
		{&s.Org, `organization (\S+)=acme`},
	} {
		m := regexp.MustCompile(f.re).FindStringSubmatch(banner)
		if m == nil {
			t.Fatalf("serve's banner lacks %s:\n%s", f.re, banner)
		}
		*f.into = m[1]
	}
	return s
}

func readBanner(t testing.TB, r io.Reader) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Press Ctrl-C") {
				break
			}
		}
		done <- b.String()
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case text := <-done:
		if !strings.Contains(text, "Press Ctrl-C") {
			t.Fatalf("serve stopped before its banner:\n%s", text)
		}
		return text
	case <-time.After(60 * time.Second):
		t.Fatal("no banner from serve within 60 s")
	}
	return ""
}

// Command returns node_modules/.bin/<name> with args, to run in dir.
func Command(root, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(root, "node_modules", ".bin", name), args...)
	cmd.Dir = dir
	return cmd
}

// syncBuffer collects serve's log for a failing test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
