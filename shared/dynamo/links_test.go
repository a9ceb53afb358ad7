package dynamo

import (
	"crypto/rand"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestUnknownLinkIsOneRead: what anyone can send to the public /i/{token} routes costs
// at most one DynamoDB read. A well-formed token that names no invitation is one
// GetItem (its token item, absent) and nothing else, through the same handler, service
// and store the api function runs; a malformed one is refused before the store.
func TestUnknownLinkIsOneRead(t *testing.T) {
	f := newFixture(t)
	// A real invitation in the table, so that the lookup misses among items.
	f.Create(t, f.Invitation("inv_1", "ann@example.com"))
	svc, err := invite.NewService(invite.Config{
		Store: f.store, Batches: f.store, Identity: inmem.NewIdentity(f.Clock.Now), Mailer: inmem.NewMailer(),
		Now: f.Clock.Now, PublicBaseURL: "https://doorman.example.com",
	})
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	counter, err := NewCounter(f.client, f.table)
	if err != nil {
		t.Fatalf("NewCounter: %v", err)
	}
	h, err := httpapi.New(httpapi.Config{Service: svc, Idempotency: f.store, Counter: counter, Now: f.Clock.Now})
	if err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	unknown, err := invite.NewToken(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, token string
		want                map[string]int64
	}{
		{"GET an unknown token", http.MethodGet, unknown, map[string]int64{"GetItem": 1}},
		{"POST an unknown token", http.MethodPost, unknown, map[string]int64{"GetItem": 1}},
		{"GET a malformed token", http.MethodGet, "not-a-token", nil},
		{"POST a malformed token", http.MethodPost, strings.Repeat("A", 200), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.meter.Reset()
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, "/i/"+tt.token, nil)
			if tt.method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotFound {
				t.Errorf("status: got %d, want 404", rec.Code)
			}
			if got := f.meter.Usage().Operations; !maps.Equal(got, tt.want) {
				t.Errorf("DynamoDB requests: got %v, want %v", got, tt.want)
			}
		})
	}
}
