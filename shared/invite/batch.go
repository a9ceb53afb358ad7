package invite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// MaxBatchItems is the most invitations one batch may carry.
const MaxBatchItems = 1000

// ItemStatus is where one item of a batch stands.
type ItemStatus string

const (
	ItemQueued    ItemStatus = "queued"
	ItemSucceeded ItemStatus = "succeeded"
	ItemFailed    ItemStatus = "failed"
)

// BatchStatus is where a whole batch stands.
type BatchStatus string

const (
	BatchQueued  BatchStatus = "queued"  // no item has finished
	BatchRunning BatchStatus = "running" // some items have finished
	BatchDone    BatchStatus = "done"    // every item has finished
)

// Batch is a bulk invitation request: its items are invited one by one by the worker,
// at the Auth0 rate limit, on behalf of the actor who submitted it.
type Batch struct {
	ID        string
	Actor     Actor
	Total     int
	Succeeded int
	Failed    int
	CreatedAt time.Time
	// ExpiresAt is when the batch and its items leave the store (retention).
	ExpiresAt time.Time
}

// Status derives the batch's status from its counts.
func (b *Batch) Status() BatchStatus {
	switch done := b.Succeeded + b.Failed; {
	case done >= b.Total:
		return BatchDone
	case done > 0:
		return BatchRunning
	}
	return BatchQueued
}

// Queued is the number of items not finished yet.
func (b *Batch) Queued() int { return max(0, b.Total-b.Succeeded-b.Failed) }

// BatchItem is one invitation of a batch. Its InvitationID is chosen when the batch is
// accepted: every attempt at the item writes that same invitation, which is what makes
// a redelivered or retried item a no-op rather than a second invitation.
type BatchItem struct {
	BatchID      string
	Index        int
	InvitationID string
	// Actor is the batch's actor, kept on each item so that the worker reads one item
	// per message.
	Actor   Actor
	Request CreateRequest // validated and normalized

	Status ItemStatus
	// ResultID is the invitation the item ended with: InvitationID, or with
	// on_conflict=resend the pending invitation that was resent (Resent true).
	ResultID string
	Resent   bool
	// Problem says why a failed item failed.
	Problem *ItemProblem
	// ResendOf is set, before the resend, when the item resends an existing
	// invitation; a retry that finds it set does not resend again.
	ResendOf   string
	FinishedAt time.Time
}

// ItemRef names one item of a batch: the body of a queue message.
type ItemRef struct {
	BatchID string `json:"batch_id"`
	Index   int    `json:"index"`
}

// BatchItemPage is a page of a batch's items in index order; NextCursor is empty on the
// last page.
type BatchItemPage struct {
	Items      []*BatchItem
	NextCursor string
}

// BatchStore keeps batches and their items. Errors as Store's.
type BatchStore interface {
	// CreateBatch writes the batch and its items; conflict when the id is taken. A
	// reader sees the batch only once all its items are written, and from then on
	// UnqueuedBatches lists it until MarkBatchQueued.
	CreateBatch(ctx context.Context, b *Batch, items []*BatchItem) error
	// MarkBatchQueued records that the batch's items have all reached the queue or
	// ended; marking a batch twice is not an error.
	MarkBatchQueued(ctx context.Context, b *Batch) error
	// UnqueuedBatches returns up to limit (1..100) batches created before t and not
	// marked queued, oldest first, with their ID and CreatedAt.
	UnqueuedBatches(ctx context.Context, before time.Time, limit int) ([]*Batch, error)
	// GetBatch returns a batch with its counts; not_found when none.
	GetBatch(ctx context.Context, id string) (*Batch, error)
	// GetBatchItem returns one item; not_found when none.
	GetBatchItem(ctx context.Context, ref ItemRef) (*BatchItem, error)
	// BatchItems returns up to limit (1..1000) items from cursor, in index order; a
	// cursor from another batch, or one that was altered, is invalid_request.
	BatchItems(ctx context.Context, batchID string, limit int, cursor string) (*BatchItemPage, error)
	// ClaimResend records on a queued item that it resends the existing invitation;
	// conflict when the item has a claim already or has finished.
	ClaimResend(ctx context.Context, ref ItemRef, existingID string) error
	// FinishBatchItem stores item's outcome (Status succeeded or failed, ResultID,
	// Resent, Problem, FinishedAt) on condition that the stored item is still queued,
	// and counts it on the batch in the same transaction; conflict when the item had
	// finished already, so an outcome is counted once.
	FinishBatchItem(ctx context.Context, item *BatchItem) error
}

