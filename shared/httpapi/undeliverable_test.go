package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// TestResendUndeliverable: once SES bounced an invitation's email permanently, the
// invitation reads bounced with its history entry, and a resend is 409 undeliverable,
// both as the OpenAPI document describes them.
func TestResendUndeliverable(t *testing.T) {
	f := newFixture(t)
	inv := f.create(appAdmin, createBody("ann@example.com"))
	id := inv["id"].(string)
	d, err := invite.NewDeliveries(invite.DeliveriesConfig{Store: f.store, Deliveries: f.store.Store, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	msg := inv["delivery"].(map[string]any)["message_id"].(string)
	if err := d.Apply(t.Context(), invite.MailEvent{Type: invite.MailBounce, MessageID: msg, InvitationID: id,
		Recipients: []string{"ann@example.com"}, At: f.clock.Now(), FeedbackID: "fb-1", Permanent: true,
		Detail: "permanent (General): smtp; 550 5.1.1 user unknown"}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	res := f.do(call{Method: "GET", Path: "/v1/invitations/" + id, Claims: claims(appAdmin)})
	if res.Status != http.StatusOK {
		t.Fatalf("GET: status %d; %s", res.Status, res.Body)
	}
	got := res.json(t)
	if s := got["delivery"].(map[string]any)["status"]; s != "bounced" {
		t.Errorf("delivery.status = %v, want bounced", s)
	}
	history := got["history"].([]any)
	if last := history[len(history)-2].(map[string]any); last["event"] != invite.EventBounced || last["actor"] != invite.ActorSES {
		t.Errorf("history %v: want bounced by ses before the reminder's settling", history)
	}
	f.clock.Advance(2 * time.Minute) // past the resend interval: refused for the address alone
	res = f.do(call{Method: "POST", Path: "/v1/invitations/" + id + "/resend", Claims: claims(appAdmin)})
	wantProblem(t, res, http.StatusConflict, invite.CodeUndeliverable)
}
