package invite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of SweeperConfig, and the source the sweeper's acceptances are recorded with.
const (
	DefaultReminderBefore = 48 * time.Hour
	DefaultSweepMargin    = 10 * time.Second
	SourceReconciliation  = "reconciliation"
	// EventReminderSkipped settles the reminder of an invitation created with less
	// than the reminder lead left, so that no sweep looks at it again.
	EventReminderSkipped = "reminder_skipped"
	sweepPageSize        = 100
)

// SweeperConfig builds a Sweeper. Service and Store are required.
type SweeperConfig struct {
	Service *Service
	// Store is normally the Service's store too; the sweeper reads pending expiries
	// through Store.ExpiringBefore and the rest through it.
	Store SweepStore
	Now   func() time.Time // default: the Service's clock
	// ReminderBefore is how long before expiry the reminder is sent; 0 means
	// DefaultReminderBefore and a negative value turns reminders off.
	ReminderBefore time.Duration
	// Margin is kept free before the run's deadline; default DefaultSweepMargin.
	Margin time.Duration
	// PageSize is the invitations read per page (1..100); default 100.
	PageSize int
	Logger   *slog.Logger // default: the Service's
	// Join, when set, has its open access requests past their time expired by each run.
	Join *Join
}

// Sweeper expires pending invitations whose time has passed (after reconciling them
// with Auth0, so that a lost log event never expires someone who accepted), retries
// the work others left due, and sends the reminders. Every change is a conditional
// write, so concurrent sweepers never double-transition, double-send or double-delete.
type Sweeper struct {
	svc      *Service
	store    SweepStore
	now      func() time.Time
	lead     time.Duration // 0: no reminders
	margin   time.Duration
	pageSize int
	log      *slog.Logger
	join     *Join
}

// NewSweeper checks cfg and applies its defaults.
func NewSweeper(cfg SweeperConfig) (*Sweeper, error) {
	if cfg.Service == nil || cfg.Store == nil {
		return nil, errors.New("invite: Sweeper needs Service and Store")
	}
	s := &Sweeper{svc: cfg.Service, store: cfg.Store, now: cfg.Now, lead: cfg.ReminderBefore,
		margin: cfg.Margin, pageSize: cfg.PageSize, log: cfg.Logger, join: cfg.Join}
	if s.now == nil {
		s.now = cfg.Service.now
	}
	switch {
	case s.lead == 0:
		s.lead = DefaultReminderBefore
	case s.lead < 0:
		s.lead = 0
	}
	if s.margin == 0 {
		s.margin = DefaultSweepMargin
	}
	if s.pageSize == 0 {
		s.pageSize = sweepPageSize
	}
	if s.margin < 0 || s.pageSize < 0 || s.pageSize > sweepPageSize {
		return nil, fmt.Errorf("invite: sweeper Margin must not be negative and PageSize must be 1..%d", sweepPageSize)
	}
	if s.log == nil {
		s.log = cfg.Service.log
	}
	return s, nil
}

// SweepResult is what one run did. Deferred counts invitations left for the next run
// because Auth0 was rate limiting; Conflicts those another writer changed first.
type SweepResult struct {
	Expired         int
	Accepted        int // by reconciliation
	FlagsCleared    int
	CleanupsDone    int // Auth0 cleanups of ended invitations done on a retry
	EmailsRetried   int
	Failed          int // pending invitations whose email could not be delivered
	Reminded        int
	RemindersFailed int // reminder claimed, email failed and queued for a retry
	RemindersSkip   int // created with less than the reminder lead left
	BatchesRequeued int // batches whose submitter stopped before queueing them all
	// DeferredRequeued counts deferred single creates queued again: their message was
	// lost or the worker gave up on a passing failure.
	DeferredRequeued int
	// RequestsExpired counts access requests marked expired.
	RequestsExpired int
	Deferred        int
	Conflicts       int
	Errors          int
	// RateLimited is set when Auth0 answered 429 and its work paused for the run.
	RateLimited bool
	// Complete is false when the run stopped at its time budget with work left.
	Complete bool
}

// errBudget stops a run at its time budget.
var errBudget = errors.New("sweep: time budget spent")

