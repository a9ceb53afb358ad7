package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

func TestCreateTableInput(t *testing.T) {
	in := CreateTableInput("doorman")
	defined := map[string]bool{}
	for _, d := range in.AttributeDefinitions {
		defined[aws.ToString(d.AttributeName)] = true
	}
	used := map[string]bool{}
	for _, k := range in.KeySchema {
		used[aws.ToString(k.AttributeName)] = true
	}
	var names []string
	for _, ix := range in.GlobalSecondaryIndexes {
		names = append(names, aws.ToString(ix.IndexName))
		for _, k := range ix.KeySchema {
			used[aws.ToString(k.AttributeName)] = true
		}
	}
	for a := range used {
		if !defined[a] {
			t.Errorf("key attribute %s has no definition", a)
		}
	}
	if len(defined) != len(used) {
		t.Errorf("%d attribute definitions, want %d (DynamoDB refuses unused ones)", len(defined), len(used))
	}
	if want := []string{IndexExpiry, IndexDue, IndexReminder, IndexScope, IndexScopeStatus, IndexScopeEmail, IndexScopeInviter}; !slices.Equal(names, want) {
		t.Errorf("indexes = %v, want %v", names, want)
	}
	if in.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %s, want on demand", in.BillingMode)
	}
	if s := Schema(); s.TTLAttribute != attrTTL || s.PartitionKey.Name != attrPK || s.SortKey.Name != attrSK {
		t.Errorf("schema = %+v", s)
	}
}

func TestEnsureTable(t *testing.T) {
	client, _ := testClient(t)
	ctx := context.Background()
	name := newTable(t, client) // EnsureTable once
	if err := EnsureTable(ctx, client, name); err != nil {
		t.Fatalf("second EnsureTable: %v", err)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeTimeToLive: %v", err)
	}
	if d := ttl.TimeToLiveDescription; d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != attrTTL {
		t.Errorf("ttl = %s on %q, want ENABLED on %q", d.TimeToLiveStatus, aws.ToString(d.AttributeName), attrTTL)
	}

	t.Run("table without the indexes", func(t *testing.T) {
		bare := name + "-bare"
		in := CreateTableInput(bare)
		in.GlobalSecondaryIndexes = nil
		in.AttributeDefinitions = in.AttributeDefinitions[:0]
		for _, a := range []string{attrPK, attrSK} {
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS})
		}
		if _, err := client.CreateTable(ctx, in); err != nil {
			t.Fatalf("CreateTable: %v", err)
		}
		t.Cleanup(func() {
			client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(bare)})
		})
		err := EnsureTable(ctx, client, bare)
		if err == nil || !strings.Contains(err.Error(), "index by-expiry is missing") {
			t.Errorf("EnsureTable = %v, want an error naming the missing index", err)
		}
	})
}

// TestShardSpread: invitations created together, with ids that differ in their last
// characters (a batch, the conformance suite's inv_000…), spread over every shard of
// the expiry index, so that a listing merges the shards.
func TestShardSpread(t *testing.T) {
	seen := map[int]bool{}
	for i := range 45 {
		seen[shard(fmt.Sprintf("inv_%03d", i), DefaultExpiryShards)] = true
	}
	if len(seen) != DefaultExpiryShards {
		t.Errorf("45 ids fall in %d of %d shards, want every one", len(seen), DefaultExpiryShards)
	}
}

func TestCursors(t *testing.T) {
	c := cursors{key: testKey}
	binding := []string{"list", "app", "pending", "", ""}
	sealed := c.seal(binding, "2030-01-01T00:00:00.000000000Z#inv_1")
	pos, err := c.open(sealed, binding)
	if err != nil || pos != "2030-01-01T00:00:00.000000000Z#inv_1" {
		t.Fatalf("open = %q, %v; want the sealed position", pos, err)
	}
	tests := []struct {
		name    string
		cursor  string
		binding []string
		key     []byte
	}{
		{"other binding", sealed, []string{"list", "org:1", "pending", "", ""}, testKey},
		{"shorter binding", sealed, []string{"list", "app"}, testKey},
		{"other key", sealed, binding, []byte("another key of thirty-two bytes!")},
		{"empty", "", binding, testKey},
		{"padding added", sealed + "=", binding, testKey},
	}
	for i := range sealed {
		b := []byte(sealed)
		b[i] ^= 0x01
		if b[i] == '-' || b[i] == '_' || (b[i] >= '0' && b[i] <= '9') || (b[i]|0x20 >= 'a' && b[i]|0x20 <= 'z') {
			tests = append(tests, struct {
				name    string
				cursor  string
				binding []string
				key     []byte
			}{"byte edited", string(b), binding, testKey})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := (cursors{key: tt.key}).open(tt.cursor, tt.binding); !invite.IsCode(err, invite.CodeInvalid) {
				t.Errorf("open(%q) error = %v, want invalid_request", tt.cursor, err)
			}
		})
	}
}

// scriptedDB answers PutItem with the scripted errors in turn and records the
// requests; the other calls are not used by these tests.
type scriptedDB struct {
	api
	errs []error
	reqs []*dynamodb.PutItemInput
	txs  int
}

