package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/doormanhq/doorman/shared/config"
)

// LambdaAWSConfig is the AWS configuration of a function running on Lambda, read from
// the variables Lambda sets: AWS_REGION and the execution role's credentials
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which are what the
// SDK's default chain would find first there. Building it directly skips the chain's
// shared-file, SSO and metadata-service probing: about 20 ms of every cold start, and
// their clients in the binary.
func LambdaAWSConfig(getenv func(string) string) (aws.Config, error) {
	var missing []string
	for _, name := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return aws.Config{}, fmt.Errorf("aws: %s not set (Lambda sets them for the execution role)", strings.Join(missing, ", "))
	}
	creds := credentials.NewStaticCredentialsProvider(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))
	return aws.Config{Region: getenv("AWS_REGION"), Credentials: aws.NewCredentialsCache(creds)}, nil
}

// FromLambdaEnvironment assembles one Lambda function's part of Doorman from the
// function's environment: the AWS configuration Lambda provides, then fn's settings
// (secrets read from Secrets Manager where given by ARN), then build (NewAPI,
// NewWebhook, NewSweeper or NewWorker) on them.
func FromLambdaEnvironment[T any](ctx context.Context, fn config.Function, log *slog.Logger,
	build func(context.Context, *config.Config, aws.Config, Options) (T, error)) (T, error) {
	var zero T
	awsCfg, err := LambdaAWSConfig(os.Getenv)
	if err != nil {
		return zero, err
	}
	cfg, err := config.Load(ctx, os.Getenv, secretsmanager.NewFromConfig(awsCfg), fn)
	if err != nil {
		return zero, err
	}
	log.Info("configured", "config", cfg)
	return build(ctx, cfg, awsCfg, Options{Logger: log})
}
