package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// seedListing stores n application invitations (and a few in an organization) with
// rotating emails, inviters and statuses, one minute apart, and returns them newest
// first as stored.
func seedListing(t *testing.T, f *fixture, n int) []*invite.Invitation {
	t.Helper()
	emails := []string{"ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com", "eve@example.com"}
	inviters := []string{"auth0|alice", "auth0|bert", "auth0|carl"}
	var stored []*invite.Invitation
	for i := range n {
		f.Clock.Advance(time.Minute)
		// Emails repeat: earlier invitations of an email are finished before the next.
		inv := f.Invitation(seq("inv_", i), emails[i%len(emails)])
		inv.Inviter.Sub = inviters[i%len(inviters)]
		if err := f.Store.Create(context.Background(), inv); err != nil {
			if e := invite.AsError(err); e != nil && e.ExistingID != "" {
				prior := stored[slices.IndexFunc(stored, func(s *invite.Invitation) bool { return s.ID == e.ExistingID })]
				status := []invite.Status{invite.StatusAccepted, invite.StatusRevoked, invite.StatusExpired, invite.StatusFailed}[i%4]
				*prior = *f.Finish(t, prior, status)
				f.Create(t, inv)
			} else {
				t.Fatalf("Create: %v", err)
			}
		}
		stored = append(stored, inv)
	}
	for i := range 3 {
		inv := f.Invitation(seq("org_inv_", i), emails[i])
		inv.Kind, inv.OrganizationID = invite.KindOrganization, "org_1"
		f.Create(t, inv)
	}
	slices.Reverse(stored)
	return stored
}

// listed reports whether a listing for q holds inv.
func listed(q invite.ListQuery, inv *invite.Invitation) bool {
	return inv.Scope() == q.Scope &&
		(q.Status == "" || inv.Status == q.Status) &&
		(q.EmailKey == "" || invite.EmailKey(inv.Email) == invite.EmailKey(q.EmailKey)) &&
		(q.Inviter == "" || inv.Inviter.Sub == q.Inviter)
}

func testList(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	stored := seedListing(t, f, 40)

	tests := []struct {
		name string
		q    invite.ListQuery
	}{
		{"whole scope", invite.ListQuery{}},
		{"status", invite.ListQuery{Status: invite.StatusPending}},
		{"finished status", invite.ListQuery{Status: invite.StatusRevoked}},
		{"email", invite.ListQuery{EmailKey: "bob@example.com"}},
		{"email in another case", invite.ListQuery{EmailKey: "BOB@example.com"}},
		{"inviter", invite.ListQuery{Inviter: "auth0|bert"}},
		{"status and email", invite.ListQuery{Status: invite.StatusPending, EmailKey: "ann@example.com"}},
		{"status and inviter", invite.ListQuery{Status: invite.StatusAccepted, Inviter: "auth0|alice"}},
		{"email and inviter", invite.ListQuery{EmailKey: "cy@example.com", Inviter: "auth0|carl"}},
		{"all three", invite.ListQuery{Status: invite.StatusExpired, EmailKey: "dee@example.com", Inviter: "auth0|alice"}},
		{"nothing matches", invite.ListQuery{EmailKey: "nobody@example.com"}},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 7, 0} {
			t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
				q := tt.q
				q.Scope, q.Limit = invite.ScopeApplication, limit
				var want []string
				for _, inv := range stored {
					if listed(q, inv) {
						want = append(want, inv.ID)
					}
				}
				if len(want) == 0 && tt.name != "nothing matches" {
					t.Fatal("no stored invitation matches; the case tests nothing")
				}
				t.Logf("%d matches", len(want))
				var got []string
				pages := 0
				for {
					page, err := f.Store.List(ctx, q)
					if err != nil {
						t.Fatalf("List page %d: %v", pages+1, err)
					}
					pages++
					if n := len(page.Invitations); limit > 0 && n > limit {
						t.Fatalf("page %d has %d invitations, limit %d", pages, n, limit)
					}
					got = append(got, ids(page.Invitations)...)
					if page.NextCursor == "" {
						break
					}
					if pages > len(stored)+1 {
						t.Fatalf("more than %d pages: the cursor does not advance", pages)
					}
					q.Cursor = page.NextCursor
				}
				if !slices.Equal(got, want) {
					t.Errorf("ids over %d pages:\ngot  %v\nwant %v", pages, got, want)
				}
			})
		}
	}

	t.Run("organization scope", func(t *testing.T) {
		page, err := f.Store.List(ctx, invite.ListQuery{Scope: invite.OrgScope("org_1")})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if got, want := ids(page.Invitations), []string{"org_inv_002", "org_inv_001", "org_inv_000"}; !slices.Equal(got, want) {
			t.Errorf("ids = %v, want %v", got, want)
		}
	})

	t.Run("whole invitations", func(t *testing.T) {
		page, err := f.Store.List(ctx, invite.ListQuery{Scope: invite.ScopeApplication, Limit: 3})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for i, inv := range page.Invitations {
			SameInvitation(t, inv, stored[i])
		}
	})
}

