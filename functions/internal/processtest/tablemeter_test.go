package processtest

import (
	"slices"
	"testing"
)

func TestIAMActions(t *testing.T) {
	tests := []struct {
		name, op, body string
		want           []string
		wantErr        bool
	}{
		{"a plain operation", "GetItem", `{"TableName":"t"}`, []string{"dynamodb:GetItem"}, false},
		{"a batch write is its own action", "BatchWriteItem", `{}`, []string{"dynamodb:BatchWriteItem"}, false},
		{"a transaction is its items' actions", "TransactWriteItems",
			`{"TransactItems":[{"Put":{}},{"Delete":{}},{"Update":{}},{"ConditionCheck":{}},{"Put":{}}]}`,
			[]string{"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:PutItem"}, false},
		{"a read transaction", "TransactGetItems", `{"TransactItems":[{"Get":{}}]}`, []string{"dynamodb:GetItem"}, false},
		{"an unknown item kind", "TransactWriteItems", `{"TransactItems":[{"Upsert":{}}]}`, nil, true},
		{"a transaction that is not JSON", "TransactWriteItems", `{`, nil, true},
		{"no operation", "", `{}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := iamActions(tt.op, []byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error: got %v, want one: %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
