package dynamo

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/dynamo/dynamotest"
	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/invite/storetest"
)

const seedSize = 10_000

// seeded is one table of seedSize pending invitations shared by the read benchmarks,
// which the framework calls several times each; TestMain deletes it.
var seeded struct {
	once    sync.Once
	client  *dynamodb.Client
	table   string
	start   time.Time
	err     error
	elapsed time.Duration
}

func TestMain(m *testing.M) {
	code := m.Run()
	if seeded.table != "" {
		if _, err := seeded.client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(seeded.table)}); err != nil {
			fmt.Fprintf(os.Stderr, "delete table %s: %v\n", seeded.table, err)
		}
	}
	os.Exit(code)
}

// seededStore returns a metered Store on the shared seeded table.
func seededStore(b *testing.B) (*Store, *dynamotest.Meter) {
	b.Helper()
	client, meter := testClient(b)
	seeded.once.Do(func() {
		seeded.client = client
		seeded.table = fmt.Sprintf("doorman-bench-%d", time.Now().UnixNano())
		seeded.start = storetest.NewClock().Now()
		began := time.Now()
		seeded.err = seed(client, seeded.table, seeded.start)
		seeded.elapsed = time.Since(began)
	})
	if seeded.err != nil {
		b.Fatalf("seed: %v", seeded.err)
	}
	b.Logf("seeded %d invitations in %v", seedSize, seeded.elapsed.Round(time.Millisecond))
	s, err := New(client, seeded.table, Options{CursorKey: testKey})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	return s, meter
}

// seed writes seedSize pending application invitations, one second apart, expiring one
// minute apart, with BatchWriteItem from a few workers.
func seed(client *dynamodb.Client, table string, start time.Time) error {
	ctx := context.Background()
	if err := EnsureTable(ctx, client, table); err != nil {
		return err
	}
	batches := make(chan []types.WriteRequest)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for reqs := range batches {
				req := map[string][]types.WriteRequest{table: reqs}
				for len(req[table]) > 0 {
					out, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
					if err != nil {
						errs <- err
						return
					}
					req = out.UnprocessedItems
				}
			}
		})
	}
	var batch []types.WriteRequest
	for i := range seedSize {
		created := start.Add(time.Duration(i) * time.Second)
		inv := &invite.Invitation{
			ID: fmt.Sprintf("inv_%05d", i), Kind: invite.KindApplication,
			Email: fmt.Sprintf("user%05d@example.com", i), Name: "Invitee", Roles: []string{"rol_reader"},
			Inviter: invite.Inviter{Sub: "auth0|admin", Name: "Admin"}, Status: invite.StatusPending,
			CreatedAt: created, ExpiresAt: created.Add(time.Duration(i) * time.Minute),
			TokenHash: fmt.Sprintf("hash-%05d", i), Delivery: invite.Delivery{Status: invite.DeliverySent, Sends: 1},
			History: []invite.Event{{Event: invite.EventCreated, At: created, Actor: "auth0|admin"}},
			Version: 1,
		}
		item, err := invitationItem(inv, DefaultExpiryShards, 0)
		if err != nil {
			return err
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 {
			select {
			case batches <- batch:
			case err := <-errs:
				close(batches)
				return err
			}
			batch = nil
		}
	}
	close(batches)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func report(b *testing.B, meter *dynamotest.Meter) {
	u := meter.Usage()
	b.ReportMetric(float64(u.Requests)/float64(b.N), "ddb-requests/op")
	b.ReportMetric(u.CapacityUnits/float64(b.N), "capacity-units/op")
}

func BenchmarkCreate(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	invs := make([]*invite.Invitation, b.N)
	for i := range invs {
		invs[i] = f.Invitation(fmt.Sprintf("inv_%07d", i), fmt.Sprintf("user%07d@example.com", i))
		invs[i].Auth0UserID = fmt.Sprintf("auth0|%07d", i)
	}
	b.ReportAllocs()
	f.meter.Reset()
	b.ResetTimer()
	for i := range b.N {
		if err := f.store.Create(ctx, invs[i]); err != nil {
			b.Fatalf("Create: %v", err)
		}
	}
	b.StopTimer()
	report(b, f.meter)
}

// BenchmarkUpdate changes what a delivery update changes: no index key and no
// projected attribute, so no index is written.
func BenchmarkUpdate(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	prev := f.Create(b, f.Invitation("inv_1", "ann@example.com"))
	b.ReportAllocs()
	f.meter.Reset()
	b.ResetTimer()
	for i := range b.N {
		next := prev.Clone()
		next.Delivery.Sends = i + 1
		if err := f.store.Update(ctx, prev, next); err != nil {
			b.Fatalf("Update: %v", err)
		}
		prev = next
	}
	b.StopTimer()
	report(b, f.meter)
}

func BenchmarkGet(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	inv := f.Create(b, f.Invitation("inv_1", "ann@example.com"))
	for _, bm := range []struct {
		name string
		get  func() error
	}{
		{"id", func() error { _, err := f.store.Get(ctx, inv.ID); return err }},
		{"token", func() error { _, err := f.store.GetByTokenHash(ctx, inv.TokenHash); return err }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			f.meter.Reset()
			b.ResetTimer()
			for range b.N {
				if err := bm.get(); err != nil {
					b.Fatalf("get: %v", err)
				}
			}
			b.StopTimer()
			report(b, f.meter)
		})
	}
}

func BenchmarkList(b *testing.B) {
	s, meter := seededStore(b)
	ctx := context.Background()
	for _, bm := range []struct {
		name string
		q    invite.ListQuery
	}{
		{"scope", invite.ListQuery{Scope: invite.ScopeApplication, Limit: 50}},
		{"status", invite.ListQuery{Scope: invite.ScopeApplication, Status: invite.StatusPending, Limit: 50}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			// Every op reads the next page, starting over at the end.
			q := bm.q
			b.ReportAllocs()
			meter.Reset()
			b.ResetTimer()
			for range b.N {
				page, err := s.List(ctx, q)
				if err != nil {
					b.Fatalf("List: %v", err)
				}
				if len(page.Invitations) != 50 && page.NextCursor != "" {
					b.Fatalf("page of %d invitations, want 50", len(page.Invitations))
				}
				q.Cursor = page.NextCursor
			}
			b.StopTimer()
			report(b, meter)
		})
	}
}

func BenchmarkExpiringBefore(b *testing.B) {
	s, meter := seededStore(b)
	ctx := context.Background()
	cutoff := seeded.start.Add(365 * 24 * time.Hour) // every seeded invitation
	cursor := ""
	b.ReportAllocs()
	meter.Reset()
	b.ResetTimer()
	for range b.N {
		page, err := s.ExpiringBefore(ctx, cutoff, 100, cursor)
		if err != nil {
			b.Fatalf("ExpiringBefore: %v", err)
		}
		if len(page.Invitations) != 100 && page.NextCursor != "" {
			b.Fatalf("page of %d invitations, want 100", len(page.Invitations))
		}
		cursor = page.NextCursor
	}
	b.StopTimer()
	report(b, meter)
}
