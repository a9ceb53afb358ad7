package dynamo

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/auth0"
	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/invite/storetest"
)

// TestSweepOnDynamo runs the sweeper on DynamoDB Local: expiry of what is due and
// only that, and one reminder with two concurrent sweeps.
func TestSweepOnDynamo(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.Clock.Now()
	for i := range 3 {
		inv := f.Invitation(fmt.Sprintf("inv_old%d", i), fmt.Sprintf("old%d@example.com", i))
		inv.ExpiresAt = now.Add(-time.Minute)
		f.Create(t, inv)
	}
	remind := f.Invitation("inv_remind", "remind@example.com")
	remind.Delivery = invite.Delivery{Status: invite.DeliverySent, Sends: 1}
	remind.CreatedAt, remind.ExpiresAt = now.Add(-6*24*time.Hour), now.Add(time.Hour)
	f.Create(t, remind)

	mail := inmem.NewMailer()
	svc, err := invite.NewService(invite.Config{
		Store: f.store, Batches: f.store, Identity: inmem.NewIdentity(f.Clock.Now), Mailer: mail,
		Now: f.Clock.Now, PublicBaseURL: "https://doorman.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]invite.SweepResult, 2)
	for i := range results {
		s, err := invite.NewSweeper(invite.SweeperConfig{Service: svc, Store: f.store})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			res, err := s.Run(ctx, time.Time{})
			if err != nil {
				t.Errorf("Run: %v", err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	if got := results[0].Expired + results[1].Expired; got != 3 {
		t.Errorf("expired %d in two sweeps, want 3 (results %+v)", got, results)
	}
	if got := len(mail.SentTo("remind@example.com")); got != 1 {
		t.Errorf("%d reminders sent by two sweeps, want 1", got)
	}
	for i := range 3 {
		inv, err := f.store.Get(ctx, fmt.Sprintf("inv_old%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if inv.Status != invite.StatusExpired {
			t.Errorf("%s is %s, want expired", inv.ID, inv.Status)
		}
	}
	if inv, err := f.store.Get(ctx, "inv_remind"); err != nil || inv.Status != invite.StatusPending {
		t.Errorf("inv_remind = %v, %v; want pending", inv, err)
	}
}

// SeedSweep writes total pending invitations of which expired have expired by now,
// (with their reservations) with BatchWriteItem; the others expire from 3 to 30 days after now.
func SeedSweep(ctx context.Context, client *dynamodb.Client, table string, now time.Time, total, expired int) error {
	var batch []types.WriteRequest
	flush := func() error {
		req := map[string][]types.WriteRequest{table: batch}
		for len(req[table]) > 0 {
			out, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
			if err != nil {
				return err
			}
			req = out.UnprocessedItems
		}
		batch = nil
		return nil
	}
	for i := range total {
		created := now.Add(-time.Duration(i%1000) * time.Minute)
		expires := now.Add(3*24*time.Hour + time.Duration(i)*20*time.Second)
		if i < expired {
			created, expires = now.Add(-8*24*time.Hour), now.Add(-time.Duration(i+1)*time.Second)
		}
		inv := &invite.Invitation{
			ID: fmt.Sprintf("inv_%06d", i), Kind: invite.KindApplication,
			Email: fmt.Sprintf("user%06d@example.com", i), Name: "Invitee", Roles: []string{"rol_reader"},
			Inviter: invite.Inviter{Sub: "auth0|admin", Name: "Admin"}, Status: invite.StatusPending,
			CreatedAt: created, ExpiresAt: expires,
			TokenHash: fmt.Sprintf("hash-%06d", i), Delivery: invite.Delivery{Status: invite.DeliverySent, Sends: 1},
			History: []invite.Event{{Event: invite.EventCreated, At: created, Actor: "auth0|admin"}},
			Version: 1,
		}
		item, err := invitationItem(inv, DefaultExpiryShards, 0)
		if err != nil {
			return err
		}
		reservation := pointerItem(reservationKey(inv.Scope(), invite.EmailKey(inv.Email)), inv.ID, 0)
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}},
			types.WriteRequest{PutRequest: &types.PutRequest{Item: reservation}})
		if len(batch) >= 24 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 {
		return flush()
	}
	return nil
}

// BenchmarkSweep seeds 100,000 invitations of which 1,000 have expired and measures
// one full sweep: capacity units read per expired invitation and time per 1,000
// expirations. Each iteration reseeds a fresh table (outside the timer).
func BenchmarkSweep(b *testing.B) {
	const total, expired = 100_000, 1_000
	ctx := context.Background()
	client, meter := testClient(b)
	for b.Loop() {
		b.StopTimer()
		table := newTable(b, client)
		clk := storetest.NewClock()
		store, err := New(client, table, Options{CursorKey: testKey, Now: clk.Now})
		if err != nil {
			b.Fatal(err)
		}
		if err := SeedSweep(ctx, client, table, clk.Now(), total, expired); err != nil {
			b.Fatalf("seed: %v", err)
		}
		svc, err := invite.NewService(invite.Config{
			Store: store, Batches: store, Identity: inmem.NewIdentity(clk.Now), Mailer: inmem.NewMailer(),
			Now: clk.Now, PublicBaseURL: "https://doorman.example.com",
		})
		if err != nil {
			b.Fatal(err)
		}
		// Reminders off: the seeded invitations that are not expired all lie beyond
		// the default 48-hour lead anyway.
		s, err := invite.NewSweeper(invite.SweeperConfig{Service: svc, Store: store, ReminderBefore: -1})
		if err != nil {
			b.Fatal(err)
		}
		meter.Reset()
		b.StartTimer()
		began := time.Now()
		res, err := s.Run(ctx, time.Time{})
		elapsed := time.Since(began)
		b.StopTimer()
		if err != nil || res.Expired != expired {
			b.Fatalf("Run = %+v, %v; want %d expired", res, err, expired)
		}
		u := meter.Usage()
		b.ReportMetric(u.ReadCapacityUnits/float64(expired), "read-units/expired")
		b.ReportMetric(elapsed.Seconds()*1000/float64(expired)*1000, "ms/1000-expired")
		b.StartTimer()
	}
}

// BenchmarkSweepAuth0 expires application invitations whose Auth0 users (created by
// Doorman, never logged in) live in the Auth0 stand-in, reached over HTTP through the
// real adapter: each expiry reconciles (GetUser) and deletes the user.
//
// unthrottled: 1,000 expired, one run, time per 1,000 expirations.
// 2rps: the stand-in at 2 requests per second (burst 2), scaled to 100 expired and
// runs of 10 s of budget (1 s margin), back to back; reports the runs it took and
// fails if any invitation ends other than expired.
func BenchmarkSweepAuth0(b *testing.B) {
	cases := []struct {
		name    string
		expired int
		rps     float64
		budget  time.Duration
	}{
		{name: "unthrottled", expired: 1000, rps: -1},
		{name: "2rps", expired: 100, rps: 2, budget: 10 * time.Second},
		// The full case: about 25 minutes at 2 requests per second. Run it
		// alone: -bench 'SweepAuth0/2rps-1000' -benchtime 1x -timeout 60m.
		{name: "2rps-1000", expired: 1000, rps: 2, budget: time.Minute},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			client, meter := testClient(b)
			for b.Loop() {
				b.StopTimer()
				table := newTable(b, client)
				store, err := New(client, table, Options{CursorKey: testKey})
				if err != nil {
					b.Fatal(err)
				}
				sim := auth0sim.NewTestServer(b, auth0sim.Options{RateLimit: -1})
				now := time.Now()
				ids := make([]string, tc.expired)
				for i := range tc.expired {
					u := sim.AddUser(auth0sim.User{Email: fmt.Sprintf("user%04d@example.com", i)})
					inv := &invite.Invitation{
						ID: fmt.Sprintf("inv_%04d", i), Kind: invite.KindApplication, Email: u.Email, Name: "Invitee",
						Inviter: invite.Inviter{Sub: "auth0|admin", Name: "Admin"}, Status: invite.StatusPending,
						CreatedAt: now.Add(-8 * 24 * time.Hour), ExpiresAt: now.Add(-time.Duration(i+1) * time.Second),
						Auth0UserID: u.ID, UserCreated: true,
						Delivery: invite.Delivery{Status: invite.DeliverySent, Sends: 1},
						History:  []invite.Event{{Event: invite.EventCreated, At: now, Actor: "auth0|admin"}},
						Version:  1,
					}
					if err := store.Create(ctx, inv); err != nil {
						b.Fatal(err)
					}
					ids[i] = inv.ID
				}
				sim.SetRateLimit(tc.rps, 2)
				idp, err := auth0.New(ctx, auth0.Config{
					Domain: sim.BaseURL(), ClientID: "doorman-m2m", ClientSecret: "doorman-m2m-secret",
					Connection: "Username-Password-Authentication", Logger: slog.New(slog.DiscardHandler),
				})
				if err != nil {
					b.Fatal(err)
				}
				svc, err := invite.NewService(invite.Config{
					Store: store, Batches: store, Identity: idp, Mailer: inmem.NewMailer(), PublicBaseURL: "https://doorman.example.com",
				})
				if err != nil {
					b.Fatal(err)
				}
				s, err := invite.NewSweeper(invite.SweeperConfig{Service: svc, Store: store, Margin: time.Second})
				if err != nil {
					b.Fatal(err)
				}
				meter.Reset()
				b.StartTimer()
				began := time.Now()
				expired, runs := 0, 0
				for expired < tc.expired && runs < 100 {
					runs++
					var deadline time.Time
					if tc.budget > 0 {
						deadline = time.Now().Add(tc.budget)
					}
					res, err := s.Run(ctx, deadline)
					if err != nil {
						b.Fatalf("run %d: %v", runs, err)
					}
					expired += res.Expired
				}
				elapsed := time.Since(began)
				b.StopTimer()
				for _, id := range ids {
					inv, err := store.Get(ctx, id)
					if err != nil {
						b.Fatal(err)
					}
					if inv.Status != invite.StatusExpired {
						b.Errorf("%s is %s, want expired", id, inv.Status)
					}
					for _, e := range inv.History {
						if e.Event == invite.EventCleanupFailed {
							b.Logf("%s: cleanup failed: %s", id, e.Detail)
						}
					}
				}
				b.ReportMetric(float64(runs), "runs")
				b.ReportMetric(elapsed.Seconds()*1000/float64(tc.expired)*1000, "ms/1000-expired")
				b.ReportMetric(float64(sim.TotalCalls()), "auth0-calls")
				b.StartTimer()
			}
		})
	}
}
