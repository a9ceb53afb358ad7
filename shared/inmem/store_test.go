package inmem_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

var t0 = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

func newInv(id, email, org string, created time.Time) *invite.Invitation {
	return &invite.Invitation{
		ID: id, Email: email, OrganizationID: org, Status: invite.StatusPending, Version: 1,
		CreatedAt: created, ExpiresAt: created.Add(7 * 24 * time.Hour),
		TokenHash: "hash-" + id, Roles: []string{"rol_a"},
		AppMetadata: map[string]any{"nested": map[string]any{"k": "v"}},
		Inviter:     invite.Inviter{Sub: "auth0|admin"},
	}
}

func mustCreate(t *testing.T, s *inmem.Store, inv *invite.Invitation) {
	t.Helper()
	if err := s.Create(t.Context(), inv); err != nil {
		t.Fatalf("Create(%s): %v", inv.ID, err)
	}
}

func wantCode(t *testing.T, err error, want invite.Code) *invite.Error {
	t.Helper()
	if got := invite.ErrorCode(err); got != want {
		t.Fatalf("error: got %q (%v), want %q", got, err, want)
	}
	return invite.AsError(err)
}

func TestStoreCreateConflicts(t *testing.T) {
	s := inmem.NewStore()
	mustCreate(t, s, newInv("A", "ann@example.com", "", t0))
	tests := []struct {
		name         string
		inv          *invite.Invitation
		want         invite.Code
		wantExisting string
	}{
		{"same scope and email, other case", newInv("B", "ANN@example.com", "", t0), invite.CodeConflict, "A"},
		{"same id", newInv("A", "bob@example.com", "", t0), invite.CodeConflict, ""},
		{"same token hash", func() *invite.Invitation {
			i := newInv("C", "cy@example.com", "", t0)
			i.TokenHash = "hash-A"
			return i
		}(), invite.CodeConflict, ""},
		{"not version 1", func() *invite.Invitation { i := newInv("D", "dee@example.com", "", t0); i.Version = 2; return i }(), invite.CodeInternal, ""},
		{"other scope is fine", newInv("E", "ann@example.com", "org_acme", t0), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Create(t.Context(), tt.inv)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				return
			}
			if e := wantCode(t, err, tt.want); e.ExistingID != tt.wantExisting {
				t.Errorf("ExistingID: got %q, want %q", e.ExistingID, tt.wantExisting)
			}
		})
	}
}

func TestStoreUpdate(t *testing.T) {
	ctx := t.Context()
	s := inmem.NewStore()
	orig := newInv("A", "ann@example.com", "", t0)
	mustCreate(t, s, orig)
	prev, _ := s.Get(ctx, "A")

	// Token swap.
	next := prev.Clone()
	next.TokenHash = "hash-new"
	next.Auth0UserID = "auth0|1"
	if err := s.Update(ctx, prev, next); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if next.Version != 2 {
		t.Errorf("next.Version: got %d, want 2", next.Version)
	}
	if _, err := s.GetByTokenHash(ctx, "hash-A"); invite.ErrorCode(err) != invite.CodeNotFound {
		t.Errorf("old hash: got %v, want not_found", err)
	}
	if got, err := s.GetByTokenHash(ctx, "hash-new"); err != nil || got.ID != "A" {
		t.Errorf("new hash: got %v, %v", got, err)
	}

	// The version read is stale now.
	stale := prev.Clone()
	stale.Name = "late"
	wantCode(t, s.Update(ctx, prev, stale), invite.CodeConflict)

	// Leaving pending releases the reservation.
	cur, _ := s.Get(ctx, "A")
	done := cur.Clone()
	done.Status = invite.StatusRevoked
	if err := s.Update(ctx, cur, done); err != nil {
		t.Fatalf("Update to revoked: %v", err)
	}
	if _, ok := s.Reserved(invite.ScopeApplication, "ann@example.com"); ok {
		t.Errorf("reservation still held after revoke")
	}
	mustCreate(t, s, newInv("B", "ann@example.com", "", t0.Add(time.Second)))
	if id, _ := s.Reserved(invite.ScopeApplication, "Ann@Example.com"); id != "B" {
		t.Errorf("reservation: got %q, want B", id)
	}

	// A terminal invitation does not become pending again, and its old status is stale.
	cur, _ = s.Get(ctx, "A")
	back := cur.Clone()
	back.Status = invite.StatusPending
	wantCode(t, s.Update(ctx, cur, back), invite.CodeInternal)
	wantCode(t, s.Update(ctx, prev, done), invite.CodeConflict)
	wantCode(t, s.Update(ctx, newInv("Z", "z@example.com", "", t0), newInv("Z", "z@example.com", "", t0)), invite.CodeNotFound)
}

func TestStoreNoAliasing(t *testing.T) {
	ctx := t.Context()
	s := inmem.NewStore()
	inv := newInv("A", "ann@example.com", "", t0)
	mustCreate(t, s, inv)
	inv.Roles[0] = "changed"
	inv.AppMetadata["nested"].(map[string]any)["k"] = "changed"
	got, _ := s.Get(ctx, "A")
	if got.Roles[0] != "rol_a" || got.AppMetadata["nested"].(map[string]any)["k"] != "v" {
		t.Fatalf("stored invitation changed through the caller's value: %v %v", got.Roles, got.AppMetadata)
	}
	got.Roles[0] = "changed"
	got.History = append(got.History, invite.Event{Event: "x"})
	again, _ := s.Get(ctx, "A")
	if again.Roles[0] != "rol_a" || len(again.History) != 0 {
		t.Errorf("stored invitation changed through a returned value")
	}
}

