// Command sesevents applies Amazon SES's sending events (delivery, bounce, complaint,
// delay, reject, rendering failure) to invitations on AWS Lambda. SES publishes them
// from the stack's configuration set to an SNS topic, which delivers them to the
// function's SQS queue; records that fail for a reason that may pass are reported as
// partial batch failures and delivered again.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/config"
)

func main() {
	log := app.NewLogger(os.Stderr, "sesevents")
	h, err := app.FromLambdaEnvironment(context.Background(), config.SESEvents, log, app.NewSESEvents)
	if err != nil {
		log.Error("init failed", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}
