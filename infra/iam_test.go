package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
				if r == `"*"` && a == "dynamodb:ListStreams" {
					continue // no resource-level permission exists; it lists stream ARNs only
				}
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
// one small interface, and storeActions must see each of them made.
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

// storeMethods are, by function, the methods of shared/dynamo's Store and Counter that
// its code calls, from its entry point down: the api's HTTP handler (the service, the
// idempotency records, the per-inviter counters), the webhook's Acceptor, the
// Sweeper's run and the worker's WorkBatchItem. Every method that reaches DynamoDB is
// in one list at least, or in notCalled.
var storeMethods = map[string][]string{
	// FinishBatchItem to end the items of a batch the queue refused.
	"api": {"Store.Create", "Store.Get", "Store.GetByTokenHash", "Store.List", "Store.Update",
		"Store.ClaimIdempotencyKey", "Store.CompleteIdempotencyKey", "Store.ReleaseIdempotencyKey", "Counter.IncrBy",
		"Store.CreateBatch", "Store.GetBatch", "Store.BatchItems", "Store.FinishBatchItem", "Store.MarkBatchQueued",
		// The join flows (access requests, join policies, invite links).
		"Store.CreateRequest", "Store.GetRequest", "Store.GetRequestByTokenHash", "Store.UpdateRequest", "Store.ListRequests",
		"Store.JoinPolicy", "Store.PutJoinPolicy", "Store.CreateLink", "Store.GetLink", "Store.GetLinkByTokenHash",
		"Store.ListLinks", "Store.RevokeLink", "Store.ClaimLinkUse", "Store.SetRedemptionInvitation", "Store.Redemptions",
		// Webhook endpoints, their attempts, and the feed.
		"Store.CreateEndpoint", "Store.Endpoint", "Store.Endpoints", "Store.UpdateEndpoint", "Store.DeleteEndpoint",
		"Store.Attempts", "Store.Feed"},
	// Get only to read an invitation again after a lost race; RecordDeadLetter for an
	// event refused for good.
	"logstream": {"Store.Lookup", "Store.MarkLogProcessed", "Store.Get", "Store.Update", "Store.RecordDeadLetter"},
	"sweeper": {"Store.ExpiringBefore", "Store.DueBefore", "Store.RemindBefore", "Store.Get", "Store.Update",
		"Store.UnqueuedBatches", "Store.BatchItems", "Store.MarkBatchQueued",
		// Expiry of access requests.
		"Store.RequestsExpiringBefore", "Store.UpdateRequest"},
	"worker": {"Store.GetBatchItem", "Store.Get", "Store.Create", "Store.Update", "Store.ClaimResend", "Store.FinishBatchItem"},
	// The invitation read and its delivery written alone; the address marked.
	"sesevents": {"Store.Get", "Store.UpdateDelivery", "Store.MarkUndeliverable"},
	// The stream (feed, endpoints of the events' scopes) and the delivery queue (the
	// endpoint, its attempts, its failure run).
	"publisher": {"Store.PutEvent", "Store.Endpoints", "Store.Endpoint", "Store.RecordAttempt", "Store.UpdateEndpoint"},
}

// notCalled are the store methods that reach DynamoDB and that no function calls.
var notCalled = map[string]string{
	"Store.GetByAuth0UserIDs": "part of invite.Store; the webhook reads a delivery's candidates through EventStore.Lookup",
	"Store.DeadLetters":       "an operator reads dead letters (README, Operating); no function lists them",
	"Store.Undeliverable":     "invite.Service.Undeliverable, for a dry run that tells an import's undeliverable addresses; no function asks it yet",
}

// storeActions reads shared/dynamo's source and returns, for each exported method of
// Store and Counter that reaches DynamoDB, the IAM actions of the calls it can make:
// the calls on the client (x.db.Name) in its body and in every function and method of
// the package it calls, transitively, with a TransactWriteItems taken as the actions
// of the item kinds (types.Put, types.Update, types.Delete, types.ConditionCheck) built
// on the way, since IAM authorizes a transaction by its items. Calls are resolved by
// name, which can only add actions. It also returns every client call it saw.
func storeActions(t *testing.T) (map[string][]string, map[string]bool) {
	t.Helper()
	type fn struct {
		decl                *ast.FuncDecl
		calls, client, kind []string
	}
	var all []*fn
	byName := map[string][]*fn{} // package functions as "f", methods as ".m"
	exported := map[string]*fn{} // "Store.Get"
	for _, file := range parseSources(t, "../shared/dynamo") {
		for _, d := range file.Decls {
			decl, ok := d.(*ast.FuncDecl)
			if !ok || decl.Body == nil {
				continue
			}
			f := &fn{decl: decl}
			all = append(all, f)
			key := decl.Name.Name
			if decl.Recv != nil {
				key = "." + key
				recv := decl.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				if id, ok := recv.(*ast.Ident); ok && (id.Name == "Store" || id.Name == "Counter") && decl.Name.IsExported() {
					exported[id.Name+"."+decl.Name.Name] = f
				}
			}
			byName[key] = append(byName[key], f)
		}
	}
	kinds := map[string]string{"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem"}
	for _, f := range all {
		ast.Inspect(f.decl.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				switch fun := n.Fun.(type) {
				case *ast.Ident:
					f.calls = append(f.calls, fun.Name)
				case *ast.SelectorExpr:
					if x, ok := fun.X.(*ast.SelectorExpr); ok && x.Sel.Name == "db" {
						f.client = append(f.client, fun.Sel.Name)
					} else {
						f.calls = append(f.calls, "."+fun.Sel.Name)
					}
				}
			case *ast.CompositeLit:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "types" && kinds[sel.Sel.Name] != "" {
						f.kind = append(f.kind, kinds[sel.Sel.Name])
					}
				}
			}
			return true
		})
	}
	seen := map[string]bool{}
	out := map[string][]string{}
	for name, root := range exported {
		var client, kind []string
		visited := map[*fn]bool{}
		var walk func(f *fn)
		walk = func(f *fn) {
			if visited[f] {
				return
			}
			visited[f] = true
			client, kind = append(client, f.client...), append(kind, f.kind...)
			for _, c := range f.calls {
				for _, callee := range byName[c] {
					walk(callee)
				}
			}
		}
		walk(root)
		actions := map[string]bool{}
		for _, c := range client {
			seen[c] = true
			if c != "TransactWriteItems" {
				actions["dynamodb:"+c] = true
				continue
			}
			for _, k := range kind {
				actions[k] = true
			}
		}
		if len(actions) > 0 {
			out[name] = slices.Sorted(maps.Keys(actions))
		}
	}
	return out, seen
}

