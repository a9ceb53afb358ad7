package dynamo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/invite"
)

var _ events.Store = (*Store)(nil)

// The event feed, the webhook endpoints and their delivery attempts:
//   - a feed item per event, in its scope's partition EVT#<scope>, sorted by
//     <at>#<event id>: the event's time and id are fixed by the change that caused it,
//     so writing it again (a redelivered stream record) hits the same key and the
//     condition on it adds nothing; the table's TTL removes it after 30 days;
//   - an endpoint in its scope's partition WHE#<scope> (sort key WHE#<id>), which is
//     what the publisher reads for the scopes of a batch of events, and a pointer
//     WHEID#<id> naming the scope, for the API's reads by id;
//   - an attempt per delivery try under WHA#<endpoint id>, newest last, with a TTL.
const (
	skEndpointPointer = "WHEID"
	attrScope         = "scope"
	attrType          = "type"
	attrBlob          = "blob"
	maxFeedRounds     = 10
)

func feedPK(scope string) string { return "EVT#" + escapeScope(scope) }
func feedSK(e *events.Event) string {
	return fmtTime(e.At) + "#" + e.ID
}
func endpointKey(scope, id string) map[string]types.AttributeValue {
	return key("WHE#"+escapeScope(scope), "WHE#"+id)
}
func endpointPointerKey(id string) map[string]types.AttributeValue {
	return key("WHEID#"+id, skEndpointPointer)
}

// PutEvent implements events.Store.
func (s *Store) PutEvent(ctx context.Context, e *events.Event) (bool, error) {
	m := key(feedPK(e.Scope), feedSK(e))
	setS(m, attrID, e.ID)
	setS(m, attrType, e.Type)
	setS(m, "subject", e.Subject)
	setT(m, "at", e.At)
	setS(m, "data", string(e.Data))
	m[attrTTL] = num(e.At.Add(events.FeedRetention).Unix())
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: m,
		ConditionExpression: aws.String("attribute_not_exists(PK)"),
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return false, nil
	}
	if err != nil {
		return false, s.fail("put event "+e.ID, err)
	}
	return true, nil
}

// encodePosition and decodePosition make a feed sort key an opaque cursor. It is not
// signed: it names a place in the caller's own scope's feed, nothing more.
func encodePosition(sk string) string { return base64.RawURLEncoding.EncodeToString([]byte(sk)) }

func decodePosition(p string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(p)
	sk := string(b)
	if err != nil || len(sk) < len(keyTime)+5 || !strings.Contains(sk, "#evt_") {
		return "", invite.Invalid("after", "is not a cursor of this feed")
	}
	if _, err := time.Parse(keyTime, sk[:len(keyTime)]); err != nil {
		return "", invite.Invalid("after", "is not a cursor of this feed")
	}
	return sk, nil
}

