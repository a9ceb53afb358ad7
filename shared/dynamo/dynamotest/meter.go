// Package dynamotest is test support for Doorman's DynamoDB store: a Meter that counts
// the requests a DynamoDB client sends and the capacity units they consume, for the
// tests and benchmarks that hold the store to a number of requests or units. Only
// tests import it; no function installs a Meter.
package dynamotest

import (
	"context"
	"maps"
	"math"
	"sync"
	"sync/atomic"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Meter counts the requests a DynamoDB client sends (each retry counts) and the
// capacity units they consume. It asks every request for ReturnConsumedCapacity=TOTAL,
// which costs nothing. Capacity consumed by failed requests (a cancelled transaction)
// is not reported by DynamoDB and so not counted. Install it with dynamodb.NewFromConfig(cfg, meter.Register);
// it is safe for concurrent use.
type Meter struct {
	requests atomic.Int64
	capacity atomic.Uint64 // float64 bits
	read     atomic.Uint64 // float64 bits: the part consumed by reads

	mu         sync.Mutex
	operations map[string]int64
}

// Usage is what a Meter counted.
type Usage struct {
	Requests      int64
	CapacityUnits float64
	// ReadCapacityUnits is the part of CapacityUnits consumed by reads (GetItem,
	// Query, BatchGetItem, TransactGetItems).
	ReadCapacityUnits float64
	// Operations counts the requests by DynamoDB operation ("GetItem",
	// "TransactWriteItems"); nil when there were none.
	Operations map[string]int64
}

// Register adds the meter to a client's options.
func (m *Meter) Register(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, m.addToStack)
}

// Usage returns the counts so far.
func (m *Meter) Usage() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Usage{Requests: m.requests.Load(), CapacityUnits: math.Float64frombits(m.capacity.Load()),
		ReadCapacityUnits: math.Float64frombits(m.read.Load()), Operations: maps.Clone(m.operations)}
}

// Reset sets the counts to zero.
func (m *Meter) Reset() {
	m.requests.Store(0)
	m.capacity.Store(0)
	m.read.Store(0)
	m.mu.Lock()
	m.operations = nil
	m.mu.Unlock()
}

func (m *Meter) addToStack(stack *middleware.Stack) error {
	capacity := middleware.InitializeMiddlewareFunc("DoormanMeterCapacity",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			askForCapacity(in.Parameters)
			out, md, err := next.HandleInitialize(ctx, in)
			units := consumed(out.Result)
			add(&m.capacity, units)
			switch out.Result.(type) {
			case *dynamodb.GetItemOutput, *dynamodb.QueryOutput, *dynamodb.BatchGetItemOutput, *dynamodb.TransactGetItemsOutput:
				add(&m.read, units)
			}
			return out, md, err
		})
	if err := stack.Initialize.Add(capacity, middleware.After); err != nil {
		return err
	}
	// Finalize runs once per attempt after the retry middleware, so every request on
	// the wire is counted.
	requests := middleware.FinalizeMiddlewareFunc("DoormanMeterRequests",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			m.requests.Add(1)
			m.mu.Lock()
			if m.operations == nil {
				m.operations = map[string]int64{}
			}
			m.operations[awsmiddleware.GetOperationName(ctx)]++
			m.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		})
	return stack.Finalize.Add(requests, middleware.After)
}

func add(sum *atomic.Uint64, units float64) {
	if units == 0 {
		return
	}
	for {
		old := sum.Load()
		if sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+units)) {
			return
		}
	}
}

func askForCapacity(params any) {
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		in.ReturnConsumedCapacity = orTotal(in.ReturnConsumedCapacity)
	case *dynamodb.PutItemInput:
		in.ReturnConsumedCapacity = orTotal(in.ReturnConsumedCapacity)
	case *dynamodb.DeleteItemInput:
		in.ReturnConsumedCapacity = orTotal(in.ReturnConsumedCapacity)
	case *dynamodb.UpdateItemInput:
		in.ReturnConsumedCapacity = orTotal(in.ReturnConsumedCapacity)
	case *dynamodb.QueryInput:
		in.ReturnConsumedCapacity = orTotal(in.ReturnConsumedCapacity)
	case *dynamodb.BatchGetItemInput:
		in.ReturnConsumedCapacity = orTotal(in.ReturnConsumedCapacity)
	case *dynamodb.BatchWriteItemInput:
		in.ReturnConsumedCapacity = orTotal(in.ReturnConsumedCapacity)
	case *dynamodb.TransactWriteItemsInput:
		in.ReturnConsumedCapacity = orTotal(in.ReturnConsumedCapacity)
	case *dynamodb.TransactGetItemsInput:
		in.ReturnConsumedCapacity = orTotal(in.ReturnConsumedCapacity)
	}
}

func orTotal(v types.ReturnConsumedCapacity) types.ReturnConsumedCapacity {
	if v == "" || v == types.ReturnConsumedCapacityNone {
		return types.ReturnConsumedCapacityTotal
	}
	return v
}

func consumed(result any) float64 {
	one := func(c *types.ConsumedCapacity) float64 {
		if c == nil || c.CapacityUnits == nil {
			return 0
		}
		return *c.CapacityUnits
	}
	many := func(cs []types.ConsumedCapacity) float64 {
		var sum float64
		for i := range cs {
			sum += one(&cs[i])
		}
		return sum
	}
	switch out := result.(type) {
	case *dynamodb.GetItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		return many(out.ConsumedCapacity)
	case *dynamodb.BatchWriteItemOutput:
		return many(out.ConsumedCapacity)
	case *dynamodb.TransactWriteItemsOutput:
		return many(out.ConsumedCapacity)
	case *dynamodb.TransactGetItemsOutput:
		return many(out.ConsumedCapacity)
	}
	return 0
}
