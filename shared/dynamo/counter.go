package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

const (
	skCounter    = "CNT"
	attrCount    = "n"
	counterSlack = time.Hour // how long past its window a counter item may linger
)

// counterAPI is the part of the DynamoDB client a Counter uses.
type counterAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Counter counts events per key in fixed time windows (the per-inviter hourly cap),
// one item per key and window in Doorman's table, added to atomically and removed by
// the table's TTL after the window.
type Counter struct {
	db    counterAPI
	table string
	errs  *Store // classifies DynamoDB errors as the Store does
}

// NewCounter returns a Counter on table.
func NewCounter(client counterAPI, table string) (*Counter, error) {
	if client == nil || table == "" {
		return nil, errors.New("dynamo: counter needs a client and a table name")
	}
	return &Counter{db: client, table: table, errs: &Store{table: table}}, nil
}

// IncrBy adds n (negative to give a charge back) to the count of name in the window of
// length window that holds now (windows start at multiples of window since the Unix
// epoch) and returns the count after it and when the window ends. One UpdateItem:
// concurrent calls never lose a count.
func (c *Counter) IncrBy(ctx context.Context, name string, n int, window time.Duration, now time.Time) (int, time.Time, error) {
	op := "count " + name
	if name == "" || window < time.Second {
		return 0, time.Time{}, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("key", "a key and a window of at least a second are required"))
	}
	secs := int64(window / time.Second)
	start := now.Unix() - now.Unix()%secs
	end := time.Unix(start+secs, 0).UTC()
	out, err := c.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &c.table,
		Key:                      key("CNT#"+escapeScope(name)+"#"+strconv.FormatInt(start, 10), skCounter),
		UpdateExpression:         aws.String("ADD #n :n SET #ttl = if_not_exists(#ttl, :ttl)"),
		ExpressionAttributeNames: map[string]string{"#n": attrCount, "#ttl": attrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n":   num(int64(n)),
			":ttl": num(end.Add(counterSlack).Unix()),
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, time.Time{}, c.errs.fail(op, err)
	}
	got, ok := out.Attributes[attrCount].(*types.AttributeValueMemberN)
	if !ok {
		return 0, time.Time{}, fmt.Errorf("dynamo: %s: %w", op, invite.Errorf(invite.CodeInternal, "the database returned no count"))
	}
	count, err := strconv.Atoi(got.Value)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("dynamo: %s: %w", op, invite.Wrap(invite.CodeInternal, err, "the database returned a malformed count"))
	}
	return count, end, nil
}