// Queue carries batch items to the worker, at least once. Errors: upstream_unavailable.
type Queue interface {
	Enqueue(ctx context.Context, refs []ItemRef) error
}

// BatchConfig enables batches on a Service.
type BatchConfig struct {
	Store BatchStore
	// Queue is where SubmitBatch sends the items; the worker, which only works them,
	// may leave it nil.
	Queue Queue
	// Retention is how long a batch and its results are kept; default 30 days.
	Retention time.Duration
	// Attempts is how many times the worker tries an item within one delivery of its
	// message when it fails for a reason that may pass (default 4); Backoff is the
	// first wait between them (default 500ms), doubling, with full jitter.
	Attempts int
	Backoff  time.Duration
	// Sleep waits d or until ctx ends; default a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultBatchRetention is how long a batch's results stay readable.
const DefaultBatchRetention = 30 * 24 * time.Hour

// batches is a Service's bulk part.
type batches struct {
	store     BatchStore
	queue     Queue
	retention time.Duration
	attempts  int
	backoff   time.Duration
	sleep     func(ctx context.Context, d time.Duration) error

	orgMu sync.Mutex
	orgs  map[string]cachedOrg // organizations looked up by the worker
}

type cachedOrg struct {
	org *Organization
	at  time.Time
}

// orgCacheTTL bounds how stale an organization's display name in a bulk email may be;
// a batch of a thousand items for one organization costs one lookup, not a thousand.
const orgCacheTTL = 5 * time.Minute

// EnableBatches turns on SubmitBatch, Batch and WorkBatchItem.
func (s *Service) EnableBatches(cfg BatchConfig) error {
	if cfg.Store == nil {
		return fmt.Errorf("invite: batches need a Store")
	}
	b := &batches{store: cfg.Store, queue: cfg.Queue, retention: cfg.Retention, attempts: cfg.Attempts,
		backoff: cfg.Backoff, sleep: cfg.Sleep, orgs: map[string]cachedOrg{}}
	if b.retention <= 0 {
		b.retention = DefaultBatchRetention
	}
	if b.attempts <= 0 {
		b.attempts = 4
	}
	if b.backoff <= 0 {
		b.backoff = 500 * time.Millisecond
	}
	if b.sleep == nil {
		b.sleep = Sleep
	}
	s.batch = b
	return nil
}

// Sleep waits d, or until ctx ends (its error); BatchConfig's default Sleep, and the
// adapters' wait between retries.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SubmitBatch validates every request and, when all are valid, stores the batch and
// queues its items; nothing is started otherwise, and the invalid_request error lists
// every offending item (Error.Items). Organizations are looked up once each, so that a
// mistyped organization id is refused here rather than failing its items later.
func (s *Service) SubmitBatch(ctx context.Context, a Actor, reqs []CreateRequest) (*Batch, error) {
	if err := authorize(a, PermCreate); err != nil {
		return nil, err
	}
	if s.batch == nil || s.batch.queue == nil {
		return nil, Errorf(CodeInternal, "batches are not configured: no queue")
	}
	if len(reqs) == 0 || len(reqs) > MaxBatchItems {
		return nil, Invalid("invitations", "must hold between 1 and %d invitations", MaxBatchItems)
	}
	valid, problems := s.validateBatch(a, reqs)
	if len(problems) == 0 {
		problems = s.checkOrganizations(ctx, valid)
	}
	if len(problems) > 0 {
		msg := fmt.Sprintf("%d of %d invitations are invalid; nothing was started", len(problems), len(reqs))
		return nil, &Error{Code: CodeInvalid, Field: "invitations", Message: msg, Items: problems}
	}

	now := s.now()
	id, err := NewID(now, s.rand)
	if err != nil {
		return nil, fmt.Errorf("submit batch: %w", err)
	}
	a.Name = SanitizeHeaderText(a.Name)
	b := &Batch{ID: id, Actor: a, Total: len(valid), CreatedAt: now.UTC(), ExpiresAt: now.Add(s.batch.retention).UTC()}
	items := make([]*BatchItem, len(valid))
	refs := make([]ItemRef, len(valid))
	for i, req := range valid {
		invID, err := NewID(now, s.rand)
		if err != nil {
			return nil, fmt.Errorf("submit batch: %w", err)
		}
		items[i] = &BatchItem{BatchID: id, Index: i, InvitationID: invID, Actor: a, Request: req, Status: ItemQueued}
		refs[i] = ItemRef{BatchID: id, Index: i}
	}
	if err := s.batch.store.CreateBatch(ctx, b, items); err != nil {
		return nil, fmt.Errorf("submit batch %s: %w", id, err)
	}
	if err := s.batch.queue.Enqueue(ctx, refs); err != nil {
		// Items the queue did not take would stay queued forever: they end failed
		// instead, so that the batch finishes and says which to submit again.
		lost := refs
		var nq *NotQueuedError
		if errors.As(err, &nq) {
			lost = nq.Refs
		}
		s.log.ErrorContext(ctx, "batch items not queued", "batch_id", id, "items", len(lost), "error", err)
		if ferr := s.failUnqueued(ctx, items, lost); ferr != nil {
			return nil, fmt.Errorf("submit batch %s: queue its items: %w (and record them failed: %w)", id, err, ferr)
		}
		if fresh, err := s.batch.store.GetBatch(ctx, id); err == nil {
			b = fresh
		}
	}
	if err := s.batch.store.MarkBatchQueued(ctx, b); err != nil {
		// The sweeper queues the batch's queued items again; working them twice is
		// harmless.
		s.log.WarnContext(ctx, "batch not marked queued", "batch_id", id, "error", err)
	}
	s.log.InfoContext(ctx, "batch submitted", "batch_id", id, "items", len(items), "inviter", a.Sub)
	return b, nil
}

// BatchQueueGrace is how long a batch may stay unmarked by its submitter (the API
// request that stores and queues it) before RequeueBatches takes it over; it is well
// beyond any request's deadline.
const BatchQueueGrace = 5 * time.Minute

// RequeueBatches finishes queueing the batches whose submitter stored them and then
// stopped (it died, or its deadline passed) before marking them queued: every item
// still queued is sent again (a second message for an item that did reach the queue
// is harmless, since working an item is idempotent) and the batch is marked. Only
// batches older than BatchQueueGrace are taken. It returns how many batches it
// requeued; a batch whose items the queue refused stays for the next call.
func (s *Service) RequeueBatches(ctx context.Context) (int, error) {
	if s.batch == nil || s.batch.queue == nil {
		return 0, nil
	}
	stale, err := s.batch.store.UnqueuedBatches(ctx, s.now().Add(-BatchQueueGrace), 100)
	if err != nil {
		return 0, fmt.Errorf("requeue batches: %w", err)
	}
	done := 0
	var first error
	for _, b := range stale {
		if err := s.requeueBatch(ctx, b); err != nil {
			s.log.ErrorContext(ctx, "batch not requeued", "batch_id", b.ID, "error", err)
			first = cmp.Or(first, err)
			continue
		}
		done++
	}
	return done, first
}

func (s *Service) requeueBatch(ctx context.Context, b *Batch) error {
	var refs []ItemRef
	cursor := ""
	for {
		page, err := s.batch.store.BatchItems(ctx, b.ID, MaxBatchItems, cursor)
		if err != nil {
			return err
		}
		for _, it := range page.Items {
			if it.Status == ItemQueued {
				refs = append(refs, ItemRef{BatchID: b.ID, Index: it.Index})
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(refs) > 0 {
		if err := s.batch.queue.Enqueue(ctx, refs); err != nil {
			return err
		}
	}
	if err := s.batch.store.MarkBatchQueued(ctx, b); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "batch requeued", "batch_id", b.ID, "items", len(refs))
	return nil
}

// NotQueuedError is a Queue's error when it queued some items but not Refs.
type NotQueuedError struct {
	Refs []ItemRef
	Err  error
}

func (e *NotQueuedError) Error() string {
	return fmt.Sprintf("%d items not queued: %v", len(e.Refs), e.Err)
}

func (e *NotQueuedError) Unwrap() error { return e.Err }

// failUnqueued records the items that never reached the queue as failed.
func (s *Service) failUnqueued(ctx context.Context, items []*BatchItem, lost []ItemRef) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, 8)
	)
	now := s.now().UTC()
	for _, ref := range lost {
		if ref.Index < 0 || ref.Index >= len(items) {
			continue
		}
		done := *items[ref.Index]
		done.Status, done.FinishedAt = ItemFailed, now
		done.Problem = &ItemProblem{Index: ref.Index, Code: CodeUpstream, Message: "the item could not be queued; submit it again"}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			// conflict: a worker got the item (the queue took it after all) and finished it.
			if err := s.batch.store.FinishBatchItem(ctx, &done); err != nil && !IsCode(err, CodeConflict) {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// validateBatch checks each request as Create would, and refuses a second invitation
// of the same person to the same scope within the batch.
func (s *Service) validateBatch(a Actor, reqs []CreateRequest) ([]CreateRequest, []ItemProblem) {
	var problems []ItemProblem
	valid := make([]CreateRequest, len(reqs))
	first := map[string]int{} // scope + email key → index of its first item
	for i, req := range reqs {
		out, err := s.validateItem(a, req)
		if err == nil {
			k := ScopeApplication
			if out.OrganizationID != "" {
				k = OrgScope(out.OrganizationID)
			}
			k += "\x00" + EmailKey(out.Email)
			if j, dup := first[k]; dup {
				err = Invalid("email", "is invited by item %d of this batch already", j)
			} else {
				first[k] = i
			}
		}
		if err != nil {
			problems = append(problems, itemProblem(i, err))
			continue
		}
		valid[i] = out
	}
	return valid, problems
}

// ValidateBatch returns the problems SubmitBatch finds in reqs before it looks up
// organizations, storing and queuing nothing: it lets a caller that could not decode
// some items still report every other item's problem at once.
func (s *Service) ValidateBatch(a Actor, reqs []CreateRequest) []ItemProblem {
	_, problems := s.validateBatch(a, reqs)
	return problems
}

func (s *Service) validateItem(a Actor, req CreateRequest) (CreateRequest, error) {
	out, err := ValidateCreate(req, s.limits)
	if err != nil {
		return req, err
	}
	if out.OrganizationID, err = a.orgFor(out.OrganizationID); err != nil {
		return req, err
	}
	if out.OnConflict == OnConflictResend && !a.Has(PermUpdate) {
		return req, Errorf(CodeForbidden, "on_conflict=resend needs the %s permission", PermUpdate)
	}
	return out, nil
}

// checkOrganizations looks up each distinct organization of the batch once.
func (s *Service) checkOrganizations(ctx context.Context, reqs []CreateRequest) []ItemProblem {
	var problems []ItemProblem
	known := map[string]error{}
	for i, req := range reqs {
		if req.OrganizationID == "" {
			continue
		}
		err, seen := known[req.OrganizationID]
		if !seen {
			_, err = s.organization(ctx, req.OrganizationID)
			known[req.OrganizationID] = err
		}
		if err != nil {
			problems = append(problems, itemProblem(i, err))
		}
	}
	return problems
}

// organization returns an organization, from the worker's cache when it was looked up
// lately. not_found becomes an invalid organization_id.
func (s *Service) organization(ctx context.Context, orgID string) (*Organization, error) {
	now := s.now()
	if s.batch != nil {
		s.batch.orgMu.Lock()
		c, ok := s.batch.orgs[orgID]
		s.batch.orgMu.Unlock()
		if ok && now.Sub(c.at) < orgCacheTTL {
			return c.org, nil
		}
	}
	org, err := s.identity.Organization(ctx, orgID)
	if IsCode(err, CodeNotFound) {
		return nil, &Error{Code: CodeInvalid, Field: "organization_id", Message: "no such organization", Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("look up organization %s: %w", orgID, err)
	}
	if s.batch != nil {
		s.batch.orgMu.Lock()
		s.batch.orgs[orgID] = cachedOrg{org: org, at: now}
		s.batch.orgMu.Unlock()
	}
	return org, nil
}

// itemProblem is the client-safe part of err for item i. An error that is not
// Doorman's own, or an internal one (whose message may name tables or hosts), says
// only its code, as a 500's problem does.
func itemProblem(i int, err error) ItemProblem {
	p := ItemProblem{Index: i, Code: ErrorCode(err)}
	if e := AsError(err); e != nil && p.Code != CodeInternal {
		p.Message, p.Field, p.ExistingID = e.Message, e.Field, e.ExistingID
	}
	if p.Message == "" {
		p.Message = string(p.Code)
		if p.Code == CodeInternal {
			p.Message = "internal error"
		}
	}
	return p
}

// BatchView is a batch with one page of its items.
type BatchView struct {
	Batch *Batch
	Page  *BatchItemPage
}

// Batch returns a batch and a page of its items' results. A batch is seen by tokens of
// the organization it was submitted for, or, when it was submitted without one, by
// application-level tokens; an application-level admin sees every batch.
func (s *Service) Batch(ctx context.Context, a Actor, id string, limit int, cursor string) (*BatchView, error) {
	if err := authorize(a, PermRead); err != nil {
		return nil, err
	}
	notFound := &Error{Code: CodeNotFound, Message: "batch not found"}
	if s.batch == nil || !ValidID(id) {
		return nil, notFound
	}
	if limit < 0 || limit > MaxBatchItems {
		return nil, Invalid("limit", "must be between 1 and %d", MaxBatchItems)
	}
	if limit == 0 {
		limit = 100
	}
	b, err := s.batch.store.GetBatch(ctx, id)
	if IsCode(err, CodeNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("get batch %s: %w", id, err)
	}
	if a.OrgID != b.Actor.OrgID && !(a.OrgID == "" && a.Has(PermAdmin)) {
		return nil, notFound
	}
	page, err := s.batch.store.BatchItems(ctx, id, limit, cursor)
	if err != nil {
		return nil, fmt.Errorf("list items of batch %s: %w", id, err)
	}
	return &BatchView{Batch: b, Page: page}, nil
}

// WorkBatchItem invites one batch item. It is safe to call any number of times for the
// same item, concurrently or after a crash at any point: the item's invitation id is
// fixed, the Auth0 user or organization invitation of an earlier attempt is found and
// adopted rather than created again, and the email is claimed before it is sent.
//
// An item that fails for a reason that may pass is tried again with backoff and
// jitter; if it still fails, the error is returned so that the queue delivers the
// message again, unless last is set (the queue's final delivery), when the item is
// recorded as failed. nil means the message is done with.
func (s *Service) WorkBatchItem(ctx context.Context, ref ItemRef, last bool) error {
	if s.batch == nil {
		return Errorf(CodeInternal, "batches are not configured")
	}
	item, err := s.batch.store.GetBatchItem(ctx, ref)
	if IsCode(err, CodeNotFound) {
		// A message for an item that is gone (retention ended) has nothing left to do.
		s.log.WarnContext(ctx, "batch item not found", "batch_id", ref.BatchID, "index", ref.Index)
		return nil
	}
	if err != nil {
		return fmt.Errorf("work batch item %s/%d: %w", ref.BatchID, ref.Index, err)
	}
	if item.Status != ItemQueued {
		return nil
	}
	var res *itemResult
	for attempt := 1; ; attempt++ {
		res, err = s.runItem(ctx, item)
		if err == nil || !Transient(err) || attempt >= s.batch.attempts || ctx.Err() != nil {
			break
		}
		wait := s.jitter(s.batch.backoff << (attempt - 1))
		if e := AsError(err); e != nil && e.RetryAfter > wait {
			wait = e.RetryAfter // Auth0 said how long; sooner would be refused again
		}
		if werr := s.batch.sleep(ctx, wait); werr != nil {
			break
		}
	}
	if err != nil && Transient(err) && !last {
		return err
	}
	if err != nil {
		// The delivery's time may be spent, which is why the item failed: its outcome
		// is still recorded, on a short deadline of its own, or the batch never ends.
		rctx, cancel := recordContext(ctx)
		defer cancel()
		return s.finishItem(rctx, item, &itemResult{problem: s.abandonItem(rctx, item, err)})
	}
	return s.finishItem(ctx, item, res)
}

// recordTimeout bounds the writes that record an item's failure after its context
// ended; it is shorter than the time the queue handler keeps to answer.
const recordTimeout = 2 * time.Second

func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

// jitter draws a wait uniformly from [d/2, d], so that workers that failed together
// do not come back together.
func (s *Service) jitter(d time.Duration) time.Duration {
	var b [2]byte
	if _, err := s.rand.Read(b[:]); err != nil {
		return d
	}
	frac := float64(uint16(b[0])<<8|uint16(b[1])) / 65535
	return d/2 + time.Duration(frac*float64(d/2))
}

type itemResult struct {
	id      string
	resent  bool
	problem *ItemProblem
}

func (s *Service) finishItem(ctx context.Context, item *BatchItem, res *itemResult) error {
	done := *item
	done.FinishedAt = s.now().UTC()
	if res.problem != nil {
		done.Status, done.Problem = ItemFailed, res.problem
	} else {
		done.Status, done.ResultID, done.Resent = ItemSucceeded, res.id, res.resent
	}
	err := s.batch.store.FinishBatchItem(ctx, &done)
	if IsCode(err, CodeConflict) {
		return nil // another delivery of the message finished it first
	}
	if err != nil {
		return fmt.Errorf("finish batch item %s/%d: %w", item.BatchID, item.Index, err)
	}
	return nil
}

// abandonItem ends an item that kept failing: its invitation, when it was written and
// is still pending, is failed (which releases the reservation and marks what is in
// Auth0 for cleanup).
func (s *Service) abandonItem(ctx context.Context, item *BatchItem, cause error) *ItemProblem {
	p := itemProblem(item.Index, cause)
	if inv, err := s.store.Get(ctx, item.InvitationID); err == nil && inv.Status == StatusPending {
		s.fail(ctx, item.Actor, inv, cause)
	}
	s.log.WarnContext(ctx, "batch item abandoned", "batch_id", item.BatchID, "index", item.Index, "invitation_id", item.InvitationID, "error", cause)
	return &p
}

// runItem takes the item's invitation as far as it goes: written, provisioned in
// Auth0, emailed. Each step starts from what is stored, so a retry resumes where an
// earlier attempt stopped. A refusal comes back as the item's problem (err nil).
func (s *Service) runItem(ctx context.Context, item *BatchItem) (*itemResult, error) {
	a, req := item.Actor, item.Request
	if item.ResendOf != "" {
		// An earlier attempt claimed the resend; it may have happened: never again.
		return &itemResult{id: item.ResendOf, resent: true}, nil
	}
	var org *Organization
	if req.OrganizationID != "" {
		var err error
		if org, err = s.organization(ctx, req.OrganizationID); err != nil {
			return refused(item, err)
		}
	}
	inv, err := s.store.Get(ctx, item.InvitationID)
	resumed := err == nil
	if IsCode(err, CodeNotFound) {
		inv, err = s.createItemInvitation(ctx, item)
		if e := AsError(err); e != nil && e.Code == CodeConflict && e.ExistingID != "" && e.ExistingID != item.InvitationID {
			return s.itemConflict(ctx, item, e.ExistingID)
		}
		if IsCode(err, CodeConflict) {
			// Another delivery of this item wrote it meanwhile.
			inv, err = s.store.Get(ctx, item.InvitationID)
			resumed = true
		}
	}
	if err != nil {
		return refused(item, err)
	}

	for range 3 {
		next, err := s.advance(ctx, a, inv, org, resumed)
		if IsCode(err, CodeConflict) {
			// Someone else changed the invitation (another delivery, a revoke, the
			// webhook): read it again and take it from there.
			if inv, err = s.store.Get(ctx, item.InvitationID); err != nil {
				return nil, err
			}
			resumed = true
			continue
		}
		if err != nil {
			return refused(item, err)
		}
		if next.Status == StatusFailed {
			return &itemResult{problem: failedProblem(item.Index, next)}, nil
		}
		return &itemResult{id: next.ID}, nil
	}
	return nil, Errorf(CodeUpstream, "invitation %s keeps changing under the worker", item.InvitationID)
}

// refused turns a final error into the item's problem and passes any other through.
func refused(item *BatchItem, err error) (*itemResult, error) {
	if Transient(err) {
		return nil, err
	}
	p := itemProblem(item.Index, err)
	return &itemResult{problem: &p}, nil
}

// failedProblem describes an item whose invitation ended failed (Auth0 refused it).
func failedProblem(index int, inv *Invitation) *ItemProblem {
	p := &ItemProblem{Index: index, Code: CodeInvalid, Message: inv.FailedReason}
	if strings.Contains(inv.FailedReason, string(CodeUpstream)) || strings.Contains(inv.FailedReason, string(CodeRateLimited)) {
		p.Code = CodeUpstream
	}
	return p
}

func (s *Service) createItemInvitation(ctx context.Context, item *BatchItem) (*Invitation, error) {
	inv, _, err := s.newInvitationWithID(item.Actor, item.Request, item.InvitationID, s.now())
	if err != nil {
		return nil, err
	}
	inv.History[len(inv.History)-1].Detail = fmt.Sprintf("batch %s item %d", item.BatchID, item.Index)
	inv.Resumable = true
	if err := s.store.Create(ctx, inv); err != nil {
		return nil, err
	}
	s.logger(ctx, inv).InfoContext(ctx, "invitation created", "kind", inv.Kind, "batch_id", item.BatchID, "index", item.Index)
	return inv, nil
}

// itemConflict handles a pending invitation of the same person: a conflict, or with
// on_conflict=resend a resend of it, claimed on the item first so that it happens at
// most once.
func (s *Service) itemConflict(ctx context.Context, item *BatchItem, existingID string) (*itemResult, error) {
	if item.Request.OnConflict != OnConflictResend {
		p := ItemProblem{Index: item.Index, Code: CodeConflict, Message: "a pending invitation for this email exists", ExistingID: existingID}
		return &itemResult{problem: &p}, nil
	}
	ref := ItemRef{BatchID: item.BatchID, Index: item.Index}
	if err := s.batch.store.ClaimResend(ctx, ref, existingID); err != nil {
		if IsCode(err, CodeConflict) {
			return &itemResult{id: existingID, resent: true}, nil
		}
		return nil, err
	}
	out, err := s.resendExisting(ctx, item.Actor, existingID, item.Request.TTL, item.Request.SendEmail)
	if err != nil {
		return refused(item, err)
	}
	return &itemResult{id: out.Invitation.ID, resent: true}, nil
}

// advance takes a stored invitation one or more steps: provision it in Auth0 when that
// has not happened, then send its email when one is due. It returns the invitation as
// stored; conflict when a conditional write lost (the caller reads it again).
func (s *Service) advance(ctx context.Context, a Actor, inv *Invitation, org *Organization, resumed bool) (*Invitation, error) {
	if inv.Status == StatusPending && !provisioned(inv) {
		next, err := s.provisionItem(ctx, a, inv, org, resumed)
		if err != nil {
			return nil, err
		}
		inv = next
	}
	switch {
	case inv.Delivery.Status == DeliverySending:
		// An earlier attempt claimed the send and stopped before recording its outcome.
		return s.apply(ctx, inv, func(n *Invitation) error {
			if n.Delivery.Status != DeliverySending {
				return Errorf(CodeConflict, "delivery of %s changed", n.ID)
			}
			n.Delivery.Status = DeliveryUnconfirmed
			n.record(EventEmailUnconfirmed, s.now(), ActorDoorman, "the worker stopped while sending; resend if the invitee has no email")
			return nil
		})
	case inv.Delivery.Status != DeliveryPending:
		return inv, nil
	case inv.Status == StatusAccepted:
		link := inv.RedirectURL
		if link == "" {
			link = s.appURL
		}
		return s.deliverOnce(ctx, inv, TemplateAccess, s.appName, func(string) string { return link })
	case inv.Status == StatusPending:
		tmpl, target := TemplateApplication, s.appName
		if org != nil {
			tmpl, target = TemplateOrganization, orgName(org)
		}
		return s.deliverOnce(ctx, inv, tmpl, target, s.link)
	}
	return inv, nil
}

// provisioned reports whether the Auth0 side of a pending invitation exists.
func provisioned(inv *Invitation) bool {
	if inv.Kind == KindOrganization {
		return inv.Auth0InvitationID != ""
	}
	return inv.Auth0UserID != ""
}

// provisionItem is provision for a bulk item: a failure that may pass leaves the
// invitation pending for the next attempt (which finds what Auth0 already has); a
// refusal fails it. When the invitation changed meanwhile (another delivery, a
// revoke), what this attempt created is undone unless the stored invitation can
// still take it, and the caller reads the invitation again (conflict).
func (s *Service) provisionItem(ctx context.Context, a Actor, inv *Invitation, org *Organization, resumed bool) (*Invitation, error) {
	next := inv.Clone()
	var (
		undo func(context.Context)
		err  error
	)
	if org == nil {
		undo, err = s.provisionUser(ctx, a, next, true)
	} else {
		undo, err = s.provisionOrgItem(ctx, next, resumed)
	}
	if err != nil {
		if Transient(err) {
			return nil, err
		}
		if failed := s.fail(ctx, a, inv, err); failed != nil {
			return failed, nil
		}
		return nil, err
	}
	err = s.save(ctx, inv, next)
	if IsCode(err, CodeConflict) && undo != nil {
		fresh, gerr := s.store.Get(ctx, inv.ID)
		if gerr == nil && (fresh.Status != StatusPending || provisioned(fresh) && !sameAuth0Side(fresh, next)) {
			// Nothing stored will ever name what this attempt created: remove it. A
			// pending, unprovisioned invitation adopts it on the retry instead.
			undo(ctx)
		}
	}
	if err != nil {
		return nil, err
	}
	return next, nil
}

// sameAuth0Side reports whether two copies of an invitation name the same Auth0 user
// or organization invitation.
func sameAuth0Side(a, b *Invitation) bool {
	if a.Kind == KindOrganization {
		return a.Auth0InvitationID == b.Auth0InvitationID
	}
	return a.Auth0UserID == b.Auth0UserID
}

// provisionOrgItem adopts the Auth0 organization invitation an earlier attempt created
// (it carries this invitation's id) or creates one, returning how to undo a creation.
// The lookup costs Auth0 calls, so it is made only when an earlier attempt may have
// got that far.
func (s *Service) provisionOrgItem(ctx context.Context, inv *Invitation, resumed bool) (undo func(context.Context), err error) {
	if resumed {
		found, err := s.identity.FindOrgInvitations(ctx, inv.OrganizationID, inv.Email)
		if err != nil {
			return nil, fmt.Errorf("find Auth0 organization invitation: %w", err)
		}
		for _, oi := range found {
			if oi.InvitationID == inv.ID {
				inv.Auth0InvitationID, inv.Auth0InvitationURL = oi.ID, oi.URL
				return nil, nil
			}
		}
	}
	return s.provisionOrgInvitation(ctx, inv)
}

// deliverOnce claims the invitation's email with a fresh link token, then sends it
// and records the outcome. The claim is what keeps a retry from mailing twice: a retry
// that finds it unresolved marks the delivery unconfirmed instead of sending.
func (s *Service) deliverOnce(ctx context.Context, inv *Invitation, tmpl Template, target string, link func(token string) string) (*Invitation, error) {
	token, err := NewToken(s.rand)
	if err != nil {
		return nil, fmt.Errorf("deliver %s: %w", inv.ID, err)
	}
	claimed, err := s.apply(ctx, inv, func(n *Invitation) error {
		if n.Delivery.Status != DeliveryPending {
			return Errorf(CodeConflict, "delivery of %s changed", n.ID)
		}
		n.TokenHash = TokenHash(token)
		n.Delivery.Status = DeliverySending
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.deliver(ctx, claimed, s.mail(claimed, tmpl, target, link(token)), s.now()), nil
}
