package dynamo

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// TestNewCounterNeedsClientAndTable: a Counter needs both. What Add counts and
// refuses is the conformance suite's business (storetest).
func TestNewCounterNeedsClientAndTable(t *testing.T) {
	if _, err := NewCounter(nil, "t"); err == nil {
		t.Error("NewCounter(nil client) = nil error, want one")
	}
	if _, err := NewCounter(&dynamodb.Client{}, ""); err == nil {
		t.Error("NewCounter(no table) = nil error, want one")
	}
}
