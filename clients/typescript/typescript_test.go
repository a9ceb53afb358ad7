// Package typescript_test checks Doorman's TypeScript client (clients/typescript): the
// types generated from the OpenAPI document are current, a strict TypeScript caller
// may omit what the API says is optional, the client compiles under `tsc --strict`,
// and its node:test tests pass against a running `functions/local serve`.
package typescript_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/doormanhq/doorman/internal/testsupport/localserve"
)

var update = flag.Bool("update", false, "rewrite src/schema.d.ts from the OpenAPI document")

// generate runs openapi-typescript on the served document into dir/schema.d.ts.
func generate(t *testing.T, root, dir string) []byte {
	t.Helper()
	out := filepath.Join(dir, "schema.d.ts")
	localserve.Tool(t, root, root, "openapi-typescript", filepath.Join(root, "shared/httpapi/openapi.json"), "-o", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSchemaIsCurrent keeps src/schema.d.ts equal to what openapi-typescript
// generates from shared/httpapi/openapi.json.
func TestSchemaIsCurrent(t *testing.T) {
	root := localserve.RequireNode(t, false, "openapi-typescript")
	want := generate(t, root, t.TempDir())
	if *update {
		if err := os.WriteFile("src/schema.d.ts", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("src/schema.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("src/schema.d.ts is stale; run: go test ./clients/typescript -run TestSchemaIsCurrent -update")
	}
}

// TestGeneratedOptionalFields runs the generator on the document and type-checks,
// with tsc --strict, a create that sends only the email: every field the API
// defaults (send_email) must come out optional. A second file sends a field of the
// wrong type, and must be refused, so that the check is not vacuous.
func TestGeneratedOptionalFields(t *testing.T) {
	root := localserve.RequireNode(t, false, "openapi-typescript", "typescript")
	dir := t.TempDir()
	generate(t, root, dir)
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const header = `import type { components } from './schema.js';
type Create = components['schemas']['CreateInvitation'];
declare function create(body: Create): Promise<components['schemas']['Invitation']>;
`
	write("omits.ts", header+`export const p = create({ email: 'ada@example.com' });
export const q = create({ email: 'bo@example.com', roles: ['rol_1'], send_email: false });
`)
	tsc := func(file string) error {
		cmd := localserve.Command(root, dir, "tsc", "--strict", "--noEmit", "--target", "es2022", "--module", "es2022",
			"--moduleResolution", "bundler", file)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("tsc %s:\n%s", file, out)
		}
		return err
	}
	if err := tsc("omits.ts"); err != nil {
		t.Errorf("a create omitting the defaulted send_email does not type-check: %v", err)
	}
	write("wrong.ts", header+`export const p = create({ email: 'ada@example.com', send_email: 'yes' });
`)
	if err := tsc("wrong.ts"); err == nil {
		t.Errorf("a create with send_email: 'yes' type-checks; want refused")
	}
}

// TestClient compiles the client with tsc --strict (tsconfig.json) and runs its
// node:test tests (test/*.test.mjs) against a running `functions/local serve`.
func TestClient(t *testing.T) {
	root := localserve.RequireNode(t, false, "typescript")
	out := t.TempDir()
	localserve.Tool(t, root, ".", "tsc", "-p", "tsconfig.json", "--outDir", out)
	if err := os.WriteFile(filepath.Join(out, "package.json"), []byte(`{"type":"module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The stand-in at a paid tenant's rate: each create provisions at once (201).
	s := localserve.Start(t, root, "AUTH0_SIM_RATE=50")
	tests, err := filepath.Glob("test/*.test.mjs")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no tests in test/: %v", err)
	}
	cmd := exec.Command("node", append([]string{"--test", "--test-reporter=spec"}, tests...)...)
	cmd.Env = append(os.Environ(), "DOORMAN_BASE="+s.Base, "DOORMAN_TOKEN="+s.Token, "DOORMAN_ROLE="+s.MemberRole, "DOORMAN_SES="+s.SES,
		"DOORMAN_CLIENT="+filepath.Join(out, "client.js"))
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, b)
	}
	t.Logf("node --test:\n%s", b)
}

// TestExamples type-checks the README's examples (examples/: the client's usage and
// the React component; plain.html runs in Chromium in functions/local/e2e) with tsc
// --strict, and keeps the README showing them as they are.
func TestExamples(t *testing.T) {
	root := localserve.RequireNode(t, false, "typescript")
	localserve.Tool(t, root, ".", "tsc", "-p", "examples/tsconfig.json")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"client.ts", "plain.html", "react.tsx"} {
		b, err := os.ReadFile(filepath.Join("examples", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(readme, bytes.TrimRight(b, "\n")) {
			t.Errorf("README.md does not show examples/%s as it is", name)
		}
	}
}
