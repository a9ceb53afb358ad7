package dynamo

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

func newBatch(f *fixture, id string, n int) (*invite.Batch, []*invite.BatchItem) {
	now := f.clock.Now()
	actor := invite.Actor{Sub: "auth0|admin", Name: "Ada Ünicode", Permissions: []string{invite.PermCreate}, OrgID: "org_acme"}
	b := &invite.Batch{ID: id, Actor: actor, Total: n, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour).Truncate(time.Second)}
	items := make([]*invite.BatchItem, n)
	for i := range items {
		items[i] = &invite.BatchItem{
			BatchID: id, Index: i, InvitationID: seq("INV", i), Actor: actor, Status: invite.ItemQueued,
			Request: invite.CreateRequest{
				Email: fmt.Sprintf("p%03d@example.com", i), Name: "Zoë", OrganizationID: "org_acme", Roles: []string{"rol_a"},
				AppMetadata: map[string]any{"plan": "pro", "seats": float64(3)}, TTL: 48 * time.Hour, SendEmail: i%2 == 0,
				Locale: "de", Message: "Willkommen", OnConflict: invite.OnConflictResend,
			},
		}
	}
	return b, items
}

func TestBatchRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	b, items := newBatch(f, "B1", 60) // more than one BatchWriteItem
	if err := f.store.CreateBatch(ctx, b, items); err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	wantCode(t, f.store.CreateBatch(ctx, b, items), invite.CodeConflict)

	got, err := f.store.GetBatch(ctx, "B1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Errorf("GetBatch = %+v, want %+v", got, b)
	}
	it, err := f.store.GetBatchItem(ctx, invite.ItemRef{BatchID: "B1", Index: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(it, items[7]) {
		t.Errorf("GetBatchItem = %+v\nwant %+v", it, items[7])
	}
	_, err = f.store.GetBatchItem(ctx, invite.ItemRef{BatchID: "B1", Index: 60})
	wantCode(t, err, invite.CodeNotFound)
	_, err = f.store.GetBatch(ctx, "B2")
	wantCode(t, err, invite.CodeNotFound)
}

func TestBatchItemsPages(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	b, items := newBatch(f, "B1", 25)
	if err := f.store.CreateBatch(ctx, b, items); err != nil {
		t.Fatal(err)
	}
	var seen []int
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("more pages than 25 items in tens need")
		}
		page, err := f.store.BatchItems(ctx, "B1", 10, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			seen = append(seen, it.Index)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 25 || seen[0] != 0 || seen[24] != 24 {
		t.Errorf("indexes seen = %v, want 0..24 in order", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] != seen[i-1]+1 {
			t.Fatalf("indexes seen = %v, want 0..24 in order", seen)
		}
	}

	first, err := f.store.BatchItems(ctx, "B1", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, batch, cursor string }{
		{"cursor of another batch", "B2", first.NextCursor},
		{"altered cursor", "B1", first.NextCursor[:len(first.NextCursor)-2] + "AA"},
		{"garbage", "B1", "not-a-cursor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.store.BatchItems(ctx, tc.batch, 10, tc.cursor)
			wantCode(t, err, invite.CodeInvalid)
		})
	}
}

// TestFinishBatchItemCountsOnce finishes every item from several goroutines at once:
// each outcome is stored and counted exactly once, whoever wins.
func TestFinishBatchItemCountsOnce(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	b, items := newBatch(f, "B1", 20)
	if err := f.store.CreateBatch(ctx, b, items); err != nil {
		t.Fatal(err)
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		wins      = map[int]int{}
		conflicts int
	)
	for range 3 {
		for _, it := range items {
			wg.Go(func() {
				done := *it
				done.Status, done.ResultID, done.FinishedAt = invite.ItemSucceeded, it.InvitationID, f.clock.Now()
				if it.Index%4 == 0 {
					done.Status, done.ResultID = invite.ItemFailed, ""
					done.Problem = &invite.ItemProblem{Index: it.Index, Code: invite.CodeConflict, Message: "a pending invitation for this email exists", ExistingID: "INVX"}
				}
				err := f.store.FinishBatchItem(ctx, &done)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins[it.Index]++
				case invite.IsCode(err, invite.CodeConflict):
					conflicts++
				default:
					t.Errorf("FinishBatchItem(%d): %v", it.Index, err)
				}
			})
		}
	}
	wg.Wait()
	for i := range items {
		if wins[i] != 1 {
			t.Errorf("item %d finished %d times, want 1", i, wins[i])
		}
	}
	if conflicts != 40 {
		t.Errorf("conflicts = %d, want 40 (two losers per item)", conflicts)
	}
	got, err := f.store.GetBatch(ctx, "B1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Succeeded != 15 || got.Failed != 5 || got.Status() != invite.BatchDone {
		t.Errorf("batch counts %d succeeded, %d failed (%s), want 15, 5, done", got.Succeeded, got.Failed, got.Status())
	}
	it, err := f.store.GetBatchItem(ctx, invite.ItemRef{BatchID: "B1", Index: 4})
	if err != nil {
		t.Fatal(err)
	}
	if it.Status != invite.ItemFailed || it.Problem == nil || it.Problem.ExistingID != "INVX" || it.Problem.Index != 4 {
		t.Errorf("item 4 = %s %+v, want failed with the conflict's existing id", it.Status, it.Problem)
	}
}

