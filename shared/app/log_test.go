package app

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/doormanhq/doorman/shared/invite"
)

// TestNewLoggerAddsTheContextIDs: the entry points' logger names the function, and
// a line logged with a context carries the ids it holds, with no one repeating them.
func TestNewLoggerAddsTheContextIDs(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "worker")
	ctx := invite.WithRequestID(context.Background(), "req-1")
	ctx = invite.WithInvitation(ctx, &invite.Invitation{ID: "inv-1", Auth0UserID: "auth0|u1"})
	log.InfoContext(ctx, "invitation email sent")

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("line %q: %v", buf.String(), err)
	}
	for k, want := range map[string]string{"function": "worker", "request_id": "req-1", "invitation_id": "inv-1", "auth0_user_id": "auth0|u1"} {
		if got[k] != want {
			t.Errorf("%s = %v, want %q (line %s)", k, got[k], want, buf.String())
		}
	}
}
