package invite_test

import (
	"context"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// slowIdentity is the in-memory Identity whose user lookups take lookup of the clock,
// as Auth0's do at its rate limit.
type slowIdentity struct {
	*inmem.Identity
	clock  *inmem.Clock
	lookup time.Duration
}

func (s slowIdentity) FindUserByEmail(ctx context.Context, email string) (*invite.User, error) {
	s.clock.Advance(s.lookup)
	return s.Identity.FindUserByEmail(ctx, email)
}

// TestDryRunAccounts classifies addresses as provisionUser treats them: someone's
// account is existing_account, the unclaimed user Doorman made for an earlier
// invitation is new (the invitation adopts it), and a dry run creates nothing.
func TestDryRunAccounts(t *testing.T) {
	f := newFixture(t)
	f.idp.AddUser("owner@example.com", 2)
	if _, err := f.idp.CreateUser(f.ctx, invite.NewUser{Email: "adopt@example.com", InvitationID: "01EARLIER"}); err != nil {
		t.Fatal(err)
	}
	users := f.idp.UserCount()
	reqs := []invite.CreateRequest{
		{Email: "owner@example.com", SendEmail: true},
		{Email: "adopt@example.com", SendEmail: true},
		{Email: "fresh@example.com", SendEmail: true},
		{Email: "fresh@example.com", SendEmail: true, OrganizationID: orgAcme, Roles: []string{"rol_admin"}},
	}
	rows, err := f.svc.DryRunBatch(f.ctx, superAdmin, reqs)
	if err != nil {
		t.Fatal(err)
	}
	want := []invite.RowClass{invite.RowExistingAccount, invite.RowNew, invite.RowNew, invite.RowNotGrantable}
	for i, w := range want {
		if rows[i].Class != w || rows[i].Unchecked {
			t.Errorf("row %d (%s): class %q unchecked %v, want %q checked", i, reqs[i].Email, rows[i].Class, rows[i].Unchecked, w)
		}
	}
	if got := f.idp.UserCount(); got != users || f.mail.Calls() != 0 {
		t.Errorf("after the dry run: %d users (want %d), %d emails (want 0)", got, users, f.mail.Calls())
	}
}

// TestDryRunLookupBudget stops asking Auth0 once DryRunLookupBudget has passed: the
// rest come back new and unchecked.
func TestDryRunLookupBudget(t *testing.T) {
	f := newFixture(t)
	f.rebuild(t, func(c *invite.Config) {
		c.Identity = slowIdentity{Identity: f.idp, clock: f.clock, lookup: invite.DryRunLookupBudget / 2}
	})
	f.idp.AddUser("c@example.com", 1)
	reqs := []invite.CreateRequest{{Email: "a@example.com"}, {Email: "b@example.com"}, {Email: "c@example.com"}}
	rows, err := f.svc.DryRunBatch(f.ctx, appAdmin, reqs)
	if err != nil {
		t.Fatal(err)
	}
	got := []bool{rows[0].Unchecked, rows[1].Unchecked, rows[2].Unchecked}
	if got[0] || got[1] || !got[2] || rows[2].Class != invite.RowNew {
		t.Errorf("unchecked %v, last class %q; want the first two checked, the third new and unchecked", got, rows[2].Class)
	}
}