func TestClaimResendOnce(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	b, items := newBatch(f, "B1", 2)
	if err := f.store.CreateBatch(ctx, b, items); err != nil {
		t.Fatal(err)
	}
	ref := invite.ItemRef{BatchID: "B1", Index: 1}
	if err := f.store.ClaimResend(ctx, ref, "INVOLD"); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	wantCode(t, f.store.ClaimResend(ctx, ref, "INVOLD"), invite.CodeConflict)
	it, err := f.store.GetBatchItem(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if it.ResendOf != "INVOLD" {
		t.Errorf("ResendOf = %q, want INVOLD", it.ResendOf)
	}
	wantCode(t, f.store.ClaimResend(ctx, invite.ItemRef{BatchID: "B1", Index: 9}, "INVOLD"), invite.CodeConflict)
}

// TestUnqueuedBatches: a batch is listed from its creation until it is marked queued,
// oldest first and only when created before the given time; a batch whose id is taken
// leaves neither items nor a listing behind.
func TestUnqueuedBatches(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	older, olderItems := newBatch(f, "B1", 3)
	f.clock.Advance(time.Second)
	newer, newerItems := newBatch(f, "B2", 2)
	for _, c := range []struct {
		b     *invite.Batch
		items []*invite.BatchItem
	}{{newer, newerItems}, {older, olderItems}} {
		if err := f.store.CreateBatch(ctx, c.b, c.items); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(before time.Time, limit int) []string {
		t.Helper()
		list, err := f.store.UnqueuedBatches(ctx, before, limit)
		if err != nil {
			t.Fatalf("UnqueuedBatches: %v", err)
		}
		var out []string
		for _, b := range list {
			out = append(out, b.ID)
			if want := map[string]time.Time{"B1": older.CreatedAt, "B2": newer.CreatedAt}[b.ID]; !b.CreatedAt.Equal(want) {
				t.Errorf("batch %s created %v, want %v", b.ID, b.CreatedAt, want)
			}
		}
		return out
	}
	later := f.clock.Now().Add(time.Minute)
	if got := ids(later, 100); !reflect.DeepEqual(got, []string{"B1", "B2"}) {
		t.Errorf("unqueued = %v, want [B1 B2], oldest first", got)
	}
	if got := ids(later, 1); !reflect.DeepEqual(got, []string{"B1"}) {
		t.Errorf("unqueued, limit 1 = %v, want [B1]", got)
	}
	if got := ids(newer.CreatedAt, 100); !reflect.DeepEqual(got, []string{"B1"}) {
		t.Errorf("unqueued before B2's creation = %v, want [B1]", got)
	}
	_, err := f.store.UnqueuedBatches(ctx, later, 101)
	wantCode(t, err, invite.CodeInvalid)

	for range 2 { // marking twice is not an error
		if err := f.store.MarkBatchQueued(ctx, older); err != nil {
			t.Fatalf("MarkBatchQueued: %v", err)
		}
	}
	if got := ids(later, 100); !reflect.DeepEqual(got, []string{"B2"}) {
		t.Errorf("unqueued after marking B1 = %v, want [B2]", got)
	}

	// A clash with a taken id is refused before anything is written.
	clash, clashItems := newBatch(f, "B1", 5)
	wantCode(t, f.store.CreateBatch(ctx, clash, clashItems), invite.CodeConflict)
	if _, err := f.store.GetBatchItem(ctx, invite.ItemRef{BatchID: "B1", Index: 4}); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("item 4 of the clashing batch: %v, want not_found (nothing written)", err)
	}
	if got := ids(later, 100); !reflect.DeepEqual(got, []string{"B2"}) {
		t.Errorf("unqueued after the clash = %v, want [B2]", got)
	}
}
