package inmem

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Batches is an in-memory invite.BatchStore with the DynamoDB store's conditions: an
// item's outcome is recorded and counted once, a resend is claimed once.
type Batches struct {
	mu       sync.Mutex
	batches  map[string]*invite.Batch
	items    map[string][]*invite.BatchItem
	unqueued map[string]bool
}

var _ invite.BatchStore = (*Batches)(nil)

// NewBatches returns an empty batch store.
func NewBatches() *Batches {
	return &Batches{batches: map[string]*invite.Batch{}, items: map[string][]*invite.BatchItem{}, unqueued: map[string]bool{}}
}

func copyItem(it *invite.BatchItem) *invite.BatchItem {
	c := *it
	c.Request.Roles = append([]string(nil), it.Request.Roles...)
	c.Actor.Permissions = append([]string(nil), it.Actor.Permissions...)
	if it.Problem != nil {
		p := *it.Problem
		c.Problem = &p
	}
	return &c
}

// CreateBatch implements invite.BatchStore.
func (s *Batches) CreateBatch(_ context.Context, b *invite.Batch, items []*invite.BatchItem) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.batches[b.ID]; ok {
		return invite.Errorf(invite.CodeConflict, "batch %s exists", b.ID)
	}
	c := *b
	s.batches[b.ID] = &c
	stored := make([]*invite.BatchItem, len(items))
	for i, it := range items {
		stored[i] = copyItem(it)
	}
	s.items[b.ID] = stored
	s.unqueued[b.ID] = true
	return nil
}

// MarkBatchQueued implements invite.BatchStore.
func (s *Batches) MarkBatchQueued(_ context.Context, b *invite.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.unqueued, b.ID)
	return nil
}

// UnqueuedBatches implements invite.BatchStore.
func (s *Batches) UnqueuedBatches(_ context.Context, before time.Time, limit int) ([]*invite.Batch, error) {
	if limit <= 0 || limit > 100 {
		return nil, invite.Invalid("limit", "must be between 1 and 100")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*invite.Batch
	for id := range s.unqueued {
		if b := s.batches[id]; b.CreatedAt.Before(before) {
			c := *b
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *invite.Batch) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	return out[:min(limit, len(out))], nil
}

// GetBatch implements invite.BatchStore.
func (s *Batches) GetBatch(_ context.Context, id string) (*invite.Batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batches[id]
	if !ok {
		return nil, invite.Errorf(invite.CodeNotFound, "batch %s not found", id)
	}
	c := *b
	return &c, nil
}

func (s *Batches) item(ref invite.ItemRef) (*invite.BatchItem, error) {
	items := s.items[ref.BatchID]
	if ref.Index < 0 || ref.Index >= len(items) {
		return nil, invite.Errorf(invite.CodeNotFound, "batch item %s/%d not found", ref.BatchID, ref.Index)
	}
	return items[ref.Index], nil
}

// queued returns the item for a change that needs it queued; a missing item fails
// that condition as a finished one does (conflict), as in DynamoDB.
func (s *Batches) queued(ref invite.ItemRef) (*invite.BatchItem, error) {
	it, err := s.item(ref)
	if err != nil || it.Status != invite.ItemQueued {
		return nil, invite.Errorf(invite.CodeConflict, "batch item %s/%d is missing or has finished already", ref.BatchID, ref.Index)
	}
	return it, nil
}

// GetBatchItem implements invite.BatchStore.
func (s *Batches) GetBatchItem(_ context.Context, ref invite.ItemRef) (*invite.BatchItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.item(ref)
	if err != nil {
		return nil, err
	}
	return copyItem(it), nil
}

// BatchItems implements invite.BatchStore. Its cursor is the next index, bound to the
// batch id and sealed as the Store's cursors are, so that an altered one is refused.
func (s *Batches) BatchItems(_ context.Context, batchID string, limit int, cursor string) (*invite.BatchItemPage, error) {
	if limit <= 0 || limit > invite.MaxBatchItems {
		return nil, invite.Invalid("limit", "must be between 1 and %d", invite.MaxBatchItems)
	}
	binding := []string{"batch", batchID}
	from := 0
	if cursor != "" {
		pos, err := open(cursor, binding)
		if err != nil {
			return nil, err
		}
		if from, err = strconv.Atoi(pos); err != nil || from < 0 {
			return nil, invite.Invalid("cursor", "malformed cursor")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	items := s.items[batchID]
	page := &invite.BatchItemPage{}
	for i := from; i < len(items) && len(page.Items) < limit; i++ {
		page.Items = append(page.Items, copyItem(items[i]))
	}
	if next := from + len(page.Items); next < len(items) {
		page.NextCursor = seal(binding, strconv.Itoa(next))
	}
	return page, nil
}

// ClaimResend implements invite.BatchStore.
func (s *Batches) ClaimResend(_ context.Context, ref invite.ItemRef, existingID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.queued(ref)
	if err != nil {
		return err
	}
	if it.ResendOf != "" {
		return invite.Errorf(invite.CodeConflict, "batch item %s/%d is claimed", ref.BatchID, ref.Index)
	}
	it.ResendOf = existingID
	return nil
}

// FinishBatchItem implements invite.BatchStore.
func (s *Batches) FinishBatchItem(_ context.Context, done *invite.BatchItem) error {
	if done.Status != invite.ItemSucceeded && done.Status != invite.ItemFailed {
		return invite.Errorf(invite.CodeInternal, "outcome %q is not final", done.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.queued(invite.ItemRef{BatchID: done.BatchID, Index: done.Index})
	if err != nil {
		return err
	}
	if b := s.batches[done.BatchID]; done.Status == invite.ItemSucceeded {
		b.Succeeded++
	} else {
		b.Failed++
	}
	it.Status, it.ResultID, it.Resent, it.FinishedAt = done.Status, done.ResultID, done.Resent, done.FinishedAt
	if done.Problem != nil {
		p := *done.Problem
		it.Problem = &p
	}
	return nil
}

// QueueOptions configure a Queue.
type QueueOptions struct {
	// Visibility is how long a message whose handling failed stays hidden before it
	// is delivered again (SQS's visibility timeout); default 1s.
	Visibility time.Duration
	// MaxReceives is how many deliveries a message gets before it moves to the dead
	// letters (SQS's maxReceiveCount); default 5.
	MaxReceives int
	Logger      func(msg string, args ...any)
}

// Queue is an in-process invite.Queue with SQS's delivery semantics: at least once, a
// message whose handler fails or panics comes back after the visibility timeout, and
// one that keeps failing moves to the dead letters. functions/local runs the worker on
// it; tests use it to redeliver after injected crashes.
type Queue struct {
	opts QueueOptions

	mu       sync.Mutex
	ready    []queued
	hidden   int // failed messages waiting out their visibility timeout
	inFlight int
	dead     []invite.ItemRef
	signal   chan struct{} // closed and replaced whenever the queue changes
	stats    QueueStats
}

type queued struct {
	ref      invite.ItemRef
	receives int
}

// QueueStats count what a Queue did.
type QueueStats struct {
	Sent, Received, Redelivered, Panics int
}

var _ invite.Queue = (*Queue)(nil)

// NewQueue returns an empty queue.
func NewQueue(opts QueueOptions) *Queue {
	if opts.Visibility <= 0 {
		opts.Visibility = time.Second
	}
	if opts.MaxReceives <= 0 {
		opts.MaxReceives = 5
	}
	return &Queue{opts: opts, signal: make(chan struct{})}
}

// changed wakes everyone waiting on the queue. Callers hold q.mu.
func (q *Queue) changed() {
	close(q.signal)
	q.signal = make(chan struct{})
}

// Enqueue implements invite.Queue.
func (q *Queue) Enqueue(_ context.Context, refs []invite.ItemRef) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, r := range refs {
		q.ready = append(q.ready, queued{ref: r})
	}
	q.stats.Sent += len(refs)
	q.changed()
	return nil
}

// Handler handles one delivery; last is true on the message's final delivery.
type Handler func(ctx context.Context, ref invite.ItemRef, last bool) error

// Run delivers messages to handle on n goroutines until ctx ends.
func (q *Queue) Run(ctx context.Context, n int, handle Handler) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				m, ok := q.receive(ctx)
				if !ok {
					return
				}
				q.deliver(ctx, m, handle)
			}
		})
	}
	wg.Wait()
}

