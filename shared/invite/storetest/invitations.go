package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

func testRoundTrip(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	want := FullInvitation(f.Clock.Now())
	f.Create(t, want.Clone())

	got, err := f.Store.Get(ctx, want.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	SameInvitation(t, got, want)

	byToken, err := f.Store.GetByTokenHash(ctx, want.TokenHash)
	if err != nil {
		t.Fatalf("GetByTokenHash: %v", err)
	}
	SameInvitation(t, byToken, want)

	byUser, err := f.Store.GetByAuth0UserIDs(ctx, []string{want.Auth0UserID})
	if err != nil {
		t.Fatalf("GetByAuth0UserIDs: %v", err)
	}
	if byUser[want.Auth0UserID] == nil {
		t.Fatalf("GetByAuth0UserIDs: got %v, want an entry for %s", byUser, want.Auth0UserID)
	}
	SameInvitation(t, byUser[want.Auth0UserID], want)

	_, err = f.Store.Get(ctx, "inv_missing")
	wantCode(t, err, invite.CodeNotFound)
	_, err = f.Store.GetByTokenHash(ctx, "no-such-hash")
	wantCode(t, err, invite.CodeNotFound)
}

func testCreateConflicts(t *testing.T, newFixture func(*testing.T) *fixture) {
	tests := []struct {
		name, id, email string
		edit            func(inv *invite.Invitation)
		wantCode        invite.Code
		wantExisting    bool // ExistingID names the first invitation
	}{
		{"same scope and email", "inv_2", "ann@example.com", nil, invite.CodeConflict, true},
		{"same email in another case", "inv_2", "ANN@Example.COM", nil, invite.CodeConflict, true},
		{"same email in an organization", "inv_2", "ann@example.com", func(inv *invite.Invitation) {
			inv.Kind, inv.OrganizationID = invite.KindOrganization, "org_1"
		}, "", false},
		{"same id", "inv_1", "bob@example.com", nil, invite.CodeConflict, false},
		{"same token hash", "inv_2", "bob@example.com", func(inv *invite.Invitation) { inv.TokenHash = "hash-inv_1" }, invite.CodeConflict, false},
		{"version other than 1", "inv_2", "bob@example.com", func(inv *invite.Invitation) { inv.Version = 2 }, invite.CodeInvalid, false},
		{"not pending", "inv_2", "bob@example.com", func(inv *invite.Invitation) { inv.Status = invite.StatusAccepted }, invite.CodeInvalid, false},
		{"no email", "inv_2", "", nil, invite.CodeInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			first := f.Create(t, f.Invitation("inv_1", "ann@example.com"))
			second := f.Invitation(tt.id, tt.email)
			if tt.edit != nil {
				tt.edit(second)
			}
			err := f.Store.Create(t.Context(), second)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Create: %v, want success", err)
				}
				return
			}
			e := wantCode(t, err, tt.wantCode)
			want := ""
			if tt.wantExisting {
				want = first.ID
			}
			if e.ExistingID != want {
				t.Errorf("ExistingID = %q, want %q", e.ExistingID, want)
			}
		})
	}
}

// testReleaseThenReinvite: an invitation that leaves pending gives up its email, which
// a new invitation may then take.
func testReleaseThenReinvite(t *testing.T, newFixture func(*testing.T) *fixture) {
	for _, status := range []invite.Status{invite.StatusRevoked, invite.StatusAccepted, invite.StatusExpired, invite.StatusFailed} {
		t.Run(string(status), func(t *testing.T) {
			f := newFixture(t)
			first := f.Create(t, f.Invitation("inv_1", "ann@example.com"))
			f.wantReservedBy(t, "ann@example.com", "inv_1")
			f.Finish(t, first, status)
			f.Clock.Advance(time.Minute)
			// The create succeeds only once the first released the email.
			f.Create(t, f.Invitation("inv_2", "ann@example.com"))
			f.wantReservedBy(t, "Ann@Example.com", "inv_2")
		})
	}
}

