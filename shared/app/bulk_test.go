package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doormanhq/doorman/internal/testsupport/crash"
	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/config"
	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// bulkOptions shape a bulk run: the stand-in's rate limit (negative: none), the share
// of Management API requests answered 503 (half before Auth0 acted, half after), the
// chance of a worker crash at each port call boundary, and the workers in flight.
type bulkOptions struct {
	rate     float64
	burst    int
	fault5xx float64
	crashP   float64
	workers  int
}

// bulkRun is Doorman's bulk path assembled as in AWS, against DynamoDB Local, the
// local SES and the Auth0 stand-in over real connections: the API (app.New) queues a
// batch, and a worker service, built on the same adapters behind crash injection,
// works the queue.
type bulkRun struct {
	api     *app.App
	sim     *auth0sim.Sim
	proxy   *faultProxy
	queue   *inmem.Queue
	worker  *invite.Service
	crashes *crash.Injector
	sesURL  string
	tag     string // makes this run's addresses unique in the shared SES store
	member  auth0sim.Role
	org     auth0sim.Organization
}

func newBulkRun(tb testing.TB, o bulkOptions) *bulkRun {
	tb.Helper()
	ddb, sesURL, table, awsCfg := newTable(tb, "bulk")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	burst := max(o.burst, 1)
	sim := auth0sim.New(auth0sim.Options{RateLimit: o.rate, Burst: burst, ClientSecret: simSecret})
	proxy := &faultProxy{sim: sim, p: o.fault5xx, rnd: rand.New(rand.NewPCG(1, 2))}
	srv := httptest.NewServer(proxy)
	sim.SetBaseURL(srv.URL)
	tb.Cleanup(func() { srv.Close(); sim.Close() })

	r := &bulkRun{sim: sim, proxy: proxy, sesURL: sesURL, tag: fmt.Sprintf("%x", time.Now().UnixNano()),
		member: sim.CreateRole("member", "Can use the application"), org: sim.CreateOrganization("acme", "Acme Corporation")}
	r.queue = inmem.NewQueue(inmem.QueueOptions{Visibility: 200 * time.Millisecond, MaxReceives: 50})
	env := map[string]string{
		"TABLE_NAME": table, "AWS_REGION": "us-east-1", "DYNAMODB_ENDPOINT": ddb, "SES_ENDPOINT": sesURL,
		"AUTH0_DOMAIN": srv.URL, "AUTH0_CLIENT_ID": "doorman-m2m", "AUTH0_CLIENT_SECRET": simSecret,
		"AUTH0_CONNECTION": "Username-Password-Authentication", "AUTH0_CLIENT_ID_FOR_LOGIN": "bulk-app",
		"MAIL_FROM": "Doorman <invites@example.com>", "PUBLIC_BASE_URL": "https://invite.example.com",
		"APPLICATION_NAME": "Acme Portal", "GRANTABLE_ROLES": "member",
		// A batch's items count against the hourly cap; a thousand are more than its default.
		"INVITES_PER_HOUR": "0",
	}
	cfg, err := config.Load(ctx, func(k string) string { return env[k] }, nil, config.Worker)
	if err != nil {
		tb.Fatal(err)
	}
	r.api, err = app.New(ctx, cfg, awsCfg, app.Options{Logger: slog.New(slog.DiscardHandler), Queue: r.queue})
	if err != nil {
		tb.Fatal(err)
	}
	r.crashes = crash.NewInjector(o.crashP, 11)
	r.worker, err = invite.NewService(invite.Config{
		Store:         crash.Store{Store: r.api.Store, In: r.crashes},
		Batches:       crash.BatchStore{BatchStore: r.api.Store, In: r.crashes},
		Identity:      crash.Identity{Identity: r.api.Identity, In: r.crashes},
		Mailer:        crash.Mailer{Mailer: r.api.Mailer, In: r.crashes},
		PublicBaseURL: cfg.PublicBaseURL, ApplicationName: cfg.ApplicationName, LoginClientID: cfg.Auth0.LoginClientID,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// faultProxy stands in front of the Auth0 stand-in: it counts the Management API
// requests and the 429s the stand-in answers, and answers a share p of them 503 as
// Auth0 does in an incident, half before the stand-in sees the request and half after
// it acted (the answer lost).
type faultProxy struct {
	sim *auth0sim.Sim
	p   float64

	mu                sync.Mutex
	rnd               *rand.Rand
	admitted, limited atomic.Int64
	faulted           atomic.Int64
	firstAt, lastAt   atomic.Int64 // unix nanos of the first and last admitted request
}

func (f *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/v2/") {
		f.sim.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	roll, before := f.rnd.Float64(), f.rnd.IntN(2) == 0
	f.mu.Unlock()
	fault := roll < f.p
	if fault && before {
		f.faulted.Add(1)
		unavailable(w)
		return
	}
	rec := httptest.NewRecorder()
	f.sim.ServeHTTP(rec, r)
	switch rec.Code {
	case http.StatusTooManyRequests:
		f.limited.Add(1)
	default:
		now := time.Now().UnixNano()
		f.admitted.Add(1)
		f.firstAt.CompareAndSwap(0, now)
		f.lastAt.Store(now)
	}
	if fault && rec.Code < 400 {
		f.faulted.Add(1)
		unavailable(w)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func unavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, `{"statusCode":503,"error":"Service Unavailable","message":"The service is temporarily unavailable"}`)
}

// submit posts a batch of n invitations (every fifth to the organization) through the
// HTTP API and returns its id.
func (r *bulkRun) submit(tb testing.TB, n int) (string, []string) {
	tb.Helper()
	items := make([]map[string]any, n)
	emails := make([]string, n)
	for i := range items {
		emails[i] = fmt.Sprintf("bulk-%s-%04d@example.com", r.tag, i)
		items[i] = map[string]any{"email": emails[i], "name": fmt.Sprintf("Invitee %d", i), "roles": []string{r.member.ID}}
		if i%5 == 4 {
			items[i]["organization_id"] = r.org.ID
		}
	}
	body, err := json.Marshal(map[string]any{"invitations": items})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := httpapi.WithClaims(context.Background(), httpapi.Claims{Sub: "auth0|bulk", Name: "Bulk Admin",
		Permissions: []string{invite.PermCreate, invite.PermRead, invite.PermAdmin}})
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/invitation-batches", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	r.api.API.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		tb.Fatalf("POST /v1/invitation-batches: %d %s", rec.Code, rec.Body)
	}
	var out struct{ ID string }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		tb.Fatal(err)
	}
	return out.ID, emails
}

// work runs the worker until the queue is idle and returns the wall time.
func (r *bulkRun) work(tb testing.TB, workers int, limit time.Duration) time.Duration {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() { r.queue.Run(ctx, workers, r.worker.WorkBatchItem); close(done) }()
	wait, stop := context.WithTimeout(context.Background(), limit)
	defer stop()
	err := r.queue.WaitIdle(wait)
	elapsed := time.Since(start)
	cancel()
	<-done
	if err != nil {
		tb.Fatalf("queue not idle after %s: %v (stats %+v)", limit, err, r.queue.Stats())
	}
	return elapsed
}

// outcome is what a bulk run left behind, counted at the source of each side effect.
type outcome struct {
	succeeded, failed  int
	users, orgInvites  map[string]int // Auth0 users and organization invitations per email
	emails             map[string]int // emails in the local SES store per recipient
	sent, unconfirmed  int
	duplicates         int // emails with more than one user, invitation or email
	wrongState, wrongs []string
}

func (r *bulkRun) outcome(tb testing.TB, batchID string, emails []string) outcome {
	tb.Helper()
	ctx := context.Background()
	a := invite.Actor{Sub: "auth0|bulk", Permissions: []string{invite.PermRead, invite.PermAdmin}}
	view, err := r.api.Service.Batch(ctx, a, batchID, invite.MaxBatchItems, "")
	if err != nil {
		tb.Fatal(err)
	}
	o := outcome{succeeded: view.Batch.Succeeded, failed: view.Batch.Failed,
		users: map[string]int{}, orgInvites: map[string]int{}, emails: map[string]int{}}
	for _, u := range r.sim.Users() {
		o.users[u.Email]++
	}
	for _, oi := range r.sim.OrgInvitations(r.org.ID) {
		o.orgInvites[oi.Email]++
	}
	for _, e := range localaws.Emails(tb, r.sesURL) {
		for _, to := range e.Destination.To {
			o.emails[to]++
		}
	}
	for i, it := range view.Page.Items {
		email := emails[i]
		if o.users[email]+o.orgInvites[email] > 1 || o.emails[email] > 1 {
			o.duplicates++
		}
		if it.Status != invite.ItemSucceeded {
			o.wrongs = append(o.wrongs, fmt.Sprintf("item %d %s: %+v", i, it.Status, it.Problem))
			continue
		}
		inv, err := r.api.Store.Get(ctx, it.ResultID)
		if err != nil {
			tb.Fatal(err)
		}
		ok := inv.Status == invite.StatusPending && inv.Email == email
		if inv.Kind == invite.KindOrganization {
			ok = ok && o.orgInvites[email] == 1 && inv.Auth0InvitationID != ""
		} else {
			ok = ok && o.users[email] == 1 && inv.Auth0UserID != "" && slices.Equal(r.sim.UserRoles(inv.Auth0UserID), []string{r.member.ID})
		}
		switch inv.Delivery.Status {
		case invite.DeliverySent:
			o.sent++
			ok = ok && o.emails[email] == 1
		case invite.DeliveryUnconfirmed:
			o.unconfirmed++
		default:
			ok = false
		}
		if !ok {
			o.wrongState = append(o.wrongState, fmt.Sprintf("item %d: %s %s delivery %s, users %d, org invitations %d, emails %d",
				i, inv.Kind, inv.Status, inv.Delivery.Status, o.users[email], o.orgInvites[email], o.emails[email]))
		}
	}
	return o
}

// TestBulkExactlyOnceUnderFaults is the proof: a thousand invitations, with 5%
// of Management API requests failing 503 (half of them after Auth0 acted) and workers
// dying at random call boundaries, every item ends succeeded, with one Auth0 user or
// organization invitation per invitee and never a second email.
func TestBulkExactlyOnceUnderFaults(t *testing.T) {
	r := newBulkRun(t, bulkOptions{rate: 200, burst: 50, fault5xx: 0.05, crashP: 0.005, workers: 10})
	id, emails := r.submit(t, 1000)
	elapsed := r.work(t, 10, 5*time.Minute)
	o := r.outcome(t, id, emails)
	if o.succeeded != 1000 || o.failed != 0 {
		t.Errorf("batch: %d succeeded, %d failed; want 1000, 0 (%v)", o.succeeded, o.failed, first(o.wrongs, 5))
	}
	if len(o.wrongState) > 0 {
		t.Errorf("%d items in the wrong state, e.g. %v", len(o.wrongState), first(o.wrongState, 5))
	}
	if o.duplicates != 0 {
		t.Errorf("%d invitees with a duplicate user, organization invitation or email", o.duplicates)
	}
	if got := o.sent + o.unconfirmed; got != 1000 {
		t.Errorf("deliveries sent %d + unconfirmed %d = %d, want 1000", o.sent, o.unconfirmed, got)
	}
	c := r.crashes.Crashes()
	if o.unconfirmed > c["store.Update/after"]+c["mailer.Send/before"]+c["mailer.Send/after"]+c["store.Update/before"] {
		t.Errorf("%d unconfirmed deliveries is more than the crashes that can cause one (%v)", o.unconfirmed, c)
	}
	if r.proxy.faulted.Load() < 50 || r.crashes.Total() < 20 {
		t.Errorf("only %d 503s and %d crashes were injected; the test proves little", r.proxy.faulted.Load(), r.crashes.Total())
	}
	t.Logf("1000 items in %s: %d 503s injected, %d crashes, %d redeliveries, %d dead; %d emails sent, %d unconfirmed; %d Auth0 requests, %d 429s",
		elapsed.Round(time.Millisecond), r.proxy.faulted.Load(), r.crashes.Total(), r.queue.Stats().Redelivered, len(r.queue.Dead()),
		o.sent, o.unconfirmed, r.proxy.admitted.Load(), r.proxy.limited.Load())
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// BenchmarkBulk invites 1,000 people (four in five to the application, one in five to
// an organization) against the stand-in limited to 10 and to 50 requests per second,
// burst 10, with ten workers and the limiter starting from its default estimate (2/s).
// It reports the achieved Management API rate over the limit, the wall time, the 429s
// the stand-in answered, failed items and duplicates. One iteration is one batch:
// run with -benchtime 1x.
func BenchmarkBulk(b *testing.B) {
	for _, rate := range []float64{10, 50} {
		b.Run(fmt.Sprintf("%grps", rate), func(b *testing.B) {
			for b.Loop() {
				r := newBulkRun(b, bulkOptions{rate: rate, burst: 10, workers: 10})
				id, emails := r.submit(b, 1000)
				elapsed := r.work(b, 10, 20*time.Minute)
				o := r.outcome(b, id, emails)
				span := time.Duration(r.proxy.lastAt.Load() - r.proxy.firstAt.Load())
				achieved := float64(r.proxy.admitted.Load()) / span.Seconds()
				b.ReportMetric(achieved/rate, "rate/limit")
				b.ReportMetric(elapsed.Seconds(), "wall-s")
				b.ReportMetric(float64(r.proxy.limited.Load()), "429s")
				b.ReportMetric(float64(o.failed+len(o.wrongState)), "failed")
				b.ReportMetric(float64(o.duplicates), "duplicates")
				b.ReportMetric(float64(r.proxy.admitted.Load()), "auth0-requests")
				st := r.api.Limiter.Stats()
				b.Logf("%g rps: %d requests in %s (%.2f/s, %.3f of the limit), wall %s, %d 429s, failed %d, duplicates %d; limiter learned %.2f/s burst %d",
					rate, r.proxy.admitted.Load(), span.Round(time.Millisecond), achieved, achieved/rate, elapsed.Round(time.Millisecond),
					r.proxy.limited.Load(), o.failed+len(o.wrongState), o.duplicates, st.Rate, st.Burst)
			}
		})
	}
}
