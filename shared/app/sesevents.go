package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/shared/config"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/ses"
	"github.com/doormanhq/doorman/shared/sqs"
)

// NewSESEvents is the sesevents function's part: the handler of the queue SES's
// event destination (an SNS topic) fills, applying each record to its invitation. It
// builds the table's client alone: the function calls neither Auth0 nor SES.
func NewSESEvents(_ context.Context, cfg *config.Config, awsCfg aws.Config, opts Options) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(invite.LogHandler(slog.Default().Handler()))
	}
	store, err := listlessStore(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	d, err := invite.NewDeliveries(invite.DeliveriesConfig{Store: store, Deliveries: store, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("app: deliveries: %w", err)
	}
	return sqs.BodyHandler(ses.EventHandler(d.Apply, log), log), nil
}

// listlessStore is the table's store for a function that serves no list: no cursor
// it signs ever leaves it, so a key of its own, random per cold start, spares it the
// deployment's cursor key (derived from the Auth0 client secret it is not given).
func listlessStore(cfg *config.Config, awsCfg aws.Config) (*dynamo.Store, error) {
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = endpoint(cfg.DynamoEndpoint) })
	key := make([]byte, dynamo.MinCursorKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("app: cursor key: %w", err)
	}
	store, err := dynamo.New(db, cfg.TableName, dynamo.Options{CursorKey: key})
	if err != nil {
		return nil, fmt.Errorf("app: store: %w", err)
	}
	return store, nil
}

// sesEvents is what applies one SES event record on a's service: the local run's
// emitter feeds it the records SES would publish.
func (a *App) sesEvents() func(ctx context.Context, body []byte) error {
	return ses.EventHandler(a.Service.ApplyMailEvent, a.log)
}
