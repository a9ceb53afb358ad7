package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/dynamo/dynamotest"
	"github.com/doormanhq/doorman/shared/invite"
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

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2030, 5, 17, 9, 30, 0, 123456789, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

type fixture struct {
	store  *Store
	client *dynamodb.Client
	meter  *dynamotest.Meter
	table  string
	clock  *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	client, meter := testClient(t)
	table := newTable(t, client)
	clk := newClock()
	store, err := New(client, table, Options{CursorKey: testKey, Now: clk.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{store: store, client: client, meter: meter, table: table, clock: clk}
}

// invitation returns a pending application invitation created now.
func (f *fixture) invitation(id, email string) *invite.Invitation {
	now := f.clock.Now()
	return &invite.Invitation{
		ID:        id,
		Kind:      invite.KindApplication,
		Email:     email,
		Name:      "Invitee " + id,
		Roles:     []string{"rol_reader"},
		Inviter:   invite.Inviter{Sub: "auth0|admin", Name: "Admin"},
		Status:    invite.StatusPending,
		CreatedAt: now,
		ExpiresAt: now.Add(7 * 24 * time.Hour),
		TokenHash: "hash-" + id,
		Delivery:  invite.Delivery{Status: invite.DeliveryPending},
		History:   []invite.Event{{Event: invite.EventCreated, At: now, Actor: "auth0|admin"}},
		Version:   1,
	}
}

func (f *fixture) create(t testing.TB, inv *invite.Invitation) *invite.Invitation {
	t.Helper()
	if err := f.store.Create(context.Background(), inv); err != nil {
		t.Fatalf("Create(%s): %v", inv.ID, err)
	}
	return inv
}

// finish moves a stored invitation to a terminal status with Update.
func (f *fixture) finish(t testing.TB, inv *invite.Invitation, status invite.Status) *invite.Invitation {
	t.Helper()
	next := inv.Clone()
	next.Status = status
	now := f.clock.Now()
	switch status {
	case invite.StatusAccepted:
		next.AcceptedAt = now
	case invite.StatusRevoked:
		next.RevokedAt = now
	case invite.StatusExpired:
		next.ExpiredAt = now
	}
	next.History = append(next.History, invite.Event{Event: string(status), At: now, Actor: "test"})
	if err := f.store.Update(context.Background(), inv, next); err != nil {
		t.Fatalf("Update(%s → %s): %v", inv.ID, status, err)
	}
	return next
}

// sameInvitation compares invitations through their JSON form, which shows a readable
// difference and compares times by instant (all stored times come back in UTC).
func sameInvitation(t testing.TB, got, want *invite.Invitation) {
	t.Helper()
	norm := func(inv *invite.Invitation) string {
		c := inv.Clone()
		for _, tp := range []*time.Time{&c.CreatedAt, &c.ExpiresAt, &c.AcceptedAt, &c.RevokedAt, &c.ExpiredAt, &c.Delivery.NextAttemptAt, &c.Delivery.LastSentAt} {
			*tp = tp.UTC()
		}
		for i := range c.History {
			c.History[i].At = c.History[i].At.UTC()
		}
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			t.Fatalf("marshal invitation: %v", err)
		}
		return string(b)
	}
	if g, w := norm(got), norm(want); g != w {
		t.Errorf("invitation %s differs:\ngot  %s\nwant %s", want.ID, g, w)
	}
}

func wantCode(t testing.TB, err error, code invite.Code) *invite.Error {
	t.Helper()
	if got := invite.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	return invite.AsError(err)
}

func ids(invs []*invite.Invitation) []string {
	out := make([]string, len(invs))
	for i, inv := range invs {
		out[i] = inv.ID
	}
	return out
}

func seq(prefix string, i int) string { return fmt.Sprintf("%s%03d", prefix, i) }
