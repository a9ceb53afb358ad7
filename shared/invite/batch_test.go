package invite_test

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doormanhq/doorman/internal/testsupport/crash"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// bulk is a fixture with batches on: the API's service submits, a worker's service
// (optionally behind crash injection) works the queue.
type bulk struct {
	*fixture
	batches *inmem.Batches
	queue   *inmem.Queue
	worker  *invite.Service
	crashes *crash.Injector
	// sleep is the worker's wait between attempts, and workerBatches its batch store
	// (default b.batches); a test sets them before setWorkerIdentity.
	sleep         func(ctx context.Context, d time.Duration) error
	workerBatches invite.BatchStore
}

func newBulk(t *testing.T, crashP float64) *bulk {
	t.Helper()
	f := newFixture(t)
	b := &bulk{fixture: f, batches: f.cfg.Batches.(*inmem.Batches),
		queue: inmem.NewQueue(inmem.QueueOptions{Visibility: time.Millisecond, MaxReceives: 100})}
	b.useQueue(t, b.queue)
	b.crashes = crash.NewInjector(crashP, 7)
	b.sleep = crash.NoSleep
	b.setWorkerIdentity(t, f.idp)
	return b
}

// useQueue makes the submitting service one that queues on q.
func (b *bulk) useQueue(t *testing.T, q invite.Queue) {
	t.Helper()
	b.rebuild(t, func(c *invite.Config) { c.Queue = q })
}

// setWorkerIdentity gives the worker another Identity (behind the crash injection).
func (b *bulk) setWorkerIdentity(t *testing.T, idp invite.Identity) {
	t.Helper()
	f := b.fixture
	w, err := invite.NewService(invite.Config{
		Store:    crash.Store{Store: f.store, In: b.crashes},
		Batches:  crash.BatchStore{BatchStore: cmp.Or[invite.BatchStore](b.workerBatches, b.batches), In: b.crashes},
		Sleep:    b.sleep,
		Identity: crash.Identity{Identity: idp, In: b.crashes},
		Mailer:   crash.Mailer{Mailer: f.mail, In: b.crashes},
		Now:      f.clock.Now, Rand: inmem.NewRand([32]byte{9}),
		PublicBaseURL: baseURL, ApplicationName: "Example App", ApplicationURL: "https://app.example.com/",
		LoginClientID: loginCID, RedirectAllowed: allowExample,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.worker = w
}

// run works the queue until it is idle.
func (b *bulk) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	go func() { b.queue.Run(ctx, 4, b.worker.WorkBatchItem); close(done) }()
	wait, stop := context.WithTimeout(b.ctx, 30*time.Second)
	defer stop()
	err := b.queue.WaitIdle(wait)
	cancel()
	<-done
	if err != nil {
		t.Fatalf("queue not idle after 30s: %v (stats %+v)", err, b.queue.Stats())
	}
}

// submit submits reqs as a as one batch and fails the test when they are refused.
func (b *bulk) submit(t *testing.T, a invite.Actor, reqs ...invite.CreateRequest) *invite.Batch {
	t.Helper()
	batch, err := b.svc.SubmitBatch(b.ctx, a, reqs)
	if err != nil {
		t.Fatalf("SubmitBatch: %v", err)
	}
	return batch
}

func (b *bulk) items(t *testing.T, a invite.Actor, id string) (*invite.Batch, []*invite.BatchItem) {
	t.Helper()
	v, err := b.svc.Batch(b.ctx, a, id, invite.MaxBatchItems, "")
	if err != nil {
		t.Fatalf("Batch(%s): %v", id, err)
	}
	return v.Batch, v.Page.Items
}

func TestSubmitBatchValidatesEveryItem(t *testing.T) {
	b := newBulk(t, 0)
	bad := appRequest("not-an-address")
	dup := appRequest("ann@example.com")
	forbidden := orgRequest("olga@example.com", orgAcme) // appAdmin lacks admin:invitations
	reqs := []invite.CreateRequest{appRequest("ann@example.com"), bad, dup, forbidden, appRequest("bob@example.com")}
	_, err := b.svc.SubmitBatch(b.ctx, appAdmin, reqs)
	e := invite.AsError(err)
	if e == nil || e.Code != invite.CodeInvalid {
		t.Fatalf("SubmitBatch error = %v, want invalid_request", err)
	}
	got := map[int]invite.Code{}
	for _, p := range e.Items {
		got[p.Index] = p.Code
	}
	want := map[int]invite.Code{1: invite.CodeInvalid, 2: invite.CodeInvalid, 3: invite.CodeForbidden}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("item problems = %v, want %v", got, want)
	}
	if s := b.queue.Stats(); s.Sent != 0 || b.store.Len() != 0 || b.idp.Calls(inmem.OpCreateUser) != 0 {
		t.Errorf("after a refused batch: %d queued, %d stored, %d users created; want nothing started", s.Sent, b.store.Len(), b.idp.Calls(inmem.OpCreateUser))
	}
}

