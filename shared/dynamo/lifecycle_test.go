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

// BenchmarkLifecycle meters the capacity units of each step of an invitation's life,
// through the real service on this store with the in-memory Auth0 and mailer: a whole
// API create (stored, provisioned, emailed), the invitee opening the link (Landing),
// continuing to Auth0 (Continue), the first login accepting it through the log-stream
// webhook, and apart from that one an invitation the sweeper expires and one an
// administrator revokes. "invitation" is create → open → continue → accept.
func BenchmarkLifecycle(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
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
		b.Fatalf("NewService: %v", err)
	}
	acceptor, err := invite.NewAcceptor(invite.AcceptorConfig{Service: svc, Store: f.store})
	if err != nil {
		b.Fatalf("NewAcceptor: %v", err)
	}
	const ttl = 24 * time.Hour
	create := func(email string) (*invite.Invitation, string) {
		c, err := svc.Create(ctx, admin, invite.CreateRequest{Email: email, Name: "Ann", Roles: []string{"rol_viewer"}, TTL: ttl, SendEmail: true})
		if err != nil {
			b.Fatalf("Create %s: %v", email, err)
		}
		sent := mailer.SentTo(email)
		if len(sent) == 0 {
			b.Fatalf("no email to %s", email)
		}
		link := sent[len(sent)-1].Link
		return c.Invitation, link[strings.LastIndexByte(link, '/')+1:]
	}

	units, writes := map[string]float64{}, map[string]float64{}
	requests := map[string]map[string]int64{} // of the last iteration, for the log
	detail := map[string][]dynamotest.Request{}
	sizes := map[string]int{}
	var accepted *invite.Invitation
	metered := func(step string, run func() error) {
		f.meter.Reset()
		if err := run(); err != nil {
			b.Fatalf("%s: %v", step, err)
		}
		u := f.meter.Usage()
		units[step] += u.CapacityUnits
		writes[step] += u.CapacityUnits - u.ReadCapacityUnits
		requests[step] = u.Operations
		detail[step] = f.meter.Requests()
		if accepted != nil {
			out, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &f.table, Key: invitationKey(accepted.ID)})
			if err == nil {
				sizes[step] = itemSize(out.Item)
			}
		}
	}
	i := 0
	for b.Loop() {
		i++
		b.StopTimer()
		// Each invitation is read back from the store by the step after it, as the
		// functions do; nothing is carried over in memory.
		var expiring, revoked *invite.Invitation
		var token string
		b.StartTimer()
		metered("create", func() error {
			accepted, token = create(fmt.Sprintf("ann%d@example.com", i))
			return nil
		})
		metered("open", func() error { _, err := svc.Landing(ctx, token); return err })
		metered("continue", func() error { _, err := svc.Continue(ctx, token); return err })
		metered("accept", func() error {
			res, err := acceptor.Apply(ctx, []invite.IdentityEvent{{
				LogID: fmt.Sprintf("log-%d", i), Type: invite.LogSuccessLogin, At: f.Clock.Now(), UserID: accepted.Auth0UserID,
			}})
			if err == nil && res.Applied != 1 {
				err = fmt.Errorf("applied %d events, want 1", res.Applied)
			}
			return err
		})
		b.StopTimer()
		expiring, _ = create(fmt.Sprintf("eve%d@example.com", i))
		revoked, _ = create(fmt.Sprintf("rob%d@example.com", i))
		b.StartTimer()
		metered("revoke", func() error { _, err := svc.Revoke(ctx, admin, revoked.ID); return err })
		b.StopTimer()
		f.Clock.Advance(ttl + time.Second)
		b.StartTimer()
		metered("expire", func() error { _, err := svc.Expire(ctx, expiring.ID); return err })
		b.StopTimer()
		f.Clock.Advance(time.Second)
		b.StartTimer()
	}
	var whole, wholeWrites float64
	for _, step := range lifecycleSteps {
		b.Logf("%-8s %5.1f capacity units (%4.1f write) per invitation; requests %v; invitation item %d B", step, units[step]/float64(i), writes[step]/float64(i), requests[step], sizes[step])
		for _, r := range detail[step] {
			b.Logf("           %v", r)
		}
		b.ReportMetric(units[step]/float64(i), step+"-cu/op")
		b.ReportMetric(writes[step]/float64(i), step+"-wcu/op")
		if step != "expire" && step != "revoke" {
			whole += units[step]
			wholeWrites += writes[step]
		}
	}
	b.ReportMetric(whole/float64(i), "invitation-cu/op")
	b.ReportMetric(wholeWrites/float64(i), "invitation-wcu/op")
}
