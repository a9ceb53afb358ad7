// Package localaws is test support for the local stand-ins of AWS that `make stack-up`
// starts: it tells tests where DynamoDB Local and the local SES listen, and decides
// what a test does when they are not there: skip, saying why, in a plain
// `go test ./...`; fail under REQUIRE_LOCAL_STACK=1, which `make test` sets after
// starting the stack, so that no stack test is ever skipped there. It also reads the
// local SES's mailbox (mailbox.go). Only tests import it.
package localaws

import (
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// Defaults match the Makefile's DDB_PORT and SES_PORT.
const (
	DefaultDynamoEndpoint = "http://127.0.0.1:8000"
	DefaultSESEndpoint    = "http://127.0.0.1:8005"
)

// DynamoEndpoint returns DynamoDB Local's URL (DYNAMODB_ENDPOINT, or the default) once
// it accepts connections, or skips or fails t as the package doc says.
func DynamoEndpoint(t testing.TB) string {
	t.Helper()
	return require(t, "DynamoDB Local", envOr("DYNAMODB_ENDPOINT", DefaultDynamoEndpoint))
}

// SESEndpoint returns the local SES's URL (SES_ENDPOINT, or the default) once it
// accepts connections, or skips or fails t as the package doc says.
func SESEndpoint(t testing.TB) string {
	t.Helper()
	return require(t, "the local SES", envOr("SES_ENDPOINT", DefaultSESEndpoint))
}

// Required reports whether REQUIRE_LOCAL_STACK asks for stack tests to fail rather
// than skip.
func Required() bool {
	v := os.Getenv("REQUIRE_LOCAL_STACK")
	return v != "" && v != "0" && v != "false"
}

func require(t testing.TB, what, endpoint string) string {
	t.Helper()
	if err := dial(endpoint); err != nil {
		if Required() {
			t.Fatalf("%s is required (REQUIRE_LOCAL_STACK is set) but %s does not answer: %v", what, endpoint, err)
		}
		t.Skipf("skipping: %s is not running at %s (%v); `make test` starts it", what, endpoint, err)
	}
	return endpoint
}

func dial(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
