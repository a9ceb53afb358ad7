package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/shared/dynamo"
)

// localAWS is an AWS configuration with static local credentials, so that a
// developer's real AWS credentials are never needed nor sent anywhere.
func localAWS(ctx context.Context, region string) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	return cfg, nil
}

func ensureTable(ctx context.Context, awsCfg aws.Config, endpoint, table string) error {
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return dynamo.EnsureTable(ctx, db, table)
}

func createTable(ctx context.Context, getenv func(string) string, log *slog.Logger) error {
	table, endpoint := or(getenv("TABLE_NAME"), "doorman-local"), or(getenv("DYNAMODB_ENDPOINT"), "http://127.0.0.1:8000")
	awsCfg, err := localAWS(ctx, or(getenv("AWS_REGION"), "us-east-1"))
	if err != nil {
		return err
	}
	if err := ensureTable(ctx, awsCfg, endpoint, table); err != nil {
		return err
	}
	log.Info("table ready", "table", table, "endpoint", endpoint)
	return nil
}
