// Command logstream is Doorman's Auth0 log-stream webhook on AWS Lambda, behind the
// API Gateway HTTP API's public POST /webhooks/auth0/logs route: it turns the
// invitees' logins, signups and failed accepts into invitation transitions.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/doormanhq/doorman/shared/apigw"
	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/config"
)

func main() {
	log := app.NewLogger(os.Stderr, "logstream")
	h, err := app.FromLambdaEnvironment(context.Background(), config.Logstream, log, app.NewWebhook)
	if err != nil {
		log.Error("init failed", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(apigw.Handler(h, apigw.Options{Logger: log}))
}
