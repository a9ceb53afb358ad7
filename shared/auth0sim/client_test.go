package auth0sim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPatientTransportWaitsOutTheRateLimit(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: 5, Burst: 1})
	token := managementToken(t, sim)
	c := PatientClient()
	send := func(ctx context.Context, method, path, body string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, method, sim.BaseURL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return c.Do(req)
	}

	// The first request spends the only token; the second is refused once and sent
	// again, body and all, when the bucket has one again.
	for i, r := range []struct{ method, path, body string }{
		{"GET", "/api/v2/roles", ""},
		{"POST", "/api/v2/roles", `{"name":"patient","description":"sent again after a 429"}`},
	} {
		resp, err := send(context.Background(), r.method, r.path, r.body)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("request %d: status %d, want 2xx: %s", i, resp.StatusCode, raw)
		}
	}
	if got := sim.RateLimited(); got < 1 {
		t.Errorf("the stand-in refused %d requests, want at least 1 (the test proves nothing otherwise)", got)
	}
	if got := sim.Calls("POST", "/api/v2/roles"); got < 2 {
		t.Errorf("POST /api/v2/roles reached the stand-in %d times, want at least 2 (refused, then sent again)", got)
	}

	// A request whose context ends while it waits gives up with the context's error.
	sim.SetRateLimit(0.01, 1)
	if resp, err := send(context.Background(), "GET", "/api/v2/roles", ""); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request after SetRateLimit: %v %v", resp, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := send(ctx, "GET", "/api/v2/roles", ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v while the bucket stays empty, want context.DeadlineExceeded", err)
	}
}