func testListRejects(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	seedListing(t, f, 6)
	first, err := f.Store.List(ctx, invite.ListQuery{Scope: invite.ScopeApplication, Status: invite.StatusPending, Limit: 2})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if first.NextCursor == "" {
		t.Fatal("first page has no cursor; the test needs one")
	}
	base := invite.ListQuery{Scope: invite.ScopeApplication, Status: invite.StatusPending, Limit: 2, Cursor: first.NextCursor}
	if _, err := f.Store.List(ctx, base); err != nil {
		t.Fatalf("List with its own cursor: %v", err)
	}

	tests := []struct {
		name   string
		change func(q *invite.ListQuery)
	}{
		{"another scope", func(q *invite.ListQuery) { q.Scope = invite.OrgScope("org_1") }},
		{"another status", func(q *invite.ListQuery) { q.Status = invite.StatusRevoked }},
		{"no status", func(q *invite.ListQuery) { q.Status = "" }},
		{"an email filter added", func(q *invite.ListQuery) { q.EmailKey = "ann@example.com" }},
		{"an inviter filter added", func(q *invite.ListQuery) { q.Inviter = "auth0|alice" }},
		{"not base64", func(q *invite.ListQuery) { q.Cursor = "***" }},
		{"garbage", func(q *invite.ListQuery) { q.Cursor = "!!" }},
		{"truncated", func(q *invite.ListQuery) { q.Cursor = q.Cursor[:len(q.Cursor)-3] }},
		{"end replaced", func(q *invite.ListQuery) { q.Cursor = q.Cursor[:len(q.Cursor)-2] + "AA" }},
		{"limit above 100", func(q *invite.ListQuery) { q.Cursor, q.Limit = "", 101 }},
		{"unknown status", func(q *invite.ListQuery) { q.Cursor, q.Status = "", "lost" }},
		{"no scope", func(q *invite.ListQuery) { q.Cursor, q.Scope = "", "" }},
	}
	for i := range len(first.NextCursor) {
		tests = append(tests, struct {
			name   string
			change func(q *invite.ListQuery)
		}{fmt.Sprintf("byte %d edited", i), func(q *invite.ListQuery) {
			b := []byte(q.Cursor)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			q.Cursor = string(b)
		}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := base
			tt.change(&q)
			_, err := f.Store.List(ctx, q)
			wantCode(t, err, invite.CodeInvalid)
		})
	}
}

func testExpiringBefore(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	start := f.Clock.Now()
	var want []*invite.Invitation
	for i := range 45 {
		inv := f.Invitation(seq("inv_", i), fmt.Sprintf("user%d@example.com", i))
		// Expiry times interleave across ids, and two share one instant.
		inv.ExpiresAt = start.Add(time.Duration((i*37)%45) * time.Hour)
		if i == 44 {
			inv.ExpiresAt = want[0].ExpiresAt
		}
		f.Create(t, inv)
		switch {
		case i%9 == 4:
			f.Finish(t, inv, invite.StatusRevoked) // finished: not the sweeper's
		case inv.ExpiresAt.Before(start.Add(30 * time.Hour)):
			want = append(want, inv)
		}
	}
	// Earliest first; the same instant by id.
	slices.SortFunc(want, func(a, b *invite.Invitation) int {
		return cmp.Or(a.ExpiresAt.Compare(b.ExpiresAt), strings.Compare(a.ID, b.ID))
	})
	cutoff := start.Add(30 * time.Hour)

	for _, limit := range []int{1, 6, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var got []*invite.Invitation
			cursor := ""
			for pages := 1; ; pages++ {
				page, err := f.Store.ExpiringBefore(ctx, cutoff, limit, cursor)
				if err != nil {
					t.Fatalf("ExpiringBefore page %d: %v", pages, err)
				}
				if len(page.Invitations) > limit {
					t.Fatalf("page %d has %d invitations, limit %d", pages, len(page.Invitations), limit)
				}
				got = append(got, page.Invitations...)
				if page.NextCursor == "" {
					break
				}
				if pages > len(want)+1 {
					t.Fatal("the cursor does not advance")
				}
				cursor = page.NextCursor
			}
			if g, w := ids(got), ids(want); !slices.Equal(g, w) {
				t.Fatalf("ids:\ngot  %v\nwant %v", g, w)
			}
			for i := range got {
				SameInvitation(t, got[i], want[i])
			}
		})
	}

	t.Run("list cursor refused", func(t *testing.T) {
		page, err := f.Store.List(ctx, invite.ListQuery{Scope: invite.ScopeApplication, Limit: 1})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		_, err = f.Store.ExpiringBefore(ctx, cutoff, 10, page.NextCursor)
		wantCode(t, err, invite.CodeInvalid)
	})
}
