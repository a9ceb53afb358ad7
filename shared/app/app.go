// Package app assembles Doorman from its configuration: the AWS and Auth0 clients, the
// adapters, the domain service and the HTTP handlers. The local server builds all of
// it through New; each Lambda function builds the same core and only its own part
// through its constructor (NewAPI, NewWebhook, NewSweeper, NewWorker), so that what
// runs locally is what runs on Lambda and each binary links only what it serves.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/doormanhq/doorman/shared/auth0"
	"github.com/doormanhq/doorman/shared/config"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/ses"
	"github.com/doormanhq/doorman/shared/sqs"
)

// App is one assembled Doorman.
type App struct {
	Config   *config.Config
	Store    *dynamo.Store
	Identity *auth0.Identity
	Mailer   *ses.Mailer
	Service  *invite.Service
	// Acceptor applies Auth0's log events; Sweeper expires, retries and reminds.
	Acceptor *invite.Acceptor
	Sweeper  *invite.Sweeper
	// API serves /v1 and the invitee's /i/{token} pages.
	API http.Handler
	// Webhook serves POST /webhooks/auth0/logs; nil unless the configuration has a
	// webhook token (the logstream function's).
	Webhook http.Handler
	// Limiter paces every Management API request of the process.
	Limiter *auth0.Limiter
	// SESEvents applies one SES event record (the sesevents function's work), for the
	// local run's emitter of the mailbox simulator's events.
	SESEvents func(ctx context.Context, body []byte) error

	// Events is the events-out part (endpoints, publisher, deliverer).
	Events *Events

	db  *dynamodb.Client
	log *slog.Logger
}

// Options carry what the entry point decides rather than the environment.
type Options struct {
	// Logger is the process's logger, built by NewLogger; nil means slog.Default's
	// handler, wrapped to add the context's ids all the same.
	Logger *slog.Logger
	// HTTPClient is used for Auth0; nil means go-auth0's default.
	HTTPClient *http.Client
	// Queue carries batch items to the worker; nil means the SQS queue at QUEUE_URL,
	// and no batches when that is unset too.
	Queue invite.Queue
	// SweepMargin is what a sweep keeps free before its deadline; 0 means
	// invite.DefaultSweepMargin.
	SweepMargin time.Duration
	// Events configures events out (webhook delivery queue, loopback URLs).
	Events EventsOptions
}

// New builds everything, as the local run serves it: the clients once, the service
// on them, and every function's part on the service.
func New(ctx context.Context, cfg *config.Config, awsCfg aws.Config, opts Options) (*App, error) {
	a, err := newCore(ctx, cfg, awsCfg, opts)
	if err != nil {
		return nil, err
	}
	if a.API, err = a.api(); err != nil {
		return nil, err
	}
	if a.Acceptor, err = a.acceptor(); err != nil {
		return nil, err
	}
	if cfg.WebhookToken != "" {
		if a.Webhook, err = a.webhook(a.Acceptor); err != nil {
			return nil, err
		}
	}
	if a.Sweeper, err = a.sweeper(opts.SweepMargin); err != nil {
		return nil, err
	}
	a.SESEvents = a.sesEvents()
	return a, nil
}

// The functions' constructors build the core and only the part their function serves,
// so that each function's binary links no other function's code.

// NewAPI is the api function's part: the HTTP API (/v1 and the /i pages).
func NewAPI(ctx context.Context, cfg *config.Config, awsCfg aws.Config, opts Options) (http.Handler, error) {
	a, err := newCore(ctx, cfg, awsCfg, opts)
	if err != nil {
		return nil, err
	}
	return a.api()
}

// NewWebhook is the logstream function's part: the log-stream webhook on the acceptor.
func NewWebhook(ctx context.Context, cfg *config.Config, awsCfg aws.Config, opts Options) (http.Handler, error) {
	a, err := newCore(ctx, cfg, awsCfg, opts)
	if err != nil {
		return nil, err
	}
	acceptor, err := a.acceptor()
	if err != nil {
		return nil, err
	}
	return a.webhook(acceptor)
}

// NewSweeper is the sweeper function's part.
func NewSweeper(ctx context.Context, cfg *config.Config, awsCfg aws.Config, opts Options) (*invite.Sweeper, error) {
	a, err := newCore(ctx, cfg, awsCfg, opts)
	if err != nil {
		return nil, err
	}
	return a.sweeper(opts.SweepMargin)
}

// NewWorker is the worker function's part: the SQS handler that works batch items.
func NewWorker(ctx context.Context, cfg *config.Config, awsCfg aws.Config, opts Options) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	a, err := newCore(ctx, cfg, awsCfg, opts)
	if err != nil {
		return nil, err
	}
	return sqs.Handler(a.Service.WorkBatchItem, cfg.QueueMaxReceives, a.log), nil
}

