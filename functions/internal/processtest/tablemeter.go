package processtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/table-actions.txt with the DynamoDB actions the function was seen to make")

// TableActionsFile is where a function's package keeps the DynamoDB actions its
// process test saw it make; infra's tests grant its role exactly these.
const TableActionsFile = "testdata/table-actions.txt"

// TableMeter stands between a function's process and DynamoDB Local and records the
// IAM action every request it forwards is authorized as: the operation's own
// ("dynamodb:GetItem"), and for a transaction, which has no action of its own, the
// action of each item it carries (a Put needs dynamodb:PutItem, a ConditionCheck
// dynamodb:ConditionCheckItem). It sees what the real binary sends, whatever code
// path sent it.
type TableMeter struct {
	url string

	mu       sync.Mutex
	requests map[string]int // by operation
	actions  map[string]bool
	hooks    map[string]func()
}

// NewTableMeter starts a meter in front of the DynamoDB endpoint target; it stops
// when tb ends.
func NewTableMeter(tb testing.TB, target string) *TableMeter {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("table meter: %v", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	m := &TableMeter{requests: map[string]int{}, actions: map[string]bool{}, hooks: map[string]func(){}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
		actions, err := iamActions(op, body)
		if err != nil {
			tb.Errorf("table meter: %v", err)
		}
		m.mu.Lock()
		m.requests[op]++
		for _, a := range actions {
			m.actions[a] = true
		}
		hook := m.hooks[op]
		delete(m.hooks, op)
		m.mu.Unlock()
		if hook != nil {
			hook()
		}
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	m.url = srv.URL
	return m
}

// URL is the endpoint to give the function (DYNAMODB_ENDPOINT).
func (m *TableMeter) URL() string { return m.url }

// Actions are the IAM actions seen so far, sorted.
func (m *TableMeter) Actions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.actions))
}

// Requests counts the requests seen since the last Reset, by operation.
func (m *TableMeter) Requests() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.requests)
}

// Reset forgets the requests counted; the actions seen are kept.
func (m *TableMeter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.requests)
}

// BeforeNext runs fn once, before the next request of operation ("TransactWriteItems")
// reaches the table: a test's way of being the other writer that got there first, so
// that the function's conditional write fails as it would in a race.
func (m *TableMeter) BeforeNext(operation string, fn func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hooks[operation] = fn
}

// Check compares the actions seen with the package's TableActionsFile, and rewrites
// the file instead under -update. function names the function in the file's header.
func (m *TableMeter) Check(tb testing.TB, function string) {
	tb.Helper()
	got := m.Actions()
	if *update {
		header := fmt.Sprintf("# The DynamoDB actions the %s function was seen to make in its process test\n"+
			"# (TestTableActions, through processtest.TableMeter). infra's tests grant its role exactly\n"+
			"# these. Rewritten by: go test ./functions/%s -run TestTableActions -update\n", function, function)
		if err := os.MkdirAll(filepath.Dir(TableActionsFile), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(TableActionsFile, []byte(header+strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := ReadTableActions(TableActionsFile)
	if err != nil {
		tb.Fatal(err)
	}
	if !slices.Equal(got, want) {
		tb.Errorf("DynamoDB actions of the %s function: got %v, want %v (%s). If the change is meant, "+
			"rewrite the file with -update and grant the role the same in infra/stack.go", function, got, want, TableActionsFile)
	}
}

// ReadTableActions reads a TableActionsFile: one action a line, sorted; '#' starts a
// comment line.
func ReadTableActions(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("table actions: %w", err)
	}
	var actions []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			actions = append(actions, line)
		}
	}
	slices.Sort(actions)
	return actions, nil
}

// iamActions are the IAM actions a DynamoDB request is authorized as.
func iamActions(op string, body []byte) ([]string, error) {
	switch op {
	case "":
		return nil, fmt.Errorf("a request without X-Amz-Target")
	case "TransactWriteItems", "TransactGetItems":
		var in struct {
			TransactItems []map[string]json.RawMessage
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		var out []string
		for _, item := range in.TransactItems {
			for kind := range item {
				action, ok := map[string]string{
					"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
					"ConditionCheck": "ConditionCheckItem", "Get": "GetItem",
				}[kind]
				if !ok {
					return nil, fmt.Errorf("%s: unknown item kind %q", op, kind)
				}
				out = append(out, "dynamodb:"+action)
			}
		}
		return out, nil
	}
	return []string{"dynamodb:" + op}, nil
}
