package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	defer jsii.Close() // stops the node process that runs the CDK
	dir, err := os.MkdirTemp("", "doorman-infra")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := writeAssets(filepath.Join(dir, "assets")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sharedDir = dir
	return m.Run()
}

// mapContext is a CDK context given as a map, the way `-c key=value` would set it.
type mapContext map[string]any

func (m mapContext) TryGetContext(key *string) interface{} { return m[*key] }

// baseContext is a complete, valid context: what an operator passes to `cdk deploy`.
func baseContext() mapContext {
	return mapContext{
		ctxAuth0Domain:        "example.eu.auth0.com",
		ctxAuth0Audience:      "https://doorman.example.com",
		ctxAuth0ClientID:      "m2m-client-id",
		ctxAuth0ClientSecret:  "doorman/auth0-client-secret",
		ctxAuth0LoginClientID: "login-client-id",
		ctxMailFrom:           "Doorman <no-reply@mail.example.com>",
		ctxCORSOrigins:        "https://app.example.com, https://admin.example.com",
		ctxRedirectAllowlist:  "https://app.example.com/welcome",
	}
}

// newApp is an app whose output the test removes.
func newApp(t *testing.T) awscdk.App {
	t.Helper()
	return awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
}

// testAssets makes a directory of placeholder function binaries (see writeAssets).
func testAssets(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := writeAssets(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testConfig is the configuration of baseContext with overrides, placeholder assets
// included.
func testConfig(t *testing.T, overrides mapContext) Config {
	t.Helper()
	ctx := baseContext()
	ctx[ctxAssetDir] = testAssets(t)
	for k, v := range overrides {
		ctx[k] = v
	}
	cfg, err := ConfigFromContext(ctx)
	if err != nil {
		t.Fatalf("ConfigFromContext: %v", err)
	}
	return cfg
}

// synthesized is a synthesized stack and its template as plain JSON.
type synthesized struct {
	stack    awscdk.Stack
	template assertions.Template
	json     map[string]any
}

func synthesize(t *testing.T, cfg Config) synthesized {
	t.Helper()
	s, err := build(cfg, t.TempDir())
	if err != nil {
		t.Fatalf("NewDoormanStack: %v", err)
	}
	return s
}

// build synthesizes into outdir; without one the CDK leaves a cdk.out* in $TMPDIR.
func build(cfg Config, outdir string) (synthesized, error) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	stack, err := NewDoormanStack(app, "Doorman-test", &DoormanStackProps{Config: cfg})
	if err != nil {
		return synthesized{}, err
	}
	tmpl := assertions.Template_FromStack(stack, nil)
	return synthesized{stack: stack, template: tmpl, json: *tmpl.ToJSON()}, nil
}

// sharedStack is the stack of baseContext, synthesized once: a synth costs seconds
// and most tests only read the template. Its assets and output live in sharedDir.
var (
	sharedDir   string
	sharedStack = sync.OnceValues(func() (synthesized, error) {
		ctx := baseContext()
		ctx[ctxAssetDir] = filepath.Join(sharedDir, "assets")
		cfg, err := ConfigFromContext(ctx)
		if err != nil {
			return synthesized{}, err
		}
		return build(cfg, filepath.Join(sharedDir, "cdk.out"))
	})
)

func defaultStack(t *testing.T) synthesized {
	t.Helper()
	s, err := sharedStack()
	if err != nil {
		t.Fatalf("default stack: %v", err)
	}
	return s
}

// writeAssets writes placeholder function binaries into dir. Tests only: the real
// binaries come from `make build`; the stack needs just a file to package.
func writeAssets(dir string) error {
	for _, f := range functions {
		if err := os.MkdirAll(filepath.Join(dir, f.name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.name, "bootstrap"), []byte("placeholder for "+f.name), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// resource is one template resource.
type resource struct {
	id    string
	props map[string]any
	raw   map[string]any
}

// resources returns the template's resources of one type, by logical id.
func (s synthesized) resources(typ string) []resource {
	var out []resource
	all, _ := s.json["Resources"].(map[string]any)
	for id, r := range all {
		r := r.(map[string]any)
		if r["Type"] != typ {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		out = append(out, resource{id: id, props: props, raw: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// one returns the only resource of typ whose logical id starts with prefix.
func (s synthesized) one(t *testing.T, typ, prefix string) resource {
	t.Helper()
	var found []resource
	for _, r := range s.resources(typ) {
		if strings.HasPrefix(r.id, prefix) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s with id %s*: got %d, want 1", typ, prefix, len(found))
	}
	return found[0]
}

// hasProps asserts with the CDK's own matcher, turning its panic into a test error.
func hasProps(t *testing.T, s synthesized, typ string, props map[string]any) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s with %v: %v", typ, props, r)
		}
	}()
	s.template.HasResourceProperties(jsii.String(typ), props)
}

// str renders any template value compactly for comparisons and messages.
func str(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// ref is the logical id a {"Ref": id} or {"Fn::GetAtt": [id, ...]} points to.
func ref(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		id, _ := ga[0].(string)
		return id
	}
	return ""
}
