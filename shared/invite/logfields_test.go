package invite

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestLogHandlerAddsTheContextsIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("function", "api")
	ctx := WithRequestID(context.Background(), "req-1")
	ctx = WithInvitation(ctx, &Invitation{ID: "inv-1", Auth0UserID: "auth0|u1"})
	log.InfoContext(ctx, "hello", "k", "v")
	log.Info("no context ids")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %s", len(lines), buf.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal(lines[0], &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lines[1], &second); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"request_id": "req-1", "invitation_id": "inv-1", "auth0_user_id": "auth0|u1", "function": "api", "k": "v"} {
		if got := first[k]; got != want {
			t.Errorf("first line: %s got %v, want %q", k, got, want)
		}
	}
	if _, ok := second["request_id"]; ok {
		t.Errorf("a line logged without a context got a request_id: %v", second)
	}
}
