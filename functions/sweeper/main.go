// Command sweeper is Doorman's expiry sweeper on AWS Lambda, run by an EventBridge
// schedule: it expires pending invitations whose time has passed (after reconciling
// them with Auth0), retries the work left due, sends the reminders and queues again
// the batches an api request left unqueued, within the invocation's time budget.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/config"
	"github.com/doormanhq/doorman/shared/invite"
)

func main() {
	log := app.NewLogger(os.Stderr, "sweeper")
	sweeper, err := app.FromLambdaEnvironment(context.Background(), config.Sweeper, log, app.NewSweeper)
	if err != nil {
		log.Error("init failed", "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, ev events.EventBridgeEvent) (invite.SweepResult, error) {
		// The run's lines carry the invocation's id, as Lambda's own lines for it do.
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			ctx = invite.WithRequestID(ctx, lc.AwsRequestID)
		}
		deadline, _ := ctx.Deadline() // zero outside Lambda: no budget
		log.InfoContext(ctx, "sweep", "event_id", ev.ID, "budget_ms", time.Until(deadline).Milliseconds())
		return sweeper.Run(ctx, deadline)
	})
}
