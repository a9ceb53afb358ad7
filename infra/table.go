package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/doormanhq/doorman/shared/dynamo"
)

// tableFromSchema builds the DynamoDB table from the store's own definition, so that
// the deployed table and the one the store's tests create cannot drift apart.
// Throwaway stages may delete the table; every other stage keeps it (deletion
// protection, RETAIN) and can restore it to any second of the last 35 days.
func tableFromSchema(scope constructs.Construct, id string, s dynamo.TableSchema, throwaway bool) (awsdynamodb.Table, error) {
	pk, err := keyAttribute(s.PartitionKey)
	if err != nil {
		return nil, fmt.Errorf("infra: table partition key: %w", err)
	}
	sk, err := optionalKeyAttribute(s.SortKey)
	if err != nil {
		return nil, fmt.Errorf("infra: table sort key: %w", err)
	}
	removal := awscdk.RemovalPolicy_RETAIN
	if throwaway {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	props := &awsdynamodb.TableProps{
		PartitionKey:       pk,
		SortKey:            sk,
		BillingMode:        awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(!throwaway),
		RemovalPolicy:      removal,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
	}
	if s.TTLAttribute != "" {
		props.TimeToLiveAttribute = jsii.String(s.TTLAttribute)
	}
	if s.StreamView != "" {
		props.Stream = awsdynamodb.StreamViewType(s.StreamView)
	}
	table := awsdynamodb.NewTable(scope, jsii.String(id), props)
	for _, ix := range s.GlobalSecondaryIndexes {
		gsi, err := indexProps(ix)
		if err != nil {
			return nil, fmt.Errorf("infra: table index %q: %w", ix.Name, err)
		}
		table.AddGlobalSecondaryIndex(gsi)
	}
	return table, nil
}

func indexProps(ix dynamo.Index) (*awsdynamodb.GlobalSecondaryIndexProps, error) {
	if ix.Name == "" {
		return nil, fmt.Errorf("no name")
	}
	pk, err := keyAttribute(ix.PartitionKey)
	if err != nil {
		return nil, fmt.Errorf("partition key: %w", err)
	}
	sk, err := optionalKeyAttribute(ix.SortKey)
	if err != nil {
		return nil, fmt.Errorf("sort key: %w", err)
	}
	p := &awsdynamodb.GlobalSecondaryIndexProps{IndexName: jsii.String(ix.Name), PartitionKey: pk, SortKey: sk}
	switch ix.Projection {
	case "ALL", "":
		p.ProjectionType = awsdynamodb.ProjectionType_ALL
	case "KEYS_ONLY":
		p.ProjectionType = awsdynamodb.ProjectionType_KEYS_ONLY
	case "INCLUDE":
		if len(ix.NonKeyAttributes) == 0 {
			return nil, fmt.Errorf("projection INCLUDE without attributes")
		}
		p.ProjectionType = awsdynamodb.ProjectionType_INCLUDE
		p.NonKeyAttributes = jsii.Strings(ix.NonKeyAttributes...)
	default:
		return nil, fmt.Errorf("unknown projection %q", ix.Projection)
	}
	return p, nil
}

func keyAttribute(k dynamo.KeyAttribute) (*awsdynamodb.Attribute, error) {
	if k.Name == "" {
		return nil, fmt.Errorf("no name")
	}
	var t awsdynamodb.AttributeType
	switch k.Type {
	case "S":
		t = awsdynamodb.AttributeType_STRING
	case "N":
		t = awsdynamodb.AttributeType_NUMBER
	case "B":
		t = awsdynamodb.AttributeType_BINARY
	default:
		return nil, fmt.Errorf("attribute %s has type %q, want S, N or B", k.Name, k.Type)
	}
	return &awsdynamodb.Attribute{Name: jsii.String(k.Name), Type: t}, nil
}

func optionalKeyAttribute(k dynamo.KeyAttribute) (*awsdynamodb.Attribute, error) {
	if k.Name == "" {
		return nil, nil // no sort key is a valid key schema
	}
	return keyAttribute(k)
}

// indexNames lists the schema's index names, for the IAM resources of queries.
func indexNames(s dynamo.TableSchema) []string {
	names := make([]string, 0, len(s.GlobalSecondaryIndexes))
	for _, ix := range s.GlobalSecondaryIndexes {
		names = append(names, ix.Name)
	}
	return names
}