func TestSubmitBatchLooksUpEachOrganizationOnce(t *testing.T) {
	b := newBulk(t, 0)
	reqs := []invite.CreateRequest{orgRequest("a@example.com", orgAcme), orgRequest("b@example.com", orgAcme), orgRequest("c@example.com", "org_missing")}
	_, err := b.svc.SubmitBatch(b.ctx, superAdmin, reqs)
	e := invite.AsError(err)
	if e == nil || len(e.Items) != 1 || e.Items[0].Index != 2 || e.Items[0].Field != "organization_id" {
		t.Fatalf("SubmitBatch error = %+v, want item 2 naming organization_id", e)
	}
	if n := b.idp.Calls(inmem.OpOrganization); n != 2 {
		t.Errorf("Organization calls = %d, want 2 (one per distinct organization)", n)
	}
}

func TestBatchOutcomes(t *testing.T) {
	b := newBulk(t, 0)
	existing := b.create(t, appAdmin, appRequest("pending@example.com")).Invitation
	b.idp.AddUser("member@example.com", 3)
	noMail := appRequest("quiet@example.com")
	noMail.SendEmail = false
	resend := appRequest("pending@example.com")
	resend.OnConflict = invite.OnConflictResend
	b.clock.Advance(2 * time.Minute) // past the resend interval
	reqs := []invite.CreateRequest{
		appRequest("new@example.com"),
		orgRequest("org@example.com", orgAcme),
		appRequest("member@example.com"),
		noMail,
		appRequest("pending@example.com"),
	}
	batch := b.submit(t, superAdmin, reqs...)
	second := b.submit(t, superAdmin, resend)
	b.run(t)

	got, items := b.items(t, superAdmin, batch.ID)
	if got.Status() != invite.BatchDone || got.Succeeded != 4 || got.Failed != 1 {
		t.Fatalf("batch = %s with %d succeeded, %d failed; want done, 4, 1", got.Status(), got.Succeeded, got.Failed)
	}
	// The existing account's invitation waits for its owner (Who may grant what).
	wantStatus := []invite.Status{invite.StatusPending, invite.StatusPending, invite.StatusPending, invite.StatusPending}
	for i, want := range wantStatus {
		inv := b.stored(t, items[i].ResultID)
		if inv.Status != want || inv.Email != reqs[i].Email {
			t.Errorf("item %d: invitation %s is %s for %s, want %s for %s", i, inv.ID, inv.Status, inv.Email, want, reqs[i].Email)
		}
	}
	if p := items[4].Problem; items[4].Status != invite.ItemFailed || p == nil || p.Code != invite.CodeConflict || p.ExistingID != existing.ID {
		t.Errorf("item 4 = %s %+v, want failed with conflict naming %s", items[4].Status, p, existing.ID)
	}
	for addr, want := range map[string]int{"new@example.com": 1, "org@example.com": 1, "member@example.com": 1, "quiet@example.com": 0} {
		if n := len(b.mail.SentTo(addr)); n != want {
			t.Errorf("emails to %s = %d, want %d", addr, n, want)
		}
	}
	if tmpl := b.mail.SentTo("member@example.com")[0].Template; tmpl != invite.TemplateExistingAccount {
		t.Errorf("existing account got %s, want %s", tmpl, invite.TemplateExistingAccount)
	}
	if u, _ := b.idp.UserByEmail("member@example.com"); len(u.Roles) != 0 {
		t.Errorf("existing account holds %v at create, want nothing granted yet", u.Roles)
	}

	_, resent := b.items(t, superAdmin, second.ID)
	if r := resent[0]; r.Status != invite.ItemSucceeded || !r.Resent || r.ResultID != existing.ID {
		t.Errorf("resend item = %+v, want succeeded, resent, %s", r, existing.ID)
	}
	if n := len(b.mail.SentTo("pending@example.com")); n != 2 {
		t.Errorf("emails to pending@example.com = %d, want 2 (the invitation and one resend)", n)
	}
}