// Feed implements events.Store: a Query of the scope's partition in sort-key order;
// a type filter is a filter expression, so its cost is the scope's events in the
// range read.
func (s *Store) Feed(ctx context.Context, q events.FeedQuery) (*events.FeedPage, error) {
	lower := "0" // below every time
	if !q.Since.IsZero() {
		lower = fmtTime(q.Since)
	}
	if q.After != "" {
		sk, err := decodePosition(q.After)
		if err != nil {
			return nil, err
		}
		if sk > lower {
			lower = sk + " " // strictly after it: no sort key extends another
		}
	}
	upper := "~" // above every time
	if !q.Until.IsZero() {
		upper = fmtTime(q.Until)
	}
	limit := q.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	vals := map[string]types.AttributeValue{":pk": str(feedPK(q.Scope)), ":lo": str(lower), ":hi": str(upper)}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("PK = :pk AND SK BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: vals,
	}
	if len(q.Types) > 0 {
		names := make([]string, len(q.Types))
		for i, t := range q.Types {
			names[i] = fmt.Sprintf(":t%d", i)
			vals[names[i]] = str(t)
		}
		in.FilterExpression = aws.String("#type IN (" + strings.Join(names, ",") + ")")
		in.ExpressionAttributeNames = map[string]string{"#type": attrType}
	}
	page := &events.FeedPage{Position: q.After}
	for round := 0; round < maxFeedRounds; round++ {
		in.Limit = aws.Int32(int32(limit - len(page.Events)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, s.fail("read feed", err)
		}
		for _, m := range out.Items {
			e, err := decodeFeedEvent(m, q.Scope)
			if err != nil {
				return nil, s.fail("decode event", err)
			}
			page.Events = append(page.Events, e)
			page.Position = encodePosition(feedSK(e))
		}
		if out.LastEvaluatedKey == nil || len(page.Events) >= limit {
			break
		}
		// Past what the filter skipped, so that the next page does not read it again.
		if sk, ok := out.LastEvaluatedKey[attrSK].(*types.AttributeValueMemberS); ok {
			page.Position = encodePosition(sk.Value)
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return page, nil
}

func decodeFeedEvent(m map[string]types.AttributeValue, scope string) (*events.Event, error) {
	d := &decoder{m: m}
	e := &events.Event{ID: d.s(attrID), Type: d.s(attrType), Scope: scope, Subject: d.s("subject"), At: d.t("at"),
		Data: []byte(d.s("data"))}
	return e, d.err
}

// storedEndpoint is an endpoint's blob.
type storedEndpoint struct {
	URL            string          `json:"url"`
	Types          []string        `json:"types,omitempty"`
	Description    string          `json:"description,omitempty"`
	Enabled        bool            `json:"enabled"`
	Secrets        []events.Secret `json:"secrets"`
	CreatedAt      time.Time       `json:"created_at"`
	CreatedBy      string          `json:"created_by"`
	FailingSince   time.Time       `json:"failing_since,omitzero"`
	DisabledReason string          `json:"disabled_reason,omitempty"`
	History        []invite.Event  `json:"history,omitempty"`
	Folded         map[string]int  `json:"folded,omitempty"`
}

func endpointItem(ep *events.Endpoint) (map[string]types.AttributeValue, error) {
	m := endpointKey(ep.Scope, ep.ID)
	setS(m, attrID, ep.ID)
	setS(m, attrScope, ep.Scope)
	m[attrVersion] = num(int64(ep.Version))
	return m, setBlob(m, attrBlob, storedEndpoint{
		URL: ep.URL, Types: ep.Types, Description: ep.Description, Enabled: ep.Enabled, Secrets: ep.Secrets,
		CreatedAt: ep.CreatedAt, CreatedBy: ep.CreatedBy, FailingSince: ep.FailingSince,
		DisabledReason: ep.DisabledReason, History: ep.History, Folded: ep.Folded,
	})
}

func decodeEndpoint(m map[string]types.AttributeValue) (*events.Endpoint, error) {
	d := &decoder{m: m}
	ep := &events.Endpoint{ID: d.s(attrID), Scope: d.s(attrScope), Version: d.n(attrVersion)}
	var b storedEndpoint
	if err := getBlob(m, attrBlob, &b); err != nil {
		d.fail(attrBlob, err)
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode endpoint: %w", d.err)
	}
	ep.URL, ep.Types, ep.Description, ep.Enabled, ep.Secrets = b.URL, b.Types, b.Description, b.Enabled, b.Secrets
	ep.CreatedAt, ep.CreatedBy, ep.FailingSince, ep.DisabledReason = b.CreatedAt, b.CreatedBy, b.FailingSince, b.DisabledReason
	ep.History, ep.Folded = b.History, b.Folded
	return ep, nil
}

// CreateEndpoint implements events.Store: the endpoint and its pointer, together.
func (s *Store) CreateEndpoint(ctx context.Context, ep *events.Endpoint) error {
	m, err := endpointItem(ep)
	if err != nil {
		return err
	}
	ptr := endpointPointerKey(ep.ID)
	setS(ptr, attrScope, ep.Scope)
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: m, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: &s.table, Item: ptr, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}})
	if err != nil {
		return s.fail("create endpoint "+ep.ID, err)
	}
	return nil
}