// Run sweeps once: expiries, then due retries, then reminders, then batches their
// submitter left unqueued (RequeueBatches). It stops before deadline minus the margin
// (a zero deadline means none) and leaves the rest for the next run. Failures of single invitations are logged and counted, not returned; the
// error is the store's, when a page cannot be read.
func (s *Sweeper) Run(ctx context.Context, deadline time.Time) (SweepResult, error) {
	// The run's Auth0 work pauses for the rest of the run at the first 429.
	ctx, pause := WithPause(ctx)
	r := &sweepRun{Sweeper: s, pause: pause}
	if !deadline.IsZero() {
		r.stop = deadline.Add(-s.margin)
	}

	now := s.now()
	err := r.pages(ctx, func(c string) (*Page, error) {
		// Every expiry starts with an Auth0 read: once Auth0 is paused, the rest of
		// the expired waits for the next run rather than being read for nothing.
		if r.pause.Paused() {
			return &Page{}, nil
		}
		return r.svc.store.ExpiringBefore(ctx, now, s.pageSize, c)
	}, r.expire)
	if err == nil {
		err = r.pages(ctx, func(c string) (*Page, error) { return s.store.DueBefore(ctx, now, s.pageSize, c) }, r.retry)
	}
	if err == nil && s.lead > 0 {
		err = r.pages(ctx, func(c string) (*Page, error) {
			return s.store.RemindBefore(ctx, now.Add(s.lead), s.pageSize, c)
		}, r.remind)
	}
	if err == nil {
		if err = r.budget(ctx); err == nil {
			// A batch that cannot be requeued now is retried by the next run; it does
			// not stop this one.
			n, rerr := s.svc.RequeueBatches(ctx)
			r.res.BatchesRequeued = n
			if rerr != nil {
				r.res.Errors++
			}
		}
	}
	if err == nil && s.join != nil {
		if err = r.budget(ctx); err == nil {
			n, jerr := s.join.ExpireRequests(ctx, s.pageSize)
			r.res.RequestsExpired = n
			if jerr != nil {
				r.res.Errors++
				s.log.ErrorContext(ctx, "cannot expire access requests", "error", jerr)
			}
		}
	}
	r.res.RateLimited = r.pause.Paused()
	r.res.Complete = err == nil
	log := s.log.With("expired", r.res.Expired, "accepted", r.res.Accepted, "reminded", r.res.Reminded, "batches_requeued", r.res.BatchesRequeued,
		"deferred", r.res.Deferred, "rate_limited", r.res.RateLimited, "complete", r.res.Complete)
	if errors.Is(err, errBudget) {
		log.InfoContext(ctx, "sweep stopped at its time budget; the next run continues")
		return r.res, nil
	}
	if err != nil {
		log.ErrorContext(ctx, "sweep failed", "error", err)
		return r.res, err
	}
	log.InfoContext(ctx, "sweep done")
	return r.res, nil
}

// sweepRun is the state of one Run.
type sweepRun struct {
	*Sweeper
	pause *Pause
	stop  time.Time
	res   SweepResult
}

// pages calls fn on every invitation of every page list returns, checking the budget
// before each.
func (r *sweepRun) pages(ctx context.Context, list func(cursor string) (*Page, error), fn func(context.Context, *Invitation)) error {
	cursor := ""
	for {
		if err := r.budget(ctx); err != nil {
			return err
		}
		page, err := list(cursor)
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		for _, inv := range page.Invitations {
			if err := r.budget(ctx); err != nil {
				return err
			}
			fn(ctx, inv)
		}
		if page.NextCursor == "" {
			return nil
		}
		cursor = page.NextCursor
	}
}

func (r *sweepRun) budget(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if !r.stop.IsZero() && !r.now().Before(r.stop) {
		return errBudget
	}
	return nil
}

// outcome counts an error of one invitation's work: a 429 defers it (the run's Pause has
// paused Auth0), a conflict means another writer was first, anything else is logged.
func (r *sweepRun) outcome(ctx context.Context, inv *Invitation, what string, err error) {
	switch {
	case IsCode(err, CodeRateLimited):
		r.res.Deferred++
	case IsCode(err, CodeConflict):
		r.res.Conflicts++
	default:
		r.res.Errors++
		r.svc.logger(ctx, inv).ErrorContext(ctx, "sweep: "+what+" failed", "error", err)
	}
}

// expire reconciles a pending invitation whose time has passed with Auth0 and then
// accepts or expires it.
func (r *sweepRun) expire(ctx context.Context, inv *Invitation) {
	if r.pause.Paused() {
		r.res.Deferred++
		return
	}
	accepted, detail, err := r.reconcile(ctx, inv)
	if err != nil {
		r.outcome(ctx, inv, "reconcile", err)
		return
	}
	if accepted {
		_, err := r.svc.Accept(ctx, inv.ID, AcceptSource{Source: SourceReconciliation, Actor: ActorSweeper, Detail: detail})
		if err != nil {
			r.outcome(ctx, inv, "accept", err)
			return
		}
		r.res.Accepted++
		return
	}
	if err := r.expireNow(ctx, inv); err != nil {
		r.outcome(ctx, inv, "expire", err)
		return
	}
	r.res.Expired++
}

