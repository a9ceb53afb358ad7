package crash

import (
	"context"

	"github.com/doormanhq/doorman/shared/events"
)

// EventStore crashes around the calls the publisher makes of an events.Store.
type EventStore struct {
	events.Store
	In *Injector
}

func (s EventStore) PutEvent(ctx context.Context, e *events.Event) (bool, error) {
	return around(s.In, "events.PutEvent", func() (bool, error) { return s.Store.PutEvent(ctx, e) })
}

func (s EventStore) Endpoints(ctx context.Context, scope string) ([]*events.Endpoint, error) {
	return around(s.In, "events.Endpoints", func() ([]*events.Endpoint, error) { return s.Store.Endpoints(ctx, scope) })
}

// EventQueue crashes around the publisher's sends of deliveries.
type EventQueue struct {
	events.Queue
	In *Injector
}

func (q EventQueue) Send(ctx context.Context, ds []*events.Delivery) error {
	_, err := around(q.In, "queue.Send", func() (struct{}, error) { return struct{}{}, q.Queue.Send(ctx, ds) })
	return err
}

// At is a crash point of the caller's own (between two steps it takes), for the steps
// no wrapped port marks.
func (in *Injector) At(op string, after bool) { in.at(op, after) }
