package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

func (f *fixture) newBatch(id string, n int) (*invite.Batch, []*invite.BatchItem) {
	now := f.Clock.Now()
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

func (f *fixture) createBatch(t *testing.T, id string, n int) (*invite.Batch, []*invite.BatchItem) {
	t.Helper()
	b, items := f.newBatch(id, n)
	if err := f.Batches.CreateBatch(t.Context(), b, items); err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	return b, items
}

func testBatchRoundTrip(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	b, items := f.createBatch(t, "B1", 60) // more than one BatchWriteItem
	wantCode(t, f.Batches.CreateBatch(ctx, b, items), invite.CodeConflict)

	got, err := f.Batches.GetBatch(ctx, "B1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Errorf("GetBatch = %+v, want %+v", got, b)
	}
	it, err := f.Batches.GetBatchItem(ctx, invite.ItemRef{BatchID: "B1", Index: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(it, items[7]) {
		t.Errorf("GetBatchItem = %+v\nwant %+v", it, items[7])
	}
	_, err = f.Batches.GetBatchItem(ctx, invite.ItemRef{BatchID: "B1", Index: 60})
	wantCode(t, err, invite.CodeNotFound)
	_, err = f.Batches.GetBatch(ctx, "B2")
	wantCode(t, err, invite.CodeNotFound)
}

func testBatchItemsPages(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	f.createBatch(t, "B1", 25)
	var seen []int
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("more pages than 25 items in tens need")
		}
		page, err := f.Batches.BatchItems(ctx, "B1", 10, cursor)
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

	first, err := f.Batches.BatchItems(ctx, "B1", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, batch, cursor string
		limit               int
	}{
		{"cursor of another batch", "B2", first.NextCursor, 10},
		{"altered cursor", "B1", first.NextCursor[:len(first.NextCursor)-2] + "AA", 10},
		{"garbage", "B1", "not-a-cursor", 10},
		{"no limit", "B1", "", 0},
		{"limit above a batch", "B1", "", invite.MaxBatchItems + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.Batches.BatchItems(ctx, tc.batch, tc.limit, tc.cursor)
			wantCode(t, err, invite.CodeInvalid)
		})
	}
}

// testFinishBatchItemCountsOnce finishes every item from several goroutines at once:
// each outcome is stored and counted exactly once, whoever wins.
func testFinishBatchItemCountsOnce(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	_, items := f.createBatch(t, "B1", 20)
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
				done.Status, done.ResultID, done.FinishedAt = invite.ItemSucceeded, it.InvitationID, f.Clock.Now()
				if it.Index%4 == 0 {
					done.Status, done.ResultID = invite.ItemFailed, ""
					done.Problem = &invite.ItemProblem{Index: it.Index, Code: invite.CodeConflict, Message: "a pending invitation for this email exists", ExistingID: "INVX"}
				}
				err := f.Batches.FinishBatchItem(ctx, &done)
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
	got, err := f.Batches.GetBatch(ctx, "B1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Succeeded != 15 || got.Failed != 5 || got.Status() != invite.BatchDone {
		t.Errorf("batch counts %d succeeded, %d failed (%s), want 15, 5, done", got.Succeeded, got.Failed, got.Status())
	}
	it, err := f.Batches.GetBatchItem(ctx, invite.ItemRef{BatchID: "B1", Index: 4})
	if err != nil {
		t.Fatal(err)
	}
	if it.Status != invite.ItemFailed || it.Problem == nil || it.Problem.ExistingID != "INVX" || it.Problem.Index != 4 {
		t.Errorf("item 4 = %s %+v, want failed with the conflict's existing id", it.Status, it.Problem)
	}
	missing := invite.BatchItem{BatchID: "B1", Index: 20, Status: invite.ItemSucceeded, FinishedAt: f.Clock.Now()}
	wantCode(t, f.Batches.FinishBatchItem(ctx, &missing), invite.CodeConflict)
}

func testClaimResendOnce(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	_, items := f.createBatch(t, "B1", 3)
	ref := invite.ItemRef{BatchID: "B1", Index: 1}
	if err := f.Batches.ClaimResend(ctx, ref, "INVOLD"); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	wantCode(t, f.Batches.ClaimResend(ctx, ref, "INVOLD"), invite.CodeConflict)
	it, err := f.Batches.GetBatchItem(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if it.ResendOf != "INVOLD" {
		t.Errorf("ResendOf = %q, want INVOLD", it.ResendOf)
	}
	wantCode(t, f.Batches.ClaimResend(ctx, invite.ItemRef{BatchID: "B1", Index: 9}, "INVOLD"), invite.CodeConflict)

	// A finished item takes no claim.
	done := *items[2]
	done.Status, done.ResultID, done.FinishedAt = invite.ItemSucceeded, done.InvitationID, f.Clock.Now()
	if err := f.Batches.FinishBatchItem(ctx, &done); err != nil {
		t.Fatalf("FinishBatchItem: %v", err)
	}
	wantCode(t, f.Batches.ClaimResend(ctx, invite.ItemRef{BatchID: "B1", Index: 2}, "INVOLD"), invite.CodeConflict)
}

// testUnqueuedBatches: a batch is listed from its creation until it is marked queued,
// oldest first and only when created before the given time; a batch whose id is taken
// leaves neither items nor a listing behind.
func testUnqueuedBatches(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	older, olderItems := f.newBatch("B1", 3)
	f.Clock.Advance(time.Second)
	newer, newerItems := f.newBatch("B2", 2)
	for _, c := range []struct {
		b     *invite.Batch
		items []*invite.BatchItem
	}{{newer, newerItems}, {older, olderItems}} {
		if err := f.Batches.CreateBatch(ctx, c.b, c.items); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(before time.Time, limit int) []string {
		t.Helper()
		list, err := f.Batches.UnqueuedBatches(ctx, before, limit)
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
	later := f.Clock.Now().Add(time.Minute)
	if got := ids(later, 100); !reflect.DeepEqual(got, []string{"B1", "B2"}) {
		t.Errorf("unqueued = %v, want [B1 B2], oldest first", got)
	}
	if got := ids(later, 1); !reflect.DeepEqual(got, []string{"B1"}) {
		t.Errorf("unqueued, limit 1 = %v, want [B1]", got)
	}
	if got := ids(newer.CreatedAt, 100); !reflect.DeepEqual(got, []string{"B1"}) {
		t.Errorf("unqueued before B2's creation = %v, want [B1]", got)
	}
	_, err := f.Batches.UnqueuedBatches(ctx, later, 101)
	wantCode(t, err, invite.CodeInvalid)

	for range 2 { // marking twice is not an error
		if err := f.Batches.MarkBatchQueued(ctx, older); err != nil {
			t.Fatalf("MarkBatchQueued: %v", err)
		}
	}
	if got := ids(later, 100); !reflect.DeepEqual(got, []string{"B2"}) {
		t.Errorf("unqueued after marking B1 = %v, want [B2]", got)
	}

	// A clash with a taken id is refused before anything is written.
	clash, clashItems := f.newBatch("B1", 5)
	wantCode(t, f.Batches.CreateBatch(ctx, clash, clashItems), invite.CodeConflict)
	if _, err := f.Batches.GetBatchItem(ctx, invite.ItemRef{BatchID: "B1", Index: 4}); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("item 4 of the clashing batch: %v, want not_found (nothing written)", err)
	}
	if got := ids(later, 100); !reflect.DeepEqual(got, []string{"B2"}) {
		t.Errorf("unqueued after the clash = %v, want [B2]", got)
	}
}
