package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/shared/dynamo"
)

// deadLetters lists the log events Doorman refused for good, newest first: what an
// operator reads when the DeadLetters alarm fires (README, "Operating"). It reads the
// table of TABLE_NAME at DYNAMODB_ENDPOINT (the local stack by default; a deployed
// table with AWS credentials and DYNAMODB_ENDPOINT=https://dynamodb.<region>.amazonaws.com).
func deadLetters(ctx context.Context, getenv func(string) string, out io.Writer) error {
	table, endpoint := or(getenv("TABLE_NAME"), "doorman-local"), or(getenv("DYNAMODB_ENDPOINT"), "http://127.0.0.1:8000")
	awsCfg, err := localAWS(ctx, or(getenv("AWS_REGION"), "us-east-1"))
	if err != nil {
		return err
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	// The cursor key only seals the pages of this one listing.
	store, err := dynamo.New(db, table, dynamo.Options{CursorKey: []byte(strings.Repeat("k", 32))})
	if err != nil {
		return err
	}
	cursor, n := "", 0
	for {
		page, err := store.DeadLetters(ctx, 100, cursor)
		if err != nil {
			return err
		}
		for _, d := range page.DeadLetters {
			n++
			fmt.Fprintf(out, "%s  log %s (type %s)  invitations %s\n    %s\n", d.At.Format(time.RFC3339), d.ID, d.Type, strings.Join(d.InvitationIDs, ","), d.Reason)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	fmt.Fprintf(out, "%d dead letters in %s\n", n, table)
	return nil
}
