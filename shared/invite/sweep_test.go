package invite_test

import (
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// newSweeper builds a sweeper on the fixture's store and clock.
func (f *fixture) newSweeper(t *testing.T, edit ...func(*invite.SweeperConfig)) *invite.Sweeper {
	t.Helper()
	cfg := invite.SweeperConfig{Service: f.svc, Store: f.store, Now: f.clock.Now}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := invite.NewSweeper(cfg)
	if err != nil {
		t.Fatalf("NewSweeper: %v", err)
	}
	return s
}

// sweep runs one sweep without a time budget and fails the test on error.
func (f *fixture) sweep(t *testing.T, s *invite.Sweeper) invite.SweepResult {
	t.Helper()
	res, err := s.Run(f.ctx, time.Time{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func lastEvent(inv *invite.Invitation) invite.Event {
	if len(inv.History) == 0 {
		return invite.Event{}
	}
	return inv.History[len(inv.History)-1]
}

func TestSweepExpiresOrReconciles(t *testing.T) {
	tests := []struct {
		name        string
		policy      invite.UserPolicy
		org         bool
		invitee     func(t *testing.T, f *fixture, inv *invite.Invitation) // what happened in Auth0
		want        invite.Status
		wantUser    bool // the Auth0 user Doorman created still exists
		wantBlocked bool
		wantOrgInv  bool // the Auth0 organization invitation still exists
	}{
		{name: "application, never logged in: expired, user deleted", want: invite.StatusExpired},
		{name: "application, policy keep", policy: invite.UserKeep, want: invite.StatusExpired, wantUser: true},
		{name: "application, policy block", policy: invite.UserBlock, want: invite.StatusExpired, wantUser: true, wantBlocked: true},
		{
			name: "application, logged in but the log event was lost: accepted",
			invitee: func(t *testing.T, f *fixture, inv *invite.Invitation) {
				if err := f.idp.RecordLogin(inv.Auth0UserID); err != nil {
					t.Fatal(err)
				}
			},
			want: invite.StatusAccepted, wantUser: true,
		},
		{name: "organization, not a member: expired, Auth0 invitation deleted", org: true, want: invite.StatusExpired},
		{
			name: "organization, already a member: accepted",
			org:  true,
			invitee: func(t *testing.T, f *fixture, inv *invite.Invitation) {
				uid := f.idp.AddUser(inv.Email, 1)
				if err := f.idp.AcceptOrgInvitation(inv.OrganizationID, inv.Auth0InvitationID, uid); err != nil {
					t.Fatal(err)
				}
			},
			want: invite.StatusAccepted,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *invite.Config) { c.ExpiredUserPolicy = tt.policy })
			req, actor := appRequest("ann@example.com"), appAdmin
			if tt.org {
				req, actor = orgRequest("ann@example.com", orgAcme), acmeAdmin
			}
			req.TTL = 24 * time.Hour
			c := f.create(t, actor, req)
			if tt.invitee != nil {
				tt.invitee(t, f, c.Invitation)
			}
			f.clock.Advance(25 * time.Hour)

			res := f.sweep(t, f.newSweeper(t))
			got := f.stored(t, c.Invitation.ID)
			if got.Status != tt.want {
				t.Fatalf("status = %s, want %s (result %+v)", got.Status, tt.want, res)
			}
			if tt.want == invite.StatusAccepted {
				if e := lastEvent(got); got.AcceptedAt.IsZero() || e.Actor != invite.ActorSweeper {
					t.Errorf("accepted at %v by %q, want now by %q", got.AcceptedAt, e.Actor, invite.ActorSweeper)
				}
				if got.FlagClearPending {
					t.Errorf("FlagClearPending = true after reconciliation, want the flag cleared")
				}
				if res.Accepted != 1 || res.Expired != 0 {
					t.Errorf("result = %+v, want 1 accepted", res)
				}
			} else if res.Expired != 1 {
				t.Errorf("result = %+v, want 1 expired", res)
			}
			if !tt.org {
				u, ok := f.idp.User(c.Invitation.Auth0UserID)
				if ok != tt.wantUser || u.Blocked != tt.wantBlocked {
					t.Errorf("Auth0 user exists=%v blocked=%v, want %v %v", ok, u.Blocked, tt.wantUser, tt.wantBlocked)
				}
			} else if n := len(f.idp.OrgInvitations(orgAcme)); (n > 0) != tt.wantOrgInv {
				t.Errorf("%d Auth0 organization invitations left, want any=%v", n, tt.wantOrgInv)
			}
			// A second sweep finds nothing left to do.
			if again := f.sweep(t, f.newSweeper(t)); again.Expired+again.Accepted != 0 {
				t.Errorf("second sweep = %+v, want nothing done", again)
			}
		})
	}
}

func TestSweepReminders(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration
		advance   time.Duration
		remind    time.Duration
		sweepers  int
		wantMails int // reminders sent
	}{
		{name: "two concurrent sweeps send one reminder", ttl: 7 * 24 * time.Hour, advance: 5*24*time.Hour + time.Hour, sweepers: 2, wantMails: 1},
		{name: "not yet within the lead", ttl: 7 * 24 * time.Hour, advance: 4 * 24 * time.Hour, sweepers: 1, wantMails: 0},
		{name: "created with less than the lead left", ttl: 24 * time.Hour, advance: time.Hour, sweepers: 1, wantMails: 0},
		{name: "reminders off", ttl: 7 * 24 * time.Hour, advance: 6 * 24 * time.Hour, remind: -1, sweepers: 1, wantMails: 0},
		{name: "a custom lead", ttl: 7 * 24 * time.Hour, advance: 6*24*time.Hour + 13*time.Hour, remind: 12 * time.Hour, sweepers: 1, wantMails: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			req := appRequest("ann@example.com")
			req.TTL = tt.ttl
			c := f.create(t, appAdmin, req)
			f.clock.Advance(tt.advance)

			var wg sync.WaitGroup
			for range tt.sweepers {
				s := f.newSweeper(t, func(cfg *invite.SweeperConfig) { cfg.ReminderBefore = tt.remind })
				wg.Go(func() {
					if _, err := s.Run(f.ctx, time.Time{}); err != nil {
						t.Errorf("Run: %v", err)
					}
				})
			}
			wg.Wait()
			// And once more, later: still no second reminder.
			f.clock.Advance(time.Hour)
			f.sweep(t, f.newSweeper(t, func(cfg *invite.SweeperConfig) { cfg.ReminderBefore = tt.remind }))

			var reminders []inmem.Sent
			for _, m := range f.mail.SentTo("ann@example.com") {
				if m.Template == invite.TemplateReminder {
					reminders = append(reminders, m)
				}
			}
			if len(reminders) != tt.wantMails {
				t.Fatalf("%d reminders sent, want %d", len(reminders), tt.wantMails)
			}
			if tt.wantMails == 1 {
				// The reminder's link is the invitation's current one.
				if _, err := f.svc.Landing(f.ctx, f.lastToken(t, "ann@example.com")); err != nil {
					t.Errorf("Landing with the reminder's token: %v", err)
				}
			}
			if got := f.stored(t, c.Invitation.ID); got.Status != invite.StatusPending {
				t.Errorf("status = %s, want pending", got.Status)
			}
		})
	}
}

