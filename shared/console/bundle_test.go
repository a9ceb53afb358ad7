package console_test

import (
	"bytes"
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/doormanhq/doorman/internal/testsupport/localserve"
)

var update = flag.Bool("update", false, "rebuild the embedded bundles from clients/typescript")

// MaxComponentGzip is the goal for the component's JavaScript, gzipped.
const MaxComponentGzip = 40 << 10

// bundles are the embedded assets esbuild makes from clients/typescript/src.
var bundles = map[string]string{
	"doorman-invitations.js": "invitations.ts",
	"console.js":             "console.ts",
}

// TestBundlesAreCurrent rebuilds each bundle with esbuild and compares it with the
// embedded one; -update writes it.
func TestBundlesAreCurrent(t *testing.T) {
	root := localserve.RequireNode(t, false, "esbuild", "@auth0/auth0-spa-js")
	dir := t.TempDir()
	for out, src := range bundles {
		tmp := filepath.Join(dir, out)
		localserve.Tool(t, root, root, "esbuild", filepath.Join("clients/typescript/src", src), "--bundle", "--minify",
			"--format=esm", "--target=es2022", "--log-level=warning", "--outfile="+tmp)
		want, err := os.ReadFile(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(filepath.Join("assets", out), want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(filepath.Join("assets", out))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("assets/%s is not the bundle of clients/typescript/src/%s (%v); run: go test ./shared/console -run TestBundlesAreCurrent -update", out, src, err)
		}
	}
}

// TestComponentSize holds the component's JavaScript to its budget, gzipped.
func TestComponentSize(t *testing.T) {
	b, err := os.ReadFile("assets/doorman-invitations.js")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	t.Logf("doorman-invitations.js: %d bytes, %d gzipped (budget %d)", len(b), z.Len(), MaxComponentGzip)
	if z.Len() > MaxComponentGzip {
		t.Errorf("doorman-invitations.js is %d bytes gzipped, over the %d budget", z.Len(), MaxComponentGzip)
	}
}
