package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkWebhookMixed100 handles the mixed 100-event fixture (one relevant event)
// end to end with the stores in memory: authentication, streaming decode with the
// type filter, the batched lookup and the dedupe of the one event already applied.
// Run with -cpu 1 for the one-core figure.
func BenchmarkWebhookMixed100(b *testing.B) {
	w := newWorld(b, nil)
	body := w.fixture(b, "batch-mixed-100.json")
	if res := w.post(whAuth, bytes.NewReader(body)); res.status != http.StatusOK {
		b.Fatalf("first delivery: %d %s", res.status, res.body)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if res := w.post(whAuth, bytes.NewReader(body)); res.status != http.StatusOK {
			b.Fatalf("status %d", res.status)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
}

// bigBatch builds a JSON array of at least size bytes from the records of the mixed
// fixture, each with a log id of its own. With relevant set, every record is a login
// of a user Doorman does not know, so that each one reaches the lookup.
func bigBatch(t testing.TB, w *whWorld, size int, relevant bool) []byte {
	t.Helper()
	var recs []map[string]any
	if err := json.Unmarshal(w.fixture(t, "batch-mixed-100.json"), &recs); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := 0; buf.Len() < size; i++ {
		r := recs[i%len(recs)]
		id := fmt.Sprintf("9%055d", i)
		r["log_id"] = id
		data := r["data"].(map[string]any)
		data["log_id"] = id
		if relevant {
			data["type"], data["user_id"] = "s", fmt.Sprintf("auth0|%024d", i)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// peakHeap runs fn while sampling the live heap and returns the highest HeapAlloc
// seen above the level before fn, and the bytes fn allocated in all.
func peakHeap(fn func()) (peak, total uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var highest atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > highest.Load() {
				highest.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if highest.Load() < before.HeapAlloc {
		return 0, after.TotalAlloc - before.TotalAlloc
	}
	return highest.Load() - before.HeapAlloc, after.TotalAlloc - before.TotalAlloc
}

// TestWebhookPeakMemory handles a 10 MB batch and checks that the heap it needs on
// top of the body it was given stays under 3 times the body's size.
func TestWebhookPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 10 MB bodies; not run with -short")
	}
	tests := []struct {
		name     string
		relevant bool
	}{
		{"tenant noise", false},
		{"every record a login", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, nil)
			body := bigBatch(t, w, 10<<20-4096, tt.relevant)
			var res whResponse
			peak, total := peakHeap(func() { res = w.post(whAuth, bytes.NewReader(body)) })
			if res.status != http.StatusOK {
				t.Fatalf("status: got %d (%.200s), want 200", res.status, res.body)
			}
			got := whResult(t, res)
			ratio := float64(peak) / float64(len(body))
			t.Logf("body %d bytes, %v records, %v relevant: peak heap above the body %d bytes (%.2f× the body), %d bytes allocated in all",
				len(body), got["records"], got["relevant"], peak, ratio, total)
			if ratio > 3 {
				t.Errorf("peak heap: %.2f× the body, want at most 3×", ratio)
			}
			if strings.Contains(string(res.body), "truncated") {
				t.Errorf("the batch was cut short: %s", res.body)
			}
		})
	}
}