func TestStoreGetByAuth0UserIDs(t *testing.T) {
	ctx := t.Context()
	s := inmem.NewStore()
	older := newInv("A", "ann@example.com", "", t0)
	older.Auth0UserID = "auth0|1"
	mustCreate(t, s, older)
	newer := newInv("B", "ann@example.com", "org_acme", t0.Add(time.Hour))
	newer.Auth0UserID = "auth0|1"
	mustCreate(t, s, newer)
	// Updating the older one does not make it the latest.
	cur, _ := s.Get(ctx, "A")
	next := cur.Clone()
	next.Name = "x"
	if err := s.Update(ctx, cur, next); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetByAuth0UserIDs(ctx, []string{"auth0|1", "auth0|none"})
	if err != nil {
		t.Fatalf("GetByAuth0UserIDs: %v", err)
	}
	if len(got) != 1 || got["auth0|1"].ID != "B" {
		t.Errorf("got %v, want auth0|1 → B only", got)
	}
	ids := make([]string, 101)
	_, err = s.GetByAuth0UserIDs(ctx, ids)
	wantCode(t, err, invite.CodeInvalid)
}

func TestStoreList(t *testing.T) {
	ctx := t.Context()
	s := inmem.NewStore()
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("ID%02d", i)
		inv := newInv(id, fmt.Sprintf("u%d@example.com", i), "", t0.Add(time.Duration(i)*time.Minute))
		if i == 3 {
			inv.Inviter.Sub = "auth0|other"
		}
		mustCreate(t, s, inv)
		want = append([]string{id}, want...)
	}
	mustCreate(t, s, newInv("ORG", "u1@example.com", "org_acme", t0))

	var got []string
	q := invite.ListQuery{Scope: invite.ScopeApplication, Limit: 3}
	for {
		page, err := s.List(ctx, q)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(page.Invitations) > 3 {
			t.Fatalf("page of %d, want at most 3", len(page.Invitations))
		}
		for _, inv := range page.Invitations {
			got = append(got, inv.ID)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Errorf("List: got %v, want newest first %v", got, want)
	}

	first, _ := s.List(ctx, invite.ListQuery{Scope: invite.ScopeApplication, Limit: 1})
	tests := []struct {
		name string
		q    invite.ListQuery
		want int
		code invite.Code
	}{
		{"inviter", invite.ListQuery{Scope: invite.ScopeApplication, Inviter: "auth0|other"}, 1, ""},
		{"email", invite.ListQuery{Scope: invite.ScopeApplication, EmailKey: "u1@example.com"}, 1, ""},
		{"status", invite.ListQuery{Scope: invite.ScopeApplication, Status: invite.StatusRevoked}, 0, ""},
		{"org scope", invite.ListQuery{Scope: invite.OrgScope("org_acme")}, 1, ""},
		{"cursor of another scope", invite.ListQuery{Scope: invite.OrgScope("org_acme"), Cursor: first.NextCursor}, 0, invite.CodeInvalid},
		{"cursor of another filter", invite.ListQuery{Scope: invite.ScopeApplication, Status: invite.StatusPending, Cursor: first.NextCursor}, 0, invite.CodeInvalid},
		{"altered cursor", invite.ListQuery{Scope: invite.ScopeApplication, Cursor: first.NextCursor[:len(first.NextCursor)-2] + "AA"}, 0, invite.CodeInvalid},
		{"garbage cursor", invite.ListQuery{Scope: invite.ScopeApplication, Cursor: "!!"}, 0, invite.CodeInvalid},
		{"limit too big", invite.ListQuery{Scope: invite.ScopeApplication, Limit: 101}, 0, invite.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.List(ctx, tt.q)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(page.Invitations) != tt.want {
				t.Errorf("got %d, want %d", len(page.Invitations), tt.want)
			}
		})
	}
}

func TestStoreExpiringBefore(t *testing.T) {
	ctx := t.Context()
	s := inmem.NewStore()
	for i := range 5 {
		inv := newInv(fmt.Sprintf("E%d", i), fmt.Sprintf("e%d@example.com", i), "", t0)
		inv.ExpiresAt = t0.Add(time.Duration(5-i) * time.Hour)
		mustCreate(t, s, inv)
	}
	// A finished one is not listed.
	cur, _ := s.Get(ctx, "E4")
	next := cur.Clone()
	next.Status = invite.StatusRevoked
	if err := s.Update(ctx, cur, next); err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor := ""
	for {
		page, err := s.ExpiringBefore(ctx, t0.Add(4*time.Hour+time.Minute), 2, cursor)
		if err != nil {
			t.Fatalf("ExpiringBefore: %v", err)
		}
		for _, inv := range page.Invitations {
			got = append(got, inv.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if want := []string{"E3", "E2", "E1"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (earliest first, pending only)", got, want)
	}
}

func TestStoreConcurrentCreateOneWins(t *testing.T) {
	s := inmem.NewStore()
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.Create(t.Context(), newInv(fmt.Sprintf("C%02d", i), "same@example.com", "", t0))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if invite.ErrorCode(err) != invite.CodeConflict {
			t.Errorf("got %v, want conflict", err)
		}
	}
	if ok != 1 || s.Len() != 1 {
		t.Errorf("winners: got %d (stored %d), want 1", ok, s.Len())
	}
}
