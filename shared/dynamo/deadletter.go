package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

// Dead letters share one partition, newest last by their time and id: they are rare
// (an event that can never be applied), read by an operator, and leave with the TTL.
const (
	pkDeadLetters = "DEAD"
	maxDeadPage   = 100
)

// RecordDeadLetter implements invite.EventStore: one PutItem; the same id at the same
// time overwrites itself.
func (s *Store) RecordDeadLetter(ctx context.Context, d invite.DeadLetter) error {
	op := "record dead letter " + d.ID
	if d.ID == "" || d.At.IsZero() {
		return fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("id", "a dead letter needs an id and a time"))
	}
	item := key(pkDeadLetters, fmtTime(d.At)+"#"+d.ID)
	setS(item, "dead_id", d.ID)
	setS(item, "type", d.Type)
	setS(item, "reason", d.Reason)
	setT(item, "at", d.At)
	if len(d.InvitationIDs) > 0 {
		item["invitation_ids"] = &types.AttributeValueMemberSS{Value: d.InvitationIDs}
	}
	item[attrTTL] = num(d.At.Add(invite.DeadLetterRetention).Unix())
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// DeadLetters implements invite.EventStore: one Query per page, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int, cursor string) (*invite.DeadLetterPage, error) {
	const op = "list dead letters"
	if limit < 1 || limit > maxDeadPage {
		return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("limit", "must be between 1 and %d", maxDeadPage))
	}
	binding := []string{"dead"}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pkDeadLetters)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
		ConsistentRead:            aws.Bool(true),
	}
	if cursor != "" {
		sk, err := s.cursors.open(cursor, binding)
		if err != nil {
			return nil, fmt.Errorf("dynamo: %s: %w", op, err)
		}
		in.ExclusiveStartKey = key(pkDeadLetters, sk)
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, s.fail(op, err)
	}
	page := &invite.DeadLetterPage{DeadLetters: make([]invite.DeadLetter, 0, len(out.Items))}
	for _, it := range out.Items {
		d := &decoder{m: it}
		dl := invite.DeadLetter{ID: d.s("dead_id"), Type: d.s("type"), Reason: d.s("reason"), At: d.t("at")}
		if ss, ok := it["invitation_ids"].(*types.AttributeValueMemberSS); ok {
			dl.InvitationIDs = ss.Value
		}
		if d.err != nil {
			return nil, fmt.Errorf("dynamo: %s: %w", op, d.err)
		}
		page.DeadLetters = append(page.DeadLetters, dl)
	}
	if lek := out.LastEvaluatedKey; len(lek) > 0 {
		if sk, ok := lek[attrSK].(*types.AttributeValueMemberS); ok && strings.Contains(sk.Value, "#") {
			page.NextCursor = s.cursors.seal(binding, sk.Value)
		}
	}
	return page, nil
}
