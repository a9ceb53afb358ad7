// Command worker is Doorman's bulk worker on AWS Lambda, fed by the SQS queue that
// POST /v1/invitation-batches fills: it invites each item of a batch at the Auth0 rate
// limit, and reports the items to try again as partial batch failures.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/config"
)

func main() {
	log := app.NewLogger(os.Stderr, "worker")
	h, err := app.FromLambdaEnvironment(context.Background(), config.Worker, log, app.NewWorker)
	if err != nil {
		log.Error("init failed", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}
