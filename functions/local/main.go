// Command local runs Doorman on localhost for development, against DynamoDB Local, the
// local SES and the built-in Auth0 stand-in.
//
//	go run ./functions/local create-table   create the table (idempotent); `make stack-up` runs it
//	go run ./functions/local serve          run locally until Ctrl-C; `make dev` runs it
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/shared/dynamo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], log); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, log *slog.Logger) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: local create-table | serve")
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	switch args[0] {
	case "create-table":
		db, err := dynamoClient(ctx, cfg)
		if err != nil {
			return err
		}
		if err := dynamo.EnsureTable(ctx, db, cfg.TableName); err != nil {
			return err
		}
		log.Info("table ready", "table", cfg.TableName, "endpoint", cfg.DynamoEndpoint)
		return nil
	case "serve":
		return serve(ctx, cfg, os.Stdout, log)
	default:
		return fmt.Errorf("unknown command %q (want create-table or serve)", args[0])
	}
}

// dynamoClient talks to DynamoDB Local with static local credentials, so that a
// developer's real AWS credentials are never needed nor sent anywhere.
func dynamoClient(ctx context.Context, cfg config) (*dynamodb.Client, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(cfg.Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
	)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(cfg.DynamoEndpoint)
	}), nil
}