func TestSweepTimeBudget(t *testing.T) {
	f := newFixture(t)
	const n = 5
	for i := range n {
		req := appRequest("user" + string(rune('a'+i)) + "@example.com")
		req.TTL = time.Hour
		f.create(t, appAdmin, req)
	}
	f.clock.Advance(2 * time.Hour)
	// Every read of the sweeper's clock costs a second; the budget allows a few.
	ticking := func() time.Time { f.clock.Advance(time.Second); return f.clock.Now() }
	s := f.newSweeper(t, func(c *invite.SweeperConfig) { c.Now = ticking; c.Margin = time.Second })

	total, runs := 0, 0
	for total < n && runs < 10 {
		runs++
		res, err := s.Run(f.ctx, f.clock.Now().Add(5*time.Second))
		if err != nil {
			t.Fatalf("run %d: %v", runs, err)
		}
		total += res.Expired
		if res.Complete != (total == n) && res.Expired > 0 && total < n {
			t.Errorf("run %d: Complete = %v with %d of %d expired", runs, res.Complete, total, n)
		}
	}
	if total != n {
		t.Fatalf("expired %d in %d runs, want %d", total, runs, n)
	}
	if runs < 2 {
		t.Errorf("took %d run, want the budget to split the work over several", runs)
	}
	for _, inv := range f.store.All() {
		if inv.Status != invite.StatusExpired {
			t.Errorf("invitation %s is %s, want expired", inv.ID, inv.Status)
		}
	}
}

