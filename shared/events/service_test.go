package events_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// storeOnLocal is the events store on a fresh DynamoDB Local table.
func storeOnLocal(t *testing.T) *dynamo.Store {
	t.Helper()
	db := dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(localaws.DynamoEndpoint(t)), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	table := "doorman-events-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000")
	ctx := context.Background()
	if err := dynamo.EnsureTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}) })
	s, err := dynamo.New(db, table, dynamo.Options{CursorKey: bytes.Repeat([]byte("k"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// clock is a settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// postRecorder is an events.Sender that answers status and keeps what it got.
type postRecorder struct {
	status int
	got    []events.Headers
}

func (p *postRecorder) Post(_ context.Context, _ string, h events.Headers, _ []byte) (int, error) {
	p.got = append(p.got, h)
	return p.status, nil
}

var (
	admin    = invite.Actor{Sub: "auth0|admin", Permissions: []string{events.PermManage, invite.PermRead, invite.PermAdmin}}
	orgToken = invite.Actor{Sub: "auth0|orgadmin", OrgID: "org_1", Permissions: []string{events.PermManage, invite.PermRead}}
)

func TestEndpointScopes(t *testing.T) {
	s := &events.Service{Store: storeOnLocal(t), Queue: &inmem.DeliveryQueue{}, Rand: rand.Reader}
	ctx := context.Background()
	url := "https://hooks.example.com/in"
	ep, err := s.Create(ctx, orgToken, events.EndpointRequest{URL: &url})
	if err != nil {
		t.Fatal(err)
	}
	if ep.Scope != invite.OrgScope("org_1") || !strings.HasPrefix(ep.Secrets[0].Value, events.SecretPrefix) {
		t.Errorf("endpoint %+v, want org_1's, with a whsec_ secret", ep)
	}
	tests := []struct {
		name  string
		actor invite.Actor
		org   string
		code  invite.Code
	}{
		{"another organization's token", invite.Actor{Sub: "x", OrgID: "org_2", Permissions: []string{events.PermManage}}, "org_1", invite.CodeForbidden},
		{"no manage:webhooks", invite.Actor{Sub: "x", OrgID: "org_1", Permissions: []string{invite.PermRead}}, "", invite.CodeForbidden},
		{"an application token without admin", invite.Actor{Sub: "x", Permissions: []string{events.PermManage}}, "org_1", invite.CodeForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.List(ctx, tc.actor, tc.org); !invite.IsCode(err, tc.code) {
				t.Errorf("List = %v, want %s", err, tc.code)
			}
		})
	}
	other := invite.Actor{Sub: "x", OrgID: "org_2", Permissions: []string{events.PermManage}}
	if _, err := s.Get(ctx, other, ep.ID); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("another organization's Get = %v, want not_found", err)
	}
	if _, err := s.Get(ctx, admin, ep.ID); err != nil {
		t.Errorf("a tenant admin's Get = %v, want the endpoint", err)
	}
	bad := "http://hooks.example.com/"
	if _, err := s.Create(ctx, orgToken, events.EndpointRequest{URL: &bad}); !invite.IsCode(err, invite.CodeInvalid) {
		t.Errorf("an http URL deployed = %v, want invalid_request", err)
	}
	typ := []string{"invitation.nope"}
	if _, err := s.Create(ctx, orgToken, events.EndpointRequest{URL: &url, Types: &typ}); !invite.IsCode(err, invite.CodeInvalid) {
		t.Errorf("an unknown type = %v, want invalid_request", err)
	}
}

// TestRotationSignsWithBoth: after a rotation, deliveries carry two v1 signatures,
// the new secret's and the old one's, for 24 h; then only the new one's.
func TestRotationSignsWithBoth(t *testing.T) {
	store := storeOnLocal(t)
	c := &clock{t: time.Now().UTC()}
	s := &events.Service{Store: store, Queue: &inmem.DeliveryQueue{}, Now: c.now}
	ctx := context.Background()
	url := "https://hooks.example.com/in"
	ep, err := s.Create(ctx, admin, events.EndpointRequest{URL: &url})
	if err != nil {
		t.Fatal(err)
	}
	old := ep.Secrets[0].Value
	_, fresh, err := s.Rotate(ctx, admin, ep.ID)
	if err != nil || fresh == old {
		t.Fatalf("Rotate = %q, %v", fresh, err)
	}
	rec := &postRecorder{status: 204}
	dl := &events.Deliverer{Store: store, Sender: rec, Now: c.now}
	e := &events.Event{ID: "evt_rot", Type: "invitation.created", Scope: invite.ScopeApplication, At: c.t, Data: []byte(`{}`)}
	d, _ := events.NewDelivery(e, &events.Endpoint{ID: ep.ID, Scope: ep.Scope})
	for _, step := range []struct {
		after time.Duration
		sigs  int
	}{{time.Hour, 2}, {25 * time.Hour, 1}} {
		c.t = c.t.Add(step.after)
		if err := dl.Deliver(ctx, d, 1); err != nil {
			t.Fatal(err)
		}
		h := rec.got[len(rec.got)-1]
		if n := len(strings.Fields(h.Signature)); n != step.sigs {
			t.Fatalf("%s after rotating: %d signatures, want %d", step.after, n, step.sigs)
		}
		if err := events.Verify(fresh, h, d.Body, c.t, time.Minute); err != nil {
			t.Errorf("the new secret does not verify: %v", err)
		}
		err := events.Verify(old, h, d.Body, c.t, time.Minute)
		if (err == nil) != (step.sigs == 2) {
			t.Errorf("%s after rotating, the old secret verifies: %v", step.after, err == nil)
		}
	}
}

// TestFailingEndpointDisabled: an endpoint whose deliveries fail keeps its first
// failure's time; past DisableAfter it is disabled, with a history entry that the
// stream turns into webhook_endpoint.disabled; retries follow the schedule and the
// last attempt dead-letters.
func TestFailingEndpointDisabled(t *testing.T) {
	store := storeOnLocal(t)
	c := &clock{t: time.Now().UTC()}
	s := &events.Service{Store: store, Queue: &inmem.DeliveryQueue{}, Now: c.now}
	ctx := context.Background()
	url := "https://hooks.example.com/down"
	ep, err := s.Create(ctx, admin, events.EndpointRequest{URL: &url})
	if err != nil {
		t.Fatal(err)
	}
	dl := &events.Deliverer{Store: store, Sender: &postRecorder{status: 503}, Now: c.now}
	e := &events.Event{ID: "evt_down", Type: "invitation.created", Scope: invite.ScopeApplication, At: c.t, Data: []byte(`{}`)}
	d, _ := events.NewDelivery(e, ep)
	var waits []time.Duration
	for n := 1; n <= events.MaxAttempts; n++ {
		err := dl.Deliver(ctx, d, n)
		var retry *events.RetryError
		var dead *events.DeadError
		switch {
		case n < events.MaxAttempts && errorAs(err, &retry):
			waits = append(waits, retry.After)
			c.t = c.t.Add(retry.After)
		case n == events.MaxAttempts && errorAs(err, &dead):
		default:
			t.Fatalf("attempt %d: %v", n, err)
		}
	}
	var total time.Duration
	for _, w := range waits {
		total += w
	}
	if waits[0] > 5*time.Second || total < 24*time.Hour {
		t.Errorf("waits %v (%s in all), want the first within 5 s and at least 24 h in all", waits, total)
	}
	before, _ := store.Endpoint(ctx, "", ep.ID)
	if !before.Enabled || before.FailingSince.IsZero() {
		t.Fatalf("after a day of failures: enabled %v, failing since %v; want enabled, failing", before.Enabled, before.FailingSince)
	}
	c.t = before.FailingSince.Add(events.DisableAfter)
	_ = dl.Deliver(ctx, d, 1)
	after, _ := store.Endpoint(ctx, "", ep.ID)
	if after.Enabled || after.DisabledReason == "" {
		t.Fatalf("after %s of failures: enabled %v; want disabled with a reason", events.DisableAfter, after.Enabled)
	}
	evs, err := events.EndpointChange(before, after)
	if err != nil || len(evs) != 1 || evs[0].Type != "webhook_endpoint.disabled" || strings.Contains(string(evs[0].Data), "whsec_") {
		t.Errorf("events of the change = %+v, %v; want webhook_endpoint.disabled without the secret", evs, err)
	}
	rec := &postRecorder{status: 204}
	if err := (&events.Deliverer{Store: store, Sender: rec, Now: c.now}).Deliver(ctx, d, 1); err != nil || len(rec.got) != 0 {
		t.Errorf("a delivery to a disabled endpoint: %v, %d posts; want none, finished", err, len(rec.got))
	}
	as, _ := store.Attempts(ctx, ep.ID, 100)
	if len(as) != events.MaxAttempts+1 || as[1].Outcome != "dead_lettered" {
		t.Errorf("%d attempts recorded (second newest %+v), want %d, one dead-lettered", len(as), as[1], events.MaxAttempts+1)
	}
}

func errorAs[T error](err error, target *T) bool { return errors.As(err, target) }