// reconcile asks Auth0 whether the invitee accepted although no log event said so: an
// application invitee whose user has logged in, or an organization invitee who is a
// member already.
func (r *sweepRun) reconcile(ctx context.Context, inv *Invitation) (bool, string, error) {
	switch {
	case inv.Kind == KindApplication && inv.Auth0UserID != "" && inv.Account == "":
		// A user Doorman created: only the invitee can have signed in. (An account that
		// was there before has logged in anyway; its acceptance needs the owner's proof,
		// which only the log stream brings.)
		u, err := r.svc.identity.GetUser(ctx, inv.Auth0UserID)
		if IsCode(err, CodeNotFound) {
			return false, "", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("reconcile %s: %w", inv.ID, err)
		}
		return u.LoginsCount > 0, "the user has logged in", nil
	case inv.Kind == KindOrganization:
		u, err := r.svc.identity.FindUserByEmail(ctx, inv.Email)
		if IsCode(err, CodeNotFound) {
			return false, "", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("reconcile %s: %w", inv.ID, err)
		}
		m, err := r.svc.identity.OrgMember(ctx, inv.OrganizationID, u.ID)
		if IsCode(err, CodeNotFound) {
			return false, "", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("reconcile %s: %w", inv.ID, err)
		}
		// Past its expiry Auth0's invitation is gone whether or not it was consumed, so
		// only the invitation's roles on the member tell that the invitee took it up.
		return len(inv.Roles) > 0 && containsAll(m.Roles, inv.Roles), "the invitee is a member with the invitation's roles", nil
	}
	return false, "", nil
}

// expireNow is Service.Expire on the invitation as the sweep read it, which saves
// reading it again; a stale copy fails the conditional write and is read afresh.
func (r *sweepRun) expireNow(ctx context.Context, inv *Invitation) error {
	now := r.svc.now()
	next, err := r.svc.apply(ctx, inv, func(n *Invitation) error {
		if n.Status == StatusPending && n.ExpiresAt.After(now) {
			return Errorf(CodeConflict, "the invitation expires at %s", n.ExpiresAt.Format(time.RFC3339))
		}
		return n.transition(StatusExpired, now, ActorSweeper, "")
	})
	if err != nil {
		return fmt.Errorf("expire %s: %w", inv.ID, err)
	}
	r.svc.logger(ctx, next).InfoContext(ctx, "invitation expired")
	r.svc.cleanup(ctx, next, ActorSweeper, r.svc.userPolicy)
	return nil
}

// retry does the due work of one invitation: the Auth0 cleanup, the flag clear, the
// email retry, or failing a pending invitation whose email could not be delivered.
func (r *sweepRun) retry(ctx context.Context, inv *Invitation) {
	at, ok := inv.DueAt()
	switch {
	case !ok || at.After(r.now()):
		return // the index lagged the table
	case r.pause.Paused() && (inv.CleanupPending || inv.FlagClearPending || inv.Kind == KindOrganization || at.IsZero()):
		r.res.Deferred++
	case inv.CleanupPending:
		next, err := r.svc.retryCleanup(ctx, inv)
		if err != nil {
			r.outcome(ctx, inv, "cleanup", err)
			return
		}
		if !next.CleanupPending {
			r.res.CleanupsDone++
		}
	case inv.FlagClearPending:
		next, err := r.svc.RetryFlagClear(ctx, inv.ID)
		if err != nil {
			r.outcome(ctx, inv, "flag clear", err)
			return
		}
		if !next.FlagClearPending {
			r.res.FlagsCleared++
		}
	case inv.Deferred && inv.Status == StatusPending && !inv.Provisioned():
		if err := r.requeueDeferred(ctx, inv); err != nil {
			r.outcome(ctx, inv, "requeue deferred", err)
			return
		}
		r.res.DeferredRequeued++
	case !at.IsZero():
		if _, err := r.svc.RetryDelivery(ctx, inv.ID); err != nil {
			r.outcome(ctx, inv, "email retry", err)
			return
		}
		r.res.EmailsRetried++
	default:
		if err := r.failDelivery(ctx, inv); err != nil {
			r.outcome(ctx, inv, "fail undeliverable", err)
			return
		}
		r.res.Failed++
	}
}