// newCore builds the clients once (a cold start) and the service on them: what every
// function needs.
func newCore(ctx context.Context, cfg *config.Config, awsCfg aws.Config, opts Options) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(invite.LogHandler(slog.Default().Handler()))
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = endpoint(cfg.DynamoEndpoint) })
	store, err := dynamo.New(db, cfg.TableName, dynamo.Options{CursorKey: []byte(cfg.CursorKey.Reveal())})
	if err != nil {
		return nil, fmt.Errorf("app: store: %w", err)
	}
	mailer, err := ses.New(sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) { o.BaseEndpoint = endpoint(cfg.SESEndpoint) }),
		ses.Config{From: cfg.MailFrom, ConfigurationSet: cfg.SESConfigurationSet})
	if err != nil {
		return nil, fmt.Errorf("app: mailer: %w", err)
	}
	limiter := auth0.NewLimiter(auth0.LimiterConfig{Rate: cfg.Auth0RateLimit})
	identity, err := auth0.New(ctx, auth0.Config{
		Domain: cfg.Auth0.Domain, ClientID: cfg.Auth0.ClientID, ClientSecret: cfg.Auth0.ClientSecret.Reveal(),
		Connection: cfg.Auth0.Connection, LoginClientID: cfg.Auth0.LoginClientID,
		Logger: log, HTTPClient: opts.HTTPClient, Limiter: limiter,
	})
	if err != nil {
		return nil, fmt.Errorf("app: auth0: %w", err)
	}
	queue := opts.Queue
	if queue == nil && cfg.QueueURL != "" {
		if queue, err = sqs.New(awssqs.NewFromConfig(awsCfg), cfg.QueueURL); err != nil {
			return nil, fmt.Errorf("app: queue: %w", err)
		}
	}
	svc, err := invite.NewService(invite.Config{
		Store: store, Batches: store, Queue: queue, Identity: identity, Mailer: mailer,
		PublicBaseURL: cfg.PublicBaseURL, ApplicationName: cfg.ApplicationName, ApplicationURL: cfg.ApplicationURL,
		LoginClientID: cfg.Auth0.LoginClientID, RedirectAllowed: cfg.RedirectAllowlist.Allows, Logger: log,
		ExpiredUserPolicy: invite.UserPolicy(cfg.ExpiredUserPolicy), CreateBudget: cfg.CreateBudget,
		Ceiling: cfg.Ceiling(), VerifyDisclosedLinks: cfg.VerifyDisclosedLinks,
		Deliveries: store,
	})
	if err != nil {
		return nil, fmt.Errorf("app: service: %w", err)
	}
	a := &App{Config: cfg, Store: store, Identity: identity, Mailer: mailer, Service: svc, Limiter: limiter, db: db, log: log}
	if a.Events, err = a.events(awsCfg, opts.Events); err != nil {
		return nil, err
	}
	return a, nil
}

// api is the HTTP API on a's service.
func (a *App) api() (http.Handler, error) {
	counter, err := dynamo.NewCounter(a.db, a.Config.TableName)
	if err != nil {
		return nil, fmt.Errorf("app: counter: %w", err)
	}
	cfg := a.Config
	join, err := a.join(counter)
	if err != nil {
		return nil, err
	}
	consolePage, err := consoleHandler(cfg)
	if err != nil {
		return nil, err
	}
	api, err := httpapi.New(httpapi.Config{
		Service: a.Service, Idempotency: a.Store, Counter: counter,
		InvitesPerHour: cfg.InvitesPerHour, CORSOrigins: cfg.CORSOrigins, Logger: a.log,
		ApplicationName: cfg.ApplicationName, Organizations: a.Identity,
		FormActionSources: cfg.FormActionSources(),
		Join:              httpapi.JoinConfig{Service: join, PerSourceMinute: cfg.JoinPerSourceMinute},
		Console:           consolePage,
		Events:            a.Events.Service,
	})
	if err != nil {
		return nil, fmt.Errorf("app: http api: %w", err)
	}
	return api, nil
}

func (a *App) acceptor() (*invite.Acceptor, error) {
	acceptor, err := invite.NewAcceptor(invite.AcceptorConfig{Service: a.Service, Store: a.Store})
	if err != nil {
		return nil, fmt.Errorf("app: acceptor: %w", err)
	}
	return acceptor, nil
}

// webhook serves the log stream with the configuration's token.
func (a *App) webhook(acceptor *invite.Acceptor) (http.Handler, error) {
	h, err := httpapi.NewWebhook(httpapi.WebhookConfig{Acceptor: acceptor, Token: a.Config.WebhookToken.Reveal(), Decode: DecodeLogStream, Logger: a.log})
	if err != nil {
		return nil, fmt.Errorf("app: webhook: %w", err)
	}
	return h, nil
}

func (a *App) sweeper(margin time.Duration) (*invite.Sweeper, error) {
	counter, err := dynamo.NewCounter(a.db, a.Config.TableName)
	if err != nil {
		return nil, fmt.Errorf("app: counter: %w", err)
	}
	join, err := a.join(counter)
	if err != nil {
		return nil, err
	}
	sweeper, err := invite.NewSweeper(invite.SweeperConfig{
		Service: a.Service, Store: a.Store, Logger: a.log, ReminderBefore: a.Config.ReminderBefore, Margin: margin,
		Join: join,
	})
	if err != nil {
		return nil, fmt.Errorf("app: sweeper: %w", err)
	}
	return sweeper, nil
}

// join is the join flows on a's service (join.go).
func (a *App) join(counter *dynamo.Counter) (*invite.Join, error) {
	cfg := a.Config
	j, err := invite.NewJoin(invite.JoinConfig{
		Invites: a.Service, Store: a.Store, Counter: counter, Logger: a.log,
		AppRule:     invite.JoinRule{Mode: invite.JoinMode(cfg.JoinPolicy), Roles: cfg.JoinRoles},
		MailsPerDay: cfg.JoinMailsPerDay,
	})
	if err != nil {
		return nil, fmt.Errorf("app: join: %w", err)
	}
	return j, nil
}

// endpoint is an endpoint override, nil (the AWS default) when unset.
func endpoint(url string) *string {
	if url == "" {
		return nil
	}
	return aws.String(url)
}
