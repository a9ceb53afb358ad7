package auth0

import "testing"

func TestPeekType(t *testing.T) {
	tests := []struct {
		name, raw, want string
		ok              bool
	}{
		{"plain", `{"log_id":"1","data":{"type":"s"}}`, "s", true},
		{"nested type keys come first", `{"data":{"details":{"error":{"type":"callback-url-mismatch"}},"type":"f"}}`, "f", true},
		{"strings with braces and escapes", `{"x":"}{\"","data":{"description":"a \"type\": b","type":"fp"}}`, "fp", true},
		{"data after other values", `{"a":[1,{"type":"no"}],"b":null,"c":-1.5e3,"data":{"type":"ss"}}`, "ss", true},
		{"no data", `{"log_id":"1"}`, "", false},
		{"type not a string", `{"data":{"type":5}}`, "", false},
		{"escaped type", `{"data":{"type":"s\u0073"}}`, "", false},
		{"not an object", `[1]`, "", false},
		{"cut in a key", `{"`, "", false},
		{"cut after a key", `{"data`, "", false},
		{"cut after a colon", `{"data":`, "", false},
		{"cut in data", `{"data":{"type"`, "", false},
		{"cut in the type", `{"data":{"type":"s`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := peekType([]byte(tt.raw))
			if got != tt.want || ok != tt.ok {
				t.Errorf("peekType(%s) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
			}
		})
	}
}
