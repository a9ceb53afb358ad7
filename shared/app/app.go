// Package app assembles Doorman from its configuration: the AWS and Auth0 clients, the
// adapters, the domain service and the HTTP handlers. Every function's main and the
// local server build the same object graph through New, so that what runs locally is
// what runs on Lambda; only the entry points differ.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

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
}

// New builds the clients once (a cold start) and everything on top of them.
func New(ctx context.Context, cfg *config.Config, awsCfg aws.Config, opts Options) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(invite.LogHandler(slog.Default().Handler()))
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = endpoint(cfg.DynamoEndpoint) })
	store, err := dynamo.New(db, cfg.TableName, dynamo.Options{CursorKey: []byte(cfg.CursorKey.Reveal())})
	if err != nil {
		return nil, fmt.Errorf("app: store: %w", err)
	}
	counter, err := dynamo.NewCounter(db, cfg.TableName)
	if err != nil {
		return nil, fmt.Errorf("app: counter: %w", err)
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
		ExpiredUserPolicy: invite.UserPolicy(cfg.ExpiredUserPolicy),
		Ceiling:           cfg.Ceiling(), VerifyDisclosedLinks: cfg.VerifyDisclosedLinks,
	})
	if err != nil {
		return nil, fmt.Errorf("app: service: %w", err)
	}
	acceptor, err := invite.NewAcceptor(invite.AcceptorConfig{Service: svc, Store: store})
	if err != nil {
		return nil, fmt.Errorf("app: acceptor: %w", err)
	}
	sweeper, err := invite.NewSweeper(invite.SweeperConfig{
		Service: svc, Store: store, Logger: log, ReminderBefore: cfg.ReminderBefore, Margin: opts.SweepMargin,
	})
	if err != nil {
		return nil, fmt.Errorf("app: sweeper: %w", err)
	}
	api, err := httpapi.New(httpapi.Config{
		Service: svc, Idempotency: store, Counter: counter,
		InvitesPerHour: cfg.InvitesPerHour, CORSOrigins: cfg.CORSOrigins, Logger: log,
		ApplicationName: cfg.ApplicationName, Organizations: identity,
		FormActionSources: cfg.FormActionSources(),
	})
	if err != nil {
		return nil, fmt.Errorf("app: http api: %w", err)
	}
	a := &App{Config: cfg, Store: store, Identity: identity, Mailer: mailer, Service: svc,
		Acceptor: acceptor, Sweeper: sweeper, API: api, Limiter: limiter}
	if cfg.WebhookToken != "" {
		if a.Webhook, err = httpapi.NewWebhook(httpapi.WebhookConfig{Acceptor: acceptor, Token: cfg.WebhookToken.Reveal(), Decode: DecodeLogStream, Logger: log}); err != nil {
			return nil, fmt.Errorf("app: webhook: %w", err)
		}
	}
	return a, nil
}

// endpoint is an endpoint override, nil (the AWS default) when unset.
func endpoint(url string) *string {
	if url == "" {
		return nil
	}
	return aws.String(url)
}