// requeueDeferred queues again a deferred invitation the worker has not finished
// within ProvisioningGrace, recording it first so that its due time moves on.
func (r *sweepRun) requeueDeferred(ctx context.Context, inv *Invitation) error {
	now := r.now()
	next, err := r.svc.apply(ctx, inv, func(n *Invitation) error {
		if at, ok := n.DueAt(); !ok || at.After(now) || !n.Deferred || n.Provisioned() {
			return Errorf(CodeConflict, "invitation %s is not due for provisioning", n.ID)
		}
		n.record(EventProvisioningQueued, now, ActorSweeper, "queued again")
		return nil
	})
	if err != nil {
		return err
	}
	return r.svc.queue.Enqueue(ctx, []ItemRef{{InvitationID: next.ID}})
}

// failDelivery ends a pending invitation whose email failed for good or ran out of
// retries: nobody was told of it, so it cannot be accepted.
func (r *sweepRun) failDelivery(ctx context.Context, inv *Invitation) error {
	next, err := r.svc.apply(ctx, inv, func(n *Invitation) error {
		if at, ok := n.DueAt(); !ok || !at.IsZero() || n.FlagClearPending {
			return Errorf(CodeConflict, "invitation %s has an email retry queued or none failed", n.ID)
		}
		return n.transition(StatusFailed, r.svc.now(), ActorSweeper, "the invitation email could not be delivered: "+n.Delivery.LastError)
	})
	if err != nil {
		return fmt.Errorf("fail %s: %w", inv.ID, err)
	}
	r.svc.logger(ctx, next).WarnContext(ctx, "invitation failed: email undeliverable", "reason", next.FailedReason)
	r.svc.cleanup(ctx, next, ActorSweeper, r.svc.userPolicy)
	return nil
}

// remind sends the reminder of one invitation. The reminder is claimed by a
// conditional write (with the fresh link token it carries) before it is sent, so that
// two sweeps send it once; a send that fails is queued as a failed delivery.
func (r *sweepRun) remind(ctx context.Context, inv *Invitation) {
	now := r.now()
	switch {
	case !inv.AwaitsReminder() || !inv.ExpiresAt.After(now):
		return // the index lagged the table, or expiry comes first
	case inv.ExpiresAt.Sub(inv.CreatedAt) <= r.lead:
		r.settleReminder(ctx, inv, now, "created with less than the reminder lead left")
		return
	case inv.Undeliverable():
		r.settleReminder(ctx, inv, now, "the address is undeliverable")
		return
	case !inv.Delivery.Status.Reached():
		return // the invitation email itself is being retried
	case r.pause.Paused() && inv.Kind == KindOrganization:
		r.res.Deferred++
		return
	}
	org, err := r.svc.organizationFor(ctx, inv.OrganizationID)
	if err != nil {
		r.outcome(ctx, inv, "reminder", err)
		return
	}
	token, err := NewToken(r.svc.rand)
	if err != nil {
		r.outcome(ctx, inv, "reminder", err)
		return
	}
	claimed, err := r.svc.apply(ctx, inv, func(n *Invitation) error {
		if !n.AwaitsReminder() {
			return Errorf(CodeConflict, "the reminder of invitation %s is settled", n.ID)
		}
		n.replaceLink(token, false)
		n.record(EventReminded, now, ActorSweeper, "")
		// The reminder's link replaces the previous one, as a resend does.
		n.record(EventResent, now, ActorSweeper, "reminder")
		return nil
	})
	if err != nil {
		r.outcome(ctx, inv, "reminder", err)
		return
	}
	m := r.svc.emailFor(claimed, org, token)
	m.Template = TemplateReminder
	sent := r.svc.deliver(ctx, claimed, m, now)
	if sent.Delivery.Status == DeliveryFailed {
		r.res.RemindersFailed++
		return
	}
	r.res.Reminded++
}

// settleReminder records that an invitation gets no reminder, and why: it was created
// with less than the reminder lead left, or its address is undeliverable.
func (r *sweepRun) settleReminder(ctx context.Context, inv *Invitation, now time.Time, why string) {
	_, err := r.svc.apply(ctx, inv, func(n *Invitation) error {
		if !n.AwaitsReminder() {
			return Errorf(CodeConflict, "the reminder of invitation %s is settled", n.ID)
		}
		n.record(EventReminderSkipped, now, ActorSweeper, why)
		return nil
	})
	if err != nil {
		r.outcome(ctx, inv, "skip reminder", err)
		return
	}
	r.res.RemindersSkip++
}
