package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of the table's keys, index keys and TTL.
const (
	attrPK  = "PK"
	attrSK  = "SK"
	attrTTL = "ttl"

	// Expiry index: only pending invitation items carry these two attributes, which
	// keeps the index sparse (it holds what the sweeper may have to expire, nothing else).
	attrExpPK = "exp_pk" // EXP#<shard>
	attrExpSK = "exp_sk" // <expires_at>#<id>

	// Due index: only invitations with retry work for the sweeper (invite.DueAt) carry
	// these; reminder index: only pending invitations awaiting their reminder
	// (invite.AwaitsReminder). Both sparse and sharded like the expiry index.
	attrDuePK = "due_pk" // DUE#<shard>
	attrDueSK = "due_sk" // <due at>#<id>
	attrRemPK = "rem_pk" // REM#<shard>
	attrRemSK = "rem_sk" // <expires_at>#<id>

	// Listing indexes: one partition key per filter, one shared sort key.
	attrListScope   = "lst_scope"   // <scope>
	attrListStatus  = "lst_status"  // <scope>#<status>
	attrListEmail   = "lst_email"   // <scope>#<email key>
	attrListInviter = "lst_inviter" // <scope>#<inviter sub>
	attrListSK      = "lst_sk"      // <created_at>#<id>
)

// Index names.
const (
	IndexExpiry       = "by-expiry"
	IndexDue          = "by-due"
	IndexReminder     = "by-reminder"
	IndexScope        = "by-scope"
	IndexScopeStatus  = "by-scope-status"
	IndexScopeEmail   = "by-scope-email"
	IndexScopeInviter = "by-scope-inviter"
)

const (
	defaultTableWait   = 2 * time.Minute
	attributeTypeS     = "S"
	projectionKeysOnly = "KEYS_ONLY"
	projectionInclude  = "INCLUDE"
)

// KeyAttribute is a key attribute and its DynamoDB scalar type ("S", "N" or "B").
type KeyAttribute struct {
	Name string
	Type string
}

// Index is a global secondary index. Projection is "KEYS_ONLY", "INCLUDE" (with
// NonKeyAttributes) or "ALL", as DynamoDB and CloudFormation spell it.
type Index struct {
	Name             string
	PartitionKey     KeyAttribute
	SortKey          KeyAttribute
	Projection       string
	NonKeyAttributes []string
}

// TableSchema is Doorman's single table: the one definition that both EnsureTable (local
// runs, tests) and the CDK stack build the table from. Billing is on demand.
type TableSchema struct {
	PartitionKey           KeyAttribute
	SortKey                KeyAttribute
	GlobalSecondaryIndexes []Index
	// TTLAttribute holds an epoch-seconds number on items DynamoDB should remove:
	// finished invitations and their satellites, idempotency records, processed log ids.
	TTLAttribute string
	// StreamView is the table's stream: every change with its old and new image, from
	// which the publisher derives the events (the outbox).
	StreamView string
}

// Schema returns the table definition.
//
// The items are: the invitation (PK INV#<id>); one reservation per pending (scope,
// email key) holding the invitation id, so that a duplicate pending invitation cannot
// be written; the link token item TOK#<sha256> holding the id; the lookup items
// USER#<auth0 user id>, ORGMAIL#<org>#<email key> and AUTH0INV#<id> holding the id of
// the newest invitation with that key, so that the log-stream webhook resolves a batch
// of up to 100 keys with one BatchGetItem and their invitations with a second (tables
// written before hold full copies there, read through their id); idempotency records
// IDEM#<key>; processed log ids LOG#<id>.
//
// Indexes project keys only (plus the filter attributes on the listing indexes): an
// index entry is then rewritten only when its keys or a filter attribute change,
// instead of on every update of the invitation, at the price of one BatchGetItem per
// page read. by-expiry is sparse (only pending invitations carry its keys) and its
// partition key is sharded EXP#0..N-1 so that no partition is hot; by-due (retry work
// of the sweeper, keyed by when it is due) and by-reminder (invitations awaiting their
// reminder, keyed by expiry) are sparse and sharded the same way. The four listing
// indexes share the sort key <created_at>#<id> and differ by partition key: scope,
// scope#status, scope#email and scope#inviter. A query with several filters uses the
// most selective of them (email, then inviter, then status) and a filter expression
// for the rest, so its cost is proportional to the invitations of that email or
// inviter rather than to the scope.
func Schema() TableSchema {
	s := KeyAttribute{Name: attrListSK, Type: attributeTypeS}
	filters := []string{"status", "email_key", "inviter_sub"}
	listing := func(name, pk string) Index {
		return Index{
			Name:             name,
			PartitionKey:     KeyAttribute{Name: pk, Type: attributeTypeS},
			SortKey:          s,
			Projection:       projectionInclude,
			NonKeyAttributes: filters,
		}
	}
	return TableSchema{
		PartitionKey: KeyAttribute{Name: attrPK, Type: attributeTypeS},
		SortKey:      KeyAttribute{Name: attrSK, Type: attributeTypeS},
		GlobalSecondaryIndexes: []Index{
			{
				Name:         IndexExpiry,
				PartitionKey: KeyAttribute{Name: attrExpPK, Type: attributeTypeS},
				SortKey:      KeyAttribute{Name: attrExpSK, Type: attributeTypeS},
				Projection:   projectionKeysOnly,
			},
			{
				Name:         IndexDue,
				PartitionKey: KeyAttribute{Name: attrDuePK, Type: attributeTypeS},
				SortKey:      KeyAttribute{Name: attrDueSK, Type: attributeTypeS},
				Projection:   projectionKeysOnly,
			},
			{
				Name:         IndexReminder,
				PartitionKey: KeyAttribute{Name: attrRemPK, Type: attributeTypeS},
				SortKey:      KeyAttribute{Name: attrRemSK, Type: attributeTypeS},
				Projection:   projectionKeysOnly,
			},
			listing(IndexScope, attrListScope),
			listing(IndexScopeStatus, attrListStatus),
			listing(IndexScopeEmail, attrListEmail),
			listing(IndexScopeInviter, attrListInviter),
		},
		TTLAttribute: attrTTL,
		StreamView:   string(types.StreamViewTypeNewAndOldImages),
	}
}

