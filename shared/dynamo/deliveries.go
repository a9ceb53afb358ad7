package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

var _ invite.DeliveryStore = (*Store)(nil)

// skUndeliverable is the sort key of an address SES refused for good. The item,
// SUPP#<email key>, stays until an operator deletes it: SES keeps such an address on
// its suppression list the same way.
const skUndeliverable = "SUPP"

func undeliverableKey(emailKey string) map[string]types.AttributeValue {
	return key("SUPP#"+emailKey, skUndeliverable)
}

// UpdateDelivery implements invite.DeliveryStore: the invitation's item alone, one
// conditional PutItem, as Update writes it when nothing else changes.
func (s *Store) UpdateDelivery(ctx context.Context, prev, next *invite.Invitation) error {
	op := "update delivery of invitation " + prev.ID
	if !invite.DeliveryOnly(prev, next) {
		return fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("delivery", "only the delivery and history may change"))
	}
	version := next.Version
	next.Version = prev.Version + 1
	item, err := invitationItem(next, s.opts.ExpiryShards, s.ttlFor(next))
	if err == nil {
		_, err = s.replaceInvitation(ctx, op, prev, item)
	} else {
		err = s.fail(op, err)
	}
	if err != nil {
		next.Version = version
	}
	return err
}

// MarkUndeliverable implements invite.DeliveryStore: one PutItem; marking an address
// again replaces the record.
func (s *Store) MarkUndeliverable(ctx context.Context, u invite.UndeliverableAddress) error {
	ek := invite.EmailKey(u.Email)
	op := "mark address undeliverable"
	if ek == "" || u.At.IsZero() {
		return fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("email", "an undeliverable address needs an address and a time"))
	}
	item := undeliverableKey(ek)
	setS(item, "reason", string(u.Reason))
	setS(item, "message_id", u.MessageID)
	setT(item, "at", u.At)
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// Undeliverable implements invite.DeliveryStore: one GetItem of the keys alone.
func (s *Store) Undeliverable(ctx context.Context, email string) (bool, error) {
	ek := invite.EmailKey(email)
	op := "read undeliverable address"
	if ek == "" {
		return false, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("email", "an address is required"))
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: undeliverableKey(ek), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#pk"), ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	if err != nil {
		return false, s.fail(op, err)
	}
	return out.Item != nil, nil
}