func TestBatchVisibility(t *testing.T) {
	b := newBulk(t, 0)
	app := b.submit(t, appAdmin, appRequest("a@example.com"))
	acme := b.submit(t, acmeAdmin, orgRequest("b@example.com", ""))
	cases := []struct {
		name string
		a    invite.Actor
		id   string
		want invite.Code
	}{
		{"application token sees its batch", appAdmin, app.ID, ""},
		{"organization token sees its batch", acmeAdmin, acme.ID, ""},
		{"other organization", otherAdmin, acme.ID, invite.CodeNotFound},
		{"organization token, application batch", acmeAdmin, app.ID, invite.CodeNotFound},
		{"application token, organization batch", appAdmin, acme.ID, invite.CodeNotFound},
		{"admin sees every batch", superAdmin, acme.ID, ""},
		{"malformed id", appAdmin, "../x", invite.CodeNotFound},
		{"no read permission", invite.Actor{Sub: "auth0|w", Permissions: []string{invite.PermCreate}}, app.ID, invite.CodeForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.svc.Batch(b.ctx, tc.a, tc.id, 10, "")
			if got := invite.ErrorCode(err); got != tc.want {
				t.Errorf("Batch error code = %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

func TestBatchTransientFailures(t *testing.T) {
	t.Run("retried until Auth0 answers", func(t *testing.T) {
		b := newBulk(t, 0)
		b.idp.FailNext(inmem.OpCreateUser, 6, invite.CodeUpstream) // more than one delivery's attempts
		batch := b.submit(t, appAdmin, appRequest("ann@example.com"))
		b.run(t)
		_, items := b.items(t, appAdmin, batch.ID)
		if items[0].Status != invite.ItemSucceeded || b.idp.UserCount() != 1 || len(b.mail.SentTo("ann@example.com")) != 1 {
			t.Errorf("item %s, %d users, %d emails; want succeeded, 1, 1", items[0].Status, b.idp.UserCount(), len(b.mail.SentTo("ann@example.com")))
		}
		if r := b.queue.Stats().Redelivered; r < 1 {
			t.Errorf("redeliveries = %d, want at least 1 (one delivery retries 4 times)", r)
		}
	})
	t.Run("waits as long as Auth0 asks", func(t *testing.T) {
		b := newBulk(t, 0)
		var waits []time.Duration
		b.sleep = func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return ctx.Err()
		}
		b.setWorkerIdentity(t, &limitedOnce{Identity: b.idp, wait: 7 * time.Second})
		batch := b.submit(t, appAdmin, appRequest("ann@example.com"))
		b.run(t)
		if _, items := b.items(t, appAdmin, batch.ID); items[0].Status != invite.ItemSucceeded {
			t.Errorf("item %s, want succeeded", items[0].Status)
		}
		if len(waits) != 1 || waits[0] != 7*time.Second {
			t.Errorf("waits between attempts %v, want [7s] (the Retry-After, longer than the backoff)", waits)
		}
	})
	t.Run("recorded on the last delivery after its time ran out", func(t *testing.T) {
		b := newBulk(t, 0)
		b.workerBatches = ctxBatches{b.batches}
		b.setWorkerIdentity(t, b.idp)
		b.idp.FailNext(inmem.OpCreateUser, 100, invite.CodeUpstream)
		batch := b.submit(t, appAdmin, appRequest("ann@example.com"))
		spent, cancel := context.WithCancel(b.ctx)
		cancel()
		if err := b.worker.WorkBatchItem(spent, invite.ItemRef{BatchID: batch.ID, Index: 0}, true); err != nil {
			t.Fatalf("WorkBatchItem on the last delivery, its context ended: %v, want the failure recorded", err)
		}
		if got, _ := b.items(t, appAdmin, batch.ID); got.Failed != 1 {
			t.Errorf("batch failed=%d, want 1: the item's outcome recorded", got.Failed)
		}
	})
	t.Run("failed on the last delivery", func(t *testing.T) {
		b := newBulk(t, 0)
		b.queue = inmem.NewQueue(inmem.QueueOptions{Visibility: time.Millisecond, MaxReceives: 2})
		b.useQueue(t, b.queue)
		b.idp.FailNext(inmem.OpCreateUser, 100, invite.CodeUpstream)
		batch := b.submit(t, appAdmin, appRequest("ann@example.com"))
		b.run(t)
		got, items := b.items(t, appAdmin, batch.ID)
		if got.Failed != 1 || items[0].Problem == nil || items[0].Problem.Code != invite.CodeUpstream {
			t.Fatalf("batch failed=%d, item problem %+v; want 1, upstream_unavailable", got.Failed, items[0].Problem)
		}
		inv := b.stored(t, items[0].InvitationID)
		if inv.Status != invite.StatusFailed {
			t.Errorf("invitation is %s, want failed (its reservation released)", inv.Status)
		}
		if len(b.queue.Dead()) != 0 {
			t.Errorf("dead letters = %v, want none: the last delivery records the failure", b.queue.Dead())
		}
	})
}

// TestBatchExactlyOnceUnderCrashes kills the worker at random call boundaries, before
// and after calls that took effect, and checks that every item still ends once, with
// one Auth0 user or organization invitation and at most one email per invitee.
func TestBatchExactlyOnceUnderCrashes(t *testing.T) {
	b := newBulk(t, 0.04)
	const n = 300
	reqs := make([]invite.CreateRequest, n)
	for i := range reqs {
		if i%3 == 0 {
			reqs[i] = orgRequest(fmt.Sprintf("o%03d@example.com", i), orgAcme)
		} else {
			reqs[i] = appRequest(fmt.Sprintf("u%03d@example.com", i))
		}
	}
	batch := b.submit(t, superAdmin, reqs...)
	b.run(t)

	got, items := b.items(t, superAdmin, batch.ID)
	if got.Succeeded != n || got.Failed != 0 {
		t.Fatalf("batch: %d succeeded, %d failed; want %d, 0", got.Succeeded, got.Failed, n)
	}
	if b.crashes.Total() < 20 {
		t.Fatalf("only %d crashes injected; the test proves little", b.crashes.Total())
	}
	orgInvs := map[string]int{}
	for _, oi := range b.idp.OrgInvitations(orgAcme) {
		orgInvs[oi.Email]++
	}
	var sent, unconfirmed int
	for i, it := range items {
		inv := b.stored(t, it.ResultID)
		if it.ResultID != it.InvitationID || inv.Status != invite.StatusPending {
			t.Errorf("item %d: result %s (%s), want its own invitation %s pending", i, it.ResultID, inv.Status, it.InvitationID)
		}
		mails := len(b.mail.SentTo(reqs[i].Email))
		switch inv.Delivery.Status {
		case invite.DeliverySent:
			sent++
			if mails != 1 {
				t.Errorf("item %d: delivery sent, %d emails; want 1", i, mails)
			}
		case invite.DeliveryUnconfirmed:
			unconfirmed++
			if mails > 1 {
				t.Errorf("item %d: delivery unconfirmed, %d emails; want at most 1", i, mails)
			}
		default:
			t.Errorf("item %d: delivery %s, want sent or unconfirmed", i, inv.Delivery.Status)
		}
		if inv.Kind == invite.KindOrganization {
			if orgInvs[inv.Email] != 1 || inv.Auth0InvitationID == "" {
				t.Errorf("item %d: %d Auth0 organization invitations, id %q; want exactly 1", i, orgInvs[inv.Email], inv.Auth0InvitationID)
			}
		} else if u, ok := b.idp.UserByEmail(inv.Email); !ok || u.ID != inv.Auth0UserID {
			t.Errorf("item %d: Auth0 user %+v, want the invitation's %s", i, u, inv.Auth0UserID)
		}
	}
	if users := b.idp.UserCount(); users != n-n/3 {
		t.Errorf("Auth0 users = %d, want %d (one per application item)", users, n-n/3)
	}
	// Only a crash between claiming the email (a store update) and recording its
	// outcome (the next one) leaves it unconfirmed.
	c := b.crashes.Crashes()
	if max := c["store.Update/after"] + c["mailer.Send/before"] + c["mailer.Send/after"] + c["store.Update/before"]; unconfirmed > max {
		t.Errorf("%d unconfirmed deliveries, but only %d crashes could cause one", unconfirmed, max)
	}
	t.Logf("%d items, %d crashes %v, %d redeliveries; %d emails sent, %d unconfirmed", n, b.crashes.Total(), c, b.queue.Stats().Redelivered, sent, unconfirmed)
}

// halfQueue takes the even items and refuses the odd ones, as SQS may in an incident.
type halfQueue struct{ *inmem.Queue }

func (q halfQueue) Enqueue(ctx context.Context, refs []invite.ItemRef) error {
	var taken, refused []invite.ItemRef
	for _, r := range refs {
		if r.Index%2 == 0 {
			taken = append(taken, r)
		} else {
			refused = append(refused, r)
		}
	}
	if err := q.Queue.Enqueue(ctx, taken); err != nil {
		return err
	}
	return &invite.NotQueuedError{Refs: refused, Err: invite.Errorf(invite.CodeUpstream, "the queue is unavailable")}
}

func TestSubmitBatchItemsNotQueued(t *testing.T) {
	b := newBulk(t, 0)
	b.useQueue(t, halfQueue{b.queue})
	reqs := []invite.CreateRequest{appRequest("a@example.com"), appRequest("b@example.com"), appRequest("c@example.com"), appRequest("d@example.com")}
	batch := b.submit(t, appAdmin, reqs...)
	if batch.Failed != 2 {
		t.Errorf("batch answered with %d failed, want the 2 items the queue refused", batch.Failed)
	}
	b.run(t)
	got, items := b.items(t, appAdmin, batch.ID)
	if got.Status() != invite.BatchDone || got.Succeeded != 2 || got.Failed != 2 {
		t.Fatalf("batch %s, %d succeeded, %d failed; want done, 2, 2", got.Status(), got.Succeeded, got.Failed)
	}
	for i, it := range items {
		wantFailed := i%2 == 1
		if (it.Status == invite.ItemFailed) != wantFailed || wantFailed && it.Problem.Code != invite.CodeUpstream {
			t.Errorf("item %d: %s %+v, want failed=%v (upstream_unavailable)", i, it.Status, it.Problem, wantFailed)
		}
		if n := len(b.mail.SentTo(reqs[i].Email)); n != map[bool]int{true: 0, false: 1}[wantFailed] {
			t.Errorf("item %d: %d emails", i, n)
		}
	}
}

// TestBatchItemProblemHidesInternalDetail: an item that ends on an internal error
// says so without the cause's words, as a 500 does.
func TestBatchItemProblemHidesInternalDetail(t *testing.T) {
	b := newBulk(t, 0)
	b.queue = inmem.NewQueue(inmem.QueueOptions{Visibility: time.Millisecond, MaxReceives: 1})
	b.useQueue(t, b.queue)
	b.idp.FailNext(inmem.OpCreateUser, 10, invite.CodeInternal)
	batch := b.submit(t, appAdmin, appRequest("ann@example.com"))
	b.run(t)
	_, items := b.items(t, appAdmin, batch.ID)
	p := items[0].Problem
	if items[0].Status != invite.ItemFailed || p == nil || p.Code != invite.CodeInternal || p.Message != "internal error" {
		t.Errorf("item %s, problem %+v; want failed, internal, \"internal error\"", items[0].Status, p)
	}
}

// lossyIdentity is Auth0 answering badly: while down, creations take effect but their
// answers are lost, role assignments fail, and lookups fail but for the first of each
// address; before is called ahead of each creation.
type lossyIdentity struct {
	invite.Identity
	down   atomic.Bool
	before func()
	looked sync.Map
}

func (l *lossyIdentity) AssignRoles(ctx context.Context, userID string, roles []string) error {
	if l.down.Load() {
		return l.unavailable()
	}
	return l.Identity.AssignRoles(ctx, userID, roles)
}

func (l *lossyIdentity) AdoptUser(ctx context.Context, userID, invitationID string, roles []string) error {
	if l.down.Load() {
		return l.unavailable()
	}
	return l.Identity.AdoptUser(ctx, userID, invitationID, roles)
}

func (l *lossyIdentity) unavailable() error {
	return &invite.Error{Code: invite.CodeUpstream, Message: "Auth0 is unavailable"}
}

func (l *lossyIdentity) CreateUser(ctx context.Context, nu invite.NewUser) (*invite.User, error) {
	if l.before != nil {
		l.before()
	}
	u, err := l.Identity.CreateUser(ctx, nu)
	if err == nil && l.down.Load() {
		return nil, l.unavailable()
	}
	return u, err
}

func (l *lossyIdentity) CreateOrgInvitation(ctx context.Context, req invite.OrgInvitationRequest) (*invite.OrgInvitation, error) {
	if l.before != nil {
		l.before()
	}
	oi, err := l.Identity.CreateOrgInvitation(ctx, req)
	if err == nil && l.down.Load() {
		return nil, l.unavailable()
	}
	return oi, err
}

func (l *lossyIdentity) FindUserByEmail(ctx context.Context, email string) (*invite.User, error) {
	if _, again := l.looked.LoadOrStore(email, true); again && l.down.Load() {
		return nil, l.unavailable()
	}
	return l.Identity.FindUserByEmail(ctx, email)
}

func (l *lossyIdentity) FindOrgInvitations(ctx context.Context, orgID, email string) ([]*invite.OrgInvitation, error) {
	if l.down.Load() {
		return nil, l.unavailable()
	}
	return l.Identity.FindOrgInvitations(ctx, orgID, email)
}

// TestBatchUnrecordedAuth0SideCleanedUp: Auth0 created the user and the organization
// invitation but the answers were lost, and it stayed down until the items' last
// delivery. The failed invitations are marked for cleanup, which finds in Auth0 what
// carries their ids once it answers again, and leaves alone what carries another's.
func TestBatchUnrecordedAuth0SideCleanedUp(t *testing.T) {
	b := newBulk(t, 0)
	b.queue = inmem.NewQueue(inmem.QueueOptions{Visibility: time.Millisecond, MaxReceives: 2})
	b.useQueue(t, b.queue)
	other, err := b.idp.CreateUser(b.ctx, invite.NewUser{Email: "zed@example.com", InvitationID: "inv_other"})
	if err != nil {
		t.Fatal(err)
	}
	lossy := &lossyIdentity{Identity: b.idp}
	lossy.down.Store(true)
	b.setWorkerIdentity(t, lossy)

	batch := b.submit(t, superAdmin, appRequest("ann@example.com"), orgRequest("olga@example.com", orgAcme), appRequest("zed@example.com"))
	b.run(t)
	got, items := b.items(t, superAdmin, batch.ID)
	if got.Failed != 3 {
		t.Fatalf("batch failed=%d succeeded=%d, want all 3 failed while Auth0 is down", got.Failed, got.Succeeded)
	}
	ann, ok := b.idp.UserByEmail("ann@example.com")
	if !ok || len(b.idp.OrgInvitations(orgAcme)) != 1 {
		t.Fatalf("before the cleanup: ann in Auth0 %v, %d organization invitations; want the lost creations there", ok, len(b.idp.OrgInvitations(orgAcme)))
	}
	for _, it := range items {
		inv := b.stored(t, it.InvitationID)
		if inv.Status != invite.StatusFailed || !inv.CleanupPending || inv.Auth0UserID != "" || inv.Auth0InvitationID != "" {
			t.Fatalf("item %d: invitation %s, cleanup pending %v, user %q, org invitation %q; want failed, pending, nothing recorded",
				it.Index, inv.Status, inv.CleanupPending, inv.Auth0UserID, inv.Auth0InvitationID)
		}
	}

	lossy.down.Store(false)
	for _, it := range items {
		inv, err := b.svc.RetryCleanup(b.ctx, it.InvitationID)
		if err != nil || inv.CleanupPending {
			t.Fatalf("item %d: RetryCleanup = %v, pending %v; want done", it.Index, err, inv != nil && inv.CleanupPending)
		}
	}
	if _, ok := b.idp.User(ann.ID); ok {
		t.Errorf("the user Auth0 created for item 0 is still there")
	}
	if n := len(b.idp.OrgInvitations(orgAcme)); n != 0 {
		t.Errorf("%d organization invitations left, want the one created for item 1 deleted", n)
	}
	if _, ok := b.idp.User(other.ID); !ok {
		t.Errorf("the user of another invitation was deleted; it carries inv_other, not item 2's id")
	}
	if h := b.stored(t, items[0].InvitationID).History; h[len(h)-1].Event != invite.EventCleanupDone || !strings.Contains(h[len(h)-1].Detail, "unrecorded Auth0 user "+ann.ID) {
		t.Errorf("item 0's last history entry = %+v, want cleanup_done naming the user", h[len(h)-1])
	}
}

// TestBatchProvisioningLostToARevoke: the invitation is revoked while the worker
// creates its Auth0 side. The worker's write loses, and what it created is removed,
// since nothing stored will ever name it.
func TestBatchProvisioningLostToARevoke(t *testing.T) {
	for _, tt := range []struct {
		name string
		req  invite.CreateRequest
	}{
		{"user", appRequest("ann@example.com")},
		{"organization invitation", orgRequest("olga@example.com", orgAcme)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBulk(t, 0)
			batch := b.submit(t, superAdmin, tt.req)
			_, items := b.items(t, superAdmin, batch.ID)
			id := items[0].InvitationID
			lossy := &lossyIdentity{Identity: b.idp}
			var revoked atomic.Bool
			lossy.before = func() {
				if revoked.CompareAndSwap(false, true) {
					if _, err := b.svc.Revoke(b.ctx, superAdmin, id); err != nil {
						t.Errorf("Revoke: %v", err)
					}
				}
			}
			b.setWorkerIdentity(t, lossy)
			b.run(t)
			if !revoked.Load() {
				t.Fatal("the worker never created anything in Auth0: the test proves nothing")
			}
			if inv := b.stored(t, id); inv.Status != invite.StatusRevoked {
				t.Errorf("invitation %s, want revoked", inv.Status)
			}
			if _, ok := b.idp.UserByEmail("ann@example.com"); ok {
				t.Errorf("the user created under the revoke is still in Auth0")
			}
			if n := len(b.idp.OrgInvitations(orgAcme)); n != 0 {
				t.Errorf("%d organization invitations left, want the one created under the revoke deleted", n)
			}
			if n := len(b.mail.SentTo(tt.req.Email)); n != 0 {
				t.Errorf("%d emails to a revoked invitee, want none", n)
			}
		})
	}
}

// dyingQueue is a submitter that dies while it queues a batch's items.
type dyingQueue struct{}

func (dyingQueue) Enqueue(context.Context, []invite.ItemRef) error {
	panic("the API process died while queueing")
}

// TestSweeperRequeuesBatchesItsSubmitterLeft: the API stored a batch and died before
// queueing its items. The sweeper leaves it to its submitter for BatchQueueGrace, then
// queues its items again; the worker invites them; a batch queued normally is never
// sent twice.
func TestSweeperRequeuesBatchesItsSubmitterLeft(t *testing.T) {
	b := newBulk(t, 0)
	normal := b.submit(t, appAdmin, appRequest("ann@example.com"))
	b.run(t)

	b.useQueue(t, dyingQueue{})
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("SubmitBatch returned; the queue was to die under it")
			}
		}()
		_, _ = b.svc.SubmitBatch(b.ctx, appAdmin, []invite.CreateRequest{appRequest("bob@example.com"), appRequest("cy@example.com")})
	}()
	// The sweeper is another process, with the queue.
	b.useQueue(t, b.queue)
	sweeper := b.newSweeper(t)
	sent := b.queue.Stats().Sent

	if res := b.sweep(t, sweeper); res.BatchesRequeued != 0 || b.queue.Stats().Sent != sent {
		t.Fatalf("within the grace: %d batches requeued, %d messages sent; want none", res.BatchesRequeued, b.queue.Stats().Sent-sent)
	}
	b.clock.Advance(invite.BatchQueueGrace + time.Second)
	if res := b.sweep(t, sweeper); res.BatchesRequeued != 1 || b.queue.Stats().Sent != sent+2 {
		t.Fatalf("after the grace: %d batches requeued, %d messages sent; want 1 batch, its 2 items", res.BatchesRequeued, b.queue.Stats().Sent-sent)
	}
	b.run(t)
	if res := b.sweep(t, sweeper); res.BatchesRequeued != 0 {
		t.Errorf("a second sweep requeued %d batches, want 0 (marked queued)", res.BatchesRequeued)
	}
	list, err := b.batches.UnqueuedBatches(b.ctx, b.clock.Now().Add(time.Hour), 100)
	if err != nil || len(list) != 0 {
		t.Errorf("unqueued batches = %v (%v), want none", list, err)
	}
	for _, who := range []string{"bob@example.com", "cy@example.com"} {
		if n := len(b.mail.SentTo(who)); n != 1 {
			t.Errorf("%d emails to %s, want 1", n, who)
		}
	}
	if n := len(b.mail.SentTo("ann@example.com")); n != 1 {
		t.Errorf("%d emails to ann@example.com (batch %s, queued normally), want 1", n, normal.ID)
	}
}

// limitedOnce answers the first CreateUser as Auth0 rate limiting for wait.
type limitedOnce struct {
	invite.Identity
	wait time.Duration
	done atomic.Bool
}

func (l *limitedOnce) CreateUser(ctx context.Context, nu invite.NewUser) (*invite.User, error) {
	if l.done.CompareAndSwap(false, true) {
		return nil, &invite.Error{Code: invite.CodeRateLimited, Message: "Auth0 is rate limiting Doorman", RetryAfter: l.wait}
	}
	return l.Identity.CreateUser(ctx, nu)
}

// ctxBatches refuses writes once their context has ended, as the DynamoDB store does.
type ctxBatches struct{ invite.BatchStore }

func (c ctxBatches) FinishBatchItem(ctx context.Context, item *invite.BatchItem) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.BatchStore.FinishBatchItem(ctx, item)
}