func testUpdate(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	prev := f.Create(t, f.Invitation("inv_1", "ann@example.com"))

	next := prev.Clone()
	next.Delivery = invite.Delivery{Status: invite.DeliverySent, MessageID: "m-1", Sends: 1}
	next.History = append(next.History, invite.Event{Event: invite.EventEmailSent, At: f.Clock.Now(), Actor: "worker"})
	if err := f.Store.Update(ctx, prev, next); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if next.Version != 2 {
		t.Errorf("next.Version = %d, want 2", next.Version)
	}
	got, err := f.Store.Get(ctx, prev.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	SameInvitation(t, got, next)

	t.Run("stale version", func(t *testing.T) {
		stale := prev.Clone()
		stale.Name = "changed"
		err := f.Store.Update(ctx, prev, stale)
		wantCode(t, err, invite.CodeConflict)
		if stale.Version != prev.Version {
			t.Errorf("Version after a failed update = %d, want it unchanged (%d)", stale.Version, prev.Version)
		}
	})
	t.Run("missing invitation", func(t *testing.T) {
		ghost := f.Invitation("inv_ghost", "ghost@example.com")
		err := f.Store.Update(ctx, ghost, ghost.Clone())
		wantCode(t, err, invite.CodeConflict)
	})
	refused := []struct {
		name string
		edit func(inv *invite.Invitation)
	}{
		{"email change", func(inv *invite.Invitation) { inv.Email = "other@example.com" }},
		{"id change", func(inv *invite.Invitation) { inv.ID = "inv_other" }},
		{"unknown status", func(inv *invite.Invitation) { inv.Status = "lost" }},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			changed := next.Clone()
			tt.edit(changed)
			wantCode(t, f.Store.Update(ctx, next, changed), invite.CodeInvalid)
		})
	}
}

// testFinishedStaysFinished: a finished invitation neither becomes pending again nor
// changes its ending, and the status it had before is stale.
func testFinishedStaysFinished(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	prev := f.Create(t, f.Invitation("inv_1", "ann@example.com"))
	done := f.Finish(t, prev, invite.StatusRevoked)

	back := done.Clone()
	back.Status = invite.StatusPending
	wantCode(t, f.Store.Update(ctx, done, back), invite.CodeConflict)
	other := done.Clone()
	other.Status, other.AcceptedAt = invite.StatusAccepted, f.Clock.Now()
	wantCode(t, f.Store.Update(ctx, done, other), invite.CodeConflict)
	wantCode(t, f.Store.Update(ctx, prev, done.Clone()), invite.CodeConflict)

	// A finished invitation still takes changes that keep its status (a late note).
	note := done.Clone()
	note.History = append(note.History, invite.Event{Event: invite.EventAfterEnd, At: f.Clock.Now(), Actor: "auth0"})
	if err := f.Store.Update(ctx, done, note); err != nil {
		t.Fatalf("Update of a finished invitation keeping its status: %v", err)
	}
}

func testTokenSwap(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	prev := f.Create(t, f.Invitation("inv_1", "ann@example.com"))
	next := prev.Clone()
	next.TokenHash = "hash-new"
	next.Auth0UserID = "auth0|1"
	next.History = append(next.History, invite.Event{Event: invite.EventResent, At: f.Clock.Now(), Actor: "auth0|admin"})
	if err := f.Store.Update(ctx, prev, next); err != nil {
		t.Fatalf("Update: %v", err)
	}

	tests := []struct {
		name     string
		hash     string
		wantCode invite.Code
	}{
		{"old hash", prev.TokenHash, invite.CodeNotFound},
		{"new hash", "hash-new", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.Store.GetByTokenHash(ctx, tt.hash)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatalf("GetByTokenHash: %v", err)
			}
			SameInvitation(t, got, next)
		})
	}

	t.Run("hash of another invitation", func(t *testing.T) {
		other := f.Create(t, f.Invitation("inv_2", "bob@example.com"))
		taken := other.Clone()
		taken.TokenHash = "hash-new"
		wantCode(t, f.Store.Update(ctx, other, taken), invite.CodeConflict)
	})
}

// testNoAliasing: neither the caller's value nor a returned one is the stored
// invitation.
func testNoAliasing(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	inv := f.Invitation("inv_1", "ann@example.com")
	inv.Roles = []string{"rol_a"}
	inv.AppMetadata = map[string]any{"nested": map[string]any{"k": "v"}}
	f.Create(t, inv)
	events := len(inv.History)
	inv.Roles[0] = "changed"
	inv.AppMetadata["nested"].(map[string]any)["k"] = "changed"
	got, err := f.Store.Get(ctx, "inv_1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Roles[0] != "rol_a" || got.AppMetadata["nested"].(map[string]any)["k"] != "v" {
		t.Fatalf("stored invitation changed through the caller's value: %v %v", got.Roles, got.AppMetadata)
	}
	got.Roles[0] = "changed"
	got.History = append(got.History, invite.Event{Event: "x"})
	again, err := f.Store.Get(ctx, "inv_1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if again.Roles[0] != "rol_a" || len(again.History) != events {
		t.Errorf("stored invitation changed through a returned value")
	}
}

