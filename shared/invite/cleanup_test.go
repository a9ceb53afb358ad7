package invite_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// dueIDs lists the invitations the store has due before t.
func (f *fixture) dueIDs(t *testing.T, at time.Time) []string {
	t.Helper()
	p, err := f.store.DueBefore(f.ctx, at, 0, "")
	if err != nil {
		t.Fatalf("DueBefore: %v", err)
	}
	ids := []string{}
	for _, inv := range p.Invitations {
		ids = append(ids, inv.ID)
	}
	return ids
}

// leftInAuth0 reports whether what inv's cleanup removes is still in the fake Auth0.
func (f *fixture) leftInAuth0(inv *invite.Invitation) bool {
	if inv.Kind == invite.KindOrganization {
		for _, oi := range f.idp.OrgInvitations(inv.OrganizationID) {
			if oi.ID == inv.Auth0InvitationID {
				return true
			}
		}
		return false
	}
	_, ok := f.idp.User(inv.Auth0UserID)
	return ok
}

// endNow revokes an invitation, or expires it once its time has passed.
type endNow func(t *testing.T, f *fixture, id string) (*invite.Invitation, error)

func revoke(_ *testing.T, f *fixture, id string) (*invite.Invitation, error) {
	return f.svc.Revoke(f.ctx, appAdmin, id)
}

func revokeOrg(_ *testing.T, f *fixture, id string) (*invite.Invitation, error) {
	return f.svc.Revoke(f.ctx, acmeAdmin, id)
}

func expire(_ *testing.T, f *fixture, id string) (*invite.Invitation, error) {
	f.clock.Advance(8 * 24 * time.Hour)
	return f.svc.Expire(f.ctx, id)
}

func TestCleanupFailureLeavesRetry(t *testing.T) {
	tests := []struct {
		name         string
		org          bool
		end          endNow
		op           inmem.Op
		code         invite.Code
		wantStatus   invite.Status
		wantPending  bool
		wantAttempts int
		wantEvent    string // the last history entry
	}{
		{"revoke, delete user rate limited", false, revoke, inmem.OpDeleteUser, invite.CodeRateLimited,
			invite.StatusRevoked, true, 0, invite.EventCleanupDeferred},
		{"revoke, delete user unavailable", false, revoke, inmem.OpDeleteUser, invite.CodeUpstream,
			invite.StatusRevoked, true, 1, invite.EventCleanupFailed},
		{"expire, delete user unavailable", false, expire, inmem.OpDeleteUser, invite.CodeUpstream,
			invite.StatusExpired, true, 1, invite.EventCleanupFailed},
		{"expire, delete user rate limited", false, expire, inmem.OpDeleteUser, invite.CodeRateLimited,
			invite.StatusExpired, true, 0, invite.EventCleanupDeferred},
		{"revoke org, delete invitation unavailable", true, revokeOrg, inmem.OpDeleteOrgInvitation, invite.CodeUpstream,
			invite.StatusRevoked, true, 1, invite.EventCleanupFailed},
		{"expire org, delete invitation rate limited", true, expire, inmem.OpDeleteOrgInvitation, invite.CodeRateLimited,
			invite.StatusExpired, true, 0, invite.EventCleanupDeferred},
		{"revoke, user already gone", false, revoke, inmem.OpDeleteUser, invite.CodeNotFound,
			invite.StatusRevoked, false, 0, invite.EventRevoked},
		{"revoke org, invitation already gone", true, revokeOrg, inmem.OpDeleteOrgInvitation, invite.CodeNotFound,
			invite.StatusRevoked, false, 0, invite.EventRevoked},
		{"revoke, refused for good", false, revoke, inmem.OpDeleteUser, invite.CodeForbidden,
			invite.StatusRevoked, false, 1, invite.EventCleanupFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			admin, req := appAdmin, appRequest("ann@example.com")
			if tt.org {
				admin, req = acmeAdmin, orgRequest("ann@example.com", orgAcme)
			}
			id := f.create(t, admin, req).Invitation.ID
			f.idp.FailNext(tt.op, 1, tt.code)

			ended, err := tt.end(t, f, id)
			if err != nil {
				t.Fatalf("end: %v", err)
			}
			stored := f.stored(t, id)
			if stored.Status != tt.wantStatus || ended.Status != tt.wantStatus {
				t.Errorf("status: got %s (returned %s), want %s", stored.Status, ended.Status, tt.wantStatus)
			}
			if stored.CleanupPending != tt.wantPending || stored.CleanupAttempts != tt.wantAttempts {
				t.Errorf("cleanup: got pending %v after %d attempts, want %v after %d",
					stored.CleanupPending, stored.CleanupAttempts, tt.wantPending, tt.wantAttempts)
			}
			if got := lastEvent(stored).Event; got != tt.wantEvent {
				t.Errorf("last event: got %q (history %v), want %q", got, events(stored), tt.wantEvent)
			}
			due := f.dueIDs(t, f.clock.Now().Add(7*time.Hour))
			if got := len(due) == 1 && due[0] == id; got != tt.wantPending {
				t.Errorf("due in 7h: got %v, want %s there: %v", due, id, tt.wantPending)
			}
			if !tt.wantPending {
				return
			}
			if !f.leftInAuth0(stored) {
				t.Fatalf("the failed cleanup removed the Auth0 side anyway")
			}

			// The next sweep, with Auth0 healthy and the retry due, finishes the work.
			f.clock.Advance(7 * time.Hour)
			res := f.sweep(t, f.newSweeper(t))
			if res.CleanupsDone != 1 || res.Errors != 0 {
				t.Errorf("sweep: got %+v, want 1 cleanup done and no errors", res)
			}
			done := f.stored(t, id)
			if done.CleanupPending || lastEvent(done).Event != invite.EventCleanupDone {
				t.Errorf("after sweep: got pending %v, history %v, want cleared with %s",
					done.CleanupPending, events(done), invite.EventCleanupDone)
			}
			if f.leftInAuth0(done) {
				t.Errorf("after sweep: the Auth0 side is still there")
			}
			if got := f.dueIDs(t, f.clock.Now().Add(24*time.Hour)); len(got) != 0 {
				t.Errorf("due after cleanup: got %v, want none", got)
			}
		})
	}
}

