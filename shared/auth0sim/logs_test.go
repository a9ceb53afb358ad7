package auth0sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// webhook records what a log stream posts; it fails the first failures requests, the
// first of them by dropping the connection.
type webhook struct {
	mu       sync.Mutex
	failures int
	posts    []post
}

type post struct {
	auth, contentType string
	ids               []string
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	fail := h.failures
	if fail > 0 {
		h.failures--
	}
	h.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if fail > 0 {
		if fail%2 == 1 {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	ids, err := decodeBatch(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.posts = append(h.posts, post{auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"), ids: ids})
	h.mu.Unlock()
}

// decodeBatch reads the log ids of a body in any of the three formats, checking that
// data.log_id mirrors log_id.
func decodeBatch(body []byte) ([]string, error) {
	var events []LogEvent
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(trimmed, &events); err != nil {
			return nil, err
		}
	case bytes.Contains(trimmed, []byte("\n")) || bytes.HasSuffix(body, []byte("\n")):
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e LogEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				return nil, err
			}
			events = append(events, e)
		}
	default:
		var e LogEvent
		if err := json.Unmarshal(trimmed, &e); err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	ids := make([]string, 0, len(events))
	for _, e := range events {
		if e.LogID == "" || e.LogID != e.Data.LogID {
			return nil, fmt.Errorf("log_id %q differs from data.log_id %q", e.LogID, e.Data.LogID)
		}
		ids = append(ids, e.LogID)
	}
	return ids, nil
}

func TestLogStreamDelivery(t *testing.T) {
	tests := []struct {
		name          string
		format        string
		failures      int
		duplicate     bool
		reorder       bool
		wantPerPost   int
		wantDuplicate bool
	}{
		{name: "array", format: "array", wantPerPost: 4},
		{name: "lines with retries", format: "lines", failures: 3, wantPerPost: 4},
		{name: "object", format: "object", failures: 1, wantPerPost: 1},
		{name: "array with chaos", format: "array", duplicate: true, reorder: true, wantPerPost: 4, wantDuplicate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook := &webhook{failures: tt.failures}
			srv := httptest.NewServer(hook)
			t.Cleanup(srv.Close)
			sim := NewTestServer(t, Options{
				Rand: rand.NewChaCha8([32]byte{7}),
				LogStream: &LogStream{URL: srv.URL, Authorization: "Bearer hook-token", Format: tt.format,
					BatchSize: 4, FlushInterval: time.Hour, RetryBackoff: time.Millisecond,
					Duplicate: tt.duplicate, Reorder: tt.reorder},
			})
			const n = 20
			var emitted []string
			for i := range n {
				sim.Emit(LogEvent{Data: LogData{Type: "s", UserID: fmt.Sprintf("auth0|%d", i)}})
			}
			for _, e := range sim.Logs() {
				emitted = append(emitted, e.LogID)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := sim.FlushLogs(ctx); err != nil {
				t.Fatalf("flush: %v", err)
			}
			hook.mu.Lock()
			defer hook.mu.Unlock()
			seen := map[string]int{}
			var order []string
			for _, p := range hook.posts {
				if p.auth != "Bearer hook-token" || p.contentType != "application/json" {
					t.Errorf("got Authorization %q Content-Type %q, want the configured token and application/json", p.auth, p.contentType)
				}
				if len(p.ids) > tt.wantPerPost {
					t.Errorf("got %d events in one post, want at most %d", len(p.ids), tt.wantPerPost)
				}
				for _, id := range p.ids {
					seen[id]++
					order = append(order, id)
				}
			}
			for _, id := range emitted {
				if seen[id] == 0 {
					t.Errorf("event %s never delivered", id)
				}
			}
			dups := len(order) - len(seen)
			if tt.wantDuplicate && dups == 0 {
				t.Error("got no duplicate deliveries, want some")
			}
			if !tt.wantDuplicate && dups != 0 {
				t.Errorf("got %d duplicate deliveries, want none", dups)
			}
			inOrder := fmt.Sprint(order[:n]) == fmt.Sprint(emitted)
			if tt.reorder && inOrder {
				t.Error("got events in emission order, want them shuffled")
			}
			if !tt.reorder && !tt.duplicate && !inOrder {
				t.Errorf("got order %v, want emission order", order)
			}
		})
	}
}

func TestLogStreamFlushGivesUpWithContext(t *testing.T) {
	hook := &webhook{failures: 1 << 30}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	sim := NewTestServer(t, Options{LogStream: &LogStream{URL: srv.URL, FlushInterval: time.Hour, RetryBackoff: 5 * time.Millisecond}})
	sim.Emit(LogEvent{Data: LogData{Type: "s"}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := sim.FlushLogs(ctx); err == nil {
		t.Fatal("got nil error from a flush that never succeeded, want the context's")
	}
	hook.mu.Lock()
	hook.failures = 0
	hook.mu.Unlock()
	if err := sim.FlushLogs(context.Background()); err != nil {
		t.Fatalf("second flush: %v", err)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if len(hook.posts) != 1 || len(hook.posts[0].ids) != 1 {
		t.Errorf("got posts %+v, want the kept event delivered once", hook.posts)
	}
}

func TestLogStreamFlushesOnItsOwn(t *testing.T) {
	hook := &webhook{}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	sim := NewTestServer(t, Options{LogStream: &LogStream{URL: srv.URL, BatchSize: 2, FlushInterval: 20 * time.Millisecond}})
	sim.Emit(LogEvent{Data: LogData{Type: "s"}})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		hook.mu.Lock()
		n := len(hook.posts)
		hook.mu.Unlock()
		if n == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("got no delivery after the flush interval, want one")
}
