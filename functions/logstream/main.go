// Command logstream is Doorman's Auth0 log-stream webhook on AWS Lambda, behind the
// API Gateway HTTP API's public POST /webhooks/auth0/logs route: it turns the
// invitees' logins, signups and failed accepts into invitation transitions.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/doormanhq/doorman/shared/apigw"
	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/config"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	handler, err := setup(context.Background(), log)
	if err != nil {
		log.Error("logstream: init failed", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(handler)
}

func setup(ctx context.Context, log *slog.Logger) (any, error) {
	awsCfg, err := app.LambdaAWSConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(ctx, os.Getenv, secretsmanager.NewFromConfig(awsCfg), config.Logstream)
	if err != nil {
		return nil, err
	}
	log.Info("logstream: configured", "config", cfg)
	a, err := app.New(ctx, cfg, awsCfg, app.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return apigw.Handler(a.Webhook, apigw.Options{Logger: log}), nil
}
