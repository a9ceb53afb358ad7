package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/config"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/httpapi"
)

const simSecret = "doorman-bench-m2m-secret-long-enough-for-a-cursor-key"

// newTable makes a fresh table on DynamoDB Local, dropped when tb ends, and returns
// the local endpoints, its name and the AWS configuration that reaches them.
func newTable(tb testing.TB, prefix string) (ddb, sesURL, table string, awsCfg aws.Config) {
	tb.Helper()
	ddb, sesURL = localaws.DynamoEndpoint(tb), localaws.SESEndpoint(tb)
	table = fmt.Sprintf("doorman-%s-%d", prefix, time.Now().UnixNano())
	awsCfg = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ddb) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.EnsureTable(ctx, db, table); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	tb.Cleanup(func() { db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}) })
	return ddb, sesURL, table, awsCfg
}

// newApp assembles Doorman in-process, as the functions do, against DynamoDB Local,
// the local SES and an unthrottled Auth0 stand-in, on a fresh table.
func newApp(tb testing.TB) (*app.App, *auth0sim.Sim) {
	tb.Helper()
	ddb, sesURL, table, awsCfg := newTable(tb, "app")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sim := auth0sim.NewTestServer(tb, auth0sim.Options{RateLimit: -1, ClientSecret: simSecret})
	env := map[string]string{
		"TABLE_NAME": table, "AWS_REGION": "us-east-1", "DYNAMODB_ENDPOINT": ddb, "SES_ENDPOINT": sesURL,
		"AUTH0_DOMAIN": sim.BaseURL(), "AUTH0_CLIENT_ID": "doorman-m2m", "AUTH0_CLIENT_SECRET": simSecret,
		"AUTH0_CONNECTION": "Username-Password-Authentication", "AUTH0_CLIENT_ID_FOR_LOGIN": "bench-app",
		"MAIL_FROM": "Doorman <invites@example.com>", "PUBLIC_BASE_URL": "https://invite.example.com",
		"INVITES_PER_HOUR": "0", "APPLICATION_NAME": "Acme Portal", "GRANTABLE_ROLES": "member",
	}
	cfg, err := config.Load(ctx, func(k string) string { return env[k] }, nil, config.API)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := app.New(ctx, cfg, awsCfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	return a, sim
}

// BenchmarkCreateLocalStack creates application invitations through the HTTP handler,
// in-process, against the real local stack: a DynamoDB transaction and updates, the
// Auth0 stand-in's users-by-email, create-user and assign-roles calls, and an email
// to the local SES. It reports the median and p99 latency besides ns/op and allocs.
func BenchmarkCreateLocalStack(b *testing.B) {
	a, sim := newApp(b)
	role := sim.CreateRole("member", "Can use the application")
	ctx := httpapi.WithClaims(context.Background(), httpapi.Claims{Sub: "auth0|bench", Permissions: []string{"create:invitations", "admin:invitations"}})
	run := time.Now().UnixNano()
	var lat []time.Duration
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := fmt.Sprintf(`{"email":"bench+%d-%d@example.com","name":"Bench %d","roles":[%q]}`, run, i, i, role.ID)
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/invitations", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		start := time.Now()
		a.API.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusCreated {
			b.Fatalf("create %d: status %d: %s", i, rec.Code, rec.Body)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
