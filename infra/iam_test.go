package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// statement is one Allow statement of an identity policy in the template, with its
// resources rendered as JSON (a literal ARN is a quoted string, a reference an object).
type statement struct {
	policy    string // logical id of the policy (or role, for inline policies)
	role      string // logical id of the role it is attached to, if one
	actions   []string
	resources []string
}

// statements walks every identity policy of the template: AWS::IAM::Policy, the inline
// policies of AWS::IAM::Role and AWS::IAM::ManagedPolicy. Resource policies (key,
// queue) are not identity grants and are left out.
func statements(s synthesized) []statement {
	var out []statement
	add := func(policy, role string, doc any) {
		d, _ := doc.(map[string]any)
		for _, st := range asSlice(d["Statement"]) {
			st := st.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			out = append(out, statement{policy: policy, role: role, actions: strings1(st["Action"]), resources: rendered(st["Resource"])})
		}
	}
	for _, p := range s.resources("AWS::IAM::Policy") {
		roles := asSlice(p.props["Roles"])
		role := ""
		if len(roles) == 1 {
			role = ref(roles[0])
		}
		add(p.id, role, p.props["PolicyDocument"])
	}
	for _, r := range s.resources("AWS::IAM::Role") {
		for _, p := range asSlice(r.props["Policies"]) {
			add(r.id, r.id, p.(map[string]any)["PolicyDocument"])
		}
	}
	for _, p := range s.resources("AWS::IAM::ManagedPolicy") {
		add(p.id, "", p.props["PolicyDocument"])
	}
	return out
}

// dataPlane are the services whose actions read or write Doorman's data, messages or
// secrets. Their grants must name resources; only services without resource-level
// permissions (X-Ray) may use "*".
var dataPlane = []string{"dynamodb:", "sqs:", "ses:", "secretsmanager:", "kms:", "sns:", "s3:", "logs:", "lambda:"}

func isDataPlane(action string) bool {
	for _, p := range dataPlane {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// wildcardProblems reports every data-plane grant on a "*" resource (alone or inside
// an ARN) and every wildcard data-plane action.
func wildcardProblems(sts []statement) []string {
	var problems []string
	for _, st := range sts {
		for _, a := range st.actions {
			if !isDataPlane(a) {
				continue
			}
			if strings.Contains(a, "*") {
				problems = append(problems, fmt.Sprintf("%s: wildcard action %s", st.policy, a))
			}
			for _, r := range st.resources {
				if strings.Contains(r, "*") {
					problems = append(problems, fmt.Sprintf("%s: %s on resource %s", st.policy, a, r))
				}
			}
		}
	}
	return problems
}

func strings1(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			out = append(out, fmt.Sprint(s))
		}
		return out
	}
	return nil
}

func rendered(v any) []string {
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, r := range list {
			out = append(out, str(r))
		}
		return out
	}
	return []string{str(v)}
}

// storeCalls lists the methods of the interface through which shared/dynamo's Store
// reaches DynamoDB, read from its source: the store names the SDK calls it makes in
// one small interface, and the functions' grants must follow it.
func storeCalls(t *testing.T) []string {
	t.Helper()
	const dir, iface = "../shared/dynamo", "api"
	var calls []string
	for _, file := range parseSources(t, dir) {
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.TypeSpec)
			if !ok || spec.Name.Name != iface {
				return true
			}
			if it, ok := spec.Type.(*ast.InterfaceType); ok {
				for _, m := range it.Methods.List {
					for _, name := range m.Names {
						calls = append(calls, name.Name)
					}
				}
			}
			return false
		})
	}
	if len(calls) == 0 {
		t.Fatalf("no interface %q with methods in %s: where does the store declare its DynamoDB calls now?", iface, dir)
	}
	return calls
}

// iamActions maps a DynamoDB API call to the IAM actions it is authorized as.
func iamActions(call string) []string {
	switch call {
	case "TransactWriteItems":
		return []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}
	case "TransactGetItems":
		return []string{"dynamodb:GetItem"}
	default:
		return []string{"dynamodb:" + call}
	}
}

func TestTableActionsFollowTheStore(t *testing.T) {
	need := map[string]bool{}
	for _, call := range storeCalls(t) {
		for _, a := range iamActions(call) {
			need[a] = true
		}
	}
	granted := map[string]bool{}
	for _, a := range tableActions {
		granted[a] = true
	}
	for a := range need {
		if !granted[a] {
			t.Errorf("the store calls for %s, which the functions are not granted", a)
		}
	}
	for a := range granted {
		if !need[a] {
			t.Errorf("the functions are granted %s, which the store never calls for", a)
		}
	}
}

// parseSources parses the Go files of dir, tests left out.
func parseSources(t *testing.T, dir string) []*ast.File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		files = append(files, file)
	}
	return files
}
