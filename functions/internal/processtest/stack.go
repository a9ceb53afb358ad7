// Package processtest is test support for the functions' process tests: a Stack of a
// fresh table in DynamoDB Local, the local SES and an Auth0 stand-in, with the
// environment a function's bootstrap needs to reach them, and the bootstrap started
// under lambdaharness; and a TableMeter between the function and the table that
// records the DynamoDB actions it makes. Only tests import it.
package processtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/functions/internal/lambdaharness"
	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/invite"
)

// Stack is what a function's process test runs against: a fresh table in DynamoDB
// Local, the local SES, and an unthrottled Auth0 stand-in, with the environment a
// function needs to reach them (add WEBHOOK_TOKEN and the like per function). The
// function reaches the table through Meter; DB and Store reach it directly, so that
// what a test seeds or checks is not counted as the function's.
type Stack struct {
	DB    *dynamodb.Client
	Table string
	Sim   *auth0sim.Sim
	Meter *TableMeter
	Env   map[string]string
}

// NewStack sets up a Stack for tb, or skips or fails it as localaws says
// when the local stack is absent. name prefixes the table; secret is the stand-in's
// M2M client secret (long enough for the derived cursor key).
func NewStack(tb testing.TB, name, secret string) *Stack {
	tb.Helper()
	ddb, sesURL := localaws.DynamoEndpoint(tb), localaws.SESEndpoint(tb)
	table := fmt.Sprintf("doorman-%s-%d", name, time.Now().UnixNano())
	db := dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(ddb), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.EnsureTable(ctx, db, table); err != nil {
		tb.Fatalf("create table %s: %v", table, err)
	}
	tb.Cleanup(func() { db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}) })
	sim := auth0sim.NewTestServer(tb, auth0sim.Options{RateLimit: -1, ClientSecret: secret})
	meter := NewTableMeter(tb, ddb)
	return &Stack{DB: db, Table: table, Sim: sim, Meter: meter, Env: map[string]string{
		"TABLE_NAME": table, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"DYNAMODB_ENDPOINT": meter.URL(), "SES_ENDPOINT": sesURL, "AUTH0_DOMAIN": sim.BaseURL(),
		"AUTH0_CLIENT_ID": "doorman-m2m", "AUTH0_CLIENT_SECRET": secret, "AUTH0_CONNECTION": "Username-Password-Authentication",
		"AUTH0_CLIENT_ID_FOR_LOGIN": "app", "MAIL_FROM": "invites@example.com", "PUBLIC_BASE_URL": "https://invite.example.com",
	}}
}

// EnvList is Env as a process environment.
func (s *Stack) EnvList() []string {
	out := make([]string, 0, len(s.Env))
	for k, v := range s.Env {
		out = append(out, k+"="+v)
	}
	return out
}

// StartFunction builds the function in dir and starts it under the harness with the
// stack's environment; it stops when tb ends.
func (s *Stack) StartFunction(tb testing.TB, dir, name string) *lambdaharness.Runtime {
	tb.Helper()
	bin, err := lambdaharness.Build(context.Background(), dir, ".", tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	rt, err := lambdaharness.Start(lambdaharness.Options{Binary: bin, Env: s.EnvList(), FunctionName: name, Timeout: time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(rt.Stop)
	return rt
}

// Store is the Doorman store on the stack's table, for seeding and checking what a
// function did. Its cursor key is fixed: no cursor crosses between a test and a
// function.
func (s *Stack) Store(tb testing.TB) *dynamo.Store {
	tb.Helper()
	store, err := dynamo.New(s.DB, s.Table, dynamo.Options{CursorKey: []byte("lambdaharness-cursor-key-32-bytes")})
	if err != nil {
		tb.Fatal(err)
	}
	return store
}

// SeedInvitation stores a pending application invitation, sent by auth0|admin at
// created and expiring at expires, with delivery d, for a user of email that Doorman
// created in the stand-in (flagged, never logged in); its link token is id+"-token".
func (s *Stack) SeedInvitation(tb testing.TB, id, email string, created, expires time.Time, d invite.Delivery) *invite.Invitation {
	tb.Helper()
	// As Doorman creates it: flagged, and naming the invitation.
	user := s.Sim.AddUser(auth0sim.User{Email: email, AppMetadata: map[string]any{"needsInvitation": true, "invitationId": id}})
	inv := &invite.Invitation{
		ID: id, Kind: invite.KindApplication, Email: email, Name: "Invitee",
		Inviter: invite.Inviter{Sub: "auth0|admin", Name: "Admin"}, Status: invite.StatusPending,
		CreatedAt: created, ExpiresAt: expires, TokenHash: invite.TokenHash(id + "-token"),
		Auth0UserID: user.ID, UserCreated: true, Delivery: d,
		History: []invite.Event{{Event: invite.EventCreated, At: created, Actor: "auth0|admin"}},
		Version: 1,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Store(tb).Create(ctx, inv); err != nil {
		tb.Fatalf("seed invitation %s: %v", id, err)
	}
	return inv
}
