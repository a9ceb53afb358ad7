package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

// IdempotencyRecord is the stored outcome of a request sent with an Idempotency-Key.
type IdempotencyRecord = invite.IdempotencyRecord

func idempotencyKey(k string) map[string]types.AttributeValue {
	return key("IDEM#"+k, skIdempotency)
}

// condAbsentOrExpired lets a write replace an expired record: TTL deletion lags by up to
// days, so an expired record still present is treated as absent.
const condAbsentOrExpired = "attribute_not_exists(#pk) OR #ttl <= :now"

// ClaimIdempotencyKey stores rec as an in-flight record unless a live record with its
// key exists, which it then returns (existing is nil when the claim succeeded). The
// caller compares existing.BodyHash with its own and replays, waits or refuses.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec IdempotencyRecord) (existing *IdempotencyRecord, err error) {
	op := "claim idempotency key"
	if rec.Key == "" || rec.ExpiresAt.IsZero() {
		return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("Idempotency-Key", "a key and an expiry are required"))
	}
	rec.Status, rec.Header, rec.Body = 0, nil, nil
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                idempotencyItem(rec),
		ConditionExpression:                 aws.String(condAbsentOrExpired),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#ttl": attrTTL},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": num(s.opts.Now().Unix())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var taken *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &taken):
		old, derr := decodeIdempotency(taken.Item)
		if derr != nil {
			return nil, s.fail(op, derr)
		}
		return old, nil
	case err != nil:
		return nil, s.fail(op, err)
	}
	return nil, nil
}

// CompleteIdempotencyKey stores the response of the request that claimed rec.Key;
// conflict when the key is not claimed with rec.BodyHash or has already completed.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec IdempotencyRecord) error {
	op := "complete idempotency key"
	if rec.Status == 0 {
		return fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("status", "a completed record needs its HTTP status"))
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &s.table,
		Item:                     idempotencyItem(rec),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND #bh = :bh AND #st = :zero"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#bh": "body_hash", "#st": attrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":bh": str(rec.BodyHash), ":zero": num(0),
		},
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return fmt.Errorf("dynamo: %s: %w", op, withCause(conflict("", "the idempotency key is not in flight with this body"), err))
	}
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// ReleaseIdempotencyKey deletes an in-flight claim so that the request can be retried
// (the first attempt failed before doing anything). Releasing an absent key does
// nothing; releasing a completed one is a conflict, since its response must replay.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, key string) error {
	op := "release idempotency key"
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       idempotencyKey(key),
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #st = :zero"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#st": attrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)},
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return fmt.Errorf("dynamo: %s: %w", op, withCause(conflict("", "the idempotency key has completed"), err))
	}
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

func idempotencyItem(rec IdempotencyRecord) map[string]types.AttributeValue {
	m := idempotencyKey(rec.Key)
	m["key"] = str(rec.Key)
	setS(m, "body_hash", rec.BodyHash)
	m[attrStatus] = num(int64(rec.Status))
	if len(rec.Header) > 0 {
		h := make(map[string]types.AttributeValue, len(rec.Header))
		for k, v := range rec.Header {
			h[k] = str(v)
		}
		m["header"] = &types.AttributeValueMemberM{Value: h}
	}
	if len(rec.Body) > 0 {
		m["body"] = &types.AttributeValueMemberB{Value: rec.Body}
	}
	setT(m, "created_at", rec.CreatedAt)
	setT(m, "expires_at", rec.ExpiresAt)
	m[attrTTL] = num(rec.ExpiresAt.Unix())
	return m
}

func decodeIdempotency(m map[string]types.AttributeValue) (*IdempotencyRecord, error) {
	if m == nil {
		return nil, errors.New("the database returned no record")
	}
	d := &decoder{m: m}
	rec := &IdempotencyRecord{
		Key:       d.s("key"),
		BodyHash:  d.s("body_hash"),
		Status:    d.n(attrStatus),
		CreatedAt: d.t("created_at"),
		ExpiresAt: d.t("expires_at"),
	}
	if h, ok := m["header"].(*types.AttributeValueMemberM); ok {
		rec.Header = make(map[string]string, len(h.Value))
		hd := &decoder{m: h.Value}
		for k := range h.Value {
			rec.Header[k] = hd.s(k)
		}
		if hd.err != nil {
			d.fail("header", hd.err)
		}
	}
	if b, ok := m["body"].(*types.AttributeValueMemberB); ok {
		rec.Body = b.Value
	}
	if d.err != nil {
		return nil, d.err
	}
	return rec, nil
}

// MarkLogProcessed records an Auth0 log event id for ttl and reports whether this is
// its first record: the webhook applies an event only when first is true, since Auth0
// delivers at least once.
func (s *Store) MarkLogProcessed(ctx context.Context, logID string, ttl time.Duration) (first bool, err error) {
	op := "mark log " + logID + " processed"
	if logID == "" || ttl <= 0 {
		return false, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("log_id", "a log id and a positive ttl are required"))
	}
	now := s.opts.Now()
	item := key("LOG#"+logID, skLog)
	setT(item, "processed_at", now)
	item[attrTTL] = num(now.Add(ttl).Unix())
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       aws.String(condAbsentOrExpired),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#ttl": attrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
	})
	var cond *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &cond):
		return false, nil
	case err != nil:
		return false, s.fail(op, err)
	}
	return true, nil
}
