// Command api is Doorman's HTTP API on AWS Lambda, behind an API Gateway HTTP API
// (payload 2.0): the /v1 routes for admins' SPAs and the invitee's /i/{token} pages.
// It only wires; everything is built once per cold start.
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
	log := app.NewLogger(os.Stderr, "api")
	h, err := app.FromLambdaEnvironment(context.Background(), config.API, log, app.NewAPI)
	if err != nil {
		log.Error("init failed", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(apigw.Handler(h, apigw.Options{Logger: log}))
}
