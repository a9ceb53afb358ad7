package lambdaharness

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

var echo struct {
	once sync.Once
	path string
	err  error
	dir  string
}

// echoBinary builds testdata/echo once for the package's tests.
func echoBinary(t *testing.T) string {
	t.Helper()
	echo.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		echo.path, echo.err = Build(ctx, ".", "./testdata/echo", echo.dir)
	})
	if echo.err != nil {
		t.Fatal(echo.err)
	}
	return echo.path
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdaharness-")
	if err != nil {
		panic(err)
	}
	echo.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func start(t *testing.T, env ...string) *Runtime {
	t.Helper()
	rt, err := Start(Options{Binary: echoBinary(t), Env: env, FunctionName: "echo-fn", MemoryMB: 128, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Stop)
	return rt
}

func invoke(t *testing.T, rt *Runtime, payload string) (map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := rt.Invoke(ctx, []byte(payload))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	return m, nil
}

func TestInvokeRoundTrip(t *testing.T) {
	rt := start(t, "ECHO_CUSTOM=from-env")
	ids := map[string]bool{}
	for i, say := range []string{"one", "two", "three"} {
		got, err := invoke(t, rt, `{"say":"`+say+`"}`)
		if err != nil {
			t.Fatalf("invocation %d: %v\nlogs:\n%s", i, err, rt.Logs())
		}
		want := map[string]any{
			"say": say, "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:echo-fn",
			"has_deadline": true, "function_name": "echo-fn", "memory": "128", "custom": "from-env",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("invocation %d: %s: got %v, want %v", i, k, got[k], v)
			}
		}
		id, _ := got["request_id"].(string)
		if id == "" || ids[id] {
			t.Errorf("invocation %d: request id %q: want a new, non-empty id", i, id)
		}
		ids[id] = true
	}
	if !strings.Contains(rt.Logs(), "echo: handled") {
		t.Errorf("logs: got %q, want the function's stderr", rt.Logs())
	}
}

func TestFunctionErrorKeepsProcess(t *testing.T) {
	rt := start(t)
	_, err := invoke(t, rt, `{"fail":"no such thing"}`)
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Message != "no such thing" || fe.Type != "errorString" {
		t.Fatalf("got %v, want the function's error with type errorString", err)
	}
	if _, err := invoke(t, rt, `{"say":"still here"}`); err != nil {
		t.Errorf("after a function error: %v, want the process to keep serving", err)
	}
}

func TestPanicAndExit(t *testing.T) {
	tests := []struct {
		name, payload string
		wantFuncErr   bool
	}{
		{"panic reports then exits", `{"panic":true}`, true},
		{"exit without answer", `{"exit":true}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := start(t)
			_, err := invoke(t, rt, tt.payload)
			var fe *FunctionError
			if tt.wantFuncErr && (!errors.As(err, &fe) || fe.Type != "Runtime.ExitError" && !strings.Contains(fe.Message, "asked to panic")) {
				t.Fatalf("got %v, want the panic reported as a function error", err)
			}
			if !tt.wantFuncErr && !errors.Is(err, ErrExited) {
				t.Fatalf("got %v, want ErrExited", err)
			}
			select {
			case <-rt.Exited():
			case <-time.After(5 * time.Second):
				t.Fatal("the process did not exit")
			}
			if _, err := invoke(t, rt, `{"say":"x"}`); !errors.Is(err, ErrExited) {
				t.Errorf("invoke after exit: got %v, want ErrExited", err)
			}
		})
	}
}

func TestInitError(t *testing.T) {
	rt := start(t, "ECHO_INIT_FAIL=TABLE_NAME is required")
	_, err := invoke(t, rt, `{"say":"x"}`)
	if !errors.Is(err, ErrExited) {
		t.Fatalf("got %v, want ErrExited", err)
	}
	fe := rt.InitError()
	if fe == nil || fe.Type != "Runtime.InitError" || fe.Message != "TABLE_NAME is required" {
		t.Errorf("InitError: got %+v, want the posted Runtime.InitError", fe)
	}
	if rt.ExitErr() == nil {
		t.Error("ExitErr: got nil, want exit status 1")
	}
	if !strings.Contains(err.Error(), "init failed") {
		t.Errorf("error: got %q, want the process's last output in it", err)
	}
}

func TestPeakRSS(t *testing.T) {
	rt := start(t)
	if _, err := invoke(t, rt, `{"say":"warm"}`); err != nil {
		t.Fatal(err)
	}
	before, err := rt.PeakRSS()
	if err != nil || before <= 0 {
		t.Fatalf("PeakRSS: got %d, %v; want a positive size", before, err)
	}
	if _, err := invoke(t, rt, `{"grow_mb":48}`); err != nil {
		t.Fatal(err)
	}
	after, err := rt.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	if after < before+40<<20 {
		t.Errorf("PeakRSS after touching 48 MB: got %d, want at least %d", after, before+40<<20)
	}
	rt.Stop()
	exited, err := rt.PeakRSS()
	// rusage and /proc count slightly differently; both must see the 48 MB.
	if err != nil || exited < before+40<<20 {
		t.Errorf("PeakRSS after exit: got %d, %v; want at least %d", exited, err, before+40<<20)
	}
}

func TestInvokeHonoursContext(t *testing.T) {
	rt := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := rt.Invoke(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