// testConcurrentCreate: of many creates for one email at once, one wins; the others
// are conflicts naming the winner and leave nothing behind.
func testConcurrentCreate(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		inv := f.Invitation(seq("inv_", i), "race@example.com")
		wg.Go(func() {
			<-start
			errs[i] = f.Store.Create(context.Background(), inv)
		})
	}
	close(start)
	wg.Wait()

	winner := ""
	for i, err := range errs {
		if err == nil {
			if winner != "" {
				t.Fatalf("both %s and %s were created", winner, seq("inv_", i))
			}
			winner = seq("inv_", i)
		}
	}
	if winner == "" {
		t.Fatalf("no create succeeded; first error: %v", errs[0])
	}
	conflicts := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		e := wantCode(t, err, invite.CodeConflict)
		if e.ExistingID != winner {
			t.Errorf("create %s: ExistingID = %q, want the winner %s (%v)", seq("inv_", i), e.ExistingID, winner, err)
		}
		conflicts++
	}
	if conflicts != n-1 {
		t.Errorf("conflicts = %d, want %d", conflicts, n-1)
	}
	f.wantReservedBy(t, "race@example.com", winner)
	// The losers left nothing behind: their ids and link tokens are free.
	for i := range n {
		if id := seq("inv_", i); id != winner {
			if err := f.Store.Create(context.Background(), f.Invitation(id, fmt.Sprintf("loser%d@example.com", i))); err != nil {
				t.Errorf("the losing create %s left its invitation or its token behind: %v", id, err)
			}
		}
	}
}

// testConcurrentUpdate: of many updates of one read at once (accept against revoke),
// one wins and the others are conflicts.
func testConcurrentUpdate(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	prev := f.Create(t, f.Invitation("inv_1", "ann@example.com"))
	const pairs = 50
	type attempt struct {
		next *invite.Invitation
		err  error
	}
	attempts := make([]attempt, 2*pairs)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range attempts {
		next := prev.Clone()
		now := f.Clock.Now()
		if i%2 == 0 {
			next.Status, next.AcceptedAt = invite.StatusAccepted, now
		} else {
			next.Status, next.RevokedAt = invite.StatusRevoked, now
		}
		next.History = append(next.History, invite.Event{Event: string(next.Status), At: now, Actor: fmt.Sprintf("racer-%d", i)})
		attempts[i].next = next
		wg.Go(func() {
			<-start
			attempts[i].err = f.Store.Update(context.Background(), prev, next)
		})
	}
	close(start)
	wg.Wait()

	var winner *invite.Invitation
	for _, a := range attempts {
		switch {
		case a.err == nil && winner != nil:
			t.Fatalf("two updates won: %s and %s", winner.History[1].Actor, a.next.History[1].Actor)
		case a.err == nil:
			winner = a.next
		default:
			wantCode(t, a.err, invite.CodeConflict)
		}
	}
	if winner == nil {
		t.Fatalf("no update won; first error: %v", attempts[0].err)
	}
	got, err := f.Store.Get(context.Background(), prev.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	terminal := 0
	for _, e := range got.History {
		if e.Event == invite.EventAccepted || e.Event == invite.EventRevoked {
			terminal++
		}
	}
	if terminal != 1 {
		t.Errorf("stored history has %d terminal events, want 1: %+v", terminal, got.History)
	}
	if got.Version != 2 {
		t.Errorf("stored version = %d, want 2", got.Version)
	}
	SameInvitation(t, got, winner)
	// The email is free again once the invitation finished.
	if err := f.Store.Create(context.Background(), f.Invitation("inv_2", "ann@example.com")); err != nil {
		t.Errorf("a new invitation for the email after the first finished: %v; want its reservation released", err)
	}
}

func testGetByAuth0UserIDs(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	want := map[string]string{} // user id → invitation id
	var all []string
	for i := range 100 {
		inv := f.Invitation(seq("inv_", i), fmt.Sprintf("user%d@example.com", i))
		inv.Auth0UserID = seq("auth0|user", i)
		f.Create(t, inv)
		want[inv.Auth0UserID] = inv.ID
		all = append(all, inv.Auth0UserID)
	}

	tests := []struct {
		name     string
		ids      []string
		want     []string // user ids expected in the result
		wantCode invite.Code
	}{
		{"two users", []string{"auth0|user003", "auth0|user042"}, []string{"auth0|user003", "auth0|user042"}, ""},
		{"with missing ids", []string{"auth0|user001", "auth0|nobody", "email|x"}, []string{"auth0|user001"}, ""},
		{"only missing", []string{"auth0|nobody"}, nil, ""},
		{"none", nil, nil, ""},
		{"duplicates", []string{"auth0|user007", "auth0|user007"}, []string{"auth0|user007"}, ""},
		{"100 users", all, all, ""},
		{"101 users", append(append([]string(nil), all...), "auth0|one-too-many"), nil, invite.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.Store.GetByAuth0UserIDs(ctx, tt.ids)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatalf("GetByAuth0UserIDs: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d invitations, want %d", len(got), len(tt.want))
			}
			for _, uid := range tt.want {
				inv := got[uid]
				if inv == nil || inv.ID != want[uid] || inv.Auth0UserID != uid {
					t.Errorf("invitation of %s = %+v, want %s", uid, inv, want[uid])
				}
			}
		})
	}
}

