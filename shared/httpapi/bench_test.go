package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/doormanhq/doorman/shared/httpapi"
)

// BenchmarkCreate is Doorman's own CPU time per create, I/O faked: the handler (body
// limit, strict decoding, the hourly cap, the Idempotency-Key claim and completion,
// encoding) over invite.Service with the in-memory store, identity and mailer.
func BenchmarkCreate(b *testing.B) {
	// The cap stays on (Counter.Add runs per create) but high enough never to bite.
	fresh := func() *fixture {
		return newFixture(b, func(c *httpapi.Config) { c.InvitesPerHour = 1 << 30 })
	}
	f := fresh()
	ctx := httpapi.WithClaims(b.Context(), appAdmin)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if i%500 == 0 {
			// The fake identity finds users by a linear scan; a fresh tenant keeps
			// its cost from growing into the measurement.
			b.StopTimer()
			f = fresh()
			b.StartTimer()
		}
		n := strconv.Itoa(i)
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/invitations",
			strings.NewReader(createBody("user"+n+"@example.com", `"message":"Welcome aboard"`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "bench-"+n)
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
