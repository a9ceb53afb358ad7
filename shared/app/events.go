package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/doormanhq/doorman/shared/config"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/eventbus"
	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/hookclient"
	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/sqs"
)

// Renderers are the API's shapes of what events carry.
var Renderers = events.Renderers{Invitation: httpapi.PublicInvitation, Batch: httpapi.PublicBatch, AccessRequest: httpapi.PublicAccessRequest}

// Events is the events-out part: the endpoint service of the API, the publisher of
// the stream's events, and the deliverer of webhooks.
type Events struct {
	Service   *events.Service
	Publisher *events.Publisher
	Deliverer *events.Deliverer
}

// EventsOptions are what the entry point decides about events.
type EventsOptions struct {
	// Queue carries deliveries; nil means the SQS queue at DELIVERY_QUEUE_URL, and a
	// queue that drops them when that is unset too.
	Queue events.Queue
	// AllowLoopback admits http:// and loopback endpoint URLs (the local run).
	AllowLoopback bool
	// Sender posts deliveries; nil means a hookclient.Client.
	Sender events.Sender
	// OnAttempt sees every delivery attempt (the local run prints them).
	OnAttempt func(*events.Attempt)
	// HTTPClient is EventBridge's HTTP client; nil means the SDK's.
	HTTPClient *http.Client
}

func (a *App) events(awsCfg aws.Config, opts EventsOptions) (*Events, error) {
	q := opts.Queue
	if q == nil && a.Config.DeliveryQueueURL != "" {
		var err error
		if q, err = sqs.NewDeliveries(a.sqsClient(awsCfg), a.Config.DeliveryQueueURL); err != nil {
			return nil, fmt.Errorf("app: delivery queue: %w", err)
		}
	}
	if q == nil {
		q = noDeliveries{}
	}
	sender := opts.Sender
	if sender == nil {
		sender = hookclient.New(hookclient.Options{AllowLoopback: opts.AllowLoopback})
	}
	ev := &Events{
		Service:   &events.Service{Store: a.Store, Queue: q, AllowHTTP: opts.AllowLoopback},
		Publisher: &events.Publisher{Store: a.Store, Queue: q, Logger: a.log},
		Deliverer: &events.Deliverer{Store: a.Store, Sender: sender, Logger: a.log, OnAttempt: opts.OnAttempt},
	}
	if a.Config.EventBusName != "" {
		client := eventbridge.NewFromConfig(awsCfg, func(o *eventbridge.Options) {
			if opts.HTTPClient != nil {
				o.HTTPClient = opts.HTTPClient
			}
		})
		bus, err := eventbus.New(client, a.Config.EventBusName)
		if err != nil {
			return nil, fmt.Errorf("app: event bus: %w", err)
		}
		ev.Publisher.Bus = bus
	}
	return ev, nil
}

// sqsClient is the SQS client of the delivery queue, on the endpoint its URL names
// (https://sqs.<region>.amazonaws.com in AWS; a stand-in's address in tests).
func (a *App) sqsClient(awsCfg aws.Config) *awssqs.Client {
	return awssqs.NewFromConfig(awsCfg, func(o *awssqs.Options) {
		if u, err := url.Parse(a.Config.DeliveryQueueURL); err == nil && u.Host != "" {
			o.BaseEndpoint = aws.String(u.Scheme + "://" + u.Host)
		}
	})
}

// noDeliveries is the queue of a deployment without a delivery queue.
type noDeliveries struct{}

func (noDeliveries) Send(context.Context, []*events.Delivery) error { return nil }

// PublishRecords derives the events of stream records and publishes them. A record
// that cannot be decoded can never be: it is logged and skipped rather than holding
// its shard back.
func (a *App) PublishRecords(ctx context.Context, p *events.Publisher, recs []dynamo.StreamRecord) error {
	var evs []*events.Event
	for _, rec := range recs {
		got, err := dynamo.StreamEvents(Renderers, rec)
		if err != nil {
			a.log.ErrorContext(ctx, "stream record skipped", "sequence", rec.Sequence, "error", err)
			continue
		}
		evs = append(evs, got...)
	}
	return p.Publish(ctx, evs)
}

// NewPublisher is the publisher function's part: one handler for both of its event
// sources, the table's stream (events into the feed and the delivery queue) and the
// delivery queue (webhook attempts).
func NewPublisher(_ context.Context, cfg *config.Config, awsCfg aws.Config, opts Options) (func(context.Context, json.RawMessage) (any, error), error) {
	// The function calls neither Auth0 nor SES: it builds the table's store, the
	// delivery queue and the senders alone, and is given no Auth0 setting or secret.
	store, err := listlessStore(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(invite.LogHandler(slog.Default().Handler()))
	}
	a := &App{Config: cfg, Store: store, log: log}
	ev, err := a.events(awsCfg, opts.Events)
	if err != nil {
		return nil, err
	}
	deliveries := sqs.DeliveryHandler(a.sqsClient(awsCfg), cfg.DeliveryQueueURL, ev.Deliverer.Deliver, a.log)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var peek struct {
			Records []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		if err := json.Unmarshal(raw, &peek); err != nil {
			return nil, fmt.Errorf("publisher: decode event: %w", err)
		}
		if len(peek.Records) == 0 {
			return nil, nil
		}
		switch peek.Records[0].EventSource {
		case "aws:sqs":
			var e lambdaevents.SQSEvent
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("publisher: decode SQS event: %w", err)
			}
			return deliveries(ctx, e)
		case "aws:dynamodb":
			var e lambdaevents.DynamoDBEvent
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("publisher: decode stream event: %w", err)
			}
			recs := make([]dynamo.StreamRecord, len(e.Records))
			for i, r := range e.Records {
				recs[i] = dynamo.FromLambda(r)
			}
			// An error makes Lambda read the batch again: every event is published at
			// least once, under the same id.
			return nil, a.PublishRecords(ctx, ev.Publisher, recs)
		}
		return nil, fmt.Errorf("publisher: event source %q is not the stream or the delivery queue", peek.Records[0].EventSource)
	}, nil
}