// CreateTableInput is the CreateTable request for the schema, on demand.
func CreateTableInput(name string) *dynamodb.CreateTableInput {
	s := Schema()
	defs := map[string]types.ScalarAttributeType{}
	keys := func(pk, sk KeyAttribute) []types.KeySchemaElement {
		defs[pk.Name] = types.ScalarAttributeType(pk.Type)
		defs[sk.Name] = types.ScalarAttributeType(sk.Type)
		return []types.KeySchemaElement{
			{AttributeName: aws.String(pk.Name), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(sk.Name), KeyType: types.KeyTypeRange},
		}
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keys(s.PartitionKey, s.SortKey),
		StreamSpecification: &types.StreamSpecification{
			StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(s.StreamView),
		},
	}
	for _, ix := range s.GlobalSecondaryIndexes {
		p := &types.Projection{ProjectionType: types.ProjectionType(ix.Projection)}
		if len(ix.NonKeyAttributes) > 0 {
			p.NonKeyAttributes = slices.Clone(ix.NonKeyAttributes)
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  keys(ix.PartitionKey, ix.SortKey),
			Projection: p,
		})
	}
	names := make([]string, 0, len(defs))
	for n := range defs {
		names = append(names, n)
	}
	slices.Sort(names) // a stable request, easy to compare in tests
	for _, n := range names {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(n), AttributeType: defs[n],
		})
	}
	return in
}

// TableClient is what EnsureTable needs of a DynamoDB client.
type TableClient interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	UpdateTable(ctx context.Context, in *dynamodb.UpdateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error)
}

// EnsureTable creates the table when it does not exist, waits until it is active and
// enables TTL on it. It is idempotent. An existing table whose keys or indexes differ
// from the schema is an error naming what differs: EnsureTable never alters a table.
func EnsureTable(ctx context.Context, client TableClient, name string) error {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		_, err = client.CreateTable(ctx, CreateTableInput(name))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: created concurrently
			return fmt.Errorf("dynamo: create table %s: %w", name, err)
		}
	case err != nil:
		return fmt.Errorf("dynamo: describe table %s: %w", name, err)
	default:
		if err := checkTable(out.Table); err != nil {
			return fmt.Errorf("dynamo: table %s: %w", name, err)
		}
		if err := ensureStream(ctx, client, name, out.Table); err != nil {
			return err
		}
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 200 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, defaultTableWait); err != nil {
		return fmt.Errorf("dynamo: wait for table %s: %w", name, err)
	}
	return ensureTTL(ctx, client, name)
}

// ensureStream turns on the stream of a table made before events existed.
func ensureStream(ctx context.Context, client TableClient, name string, t *types.TableDescription) error {
	if sp := t.StreamSpecification; sp != nil && aws.ToBool(sp.StreamEnabled) {
		if sp.StreamViewType != types.StreamViewTypeNewAndOldImages {
			return fmt.Errorf("dynamo: table %s streams %s, want %s", name, sp.StreamViewType, types.StreamViewTypeNewAndOldImages)
		}
		return nil
	}
	_, err := client.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(name), StreamSpecification: CreateTableInput(name).StreamSpecification})
	if err != nil {
		return fmt.Errorf("dynamo: enable the stream of %s: %w", name, err)
	}
	return nil
}

func ensureTTL(ctx context.Context, client TableClient, name string) error {
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("dynamo: describe ttl of %s: %w", name, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil {
		switch d.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if aws.ToString(d.AttributeName) == attrTTL {
				return nil
			}
			return fmt.Errorf("dynamo: table %s has TTL on %q, want %q", name, aws.ToString(d.AttributeName), attrTTL)
		}
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("dynamo: enable ttl on %s: %w", name, err)
	}
	return nil
}

// checkTable reports how an existing table differs from the schema in its keys and
// indexes (projections are not compared: they can only be changed by rebuilding an
// index, which is the operator's call).
func checkTable(t *types.TableDescription) error {
	s := Schema()
	if t == nil {
		return errors.New("no description")
	}
	if got, want := keyNames(t.KeySchema), s.PartitionKey.Name+","+s.SortKey.Name; got != want {
		return fmt.Errorf("key schema is %s, want %s", got, want)
	}
	have := map[string]string{}
	for _, ix := range t.GlobalSecondaryIndexes {
		have[aws.ToString(ix.IndexName)] = keyNames(ix.KeySchema)
	}
	var problems []string
	for _, ix := range s.GlobalSecondaryIndexes {
		want := ix.PartitionKey.Name + "," + ix.SortKey.Name
		got, ok := have[ix.Name]
		switch {
		case !ok:
			problems = append(problems, "index "+ix.Name+" is missing")
		case got != want:
			problems = append(problems, fmt.Sprintf("index %s has keys %s, want %s", ix.Name, got, want))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func keyNames(ks []types.KeySchemaElement) string {
	var hash, rng string
	for _, k := range ks {
		if k.KeyType == types.KeyTypeHash {
			hash = aws.ToString(k.AttributeName)
		} else {
			rng = aws.ToString(k.AttributeName)
		}
	}
	return hash + "," + rng
}
