// Package sqs carries bulk invitation items to the worker on Amazon SQS: Queue is
// invite.Queue (one message per item, sent ten to a request), and Handler is the
// worker's SQS event handler, which reports the items that must come back as partial
// batch failures so that SQS redelivers only those.
package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/doormanhq/doorman/shared/invite"
)

// api is the part of the SQS client the Queue uses.
type api interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// sendBatch is SendMessageBatch's limit; sendParallel bounds the requests in flight.
const (
	sendBatch    = 10
	sendParallel = 4
	sendAttempts = 4
)

// Queue is invite.Queue on an SQS queue.
type Queue struct {
	client api
	url    string
	// backoff is the wait before retry number attempt of entries SQS did not take.
	backoff func(attempt int) time.Duration
}

var _ invite.Queue = (*Queue)(nil)

// New returns a Queue sending to the queue at url.
func New(client api, url string) (*Queue, error) {
	if url == "" {
		return nil, errors.New("sqs: queue URL is empty")
	}
	return &Queue{client: client, url: url, backoff: func(n int) time.Duration { return time.Duration(n) * 100 * time.Millisecond }}, nil
}

// Enqueue sends one message per item, ten to a request, a few requests at a time;
// entries SQS refuses for a reason of its own are sent again.
func (q *Queue) Enqueue(ctx context.Context, refs []invite.ItemRef) error {
	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, sendParallel)
		errMu  sync.Mutex
		first  error
		failed []invite.ItemRef
	)
	for start := 0; start < len(refs); start += sendBatch {
		chunk := refs[start:min(start+sendBatch, len(refs))]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := q.send(ctx, chunk); err != nil {
				errMu.Lock()
				if first == nil {
					first = err
				}
				failed = append(failed, chunk...)
				errMu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		// A chunk that failed may have had some entries taken: they are reported
		// too, and a worker finding such an item failed already does nothing.
		return &invite.NotQueuedError{Refs: failed, Err: first}
	}
	return nil
}

func (q *Queue) send(ctx context.Context, refs []invite.ItemRef) error {
	entries := make([]types.SendMessageBatchRequestEntry, len(refs))
	for i, r := range refs {
		body, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("sqs: encode %s/%d: %w", r.BatchID, r.Index, err)
		}
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
	}
	for attempt := 1; ; attempt++ {
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.url, Entries: entries})
		if err != nil {
			return fmt.Errorf("sqs: send %d messages: %w", len(entries), invite.Wrap(invite.CodeUpstream, err, "the queue is unavailable"))
		}
		if len(out.Failed) == 0 {
			return nil
		}
		failed := map[string]bool{}
		for _, f := range out.Failed {
			if f.SenderFault {
				return fmt.Errorf("sqs: message refused: %s: %w", aws.ToString(f.Code), invite.Errorf(invite.CodeInternal, "the queue refused a message"))
			}
			failed[aws.ToString(f.Id)] = true
		}
		if attempt == sendAttempts {
			return fmt.Errorf("sqs: %d messages not sent: %w", len(failed), invite.Errorf(invite.CodeUpstream, "the queue is unavailable"))
		}
		retry := entries[:0:0]
		for _, e := range entries {
			if failed[aws.ToString(e.Id)] {
				retry = append(retry, e)
			}
		}
		entries = retry
		if err := invite.Sleep(ctx, q.backoff(attempt)); err != nil {
			return fmt.Errorf("sqs: send: %w", invite.Wrap(invite.CodeUpstream, err, "the queue did not answer in time"))
		}
	}
}

// ReplyMargin is the time Handler keeps, before the invocation's deadline, to answer.
const ReplyMargin = 3 * time.Second

// Work handles one item; last is true on the message's final delivery. The worker
// passes invite.Service.WorkBatchItem.
type Work func(ctx context.Context, ref invite.ItemRef, last bool) error

// Handler returns the worker's handler of SQS events. The records of an event are
// handled concurrently; each that fails is reported in BatchItemFailures, so that SQS
// deletes the others and delivers only those again. maxReceives is the queue's
// maxReceiveCount: a record received that many times is its last delivery. A record
// whose body is not an item reference can never succeed: it is logged and dropped.
// Each record is worked with its message id as the context's request id
// (invite.WithRequestID), so that every line logged for it names the message.
//
// The records' work ends ReplyMargin before the invocation's deadline, so that the
// handler always answers: a handler killed at its timeout answers nothing, and SQS
// delivers every record of the event again, the finished ones too.
func Handler(work Work, maxReceives int, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return eachRecord(ctx, ev, func(ctx context.Context, rec events.SQSMessage) error {
			ref, err := decode(rec.Body)
			if err != nil {
				log.ErrorContext(ctx, "malformed queue message dropped", "message_id", rec.MessageId, "error", err)
				return nil
			}
			receives, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
			last := maxReceives > 0 && receives >= maxReceives
			if err := work(ctx, ref, last); err != nil {
				log.WarnContext(ctx, "batch item will be retried", "batch_id", ref.BatchID, "index", ref.Index,
					"message_id", rec.MessageId, "receives", receives, "error", err)
				return err
			}
			return nil
		}), nil
	}
}

// eachRecord handles the records of ev concurrently, each with its message id as the
// context's request id (a record is the unit of work: its lines carry its message id,
// which stays the same on every delivery and is what SQS reports it by), and reports
// those whose handle failed in BatchItemFailures. The handling ends ReplyMargin before
// the invocation's deadline.
func eachRecord(ctx context.Context, ev events.SQSEvent, handle func(ctx context.Context, rec events.SQSMessage) error) events.SQSEventResponse {
	var (
		mu   sync.Mutex
		resp = events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		wg   sync.WaitGroup
	)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) > 2*ReplyMargin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-ReplyMargin))
		defer cancel()
	}
	for _, rec := range ev.Records {
		wg.Go(func() {
			if err := handle(invite.WithRequestID(ctx, rec.MessageId), rec); err != nil {
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp
}

func decode(body string) (invite.ItemRef, error) {
	var ref invite.ItemRef
	if err := json.Unmarshal([]byte(body), &ref); err != nil {
		return ref, fmt.Errorf("decode item reference: %w", err)
	}
	if !ref.Valid() {
		return ref, fmt.Errorf("item reference %q/%d/%q is out of range", ref.BatchID, ref.Index, ref.InvitationID)
	}
	return ref, nil
}
