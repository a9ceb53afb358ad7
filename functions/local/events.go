package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/config"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/inmem"
)

// deliveryWorkers is how many webhook deliveries the local run makes at once.
const deliveryWorkers = 8

// localEvents runs events out in process as the publisher function does in AWS: a
// poller reads DynamoDB Local's stream through the Streams API (as Lambda's event
// source mapping reads the table's), the same publisher fans each batch out, and the
// same deliverer works the deliveries from an in-process queue with the FIFO queue's
// order, retry and dead-letter behaviour.
type localEvents struct {
	queue *inmem.DeliveryQueue
	out   io.Writer
	mu    sync.Mutex
}

func newLocalEvents(out io.Writer) *localEvents {
	return &localEvents{queue: &inmem.DeliveryQueue{}, out: out}
}

// options are the app's events options for the local run: this queue, loopback URLs
// allowed, and every attempt printed.
func (le *localEvents) options() app.EventsOptions {
	return app.EventsOptions{Queue: le.queue, AllowLoopback: true, OnAttempt: le.print}
}

func (le *localEvents) print(a *events.Attempt) {
	le.mu.Lock()
	defer le.mu.Unlock()
	result := fmt.Sprintf("HTTP %d", a.Status)
	if a.Error != "" {
		result = a.Error
	}
	fmt.Fprintf(le.out, "webhook %s %s attempt %d to %s: %s (%s)\n", a.Type, a.EventID, a.Number, a.EndpointID, result, a.Outcome)
}

// start runs the stream poller and the deliverers until ctx ends.
func (le *localEvents) start(ctx context.Context, a *app.App, cfg *config.Config, awsCfg aws.Config, log *slog.Logger) {
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(cfg.DynamoEndpoint) })
	streams := dynamodbstreams.NewFromConfig(awsCfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(cfg.DynamoEndpoint) })
	poller := &dynamo.StreamPoller{
		Streams: streams, Table: db, Name: cfg.TableName, Logger: log,
		Handle: func(ctx context.Context, recs []dynamo.StreamRecord) error {
			return a.PublishRecords(withNewRequestID(ctx), a.Events.Publisher, recs)
		},
	}
	go func() { _ = poller.Run(ctx) }()
	go le.queue.Run(ctx, deliveryWorkers, func(ctx context.Context, d *events.Delivery, n int) error {
		return a.Events.Deliverer.Deliver(withNewRequestID(ctx), d, n)
	})
}