// Endpoint implements events.Store.
func (s *Store) Endpoint(ctx context.Context, scope, id string) (*events.Endpoint, error) {
	if scope == "" {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: endpointPointerKey(id), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, s.fail("get endpoint "+id, err)
		}
		if out.Item == nil {
			return nil, fmt.Errorf("dynamo: get endpoint %s: %w", id, notFound("webhook endpoint %s not found", id))
		}
		scope = (&decoder{m: out.Item}).s(attrScope)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: endpointKey(scope, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, s.fail("get endpoint "+id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("dynamo: get endpoint %s: %w", id, notFound("webhook endpoint %s not found", id))
	}
	return decodeEndpoint(out.Item)
}

// Endpoints implements events.Store; a scope holds at most events.MaxEndpoints, so
// one Query page holds them all.
func (s *Store) Endpoints(ctx context.Context, scope string) ([]*events.Endpoint, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("WHE#" + escapeScope(scope)), ":p": str("WHE#")},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, s.fail("list endpoints of "+scope, err)
	}
	eps := make([]*events.Endpoint, 0, len(out.Items))
	for _, m := range out.Items {
		ep, err := decodeEndpoint(m)
		if err != nil {
			return nil, s.fail("decode endpoint", err)
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

// UpdateEndpoint implements events.Store.
func (s *Store) UpdateEndpoint(ctx context.Context, prev, next *events.Endpoint) error {
	m, err := endpointItem(next)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: m,
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": attrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(prev.Version))},
	})
	if err != nil {
		return s.fail("update endpoint "+prev.ID, err)
	}
	return nil
}

// DeleteEndpoint implements events.Store.
func (s *Store) DeleteEndpoint(ctx context.Context, ep *events.Endpoint) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: endpointKey(ep.Scope, ep.ID)}},
		{Delete: &types.Delete{TableName: &s.table, Key: endpointPointerKey(ep.ID)}},
	}})
	if err != nil {
		return s.fail("delete endpoint "+ep.ID, err)
	}
	return nil
}

// RecordAttempt implements events.Store.
func (s *Store) RecordAttempt(ctx context.Context, a *events.Attempt) error {
	m := key("WHA#"+a.EndpointID, fmt.Sprintf("%s#%s#%d", fmtTime(a.At), a.EventID, a.Number))
	setS(m, "event_id", a.EventID)
	setS(m, attrType, a.Type)
	setN(m, "number", a.Number)
	setT(m, "at", a.At)
	setN(m, "http_status", a.Status)
	setS(m, "error", a.Error)
	setN(m, "duration_ms", int(a.Duration.Milliseconds()))
	setS(m, "outcome", a.Outcome)
	m[attrTTL] = num(a.At.Add(events.AttemptRetention).Unix())
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: m}); err != nil {
		return s.fail("record attempt", err)
	}
	return nil
}

// Attempts implements events.Store.
func (s *Store) Attempts(ctx context.Context, endpointID string, limit int) ([]*events.Attempt, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("WHA#" + endpointID)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(max(1, min(limit, 100)))),
	})
	if err != nil {
		return nil, s.fail("read attempts", err)
	}
	as := make([]*events.Attempt, 0, len(out.Items))
	for _, m := range out.Items {
		d := &decoder{m: m}
		a := &events.Attempt{EndpointID: endpointID, EventID: d.s("event_id"), Type: d.s(attrType), Number: d.n("number"),
			At: d.t("at"), Status: d.n("http_status"), Error: d.s("error"),
			Duration: time.Duration(d.n("duration_ms")) * time.Millisecond, Outcome: d.s("outcome")}
		if d.err != nil {
			return nil, s.fail("decode attempt", d.err)
		}
		as = append(as, a)
	}
	return as, nil
}
