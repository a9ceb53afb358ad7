// Command floor is the baseline Doorman's functions are measured against (README,
// "Performance"): a Lambda function that links the same SDK clients and every SDK
// operation Doorman calls (DynamoDB, SES v2, SQS, Secrets Manager, and go-auth0's
// Management API with client credentials), builds the clients at cold start as
// Doorman does, and answers hello to any event. No Doorman function can be smaller or
// start faster with these libraries. No deploy uses it; `make sizes` and
// functions/api's BenchmarkColdStart build it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/auth0/go-auth0/management"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/oauth2"
)

// callAll is the payload that makes the function call every operation once, with a
// cancelled context: the calls are there to be linked, not made.
const callAll = `"call-all"`

func main() {
	ops, err := clients(context.Background(), os.Getenv)
	if err != nil {
		os.Stderr.WriteString("floor: " + err.Error() + "\n")
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, ev json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		if string(ev) == callAll {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			var errs []error
			for _, op := range ops {
				errs = append(errs, op(ctx))
			}
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: fmt.Sprint(errors.Join(errs...))}, nil
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: "hello"}, nil
	})
}

// clients builds the clients as Doorman's functions do (the AWS configuration from
// Lambda's variables, endpoint overrides, a Management API client with client
// credentials, retries on 429) and returns every operation Doorman calls on them.
func clients(ctx context.Context, getenv func(string) string) ([]func(context.Context) error, error) {
	awsCfg := aws.Config{Region: getenv("AWS_REGION"), Credentials: aws.NewCredentialsCache(
		credentials.NewStaticCredentialsProvider(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")))}
	endpoint := func(v string) *string {
		if e := getenv(v); e != "" {
			return aws.String(e)
		}
		return nil
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = endpoint("DYNAMODB_ENDPOINT") })
	mail := sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) { o.BaseEndpoint = endpoint("SES_ENDPOINT") })
	queue := sqs.NewFromConfig(awsCfg)
	secrets := secretsmanager.NewFromConfig(awsCfg)

	transport := http.DefaultTransport.(*http.Transport).Clone()
	tokenCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Transport: transport})
	m, err := management.New("example.eu.auth0.com",
		management.WithClient(&http.Client{Transport: transport}),
		management.WithRetryStrategy(management.RetryStrategy{MaxRetries: 2, Statuses: []int{http.StatusTooManyRequests}}),
		management.WithClientCredentials(tokenCtx, "floor-client", "floor-secret"))
	if err != nil {
		return nil, err
	}

	table, s := aws.String("floor"), "floor"
	key := map[string]dbtypes.AttributeValue{"pk": &dbtypes.AttributeValueMemberS{Value: s}}
	return []func(context.Context) error{
		func(ctx context.Context) error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key})
			return err
		},
		func(ctx context.Context) error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: key})
			return err
		},
		func(ctx context.Context) error {
			_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: key})
			return err
		},
		func(ctx context.Context) error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: table})
			return err
		},
		func(ctx context.Context) error {
			_, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]dbtypes.KeysAndAttributes{s: {Keys: []map[string]dbtypes.AttributeValue{key}}}})
			return err
		},
		func(ctx context.Context) error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []dbtypes.TransactWriteItem{{Put: &dbtypes.Put{TableName: table, Item: key}}}})
			return err
		},
		func(ctx context.Context) error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key})
			return err
		},
		func(ctx context.Context) error {
			_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]dbtypes.WriteRequest{s: {{PutRequest: &dbtypes.PutRequest{Item: key}}}}})
			return err
		},
		func(ctx context.Context) error {
			_, err := mail.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: &s, Destination: &sestypes.Destination{ToAddresses: []string{s}},
				Content: &sestypes.EmailContent{Simple: &sestypes.Message{Subject: &sestypes.Content{Data: &s}, Body: &sestypes.Body{Text: &sestypes.Content{Data: &s}}}}})
			return err
		},
		func(ctx context.Context) error {
			_, err := queue.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &s, Entries: []sqstypes.SendMessageBatchRequestEntry{{Id: &s, MessageBody: &s}}})
			return err
		},
		func(ctx context.Context) error {
			_, err := secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s})
			return err
		},
		func(ctx context.Context) error { _, err := m.User.ListByEmail(ctx, s); return err },
		func(ctx context.Context) error { _, err := m.User.Read(ctx, s); return err },
		func(ctx context.Context) error { return m.User.Create(ctx, &management.User{Email: &s}) },
		func(ctx context.Context) error {
			return m.User.Update(ctx, s, &management.User{Blocked: aws.Bool(true)})
		},
		func(ctx context.Context) error { return m.User.Delete(ctx, s) },
		func(ctx context.Context) error { return m.User.AssignRoles(ctx, s, []*management.Role{{ID: &s}}) },
		func(ctx context.Context) error { return m.User.RemoveRoles(ctx, s, []*management.Role{{ID: &s}}) },
		func(ctx context.Context) error {
			_, err := m.User.Roles(ctx, s, management.Page(0), management.PerPage(100))
			return err
		},
		func(ctx context.Context) error { _, err := m.Role.List(ctx, management.Page(0)); return err },
		func(ctx context.Context) error { return m.Ticket.ChangePassword(ctx, &management.Ticket{UserID: &s}) },
		func(ctx context.Context) error { _, err := m.Connection.ReadByName(ctx, s); return err },
		func(ctx context.Context) error {
			return m.Organization.CreateInvitation(ctx, s, &management.OrganizationInvitation{ClientID: &s})
		},
		func(ctx context.Context) error { _, err := m.Organization.Invitation(ctx, s, s); return err },
		func(ctx context.Context) error {
			_, err := m.Organization.Invitations(ctx, s, management.PerPage(100))
			return err
		},
		func(ctx context.Context) error { return m.Organization.DeleteInvitation(ctx, s, s) },
		func(ctx context.Context) error {
			_, err := m.Organization.Members(ctx, s, management.IncludeFields("user_id"), management.Take(100), management.From(s))
			return err
		},
		func(ctx context.Context) error {
			_, err := m.Organization.Read(ctx, s)
			var me management.Error
			if errors.As(err, &me) {
				return errors.New(me.Error())
			}
			return err
		},
	}, nil
}