// TransactWriteItems answers with the scripted errors too.
func (d *scriptedDB) TransactWriteItems(_ context.Context, _ *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	d.txs++
	if len(d.errs) == 0 {
		return &dynamodb.TransactWriteItemsOutput{}, nil
	}
	err := d.errs[0]
	d.errs = d.errs[1:]
	return nil, err
}

func canceled(codes ...string) error {
	e := &types.TransactionCanceledException{Message: aws.String("Transaction cancelled")}
	for _, c := range codes {
		e.CancellationReasons = append(e.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
	}
	return e
}

// TestTransactRetries: a transaction (a batch's) cancelled only by a concurrent one is
// tried again; a failed condition, throttling or an invalid item is not.
func TestTransactRetries(t *testing.T) {
	tests := []struct {
		name      string
		errs      []error
		wantCode  invite.Code
		wantCalls int
	}{
		{"lost race then success", []error{canceled("TransactionConflict", "None")}, "", 2},
		{"race lost every time", repeat(canceled("None", "TransactionConflict"), maxAttempts), invite.CodeConflict, maxAttempts},
		{"condition failed", []error{canceled("None", "ConditionalCheckFailed")}, invite.CodeConflict, 1},
		{"throttled item", []error{canceled("None", "ThrottlingError")}, invite.CodeUpstream, 1},
		{"invalid item", []error{canceled("ValidationError", "None")}, invite.CodeInternal, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := &scriptedDB{errs: tt.errs}
			s, err := New(db, "t", Options{CursorKey: testKey, Backoff: func(int) time.Duration { return 0 }})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			put := types.TransactWriteItem{Put: &types.Put{TableName: aws.String("t"), Item: key("A", "B")}}
			err = s.transact(context.Background(), "test", []txItem{{write: put}, {write: put}})
			if got := invite.ErrorCode(err); got != tt.wantCode {
				t.Errorf("error = %v (%q), want code %q", err, got, tt.wantCode)
			}
			if db.txs != tt.wantCalls {
				t.Errorf("requests = %d, want %d", db.txs, tt.wantCalls)
			}
		})
	}
}

func (d *scriptedDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	d.reqs = append(d.reqs, in)
	if len(d.errs) == 0 {
		return &dynamodb.PutItemOutput{}, nil
	}
	err := d.errs[0]
	d.errs = d.errs[1:]
	return nil, err
}

// TestWriteRetries: a write that collided with a transaction in progress on its item
// is tried again, a few times; other failures are classified at once.
func TestWriteRetries(t *testing.T) {
	inv := &invite.Invitation{
		ID: "inv_1", Email: "a@example.com", Status: invite.StatusPending, Version: 1,
		TokenHash: "h", CreatedAt: time.Unix(1, 0), ExpiresAt: time.Unix(2, 0),
	}
	raced := &types.TransactionConflictException{Message: aws.String("in a transaction")}
	tests := []struct {
		name      string
		errs      []error
		wantCode  invite.Code
		wantCalls int
	}{
		{"written", nil, "", 3},
		{"lost race then success", []error{raced}, "", 4},
		{"race lost every time", repeat(raced, maxAttempts), invite.CodeConflict, maxAttempts},
		{"throttled request", []error{&types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}}, invite.CodeUpstream, 1},
		{"invalid item", []error{&types.ItemCollectionSizeLimitExceededException{Message: aws.String("too big")}}, invite.CodeInternal, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := &scriptedDB{errs: tt.errs}
			s, err := New(db, "t", Options{CursorKey: testKey, Backoff: func(int) time.Duration { return 0 }})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = s.Create(context.Background(), inv.Clone())
			if got := invite.ErrorCode(err); got != tt.wantCode {
				t.Errorf("error = %v (%q), want code %q", err, got, tt.wantCode)
			}
			if len(db.reqs) != tt.wantCalls {
				t.Errorf("requests = %d, want %d", len(db.reqs), tt.wantCalls)
			}
		})
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

func TestClassify(t *testing.T) {
	s := &Store{table: "doorman"}
	tests := []struct {
		name string
		err  error
		want invite.Code
	}{
		{"missing table", &types.ResourceNotFoundException{Message: aws.String("no table")}, invite.CodeInternal},
		{"throttled", &types.ProvisionedThroughputExceededException{}, invite.CodeUpstream},
		{"request limit", &types.RequestLimitExceeded{}, invite.CodeUpstream},
		{"server error", &types.InternalServerError{}, invite.CodeUpstream},
		{"condition", &types.ConditionalCheckFailedException{}, invite.CodeConflict},
		{"deadline", context.DeadlineExceeded, invite.CodeUpstream},
		{"transport", errors.New("dial tcp: connection refused"), invite.CodeUpstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.fail("op", tt.err)
			if got := invite.ErrorCode(err); got != tt.want {
				t.Errorf("code = %q, want %q (%v)", got, tt.want, err)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("%v does not wrap %v", err, tt.err)
			}
		})
	}
}
