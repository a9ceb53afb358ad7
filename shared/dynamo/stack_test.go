package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/dynamo/dynamotest"
	"github.com/doormanhq/doorman/shared/invite/storetest"
)

// testKey is a fixed cursor key: cursors in tests must be reproducible.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// testClient returns a client of DynamoDB Local with a meter, or skips as localaws says.
func testClient(t testing.TB) (*dynamodb.Client, *dynamotest.Meter) {
	t.Helper()
	endpoint := localaws.DynamoEndpoint(t)
	meter := &dynamotest.Meter{}
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	}, meter.Register)
	return client, meter
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// newTable creates a uniquely named table with EnsureTable and deletes it when the test
// ends.
func newTable(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := unsafeName.ReplaceAllString(t.Name(), "-")
	if len(name) > 80 {
		name = name[:80]
	}
	name = "doorman-test-" + name + "-" + hex.EncodeToString(suffix)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := EnsureTable(ctx, client, name); err != nil {
		t.Fatalf("EnsureTable(%s): %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Gone already is what the cleanup wants: a DeleteTable the SDK sent again
		// after losing the answer (DynamoDB Local under CI's load) finds the table its
		// first attempt deleted.
		var gone *types.ResourceNotFoundException
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil && !errors.As(err, &gone) {
			t.Errorf("delete table %s: %v", name, err)
		}
	})
	return name
}

// fixture is a Store on a fresh table with a meter, and a Seeder of invitations into
// it on a settable clock.
type fixture struct {
	storetest.Seeder
	store  *Store
	client *dynamodb.Client
	meter  *dynamotest.Meter
	table  string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	client, meter := testClient(t)
	table := newTable(t, client)
	clk := storetest.NewClock()
	store, err := New(client, table, Options{CursorKey: testKey, Now: clk.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{Seeder: storetest.Seeder{Into: store, Clock: clk}, store: store, client: client, meter: meter, table: table}
}
