// Package lambdaharness runs a real Lambda `bootstrap` binary the way the Lambda
// service does, for Doorman's process-level tests and measurements: it serves the
// Runtime API (2018-06-01) on 127.0.0.1, starts the binary with the environment Lambda
// gives a provided.al2023 function, hands it invocations one at a time, and collects
// its responses, errors, init error, logs and peak memory. No Runtime Interface
// Emulator is needed.
package lambdaharness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The Runtime API's version prefix and headers, as aws-lambda-go's client uses them.
const (
	apiPrefix          = "/2018-06-01/runtime"
	headerRequestID    = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline     = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN  = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID      = "Lambda-Runtime-Trace-Id"
	headerErrorType    = "Lambda-Runtime-Function-Error-Type"
	defaultFunction    = "doorman-test"
	defaultMemoryMB    = 256
	defaultTimeout     = 30 * time.Second
	stopGrace          = 2 * time.Second
	maxResponsePayload = 6 << 20 // Lambda's synchronous response limit
)

// Options describe the function to run.
type Options struct {
	// Binary is the path of the bootstrap executable.
	Binary string
	// Env is the function's own environment, "KEY=value". The harness adds the
	// variables Lambda sets (AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME, ...);
	// nothing is inherited from the test process but PATH.
	Env []string
	// FunctionName defaults to "doorman-test"; MemoryMB to 256; Timeout (each
	// invocation's deadline) to 30s.
	FunctionName string
	MemoryMB     int
	Timeout      time.Duration
}

// FunctionError is what the function reported to /invocation/{id}/error or
// /init/error.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return "function error " + e.Type + ": " + e.Message }

// ErrExited is returned by Invoke when the process has exited; the error wraps it
// with the exit status and the last lines of the logs.
var ErrExited = errors.New("lambdaharness: the function process exited")

// Runtime is one running function process and the Runtime API it talks to.
type Runtime struct {
	opts    Options
	srv     *http.Server
	addr    string
	cmd     *exec.Cmd
	started time.Time
	logs    SyncBuffer

	queue   chan *invocation
	exited  chan struct{}
	exitErr error

	mu        sync.Mutex
	inflight  map[string]*invocation
	initError *FunctionError
	seq       int
	maxRSS    int64 // from rusage, once exited
}

type invocation struct {
	id      string
	payload []byte
	result  chan result
}

type result struct {
	body []byte
	err  error
}

// Start serves the Runtime API on a free loopback port and starts the binary.
func Start(opts Options) (*Runtime, error) {
	if opts.FunctionName == "" {
		opts.FunctionName = defaultFunction
	}
	if opts.MemoryMB == 0 {
		opts.MemoryMB = defaultMemoryMB
	}
	if opts.Timeout == 0 {
		opts.Timeout = defaultTimeout
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdaharness: listen: %w", err)
	}
	r := &Runtime{
		opts:     opts,
		addr:     ln.Addr().String(),
		queue:    make(chan *invocation, 64),
		exited:   make(chan struct{}),
		inflight: map[string]*invocation{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/invocation/next", r.next)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/response", r.response)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/error", r.invocationError)
	mux.HandleFunc("POST "+apiPrefix+"/init/error", r.initErrorHandler)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)

	r.cmd = exec.Command(opts.Binary)
	r.cmd.Dir = filepath.Dir(opts.Binary)
	r.cmd.Env = r.environment()
	r.cmd.Stdout = &r.logs
	r.cmd.Stderr = &r.logs
	r.started = time.Now()
	if err := r.cmd.Start(); err != nil {
		r.srv.Close()
		return nil, fmt.Errorf("lambdaharness: start %s: %w", opts.Binary, err)
	}
	go func() {
		err := r.cmd.Wait()
		r.mu.Lock()
		r.exitErr = err
		if ru, ok := r.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
		}
		r.mu.Unlock()
		close(r.exited)
	}()
	return r, nil
}

// environment is what Lambda sets for a provided.al2023 function, plus opts.Env.
func (r *Runtime) environment() []string {
	o := r.opts
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"AWS_LAMBDA_RUNTIME_API=" + r.addr,
		"AWS_LAMBDA_FUNCTION_NAME=" + o.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(o.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + o.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=" + filepath.Dir(o.Binary),
		"LAMBDA_RUNTIME_DIR=/var/runtime",
	}
	return append(env, o.Env...)
}

// functionARN is the ARN the invocations carry.
func (r *Runtime) functionARN() string {
	return "arn:aws:lambda:us-east-1:123456789012:function:" + r.opts.FunctionName
}

// StartedAt is when the process was started.
func (r *Runtime) StartedAt() time.Time { return r.started }

// PID is the process id.
func (r *Runtime) PID() int { return r.cmd.Process.Pid }

