package dynamo

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// BenchmarkJoinPublic measures what one process serves of the public join routes,
// through the handler, the service and this store on DynamoDB Local (Auth0 and SES
// in memory), with the answer floor and the per-source cap off: the requests per
// second the function holds, to set against the stack's throttle of the join routes
// (joinThrottleRate, 5 requests/s and a burst of 10 per route by default). Each
// request is a new address, so each one stores a request and sends its email.
//
//	go test -run '^$' -bench JoinPublic -benchtime 2000x ./shared/dynamo/
func BenchmarkJoinPublic(b *testing.B) {
	client, _ := testClient(b)
	table := newTable(b, client)
	store, err := New(client, table, Options{CursorKey: testKey})
	if err != nil {
		b.Fatal(err)
	}
	counter, err := NewCounter(client, table)
	if err != nil {
		b.Fatal(err)
	}
	idp := inmem.NewIdentity(time.Now)
	svc, err := invite.NewService(invite.Config{Store: store, Batches: store, Identity: idp, Mailer: inmem.NewMailer(),
		PublicBaseURL: "https://doorman.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	join, err := invite.NewJoin(invite.JoinConfig{Invites: svc, Store: store, Counter: counter, RequestsPerHour: 1 << 30, MailsPerDay: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Config{Service: svc, Idempotency: store, Counter: counter,
		Join: httpapi.JoinConfig{Service: join, PerSourceMinute: -1, Floor: -1}})
	if err != nil {
		b.Fatal(err)
	}
	admin := invite.Actor{Sub: "auth0|bench", Name: "Bench", Permissions: []string{invite.PermCreate, invite.PermReview}}
	if _, err := join.PutPolicy(b.Context(), admin, invite.PolicyRequest{Default: invite.JoinRule{Mode: invite.JoinRequireApproval},
		Domains: map[string]invite.JoinRule{"denied.example": {Mode: invite.JoinDeny}}}); err != nil {
		b.Fatal(err)
	}
	_, token, err := join.CreateLink(b.Context(), admin, invite.LinkRequest{MaxUses: invite.MaxLinkUses})
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	run := time.Now().UnixNano()
	cases := []struct {
		name string
		req  func(n int64) *http.Request
		want int
	}{
		{"access-request", func(n int64) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/v1/access-requests", strings.NewReader(fmt.Sprintf(`{"email":"p%d-%d@example.com","name":"P"}`, run, n)))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, http.StatusAccepted},
		{"access-request-denied-domain", func(n int64) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/v1/access-requests", strings.NewReader(fmt.Sprintf(`{"email":"p%d-%d@denied.example"}`, run, n)))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, http.StatusAccepted},
		{"invite-link-redeem", func(n int64) *http.Request {
			form := url.Values{"email": {fmt.Sprintf("l%d-%d@example.com", run, n)}, "name": {"L"}}.Encode()
			r := httptest.NewRequest(http.MethodPost, "/j/"+token, strings.NewReader(form))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, http.StatusOK},
		{"invite-link-page", func(int64) *http.Request { return httptest.NewRequest(http.MethodGet, "/j/"+token, nil) }, http.StatusOK},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, c.req(seq.Add(1)))
					if rec.Code != c.want {
						b.Errorf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
