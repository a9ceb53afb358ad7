// Command publisher is Doorman's events-out function on AWS Lambda, with two event
// sources: the table's stream, whose changes it turns into events (the feed, the
// EventBridge bus, one delivery per subscribed webhook endpoint), and the SQS FIFO
// queue of those deliveries, which it signs and posts, leaving failed ones to come
// back on the retry schedule.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/config"
)

func main() {
	log := app.NewLogger(os.Stderr, "publisher")
	h, err := app.FromLambdaEnvironment(context.Background(), config.Publisher, log, app.NewPublisher)
	if err != nil {
		log.Error("init failed", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}