// testAuth0UserCopyIsLatest: a user's invitation is the latest created, whatever
// changes later, until the invitation moves to another user.
func testAuth0UserCopyIsLatest(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	old := f.Invitation("inv_old", "ann@example.com")
	old.Auth0UserID = "auth0|ann"
	f.Create(t, old)
	old = f.Finish(t, old, invite.StatusAccepted)

	f.Clock.Advance(time.Hour)
	newer := f.Invitation("inv_new", "ann@example.com")
	newer.Kind, newer.OrganizationID, newer.Auth0UserID = invite.KindOrganization, "org_1", "auth0|ann"
	f.Create(t, newer)

	// The old invitation changes after the newer one exists: the user's copy must keep
	// naming the newer one.
	later := old.Clone()
	later.FlagClearPending = false
	later.History = append(later.History, invite.Event{Event: "flag_cleared", At: f.Clock.Now(), Actor: "sweeper"})
	if err := f.Store.Update(ctx, old, later); err != nil {
		t.Fatalf("Update of the old invitation: %v", err)
	}
	stored, err := f.Store.Get(ctx, old.ID)
	if err != nil || stored.Version != 3 {
		t.Fatalf("old invitation after update: %+v, %v; want version 3", stored, err)
	}
	got, err := f.Store.GetByAuth0UserIDs(ctx, []string{"auth0|ann", "auth0|none"})
	if err != nil {
		t.Fatalf("GetByAuth0UserIDs: %v", err)
	}
	if inv := got["auth0|ann"]; len(got) != 1 || inv == nil || inv.ID != "inv_new" {
		t.Fatalf("latest invitations of auth0|ann and auth0|none = %+v, want auth0|ann → inv_new only", got)
	}

	// An update of the newer one refreshes the copy.
	next := newer.Clone()
	next.Auth0InvitationID = "uinv_9"
	if err := f.Store.Update(ctx, newer, next); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err = f.Store.GetByAuth0UserIDs(ctx, []string{"auth0|ann"})
	if err != nil {
		t.Fatalf("GetByAuth0UserIDs: %v", err)
	}
	SameInvitation(t, got["auth0|ann"], next)

	// Moving the invitation to another user removes the old user's copy.
	moved := next.Clone()
	moved.Auth0UserID = "auth0|ann-2"
	if err := f.Store.Update(ctx, next, moved); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err = f.Store.GetByAuth0UserIDs(ctx, []string{"auth0|ann", "auth0|ann-2"})
	if err != nil {
		t.Fatalf("GetByAuth0UserIDs: %v", err)
	}
	if _, ok := got["auth0|ann"]; ok {
		t.Errorf("auth0|ann still has an invitation: %+v", got["auth0|ann"])
	}
	if inv := got["auth0|ann-2"]; inv == nil || inv.ID != "inv_new" {
		t.Errorf("latest invitation of auth0|ann-2 = %+v, want inv_new", inv)
	}
}