// TestStoreActions checks the reading of the store's source on methods whose calls
// are known, and that it accounts for every call the store's client interface
// declares, so that a call made some other way cannot go unseen.
func TestStoreActions(t *testing.T) {
	actions, seen := storeActions(t)
	for method, want := range map[string][]string{
		"Store.Get":             {"dynamodb:GetItem"},
		"Store.Lookup":          {"dynamodb:BatchGetItem"},
		"Store.Create":          {"dynamodb:GetItem", "dynamodb:PutItem"},
		"Store.Update":          {"dynamodb:DeleteItem", "dynamodb:PutItem"},
		"Store.FinishBatchItem": {"dynamodb:UpdateItem"},
		"Store.CreateBatch":     {"dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem"},
		"Store.List":            {"dynamodb:BatchGetItem", "dynamodb:Query"},
		"Counter.IncrBy":        {"dynamodb:UpdateItem"},
	} {
		if got := actions[method]; !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", method, got, want)
		}
	}
	for _, call := range storeCalls(t) {
		if !seen[call] {
			t.Errorf("the store's client interface declares %s, which no method of Store or Counter was seen to call", call)
		}
	}
}

// TestTableActionsPerFunction: each function's role is granted exactly the DynamoDB
// actions its process test saw it make (functions/<name>/testdata/table-actions.txt,
// recorded through processtest.TableMeter in front of DynamoDB Local by the real
// bootstrap), and those are exactly what the store methods the function calls can
// make. The measure keeps the grant to what the code does; the source keeps the
// measure complete: a call a test never reached (a branch of a store method, a method
// the function calls) shows here as an action the file lacks, and a call the
// function makes through a method missing from storeMethods as one the file has too
// many.
func TestTableActionsPerFunction(t *testing.T) {
	s := defaultStack(t)
	actions, _ := storeActions(t)
	listed := map[string]bool{}
	for _, methods := range storeMethods {
		for _, m := range methods {
			listed[m] = true
		}
	}
	for m := range actions {
		if _, ok := notCalled[m]; ok == listed[m] {
			t.Errorf("%s: want it in storeMethods (for each function that calls it) or in notCalled, not both or neither", m)
		}
	}
	for m := range notCalled {
		if _, ok := actions[m]; !ok {
			t.Errorf("notCalled lists %s, which is no method of Store or Counter that reaches DynamoDB", m)
		}
	}
	for _, f := range functions {
		t.Run(f.name, func(t *testing.T) {
			file := filepath.Join("..", "functions", f.name, "testdata", "table-actions.txt")
			measured := readActions(t, file)
			reachable := map[string]bool{}
			for _, m := range storeMethods[f.name] {
				if _, ok := actions[m]; !ok {
					t.Errorf("storeMethods lists %s, which is no method of Store or Counter that reaches DynamoDB", m)
				}
				for _, a := range actions[m] {
					reachable[a] = true
				}
			}
			if got, want := slices.Sorted(maps.Keys(reachable)), measured; !slices.Equal(got, want) {
				t.Errorf("the store methods the %s function calls can make %v; its process test saw %v (%s). "+
					"Drive the missing calls in its TestTableActions, or correct storeMethods", f.name, got, want, file)
			}
			fn := s.one(t, "AWS::Lambda::Function", exportName(f.name)+"Function")
			granted := map[string]bool{}
			for _, st := range statements(s) {
				if st.role != ref(fn.props["Role"]) {
					continue
				}
				if isStreamStatement(st) {
					continue // reading the stream is the event source's, not the store's
				}
				for _, a := range st.actions {
					if strings.HasPrefix(a, "dynamodb:") {
						granted[a] = true
					}
				}
			}
			if got := slices.Sorted(maps.Keys(granted)); !slices.Equal(got, measured) {
				t.Errorf("the %s role is granted %v, want exactly what its function was seen to make: %v (%s; tableActions in stack.go)",
					f.name, got, measured, file)
			}
		})
	}
}

// readActions reads a table-actions file: one action a line; '#' starts a comment.
func readActions(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (the function's TestTableActions writes it with -update)", err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	slices.Sort(out)
	return out
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
