package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/functions/internal/lambdaharness"
	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/localstack"
)

const simSecret = "doorman-logstream-m2m-secret-long-enough-for-a-key"

// TestWebhookProcess runs the real logstream bootstrap under the Runtime API harness
// with the API Gateway fixture of an Auth0 log-stream delivery: the right token gets
// 200 (the batch names no invitation, so nothing changes), a wrong one 401, and no
// token secret reaches the logs.
func TestWebhookProcess(t *testing.T) {
	ddb, sesURL := localstack.DynamoEndpoint(t), localstack.SESEndpoint(t)
	table := fmt.Sprintf("doorman-logstream-%d", time.Now().UnixNano())
	db := dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(ddb), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.EnsureTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}) })
	sim := auth0sim.NewTestServer(t, auth0sim.Options{RateLimit: -1, ClientSecret: simSecret})

	bin, err := lambdaharness.Build(ctx, ".", ".", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const token = "logstream-webhook-token-at-least-32-characters"
	env := map[string]string{
		"TABLE_NAME": table, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"DYNAMODB_ENDPOINT": ddb, "SES_ENDPOINT": sesURL, "AUTH0_DOMAIN": sim.BaseURL(),
		"AUTH0_CLIENT_ID": "doorman-m2m", "AUTH0_CLIENT_SECRET": simSecret, "AUTH0_CONNECTION": "Username-Password-Authentication",
		"AUTH0_CLIENT_ID_FOR_LOGIN": "app", "MAIL_FROM": "invites@example.com", "PUBLIC_BASE_URL": "https://invite.example.com",
		"WEBHOOK_TOKEN": token,
	}
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	rt, err := lambdaharness.Start(lambdaharness.Options{Binary: bin, Env: list, FunctionName: "doorman-logstream"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Stop)

	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "apigw", "webhook-logs.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, auth string
		want       int
	}{
		{"the stream's token", "Bearer " + token, 200},
		{"a wrong token", "Bearer " + strings.Repeat("x", len(token)), 401},
		{"no token", "", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload := strings.Replace(string(raw), `"Bearer WEBHOOK_TOKEN"`, fmt.Sprintf("%q", tc.auth), 1)
			out, err := rt.Invoke(ctx, []byte(payload))
			if err != nil {
				t.Fatalf("invoke: %v\n%s", err, rt.Logs())
			}
			var res events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.want {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tc.want, res.Body)
			}
			if tc.want == 401 && !strings.HasPrefix(res.Headers["Content-Type"], "application/problem+json") {
				t.Errorf("401 content type %q, want problem+json", res.Headers["Content-Type"])
			}
		})
	}
	if strings.Contains(rt.Logs(), token) || strings.Contains(rt.Logs(), simSecret) {
		t.Error("a secret reached the function's logs")
	}
}