func TestSweepCleanupRateLimitedStaysPending(t *testing.T) {
	f := newFixture(t)
	id := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation.ID
	f.idp.FailNext(inmem.OpDeleteUser, 1, invite.CodeUpstream)
	if _, err := f.svc.Revoke(f.ctx, appAdmin, id); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	before := f.stored(t, id)

	f.clock.Advance(time.Hour)
	f.idp.FailNext(inmem.OpDeleteUser, 1, invite.CodeRateLimited)
	res := f.sweep(t, f.newSweeper(t))
	if res.Deferred != 1 || !res.RateLimited || res.Errors != 0 || res.CleanupsDone != 0 {
		t.Errorf("rate-limited sweep: got %+v, want 1 deferred, rate limited, no errors", res)
	}
	after := f.stored(t, id)
	if !after.CleanupPending || after.CleanupAttempts != before.CleanupAttempts || after.Version != before.Version {
		t.Errorf("after 429: got pending %v, %d attempts, version %d; want unchanged pending, %d attempts, version %d",
			after.CleanupPending, after.CleanupAttempts, after.Version, before.CleanupAttempts, before.Version)
	}
	if got := f.dueIDs(t, f.clock.Now().Add(time.Second)); len(got) != 1 {
		t.Errorf("due after 429: got %v, want %s", got, id)
	}

	res = f.sweep(t, f.newSweeper(t))
	if res.CleanupsDone != 1 {
		t.Errorf("next sweep: got %+v, want 1 cleanup done", res)
	}
	if f.leftInAuth0(f.stored(t, id)) {
		t.Errorf("the user Doorman created is still in Auth0")
	}
}

