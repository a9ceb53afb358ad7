package sqs

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// BodyHandler returns a handler of SQS events whose records are each handled by
// handle on its body, concurrently; a record whose handle returns an error is
// reported in BatchItemFailures, so that SQS deletes the others and delivers only
// that one again (and, past the queue's maxReceiveCount, dead-letters it). handle
// decides what is worth another delivery: it logs and drops, answering nil, what can
// never succeed. Each record is handled with its message id as the context's request
// id, and the handling ends ReplyMargin before the invocation's deadline, as Handler's.
func BodyHandler(handle func(ctx context.Context, body []byte) error, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return eachRecord(ctx, ev, func(ctx context.Context, rec events.SQSMessage) error {
			if err := handle(ctx, []byte(rec.Body)); err != nil {
				log.WarnContext(ctx, "queue message will be delivered again", "message_id", rec.MessageId,
					"receives", rec.Attributes["ApproximateReceiveCount"], "error", err)
				return err
			}
			return nil
		}), nil
	}
}
