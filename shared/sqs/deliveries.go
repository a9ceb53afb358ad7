package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/doormanhq/doorman/shared/events"
)

// deliveryAPI is the part of the SQS client the delivery queue uses.
type deliveryAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Deliveries is events.Queue on an SQS FIFO queue: the message group is the
// delivery's group (an endpoint and a subject), so that one invitation's events reach
// an endpoint in order, and the deduplication id is the event and endpoint, so that a
// publisher that sends the same delivery again within five minutes adds nothing. A
// retry is the same message made visible again after the schedule's wait
// (ChangeMessageVisibility, up to 12 h), so the queue's maxReceiveCount
// (events.MaxAttempts) moves a delivery that failed every attempt to the dead-letter
// queue.
type Deliveries struct {
	client deliveryAPI
	url    string
}

var _ events.Queue = (*Deliveries)(nil)

// NewDeliveries returns the queue at url.
func NewDeliveries(client deliveryAPI, url string) (*Deliveries, error) {
	if url == "" {
		return nil, errors.New("sqs: delivery queue URL is empty")
	}
	return &Deliveries{client: client, url: url}, nil
}

// Send implements events.Queue, ten messages to a request, in order.
func (q *Deliveries) Send(ctx context.Context, ds []*events.Delivery) error {
	for start := 0; start < len(ds); start += sendBatch {
		chunk := ds[start:min(start+sendBatch, len(ds))]
		entries := make([]types.SendMessageBatchRequestEntry, len(chunk))
		for i, d := range chunk {
			body, err := json.Marshal(d)
			if err != nil {
				return fmt.Errorf("sqs: encode delivery %s: %w", d.EventID, err)
			}
			entries[i] = types.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body)),
				MessageGroupId: aws.String(d.Group()), MessageDeduplicationId: aws.String(d.DedupID()),
			}
		}
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.url, Entries: entries})
		if err != nil {
			return fmt.Errorf("sqs: send %d deliveries: %w", len(entries), err)
		}
		if len(out.Failed) > 0 {
			// The publisher sends the whole batch again; deduplication keeps what was
			// taken once.
			return fmt.Errorf("sqs: %d deliveries not sent (%s)", len(out.Failed), aws.ToString(out.Failed[0].Code))
		}
	}
	return nil
}

// DeliveryHandler returns the handler of the delivery queue's SQS events. Records are
// attempted in order; once one of a group fails, the group's later records of the
// event are handed back untried, since a FIFO queue must not deliver them first. A
// failed attempt sets its message's visibility to the schedule's wait.
func DeliveryHandler(client deliveryAPI, url string, deliver func(ctx context.Context, d *events.Delivery, n int) error, log *slog.Logger) func(context.Context, lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	return func(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
		resp := lambdaevents.SQSEventResponse{BatchItemFailures: []lambdaevents.SQSBatchItemFailure{}}
		failed := map[string]bool{}
		for _, rec := range ev.Records {
			group := rec.Attributes["MessageGroupId"]
			if failed[group] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				continue
			}
			var d events.Delivery
			if err := json.Unmarshal([]byte(rec.Body), &d); err != nil || d.EventID == "" || d.EndpointID == "" {
				log.ErrorContext(ctx, "malformed delivery dropped", "message_id", rec.MessageId)
				continue
			}
			n, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
			err := deliver(ctx, &d, max(n, 1))
			if err == nil {
				continue
			}
			var dead *events.DeadError
			if errors.As(err, &dead) {
				// The last attempt failed: handed back once more, the queue's redrive
				// policy moves it to the dead-letter queue.
				log.WarnContext(ctx, "delivery dead-lettered", "event_id", d.EventID, "endpoint_id", d.EndpointID)
			}
			var retry *events.RetryError
			if errors.As(err, &retry) {
				_, verr := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
					QueueUrl: &url, ReceiptHandle: &rec.ReceiptHandle, VisibilityTimeout: int32(retry.After.Seconds()),
				})
				if verr != nil {
					log.WarnContext(ctx, "set retry delay", "event_id", d.EventID, "error", verr)
				}
			}
			failed[group] = true
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
		return resp, nil
	}
}