// Logs returns everything the process wrote to stdout and stderr so far.
func (r *Runtime) Logs() string { return r.logs.String() }

// InitError returns what the function posted to /runtime/init/error, if anything.
func (r *Runtime) InitError() *FunctionError {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.initError
}

// Exited is closed when the process has exited; ExitErr then says how.
func (r *Runtime) Exited() <-chan struct{} { return r.exited }

// ExitErr is the process's exit error (nil for status 0) once Exited is closed.
func (r *Runtime) ExitErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exitErr
}

// Invoke hands payload to the function and returns its response. A function error
// is a *FunctionError; an exit before the answer wraps ErrExited.
func (r *Runtime) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	r.mu.Lock()
	r.seq++
	inv := &invocation{
		id:      fmt.Sprintf("8476a536-e9f4-11e8-9739-%012d", r.seq),
		payload: payload,
		result:  make(chan result, 1),
	}
	r.mu.Unlock()
	select {
	case r.queue <- inv:
	case <-r.exited:
		return nil, r.exitError()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case res := <-inv.result:
		return res.body, res.err
	case <-r.exited:
		// The process may have answered just before it exited.
		select {
		case res := <-inv.result:
			return res.body, res.err
		default:
		}
		return nil, r.exitError()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *Runtime) exitError() error {
	return fmt.Errorf("%w (%v); last output:\n%s", ErrExited, r.ExitErr(), tail(r.Logs(), 20))
}

// PeakRSS is the process's peak resident set size in bytes: VmHWM from
// /proc/<pid>/status while it runs, the rusage maximum once it has exited.
func (r *Runtime) PeakRSS() (int64, error) {
	select {
	case <-r.exited:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.maxRSS, nil
	default:
	}
	if runtime.GOOS != "linux" {
		return 0, errors.New("lambdaharness: peak RSS is read from /proc, on Linux only")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.PID()))
	if err != nil {
		return 0, fmt.Errorf("lambdaharness: read process status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("lambdaharness: parse VmHWM %q: %w", v, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("lambdaharness: no VmHWM in the process status")
}

// Stop ends the process (SIGTERM, then SIGKILL after a grace period) and the
// Runtime API server. It is safe to call more than once.
func (r *Runtime) Stop() {
	select {
	case <-r.exited:
	default:
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(stopGrace):
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		r.srv.Close()
	}
}

// next is GET /invocation/next: it blocks until there is an invocation.
func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	var inv *invocation
	select {
	case inv = <-r.queue:
	case <-req.Context().Done():
		return
	case <-r.exited:
		return
	}
	r.mu.Lock()
	r.inflight[inv.id] = inv
	r.mu.Unlock()
	h := w.Header()
	h.Set(headerRequestID, inv.id)
	h.Set(headerDeadline, strconv.FormatInt(time.Now().Add(r.opts.Timeout).UnixMilli(), 10))
	h.Set(headerFunctionARN, r.functionARN())
	h.Set(headerTraceID, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(inv.payload)
}

func (r *Runtime) take(id string) *invocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	inv := r.inflight[id]
	delete(r.inflight, id)
	return inv
}

func (r *Runtime) response(w http.ResponseWriter, req *http.Request) {
	inv := r.take(req.PathValue("id"))
	if inv == nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or answered request id")
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxResponsePayload+1))
	switch {
	case err != nil:
		inv.result <- result{err: fmt.Errorf("lambdaharness: read response: %w", err)}
	case len(body) > maxResponsePayload:
		inv.result <- result{err: &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: "response payload over 6 MB"}}
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response payload over 6 MB")
		return
	default:
		inv.result <- result{body: body}
	}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func (r *Runtime) invocationError(w http.ResponseWriter, req *http.Request) {
	inv := r.take(req.PathValue("id"))
	if inv == nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or answered request id")
		return
	}
	inv.result <- result{err: readFunctionError(req)}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func (r *Runtime) initErrorHandler(w http.ResponseWriter, req *http.Request) {
	fe := readFunctionError(req)
	r.mu.Lock()
	r.initError = fe
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func readFunctionError(req *http.Request) *FunctionError {
	fe := &FunctionError{}
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err := json.Unmarshal(body, fe); err != nil || fe.Type == "" {
		fe.Message = string(body)
	}
	if fe.Type == "" {
		fe.Type = req.Header.Get(headerErrorType)
	}
	return fe
}

func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(FunctionError{Type: typ, Message: msg})
}

// SyncBuffer is a bytes.Buffer that a process's output streams can share while a
// test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// Build compiles the main package pkg (an import path or a ./ path relative to dir)
// into outDir/bootstrap as Doorman's release builds do (static, lambda.norpc,
// trimmed, stripped), for the host's architecture so that it runs here.
func Build(ctx context.Context, dir, pkg, outDir string) (string, error) {
	out := filepath.Join(outDir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lambdaharness: go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}
