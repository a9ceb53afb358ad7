// Package eventbus puts Doorman's events on an Amazon EventBridge bus (EVENT_BUS_NAME),
// as a second destination next to webhooks: source "doorman", detail-type the event
// type, detail the delivery body with the event id. It implements events.Bus.
package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/doormanhq/doorman/shared/events"
)

// Source is the events' source on the bus.
const Source = "doorman"

// putLimit is PutEvents' entries per request.
const putLimit = 10

type api interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Bus is events.Bus on EventBridge.
type Bus struct {
	client api
	name   string
}

var _ events.Bus = (*Bus)(nil)

// New returns the bus named name (a name or an ARN).
func New(client api, name string) (*Bus, error) {
	if name == "" {
		return nil, errors.New("eventbus: bus name is empty")
	}
	return &Bus{client: client, name: name}, nil
}

type detail struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Put implements events.Bus; an entry EventBridge did not take fails the call, and
// the publisher puts the batch again (consumers dedupe on detail.id).
func (b *Bus) Put(ctx context.Context, evs []*events.Event) error {
	for start := 0; start < len(evs); start += putLimit {
		chunk := evs[start:min(start+putLimit, len(evs))]
		entries := make([]types.PutEventsRequestEntry, len(chunk))
		for i, e := range chunk {
			d, err := json.Marshal(detail{ID: e.ID, Type: e.Type, Timestamp: e.At.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"), Data: e.Data})
			if err != nil {
				return err
			}
			entries[i] = types.PutEventsRequestEntry{
				EventBusName: aws.String(b.name), Source: aws.String(Source), DetailType: aws.String(e.Type),
				Detail: aws.String(string(d)), Time: aws.Time(e.At), Resources: []string{},
			}
		}
		out, err := b.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("eventbus: put %d events: %w", len(entries), err)
		}
		if out.FailedEntryCount > 0 {
			return fmt.Errorf("eventbus: %d events not taken", out.FailedEntryCount)
		}
	}
	return nil
}