func TestSweepCleanupGivesUp(t *testing.T) {
	f := newFixture(t)
	id := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation.ID
	const attempts = 12
	f.idp.FailNext(inmem.OpDeleteUser, attempts, invite.CodeUpstream)
	if _, err := f.svc.Revoke(f.ctx, appAdmin, id); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	var waits []time.Duration
	for range attempts - 1 {
		inv := f.stored(t, id)
		if !inv.CleanupPending {
			t.Fatalf("gave up after %d attempts, want %d", inv.CleanupAttempts, attempts)
		}
		wait := inv.NextCleanupAt.Sub(f.clock.Now())
		waits = append(waits, wait)
		// A sweep before the retry is due leaves it alone.
		if res := f.sweep(t, f.newSweeper(t)); res.Errors != 0 {
			t.Fatalf("sweep before due: got %+v, want nothing done", res)
		}
		f.clock.Advance(wait + time.Second)
		if res := f.sweep(t, f.newSweeper(t)); res.Errors != 1 {
			t.Fatalf("sweep when due: got %+v, want the failed attempt counted", res)
		}
	}
	inv := f.stored(t, id)
	if inv.CleanupPending || inv.CleanupAttempts != attempts {
		t.Errorf("after %d failures: got pending %v after %d attempts, want given up", attempts, inv.CleanupPending, inv.CleanupAttempts)
	}
	if got := countEvents(inv, invite.EventCleanupFailed); got != attempts {
		t.Errorf("cleanup_failed entries: got %d, want %d", got, attempts)
	}
	last := lastEvent(inv)
	if !strings.Contains(last.Detail, "stopped retrying") || !strings.Contains(last.Detail, inv.Auth0UserID) {
		t.Errorf("final entry: got %q, want it to name the user and say Doorman stopped retrying", last.Detail)
	}
	if got := f.dueIDs(t, f.clock.Now().Add(365*24*time.Hour)); len(got) != 0 {
		t.Errorf("due after giving up: got %v, want none", got)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] < waits[i-1] {
			t.Errorf("backoff: wait %d is %s, shorter than wait %d (%s)", i+1, waits[i], i, waits[i-1])
		}
	}
	if first, max := waits[0], waits[len(waits)-1]; first != time.Minute || max != 6*time.Hour {
		t.Errorf("backoff: got first %s and last %s, want 1m0s and 6h0m0s", first, max)
	}
}

func TestRetryCleanup(t *testing.T) {
	tests := []struct {
		name   string
		policy invite.UserPolicy
		op     inmem.Op
		// before runs before the retry, with the cleanup pending.
		before    func(t *testing.T, f *fixture, inv *invite.Invitation)
		wantUser  bool // the user is still in Auth0
		wantBlock bool
	}{
		{name: "lost response: user already deleted", policy: invite.UserDelete, op: inmem.OpDeleteUser,
			before: deleteUser},
		{name: "block policy", policy: invite.UserBlock, op: inmem.OpBlockUser, wantUser: true, wantBlock: true},
		{name: "block policy, user gone", policy: invite.UserBlock, op: inmem.OpBlockUser,
			before: deleteUser},
		{name: "keep policy after a lost write", policy: invite.UserKeep, op: inmem.OpDeleteUser, wantUser: true},
		{name: "delete policy, user adopted by a newer invitation", policy: invite.UserDelete, op: inmem.OpDeleteUser,
			before: adoptUser, wantUser: true},
		{name: "block policy, user adopted by a newer invitation", policy: invite.UserBlock, op: inmem.OpBlockUser,
			before: adoptUser, wantUser: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *invite.Config) { c.ExpiredUserPolicy = tt.policy })
			id := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation.ID
			f.idp.FailNext(tt.op, 1, invite.CodeUpstream)
			inv, err := expire(t, f, id)
			if err != nil {
				t.Fatalf("Expire: %v", err)
			}
			if tt.policy == invite.UserKeep {
				// Keep never calls Auth0: mark the invitation as a crash would have left it.
				next := inv.Clone()
				next.CleanupPending, next.NextCleanupAt = true, f.clock.Now()
				if err := f.store.Update(f.ctx, inv, next); err != nil {
					t.Fatalf("Update: %v", err)
				}
			}
			if !f.stored(t, id).CleanupPending {
				t.Fatalf("expire with a failing cleanup: no cleanup pending")
			}
			if tt.before != nil {
				tt.before(t, f, inv)
			}
			f.clock.Advance(time.Hour)
			got, err := f.svc.RetryCleanup(f.ctx, id)
			if err != nil {
				t.Fatalf("RetryCleanup: %v", err)
			}
			if got.CleanupPending || f.stored(t, id).CleanupPending {
				t.Errorf("after retry: cleanup still pending")
			}
			u, ok := f.idp.User(inv.Auth0UserID)
			if ok != tt.wantUser || u.Blocked != tt.wantBlock {
				t.Errorf("Auth0 user: got present %v blocked %v, want present %v blocked %v", ok, u.Blocked, tt.wantUser, tt.wantBlock)
			}
			// A second retry finds nothing to do.
			again, err := f.svc.RetryCleanup(f.ctx, id)
			if err != nil || again.Version != got.Version {
				t.Errorf("second retry: got version %d, %v; want version %d, nil", again.Version, err, got.Version)
			}
		})
	}
}