func TestSweepRateLimitPausesAuth0(t *testing.T) {
	f := newFixture(t)
	const n = 4
	for i := range n {
		req := appRequest("user" + string(rune('a'+i)) + "@example.com")
		req.TTL = time.Hour
		f.create(t, appAdmin, req)
	}
	f.clock.Advance(2 * time.Hour)
	f.idp.FailNext(inmem.OpGetUser, 1, invite.CodeRateLimited)
	before := f.idp.Calls(inmem.OpGetUser)

	res := f.sweep(t, f.newSweeper(t))
	if !res.RateLimited || res.Expired != 0 || res.Deferred == 0 {
		t.Errorf("first run = %+v, want rate limited, nothing expired, work deferred", res)
	}
	if got := f.idp.Calls(inmem.OpGetUser) - before; got != 1 {
		t.Errorf("%d GetUser calls after the 429, want 1 (Auth0 paused)", got)
	}
	for _, inv := range f.store.All() {
		if inv.Status != invite.StatusPending {
			t.Errorf("invitation %s is %s after a 429, want pending", inv.ID, inv.Status)
		}
	}
	res = f.sweep(t, f.newSweeper(t))
	if res.Expired != n || res.RateLimited {
		t.Errorf("second run = %+v, want %d expired", res, n)
	}
}

func TestSweepRetriesDueWork(t *testing.T) {
	t.Run("failed email retried, then failed for good", func(t *testing.T) {
		f := newFixture(t)
		f.mail.FailNext(1, invite.CodeUpstream)
		c := f.create(t, appAdmin, appRequest("ann@example.com"))
		if got := f.stored(t, c.Invitation.ID).Delivery; got.Status != invite.DeliveryFailed || got.NextAttemptAt.IsZero() {
			t.Fatalf("delivery = %+v, want failed with a retry queued", got)
		}
		s := f.newSweeper(t)
		if res := f.sweep(t, s); res.EmailsRetried != 0 {
			t.Errorf("retried %d before the backoff passed, want 0", res.EmailsRetried)
		}
		f.clock.Advance(2 * time.Minute)
		if res := f.sweep(t, s); res.EmailsRetried != 1 {
			t.Errorf("result %+v, want 1 email retried", res)
		}
		if got := f.stored(t, c.Invitation.ID).Delivery.Status; got != invite.DeliverySent {
			t.Errorf("delivery = %s, want sent", got)
		}

		g := newFixture(t)
		g.mail.FailNext(1, invite.CodeInvalid) // refused for good: no retry queued
		c = g.create(t, appAdmin, appRequest("bob@example.com"))
		res := g.sweep(t, g.newSweeper(t))
		got := g.stored(t, c.Invitation.ID)
		if res.Failed != 1 || got.Status != invite.StatusFailed || got.FailedReason == "" {
			t.Errorf("result %+v, invitation %s (%q); want failed with the reason", res, got.Status, got.FailedReason)
		}
		if _, ok := g.idp.User(got.Auth0UserID); ok {
			t.Errorf("the Auth0 user of a failed invitation still exists, want it deleted")
		}
	})
	t.Run("flag clear retried", func(t *testing.T) {
		f := newFixture(t)
		c := f.create(t, appAdmin, appRequest("ann@example.com"))
		f.idp.FailNext(inmem.OpClearInvitationFlag, 1, invite.CodeUpstream)
		if _, err := f.svc.Accept(f.ctx, c.Invitation.ID, invite.AcceptSource{Source: "auth0"}); err != nil {
			t.Fatal(err)
		}
		if !f.stored(t, c.Invitation.ID).FlagClearPending {
			t.Fatal("FlagClearPending = false after a failed clear, want true")
		}
		f.clock.Advance(time.Minute)
		res := f.sweep(t, f.newSweeper(t))
		if res.FlagsCleared != 1 || f.stored(t, c.Invitation.ID).FlagClearPending {
			t.Errorf("result %+v, want the flag cleared", res)
		}
		u, _ := f.idp.User(c.Invitation.Auth0UserID)
		if _, ok := u.AppMetadata["needsInvitation"]; ok {
			t.Errorf("app_metadata = %v, want needsInvitation removed", u.AppMetadata)
		}
	})
}

func TestNewSweeperChecksConfig(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		cfg  invite.SweeperConfig
	}{
		{name: "no service", cfg: invite.SweeperConfig{Store: f.store}},
		{name: "no store", cfg: invite.SweeperConfig{Service: f.svc}},
		{name: "negative margin", cfg: invite.SweeperConfig{Service: f.svc, Store: f.store, Margin: -time.Second}},
		{name: "page too large", cfg: invite.SweeperConfig{Service: f.svc, Store: f.store, PageSize: 101}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := invite.NewSweeper(tt.cfg); err == nil {
				t.Errorf("NewSweeper(%s) = nil error, want one", tt.name)
			}
		})
	}
}
