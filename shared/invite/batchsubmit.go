package invite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
	BatchID string `json:"batch_id,omitempty"`
	Index   int    `json:"index"`
	// InvitationID names a single create whose Auth0 side the API left to the worker
	// (Auth0 was busy); BatchID is then empty.
	InvitationID string `json:"invitation_id,omitempty"`
}

// Valid reports whether the reference names a batch item or an invitation.
func (r ItemRef) Valid() bool {
	if r.InvitationID != "" {
		return r.BatchID == "" && ValidID(r.InvitationID)
	}
	return ValidID(r.BatchID) && r.Index >= 0 && r.Index < MaxBatchItems
}

// BatchItemPage is a page of a batch's items in index order; NextCursor is empty on the
// last page.
type BatchItemPage struct {
	Items      []*BatchItem
	NextCursor string
}

// DefaultBatchRetention is how long a batch's results stay readable.
const DefaultBatchRetention = 30 * 24 * time.Hour

// Sleep waits d, or until ctx ends (its error); Config.Sleep's default, and the
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
	if len(reqs) == 0 || len(reqs) > MaxBatchItems {
		return nil, Invalid("invitations", "must hold between 1 and %d invitations", MaxBatchItems)
	}
	valid, problems := s.validateBatch(a, reqs)
	if len(problems) == 0 {
		problems = s.checkOrganizations(ctx, valid)
	}
	if len(problems) == 0 {
		var err error
		if problems, err = s.checkGrants(ctx, a, valid); err != nil {
			return nil, fmt.Errorf("submit batch: %w", err)
		}
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
	b := &Batch{ID: id, Actor: a, Total: len(valid), CreatedAt: now.UTC(), ExpiresAt: now.Add(s.batchRetention).UTC()}
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
	if err := s.batches.CreateBatch(ctx, b, items); err != nil {
		return nil, fmt.Errorf("submit batch %s: %w", id, err)
	}
	if err := s.queue.Enqueue(ctx, refs); err != nil {
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
		if fresh, err := s.batches.GetBatch(ctx, id); err == nil {
			b = fresh
		}
	}
	if err := s.batches.MarkBatchQueued(ctx, b); err != nil {
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
	stale, err := s.batches.UnqueuedBatches(ctx, s.now().Add(-BatchQueueGrace), 100)
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
		page, err := s.batches.BatchItems(ctx, b.ID, MaxBatchItems, cursor)
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
		if err := s.queue.Enqueue(ctx, refs); err != nil {
			return err
		}
	}
	if err := s.batches.MarkBatchQueued(ctx, b); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "batch requeued", "batch_id", b.ID, "items", len(refs))
	return nil
}

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
			if err := s.batches.FinishBatchItem(ctx, &done); err != nil && !IsCode(err, CodeConflict) {
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
		out, err := s.prepare(a, req)
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

// checkGrants applies the grant rules (checkGrant) to every item; the caller's roles
// are read once per organization. An error that may pass is returned as such, since it
// says nothing about the items.
func (s *Service) checkGrants(ctx context.Context, a Actor, reqs []CreateRequest) ([]ItemProblem, error) {
	var problems []ItemProblem
	for i, req := range reqs {
		err := s.checkGrant(ctx, a, req)
		if Transient(err) {
			return nil, err
		}
		if err != nil {
			problems = append(problems, itemProblem(i, err))
		}
	}
	return problems, nil
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
	if !ValidID(id) {
		return nil, notFound
	}
	if limit < 0 || limit > MaxBatchItems {
		return nil, Invalid("limit", "must be between 1 and %d", MaxBatchItems)
	}
	if limit == 0 {
		limit = 100
	}
	b, err := s.batches.GetBatch(ctx, id)
	if IsCode(err, CodeNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("get batch %s: %w", id, err)
	}
	if a.OrgID != b.Actor.OrgID && !(a.OrgID == "" && a.Has(PermAdmin)) {
		return nil, notFound
	}
	page, err := s.batches.BatchItems(ctx, id, limit, cursor)
	if err != nil {
		return nil, fmt.Errorf("list items of batch %s: %w", id, err)
	}
	for i, it := range page.Items {
		if !a.reaches(it.Request.OrganizationID) {
			// The reader may see the batch but not this invitation, as
			// GET /v1/invitations/{id} would not show it: its outcome without whom.
			hidden := *it
			hidden.Request = CreateRequest{OrganizationID: it.Request.OrganizationID}
			hidden.InvitationID, hidden.ResultID, hidden.ResendOf = "", "", ""
			if it.Problem != nil {
				p := *it.Problem
				p.ExistingID = ""
				hidden.Problem = &p
			}
			page.Items[i] = &hidden
		}
	}
	return &BatchView{Batch: b, Page: page}, nil
}

// noQueue is the Queue of a Service configured without one: it takes nothing.
type noQueue struct{}

func (noQueue) Enqueue(context.Context, []ItemRef) error {
	return Errorf(CodeUpstream, "no queue is configured for bulk items")
}