// deleteUser removes the invitation's Auth0 user behind Doorman's back, as a retry
// after a lost response finds it.
func deleteUser(t *testing.T, f *fixture, inv *invite.Invitation) {
	t.Helper()
	if _, err := f.idp.DeleteUserIfNeverLoggedIn(f.ctx, inv.Auth0UserID, inv.ID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
}

// adoptUser hands the invitation's Auth0 user to a newer invitation, whose user it is
// from then on: the old invitation's cleanup must leave it alone.
func adoptUser(t *testing.T, f *fixture, inv *invite.Invitation) {
	t.Helper()
	if err := f.idp.AdoptUser(f.ctx, inv.Auth0UserID, "inv_newer", nil); err != nil {
		t.Fatalf("adopt user: %v", err)
	}
}

// dyingStore stores the first transition out of pending and then fails every later
// write, as a process that dies right after it does.
type dyingStore struct {
	*inmem.Store
	dead bool
}

func (d *dyingStore) Update(ctx context.Context, prev, next *invite.Invitation) error {
	if d.dead {
		return invite.Errorf(invite.CodeUpstream, "the process died")
	}
	if prev.Status == invite.StatusPending && next.Status.Terminal() {
		d.dead = true
	}
	return d.Store.Update(ctx, prev, next)
}

// TestCleanupSurvivesACrash: the cleanup mark is written with the transition itself,
// so a revoke whose process dies before its Auth0 cleanup is recorded still leaves
// the work for the sweeper, which removes the user Doorman created.
func TestCleanupSurvivesACrash(t *testing.T) {
	var dying *dyingStore
	f := newFixture(t, func(c *invite.Config) {
		dying = &dyingStore{Store: c.Store.(*inmem.Store)}
		c.Store = dying
	})
	id := f.create(t, appAdmin, appRequest("ann@example.com")).Invitation.ID
	f.idp.FailNext(inmem.OpDeleteUser, 1, invite.CodeUpstream) // the call the crash cut short

	if _, err := f.svc.Revoke(f.ctx, appAdmin, id); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	stored := f.stored(t, id)
	if stored.Status != invite.StatusRevoked || !stored.CleanupPending {
		t.Fatalf("after the crash: status %s, cleanup pending %v; want revoked and pending", stored.Status, stored.CleanupPending)
	}
	if !f.leftInAuth0(stored) {
		t.Fatal("the Auth0 user is already gone; the test no longer simulates a crash")
	}

	dying.dead = false // a new process: the sweeper's
	f.clock.Advance(2 * time.Minute)
	f.sweep(t, f.newSweeper(t))
	stored = f.stored(t, id)
	if stored.CleanupPending || f.leftInAuth0(stored) {
		t.Errorf("after the sweep: cleanup pending %v, user left in Auth0 %v; want neither", stored.CleanupPending, f.leftInAuth0(stored))
	}
}
