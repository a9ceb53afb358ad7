package dynamo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// StreamsAPI is the part of the DynamoDB Streams client the poller uses.
type StreamsAPI interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// tableAPI is what the poller needs of the table: its stream's ARN and its
// checkpoints.
type tableAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// StreamPoller reads the table's stream through the Streams API, as Lambda's event
// source mapping does in AWS, for the local run: shard by shard, parents before
// children, handing each batch of records to Handle and checkpointing after it
// succeeded. A Handle that fails (or a process that dies) leaves the checkpoint where
// it was, so the batch is read again: at least once, like Lambda. Checkpoints live in
// the table (STREAMPOS#<shard>), so a restarted poller resumes where it stopped.
type StreamPoller struct {
	Streams  StreamsAPI
	Table    tableAPI
	Name     string
	Handle   func(ctx context.Context, recs []StreamRecord) error
	Interval time.Duration // between polls of an idle stream; default 200ms
	// BatchSize bounds the records of one Handle call (GetRecords' Limit); default 1000.
	BatchSize int32
	Logger    *slog.Logger

	arn   string
	iters map[string]string // shard id → iterator
	done  map[string]bool
}

const streamPosPrefix = "STREAMPOS#"

// Run polls until ctx ends.
func (p *StreamPoller) Run(ctx context.Context) error {
	if p.Interval <= 0 {
		p.Interval = 200 * time.Millisecond
	}
	p.iters, p.done = map[string]string{}, map[string]bool{}
	for {
		busy, err := p.Poll(ctx)
		if err != nil && ctx.Err() == nil && p.Logger != nil {
			p.Logger.WarnContext(ctx, "stream poll", "error", err)
		}
		if busy && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.Interval):
		}
	}
}

// Poll reads each open shard once and reports whether any record came.
func (p *StreamPoller) Poll(ctx context.Context) (bool, error) {
	if p.iters == nil {
		p.iters, p.done = map[string]string{}, map[string]bool{}
	}
	if p.arn == "" {
		out, err := p.Table.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &p.Name})
		if err != nil {
			return false, fmt.Errorf("dynamo: describe table %s: %w", p.Name, err)
		}
		if out.Table.LatestStreamArn == nil {
			return false, fmt.Errorf("dynamo: table %s has no stream", p.Name)
		}
		p.arn = *out.Table.LatestStreamArn
	}
	shards, err := p.shards(ctx)
	if err != nil {
		return false, err
	}
	busy := false
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		if p.done[id] {
			continue
		}
		if parent := aws.ToString(sh.ParentShardId); parent != "" && !p.done[parent] && slices.ContainsFunc(shards, func(s streamtypes.Shard) bool { return aws.ToString(s.ShardId) == parent }) {
			continue // the parent's records come first
		}
		got, err := p.readShard(ctx, id)
		if err != nil {
			delete(p.iters, id) // start again from the checkpoint
			return busy, err
		}
		busy = busy || got
	}
	return busy, nil
}

func (p *StreamPoller) shards(ctx context.Context) ([]streamtypes.Shard, error) {
	var shards []streamtypes.Shard
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: &p.arn}
	for {
		out, err := p.Streams.DescribeStream(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamo: describe stream: %w", err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if out.StreamDescription.LastEvaluatedShardId == nil {
			break
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
	slices.SortFunc(shards, func(a, b streamtypes.Shard) int {
		return strings.Compare(aws.ToString(a.ShardId), aws.ToString(b.ShardId))
	})
	return shards, nil
}

func (p *StreamPoller) readShard(ctx context.Context, id string) (bool, error) {
	it, ok := p.iters[id]
	if !ok {
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: &p.arn, ShardId: &id, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon}
		seq, err := p.checkpoint(ctx, id)
		if err != nil {
			return false, err
		}
		if seq != "" {
			in.ShardIteratorType, in.SequenceNumber = streamtypes.ShardIteratorTypeAfterSequenceNumber, &seq
		}
		out, err := p.Streams.GetShardIterator(ctx, in)
		if err != nil {
			return false, fmt.Errorf("dynamo: shard iterator of %s: %w", id, err)
		}
		it = aws.ToString(out.ShardIterator)
	}
	limit := p.BatchSize
	if limit <= 0 {
		limit = 1000
	}
	out, err := p.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: &it, Limit: &limit})
	if err != nil {
		return false, fmt.Errorf("dynamo: records of %s: %w", id, err)
	}
	var recs []StreamRecord
	for _, r := range out.Records {
		rec := FromStreams(r)
		if pk, ok := rec.Keys[attrPK].(*types.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, streamPosPrefix) {
			continue // the poller's own checkpoints
		}
		recs = append(recs, rec)
	}
	if len(recs) > 0 {
		if err := p.Handle(ctx, recs); err != nil {
			return false, err
		}
		if err := p.saveCheckpoint(ctx, id, recs[len(recs)-1].Sequence); err != nil {
			return false, err
		}
	}
	if out.NextShardIterator == nil {
		p.done[id] = true
		delete(p.iters, id)
	} else {
		p.iters[id] = *out.NextShardIterator
	}
	return len(recs) > 0, nil
}

func (p *StreamPoller) checkpoint(ctx context.Context, shard string) (string, error) {
	out, err := p.Table.GetItem(ctx, &dynamodb.GetItemInput{TableName: &p.Name, Key: key(streamPosPrefix+shard, "POS"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("dynamo: read checkpoint of %s: %w", shard, err)
	}
	return (&decoder{m: out.Item}).s("seq"), nil
}

func (p *StreamPoller) saveCheckpoint(ctx context.Context, shard, seq string) error {
	m := key(streamPosPrefix+shard, "POS")
	setS(m, "seq", seq)
	m[attrTTL] = num(time.Now().Add(48 * time.Hour).Unix()) // streams keep records 24 h
	if _, err := p.Table.PutItem(ctx, &dynamodb.PutItemInput{TableName: &p.Name, Item: m}); err != nil {
		return fmt.Errorf("dynamo: save checkpoint of %s: %w", shard, err)
	}
	return nil
}
