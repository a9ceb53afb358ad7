package dynamo

import (
	"context"
	"fmt"
	"slices"
	"sort"
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
		f.clock.Advance(time.Minute)
		// Emails repeat: earlier invitations of an email are finished before the next.
		inv := f.invitation(seq("inv_", i), emails[i%len(emails)])
		inv.Inviter.Sub = inviters[i%len(inviters)]
		if err := f.store.Create(context.Background(), inv); err != nil {
			if e := invite.AsError(err); e != nil && e.ExistingID != "" {
				prior := stored[slices.IndexFunc(stored, func(s *invite.Invitation) bool { return s.ID == e.ExistingID })]
				status := []invite.Status{invite.StatusAccepted, invite.StatusRevoked, invite.StatusExpired, invite.StatusFailed}[i%4]
				*prior = *f.finish(t, prior, status)
				f.create(t, inv)
			} else {
				t.Fatalf("Create: %v", err)
			}
		}
		stored = append(stored, inv)
	}
	for i := range 3 {
		inv := f.invitation(seq("org_inv_", i), emails[i])
		inv.Kind, inv.OrganizationID = invite.KindOrganization, "org_1"
		f.create(t, inv)
	}
	slices.Reverse(stored)
	return stored
}

func TestList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
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
					if matches(invite.ListQuery{Scope: q.Scope, Status: q.Status, EmailKey: invite.EmailKey(q.EmailKey), Inviter: q.Inviter}, inv) {
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
					page, err := f.store.List(ctx, q)
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
		page, err := f.store.List(ctx, invite.ListQuery{Scope: invite.OrgScope("org_1")})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if got, want := ids(page.Invitations), []string{"org_inv_002", "org_inv_001", "org_inv_000"}; !slices.Equal(got, want) {
			t.Errorf("ids = %v, want %v", got, want)
		}
	})

	t.Run("whole invitations", func(t *testing.T) {
		page, err := f.store.List(ctx, invite.ListQuery{Scope: invite.ScopeApplication, Limit: 3})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for i, inv := range page.Invitations {
			sameInvitation(t, inv, stored[i])
		}
	})
}

func TestListRejects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seedListing(t, f, 6)
	first, err := f.store.List(ctx, invite.ListQuery{Scope: invite.ScopeApplication, Status: invite.StatusPending, Limit: 2})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if first.NextCursor == "" {
		t.Fatal("first page has no cursor; the test needs one")
	}
	base := invite.ListQuery{Scope: invite.ScopeApplication, Status: invite.StatusPending, Limit: 2, Cursor: first.NextCursor}
	if _, err := f.store.List(ctx, base); err != nil {
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
		{"truncated", func(q *invite.ListQuery) { q.Cursor = q.Cursor[:len(q.Cursor)-3] }},
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
			_, err := f.store.List(ctx, q)
			wantCode(t, err, invite.CodeInvalid)
		})
	}
}

func TestExpiringBefore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := f.clock.Now()
	var want []*invite.Invitation
	shards := map[int]bool{}
	for i := range 45 {
		inv := f.invitation(seq("inv_", i), fmt.Sprintf("user%d@example.com", i))
		// Expiry times interleave across ids, and two share one instant.
		inv.ExpiresAt = start.Add(time.Duration((i*37)%45) * time.Hour)
		if i == 44 {
			inv.ExpiresAt = want[0].ExpiresAt
		}
		f.create(t, inv)
		switch {
		case i%9 == 4:
			f.finish(t, inv, invite.StatusRevoked) // finished: not the sweeper's
		case inv.ExpiresAt.Before(start.Add(30 * time.Hour)):
			want = append(want, inv)
			shards[shard(inv.ID, DefaultExpiryShards)] = true
		}
	}
	if len(shards) < 3 {
		t.Fatalf("the expected invitations span %d shards; the test needs several", len(shards))
	}
	sort.Slice(want, func(i, j int) bool { return expirySK(want[i]) < expirySK(want[j]) })
	cutoff := start.Add(30 * time.Hour)

	for _, limit := range []int{1, 6, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var got []*invite.Invitation
			cursor := ""
			for pages := 1; ; pages++ {
				page, err := f.store.ExpiringBefore(ctx, cutoff, limit, cursor)
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
				sameInvitation(t, got[i], want[i])
			}
		})
	}

	t.Run("list cursor refused", func(t *testing.T) {
		page, err := f.store.List(ctx, invite.ListQuery{Scope: invite.ScopeApplication, Limit: 1})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		_, err = f.store.ExpiringBefore(ctx, cutoff, 10, page.NextCursor)
		wantCode(t, err, invite.CodeInvalid)
	})
}
