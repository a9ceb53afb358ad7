// Package dynamotest is test support for Doorman's DynamoDB store: a Meter that counts
// the requests a DynamoDB client sends and the capacity units they consume, for the
// tests and benchmarks that hold the store to a number of requests or units. Only
// tests import it; no function installs a Meter.
package dynamotest

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Meter counts the requests a DynamoDB client sends (each retry counts) and the
// capacity units they consume. It asks every request for ReturnConsumedCapacity=INDEXES,
// which costs nothing, and keeps each request's units by table and index (Requests). Capacity consumed by failed requests (a cancelled transaction)
// is not reported by DynamoDB and so not counted. Install it with dynamodb.NewFromConfig(cfg, meter.Register);
// it is safe for concurrent use.
type Meter struct {
	requests atomic.Int64
	capacity atomic.Uint64 // float64 bits
	read     atomic.Uint64 // float64 bits: the part consumed by reads

	mu         sync.Mutex
	operations map[string]int64
	log        []Request
}

// Request is one request's consumed capacity, as DynamoDB reported it.
type Request struct {
	Operation     string
	CapacityUnits float64
	// Table is the units the base table consumed; Indexes those of each global
	// secondary index the request wrote or read.
	Table   float64
	Indexes map[string]float64
}

// String is the request in one line: "PutItem 5 (table 1, by-scope 1, ...)".
func (r Request) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %g (table %g", r.Operation, r.CapacityUnits, r.Table)
	for _, name := range slices.Sorted(maps.Keys(r.Indexes)) {
		fmt.Fprintf(&b, ", %s %g", name, r.Indexes[name])
	}
	b.WriteString(")")
	return b.String()
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

// Requests returns the capacity of each request that reported some, in order.
func (m *Meter) Requests() []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.log)
}

// Reset sets the counts to zero.
func (m *Meter) Reset() {
	m.requests.Store(0)
	m.capacity.Store(0)
	m.read.Store(0)
	m.mu.Lock()
	m.operations = nil
	m.log = nil
	m.mu.Unlock()
}

func (m *Meter) addToStack(stack *middleware.Stack) error {
	capacity := middleware.InitializeMiddlewareFunc("DoormanMeterCapacity",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			askForCapacity(in.Parameters)
			out, md, err := next.HandleInitialize(ctx, in)
			units, detail := consumed(out.Result)
			add(&m.capacity, units)
			if detail != nil {
				detail.Operation = awsmiddleware.GetOperationName(ctx)
				m.mu.Lock()
				m.log = append(m.log, *detail)
				m.mu.Unlock()
			}
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
		return types.ReturnConsumedCapacityIndexes
	}
	return v
}

// consumed returns the units a result reports and, when it reports any, their detail.
func consumed(result any) (float64, *Request) {
	var cs []types.ConsumedCapacity
	switch out := result.(type) {
	case *dynamodb.GetItemOutput:
		cs = one(out.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		cs = one(out.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		cs = one(out.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		cs = one(out.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		cs = one(out.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		cs = out.ConsumedCapacity
	case *dynamodb.BatchWriteItemOutput:
		cs = out.ConsumedCapacity
	case *dynamodb.TransactWriteItemsOutput:
		cs = out.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		cs = out.ConsumedCapacity
	}
	if len(cs) == 0 {
		return 0, nil
	}
	r := &Request{}
	for _, c := range cs {
		r.CapacityUnits += aws.ToFloat64(c.CapacityUnits)
		if c.Table != nil {
			r.Table += aws.ToFloat64(c.Table.CapacityUnits)
		}
		for name, ix := range c.GlobalSecondaryIndexes {
			if r.Indexes == nil {
				r.Indexes = map[string]float64{}
			}
			r.Indexes[name] += aws.ToFloat64(ix.CapacityUnits)
		}
	}
	return r.CapacityUnits, r
}

func one(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}
