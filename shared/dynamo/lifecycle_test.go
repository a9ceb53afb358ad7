package dynamo

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/shared/dynamo/dynamotest"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// lifecycleSteps are the steps BenchmarkLifecycle meters, in the order it reports them.
var lifecycleSteps = []string{"create", "open", "continue", "accept", "expire", "revoke"}

// lifecycle runs invitations through their life on a store, through the real
// service with the in-memory Auth0 and mailer, and meters each step.
type lifecycle struct {
	f        *fixture
	svc      *invite.Service
	acceptor *invite.Acceptor
	mailer   *inmem.Mailer
	admin    invite.Actor

	runs          int
	units, writes map[string]float64
	// Of the last run, for the log.
	requests map[string][]dynamotest.Request
	sizes    map[string]int // the accepted invitation's item after each step
}

const lifecycleTTL = 24 * time.Hour

func newLifecycle(tb testing.TB) *lifecycle {
	f := newFixture(tb)
	idp := inmem.NewIdentity(f.Clock.Now)
	idp.AddRoles("rol_viewer")
	admin := invite.Actor{Sub: "auth0|admin", Name: "Ada Admin", Permissions: []string{invite.PermCreate, invite.PermRead, invite.PermUpdate, invite.PermDelete}}
	idp.AddInviter(admin.Sub, []string{"rol_viewer"}, nil)
	mailer := inmem.NewMailer()
	svc, err := invite.NewService(invite.Config{
		Logger: slog.New(slog.DiscardHandler), Store: f.store, Batches: f.store, Identity: idp, Mailer: mailer,
		Now: f.Clock.Now, PublicBaseURL: "https://doorman.example.com", Ceiling: invite.Ceiling{Roles: []string{"rol_viewer"}},
		ApplicationURL: "https://app.example.com/", LoginClientID: "client_login",
	})
	if err != nil {
		tb.Fatalf("NewService: %v", err)
	}
	acceptor, err := invite.NewAcceptor(invite.AcceptorConfig{Service: svc, Store: f.store})
	if err != nil {
		tb.Fatalf("NewAcceptor: %v", err)
	}
	return &lifecycle{
		f: f, svc: svc, acceptor: acceptor, mailer: mailer, admin: admin,
		units: map[string]float64{}, writes: map[string]float64{},
		requests: map[string][]dynamotest.Request{}, sizes: map[string]int{},
	}
}

// create is a whole API create; it returns the invitation and the token of its link.
func (l *lifecycle) create(tb testing.TB, email string) (*invite.Invitation, string) {
	c, err := l.svc.Create(context.Background(), l.admin, invite.CreateRequest{Email: email, Name: "Ann", Roles: []string{"rol_viewer"}, TTL: lifecycleTTL, SendEmail: true})
	if err != nil {
		tb.Fatalf("Create %s: %v", email, err)
	}
	sent := l.mailer.SentTo(email)
	if len(sent) == 0 {
		tb.Fatalf("no email to %s", email)
	}
	link := sent[len(sent)-1].Link
	return c.Invitation, link[strings.LastIndexByte(link, '/')+1:]
}