func (q *Queue) receive(ctx context.Context) (queued, bool) {
	for {
		q.mu.Lock()
		if len(q.ready) > 0 {
			m := q.ready[0]
			q.ready = q.ready[1:]
			m.receives++
			q.inFlight++
			q.stats.Received++
			if m.receives > 1 {
				q.stats.Redelivered++
			}
			q.mu.Unlock()
			return m, true
		}
		wait := q.signal
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return queued{}, false
		}
	}
}

// deliver runs the handler; a panic stands for a worker that died mid-message.
func (q *Queue) deliver(ctx context.Context, m queued, handle Handler) {
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				q.mu.Lock()
				q.stats.Panics++
				q.mu.Unlock()
				err = fmt.Errorf("handler panicked: %v", p)
			}
		}()
		return handle(ctx, m.ref, m.receives >= q.opts.MaxReceives)
	}()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inFlight--
	defer q.changed()
	if err == nil {
		return
	}
	if q.opts.Logger != nil {
		q.opts.Logger("queue: message failed", "batch_id", m.ref.BatchID, "index", m.ref.Index, "receives", m.receives, "error", err)
	}
	if m.receives >= q.opts.MaxReceives {
		q.dead = append(q.dead, m.ref)
		return
	}
	q.hidden++
	time.AfterFunc(q.opts.Visibility, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.hidden--
		q.ready = append(q.ready, m)
		q.changed()
	})
}

// WaitIdle waits until no message is ready, hidden or being handled.
func (q *Queue) WaitIdle(ctx context.Context) error {
	for {
		q.mu.Lock()
		idle := len(q.ready) == 0 && q.hidden == 0 && q.inFlight == 0
		wait := q.signal
		q.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Dead returns the messages that ran out of deliveries.
func (q *Queue) Dead() []invite.ItemRef {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]invite.ItemRef(nil), q.dead...)
}

// Stats returns the queue's counters.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats
}
