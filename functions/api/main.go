// Command api is Doorman's HTTP API on AWS Lambda, behind an API Gateway HTTP API
// (payload 2.0): the /v1 routes for admins' SPAs and the invitee's /i/{token} pages.
// It only wires: configuration, then everything else once per cold start.
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
		log.Error("api: init failed", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(handler)
}

func setup(ctx context.Context, log *slog.Logger) (any, error) {
	awsCfg, err := app.LambdaAWSConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(ctx, os.Getenv, secretsmanager.NewFromConfig(awsCfg), config.API)
	if err != nil {
		return nil, err
	}
	log.Info("api: configured", "config", cfg)
	a, err := app.New(ctx, cfg, awsCfg, app.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return apigw.Handler(a.API, apigw.Options{Logger: log}), nil
}