// run takes one application invitation from create to accept, and two more to their
// revocation and expiry, metering each step; pause and resume bracket what is not
// metered (a benchmark's timer).
func (l *lifecycle) run(tb testing.TB, pause, resume func()) {
	ctx := context.Background()
	f := l.f
	l.runs++
	i := l.runs
	var accepted *invite.Invitation
	metered := func(step string, fn func() error) {
		f.meter.Reset()
		if err := fn(); err != nil {
			tb.Fatalf("%s: %v", step, err)
		}
		u := f.meter.Usage()
		l.units[step] += u.CapacityUnits
		l.writes[step] += u.CapacityUnits - u.ReadCapacityUnits
		l.requests[step] = f.meter.Requests()
		if accepted != nil {
			out, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &f.table, Key: invitationKey(accepted.ID)})
			if err == nil {
				l.sizes[step] = itemSize(out.Item)
			}
		}
	}
	// Each invitation is read back from the store by the step after it, as the
	// functions do; nothing is carried over in memory.
	var token string
	metered("create", func() error {
		accepted, token = l.create(tb, fmt.Sprintf("ann%d@example.com", i))
		return nil
	})
	metered("open", func() error { _, err := l.svc.Landing(ctx, token); return err })
	metered("continue", func() error { _, err := l.svc.Continue(ctx, token); return err })
	metered("accept", func() error {
		res, err := l.acceptor.Apply(ctx, []invite.IdentityEvent{{
			LogID: fmt.Sprintf("log-%d", i), Type: invite.LogSuccessLogin, At: f.Clock.Now(), UserID: accepted.Auth0UserID,
		}})
		if err == nil && res.Applied != 1 {
			err = fmt.Errorf("applied %d events, want 1", res.Applied)
		}
		return err
	})
	pause()
	expiring, _ := l.create(tb, fmt.Sprintf("eve%d@example.com", i))
	revoked, _ := l.create(tb, fmt.Sprintf("rob%d@example.com", i))
	resume()
	metered("revoke", func() error { _, err := l.svc.Revoke(ctx, l.admin, revoked.ID); return err })
	pause()
	f.Clock.Advance(lifecycleTTL + time.Second)
	resume()
	metered("expire", func() error { _, err := l.svc.Expire(ctx, expiring.ID); return err })
	pause()
	f.Clock.Advance(time.Second)
	resume()
}

// perInvitation returns the mean write units of step per run; "invitation" is
// create → open → continue → accept.
func (l *lifecycle) perInvitation(step string) float64 {
	if step == "invitation" {
		var sum float64
		for _, s := range []string{"create", "open", "continue", "accept"} {
			sum += l.writes[s]
		}
		return sum / float64(l.runs)
	}
	return l.writes[step] / float64(l.runs)
}

func (l *lifecycle) log(tb testing.TB) {
	for _, step := range lifecycleSteps {
		tb.Logf("%-8s %5.1f capacity units (%4.1f write) per invitation; invitation item %d B after it", step, l.units[step]/float64(l.runs), l.perInvitation(step), l.sizes[step])
		for _, r := range l.requests[step] {
			tb.Logf("           %v", r)
		}
	}
}

// TestLifecycleWriteUnits holds the write units of an application invitation's life
// on DynamoDB Local to their goals: at most 12 for a whole create (stored,
// provisioned, emailed), at most 30 from create to accepted. Each request's units by
// table and index are logged (go test -v).
func TestLifecycleWriteUnits(t *testing.T) {
	l := newLifecycle(t)
	l.run(t, func() {}, func() {})
	l.log(t)
	for step, most := range map[string]float64{"create": 12, "invitation": 30} {
		if got := l.perInvitation(step); got > most {
			t.Errorf("%s: %v write units, want at most %v", step, got, most)
		}
	}
}

// BenchmarkLifecycle meters the capacity units of each step of an invitation's life,
// through the real service on this store with the in-memory Auth0 and mailer: a whole
// API create (stored, provisioned, emailed), the invitee opening the link (Landing),
// continuing to Auth0 (Continue), the first login accepting it through the log-stream
// webhook, and apart from that one an invitation the sweeper expires and one an
// administrator revokes. "invitation" is create → open → continue → accept. The log
// (-v) shows each request of the last run, with its units by table and index.
func BenchmarkLifecycle(b *testing.B) {
	l := newLifecycle(b)
	for b.Loop() {
		l.run(b, b.StopTimer, b.StartTimer)
	}
	l.log(b)
	for _, step := range lifecycleSteps {
		b.ReportMetric(l.units[step]/float64(l.runs), step+"-cu/op")
		b.ReportMetric(l.perInvitation(step), step+"-wcu/op")
	}
	var whole float64
	for _, s := range []string{"create", "open", "continue", "accept"} {
		whole += l.units[s]
	}
	b.ReportMetric(whole/float64(l.runs), "invitation-cu/op")
	b.ReportMetric(l.perInvitation("invitation"), "invitation-wcu/op")
}
