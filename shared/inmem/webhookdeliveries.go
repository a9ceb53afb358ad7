package inmem

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/doormanhq/doorman/shared/events"
)

// DeliveryQueue is an in-process events.Queue with the semantics of the SQS FIFO
// queue that carries webhook deliveries in AWS: deliveries of one group (an endpoint
// and a subject) in order, each held back until the one before it is finished; a
// delivery whose handler asks for a retry comes back after the wait it asked for; one
// that fails otherwise or panics (a deliverer that died) comes back after Visibility;
// the same delivery sent twice within five minutes is kept once (SQS's
// deduplication); one dead-lettered is kept in Dead. The local run delivers webhooks
// through it, and tests crash deliverers on it.
type DeliveryQueue struct {
	// Visibility is when a delivery whose handler failed without a retry time, or
	// died, comes back; default 5 s.
	Visibility time.Duration
	Now        func() time.Time

	mu      sync.Mutex
	groups  map[string][]*queuedDelivery
	order   []string // groups, oldest first
	busy    map[string]bool
	seen    map[string]time.Time
	dead    []*events.Delivery
	signal  chan struct{}
	pending int
}

type queuedDelivery struct {
	d        *events.Delivery
	receives int
	visible  time.Time
}

var _ events.Queue = (*DeliveryQueue)(nil)

const dedupWindow = 5 * time.Minute

func (q *DeliveryQueue) now() time.Time {
	if q.Now == nil {
		return time.Now()
	}
	return q.Now()
}

func (q *DeliveryQueue) init() {
	if q.groups == nil {
		q.groups, q.busy, q.seen = map[string][]*queuedDelivery{}, map[string]bool{}, map[string]time.Time{}
		q.signal = make(chan struct{})
	}
}

func (q *DeliveryQueue) changed() {
	close(q.signal)
	q.signal = make(chan struct{})
}

// Send implements events.Queue.
func (q *DeliveryQueue) Send(_ context.Context, ds []*events.Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	now := q.now()
	for _, d := range ds {
		id := d.DedupID()
		if t, ok := q.seen[id]; ok && now.Sub(t) < dedupWindow {
			continue
		}
		q.seen[id] = now
		g := d.Group()
		if len(q.groups[g]) == 0 {
			q.order = append(q.order, g)
		}
		q.groups[g] = append(q.groups[g], &queuedDelivery{d: d, visible: now})
		q.pending++
	}
	q.changed()
	return nil
}

// Pending is how many deliveries are queued or in flight.
func (q *DeliveryQueue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending
}

// Dead returns the dead-lettered deliveries.
func (q *DeliveryQueue) Dead() []*events.Delivery {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]*events.Delivery(nil), q.dead...)
}

// Deliver makes attempt n of d; events.Deliverer.Deliver is one.
type Deliver func(ctx context.Context, d *events.Delivery, n int) error

// Run delivers on n goroutines until ctx ends.
func (q *DeliveryQueue) Run(ctx context.Context, n int, deliver Deliver) {
	q.mu.Lock()
	q.init()
	q.mu.Unlock()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				g, m, ok := q.receive(ctx)
				if !ok {
					return
				}
				q.attempt(ctx, g, m, deliver)
			}
		})
	}
	wg.Wait()
}

func (q *DeliveryQueue) receive(ctx context.Context) (string, *queuedDelivery, bool) {
	for {
		q.mu.Lock()
		now := q.now()
		next := time.Time{}
		for _, g := range q.order {
			if q.busy[g] {
				continue
			}
			head := q.groups[g][0]
			if !head.visible.After(now) {
				q.busy[g] = true
				head.receives++
				q.mu.Unlock()
				return g, head, true
			}
			if next.IsZero() || head.visible.Before(next) {
				next = head.visible
			}
		}
		wait := q.signal
		q.mu.Unlock()
		var timer <-chan time.Time
		if !next.IsZero() {
			timer = time.After(time.Until(next))
		}
		select {
		case <-ctx.Done():
			return "", nil, false
		case <-wait:
		case <-timer:
		}
	}
}

func (q *DeliveryQueue) attempt(ctx context.Context, g string, m *queuedDelivery, deliver Deliver) {
	err := errors.New("the deliverer died")
	func() {
		defer func() {
			if recover() != nil {
				err = errors.New("the deliverer died")
			}
		}()
		err = deliver(ctx, m.d, m.receives)
	}()
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.changed()
	delete(q.busy, g)
	var retry *events.RetryError
	var dead *events.DeadError
	switch {
	case err == nil:
	case errors.As(err, &dead) || m.receives >= events.MaxAttempts:
		q.dead = append(q.dead, m.d)
	case errors.As(err, &retry):
		m.visible = q.now().Add(retry.After)
		return
	default:
		m.visible = q.now().Add(q.visibility())
		return
	}
	q.groups[g] = q.groups[g][1:]
	q.pending--
	if len(q.groups[g]) == 0 {
		delete(q.groups, g)
		for i, o := range q.order {
			if o == g {
				q.order = append(q.order[:i], q.order[i+1:]...)
				break
			}
		}
	}
}

func (q *DeliveryQueue) visibility() time.Duration {
	if q.Visibility <= 0 {
		return 5 * time.Second
	}
	return q.Visibility
}
