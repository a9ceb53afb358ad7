package dynamo

import (
	"fmt"
	"strings"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/doormanhq/doorman/shared/events"
)

// StreamRecord is one change of the table's stream (NEW_AND_OLD_IMAGES), from Lambda's
// event or from the Streams API: Old is empty for an insert, New for a removal.
type StreamRecord struct {
	Keys, Old, New map[string]types.AttributeValue
	At             time.Time // when DynamoDB stored the change
	Sequence       string
}

// streamKinds decodes, by the kind of item (its key's prefix and sort key), the old
// and new images of a change into the events they make. An item of any other kind
// makes none. A new kind of item is one entry here and one in events' kinds.
var streamKinds = []struct {
	pk, sk string // prefix of PK; SK exactly ("" for any)
	events func(r events.Renderers, rec StreamRecord) ([]events.Event, error)
}{
	{"INV#", skInvitation, func(r events.Renderers, rec StreamRecord) ([]events.Event, error) {
		old, cur, err := images(rec, decodeInvitation)
		if err != nil {
			return nil, err
		}
		return r.InvitationEvents(old, cur)
	}},
	{"AREQ#", skAccessRequest, func(r events.Renderers, rec StreamRecord) ([]events.Event, error) {
		old, cur, err := images(rec, decodeRequest)
		if err != nil {
			return nil, err
		}
		return r.AccessRequestEvents(old, cur)
	}},
	{"BATCH#", skBatch, func(r events.Renderers, rec StreamRecord) ([]events.Event, error) {
		old, cur, err := images(rec, decodeBatch)
		if err != nil {
			return nil, err
		}
		return r.BatchEvents(old, cur, rec.At)
	}},
	{"WHE#", "", func(_ events.Renderers, rec StreamRecord) ([]events.Event, error) {
		old, cur, err := images(rec, decodeEndpoint)
		if err != nil {
			return nil, err
		}
		return events.EndpointChange(old, cur)
	}},
}

func images[T any](rec StreamRecord, decode func(map[string]types.AttributeValue) (*T, error)) (old, cur *T, err error) {
	if len(rec.Old) > 0 {
		if old, err = decode(rec.Old); err != nil {
			return nil, nil, err
		}
	}
	if len(rec.New) > 0 {
		if cur, err = decode(rec.New); err != nil {
			return nil, nil, err
		}
	}
	return old, cur, nil
}

// StreamEvents returns the events of one stream record, in order.
func StreamEvents(r events.Renderers, rec StreamRecord) ([]*events.Event, error) {
	pk, _ := rec.Keys[attrPK].(*types.AttributeValueMemberS)
	sk, _ := rec.Keys[attrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return nil, nil
	}
	for _, k := range streamKinds {
		if !strings.HasPrefix(pk.Value, k.pk) || (k.sk != "" && sk.Value != k.sk) {
			continue
		}
		evs, err := k.events(r, rec)
		if err != nil {
			return nil, fmt.Errorf("dynamo: stream record %s %s: %w", pk.Value, rec.Sequence, err)
		}
		out := make([]*events.Event, len(evs))
		for i := range evs {
			out[i] = &evs[i]
		}
		return out, nil
	}
	return nil, nil
}

// FromLambda converts a record of Lambda's DynamoDB stream event.
func FromLambda(r lambdaevents.DynamoDBEventRecord) StreamRecord {
	return StreamRecord{
		Keys: lambdaMap(r.Change.Keys), Old: lambdaMap(r.Change.OldImage), New: lambdaMap(r.Change.NewImage),
		At: r.Change.ApproximateCreationDateTime.Time, Sequence: r.Change.SequenceNumber,
	}
}

func lambdaMap(m map[string]lambdaevents.DynamoDBAttributeValue) map[string]types.AttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = lambdaValue(v)
	}
	return out
}

func lambdaValue(v lambdaevents.DynamoDBAttributeValue) types.AttributeValue {
	switch v.DataType() {
	case lambdaevents.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}
	case lambdaevents.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}
	case lambdaevents.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}
	case lambdaevents.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}
	case lambdaevents.DataTypeList:
		l := v.List()
		out := make([]types.AttributeValue, len(l))
		for i, e := range l {
			out[i] = lambdaValue(e)
		}
		return &types.AttributeValueMemberL{Value: out}
	case lambdaevents.DataTypeMap:
		return &types.AttributeValueMemberM{Value: lambdaMap(v.Map())}
	case lambdaevents.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}
	case lambdaevents.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}
	case lambdaevents.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}
	}
	return &types.AttributeValueMemberNULL{Value: true}
}

// FromStreams converts a record of the DynamoDB Streams API.
func FromStreams(r streamtypes.Record) StreamRecord {
	if r.Dynamodb == nil {
		return StreamRecord{}
	}
	out := StreamRecord{Keys: streamsMap(r.Dynamodb.Keys), Old: streamsMap(r.Dynamodb.OldImage), New: streamsMap(r.Dynamodb.NewImage)}
	if r.Dynamodb.ApproximateCreationDateTime != nil {
		out.At = *r.Dynamodb.ApproximateCreationDateTime
	}
	if r.Dynamodb.SequenceNumber != nil {
		out.Sequence = *r.Dynamodb.SequenceNumber
	}
	return out
}

func streamsMap(m map[string]streamtypes.AttributeValue) map[string]types.AttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = streamsValue(v)
	}
	return out
}

func streamsValue(v streamtypes.AttributeValue) types.AttributeValue {
	switch t := v.(type) {
	case *streamtypes.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: t.Value}
	case *streamtypes.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: t.Value}
	case *streamtypes.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: t.Value}
	case *streamtypes.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: t.Value}
	case *streamtypes.AttributeValueMemberL:
		out := make([]types.AttributeValue, len(t.Value))
		for i, e := range t.Value {
			out[i] = streamsValue(e)
		}
		return &types.AttributeValueMemberL{Value: out}
	case *streamtypes.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: streamsMap(t.Value)}
	case *streamtypes.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: t.Value}
	case *streamtypes.AttributeValueMemberNS:
		return &types.AttributeValueMemberNS{Value: t.Value}
	case *streamtypes.AttributeValueMemberBS:
		return &types.AttributeValueMemberBS{Value: t.Value}
	}
	return &types.AttributeValueMemberNULL{Value: true}
}
