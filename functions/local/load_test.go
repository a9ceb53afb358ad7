package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestLoad runs `local load` (what `make load` runs) briefly: every create answers 201
// or 202, nothing is lost, and every invitation is provisioned and mailed once the
// queue drains. The README's figures come from longer runs of the same command.
func TestLoad(t *testing.T) {
	env := map[string]string{
		"DYNAMODB_ENDPOINT": localaws.DynamoEndpoint(t), "SES_ENDPOINT": localaws.SESEndpoint(t), "AUTH0_DOMAIN": "",
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	err := load(ctx, func(k string) string { return env[k] }, []string{"-creators", "4", "-duration", "3s", "-auth0-rate", "10", "-drain-timeout", "90s"},
		&out, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	line := func(label string) (int, bool) {
		m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(label) + `\s+(\d+)`).FindStringSubmatch(out.String())
		if m == nil {
			return 0, false
		}
		n, _ := strconv.Atoi(m[1])
		return n, true
	}
	count := func(label string) int {
		t.Helper()
		n, ok := line(label)
		if !ok {
			t.Fatalf("no %q line in the report", label)
		}
		return n
	}
	created, _ := line("status 201")
	deferred, _ := line("status 202")
	if creates := count("creates"); creates == 0 || created+deferred != creates {
		t.Errorf("%d creates, %d answered 201 and %d 202; want all of them one of the two:\n%s", creates, created, deferred, out.String())
	}
	for _, label := range []string{"failed", "without Auth0", "orphan users"} {
		if n := count(label); n != 0 {
			t.Errorf("%s: %d, want 0", label, n)
		}
	}
	if !regexp.MustCompile(`\(0 not provisioned and mailed by the limit\)`).MatchString(out.String()) {
		t.Errorf("the queue did not drain:\n%s", out.String())
	}
}

// TestDeadLetters runs `local dead-letters` on a table holding one.
func TestDeadLetters(t *testing.T) {
	endpoint := localaws.DynamoEndpoint(t)
	table := "doorman-dead-test-" + time.Now().Format("150405.000000000")
	env := map[string]string{"DYNAMODB_ENDPOINT": endpoint, "TABLE_NAME": table}
	getenv := func(k string) string { return env[k] }
	if err := createTable(t.Context(), getenv, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	awsCfg, err := localAWS(t.Context(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	store, err := dynamo.New(db, table, dynamo.Options{CursorKey: bytes.Repeat([]byte("x"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RecordDeadLetter(t.Context(), invite.DeadLetter{ID: "90020250602", Type: "s", InvitationIDs: []string{"inv_1"},
		Reason: "invalid_request: the database refused the item", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := deadLetters(t.Context(), getenv, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`log 90020250602 \(type s\)  invitations inv_1\n\s+invalid_request: the database refused the item\n1 dead letters`).MatchString(out.String()) {
		t.Errorf("output:\n%s", out.String())
	}
}
