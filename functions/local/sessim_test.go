package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/ses"
)

// answering is an aws.HTTPClient that answers every request with body.
type answering struct {
	body  string
	calls int
}

func (a *answering) Do(*http.Request) (*http.Response, error) {
	a.calls++
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(a.body)), Header: http.Header{}}, nil
}

// TestSESSimulatorRecords: a SendEmail call the local SES accepted yields, for each
// simulator recipient, the records SES documents for that address, carrying the
// email's message id and tags; other recipients and other calls yield none and pass
// through unchanged.
func TestSESSimulatorRecords(t *testing.T) {
	next := &answering{body: `{"MessageId":"0100-local-1"}`}
	sim := newSESSimulator(next, "us-east-1", slog.New(slog.DiscardHandler))
	send := func(path string, to ...string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{
			"FromEmailAddress": "Doorman <invites@example.com>", "Destination": map[string]any{"ToAddresses": to},
			"Content":   map[string]any{"Simple": map[string]any{"Subject": map[string]any{"Data": "You are invited"}}},
			"EmailTags": []map[string]string{{"Name": "doorman_invitation_id", "Value": "inv_1"}}, "ConfigurationSetName": "doorman",
		})
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8005"+path, bytes.NewReader(body))
		resp, err := sim.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(resp.Body); string(got) != next.body {
			t.Errorf("the answer reached the SDK as %q, want %q", got, next.body)
		}
	}
	tests := []struct {
		to   string
		want []invite.MailEventType
		perm bool
	}{
		{"success@simulator.amazonses.com", []invite.MailEventType{invite.MailDelivery}, false},
		{"Bounce+label-1@Simulator.AmazonSES.com", []invite.MailEventType{invite.MailBounce}, true},
		{"complaint+x@simulator.amazonses.com", []invite.MailEventType{invite.MailDelivery, invite.MailComplaint}, false},
		{"suppressionlist@simulator.amazonses.com", []invite.MailEventType{invite.MailBounce}, true},
		{"ooto@simulator.amazonses.com", []invite.MailEventType{invite.MailDelivery}, false},
		{"ann@example.com", nil, false},
		{"nobody@simulator.amazonses.com", nil, false},
	}
	for _, tt := range tests {
		send(sendEmailPath, tt.to)
		var got []invite.MailEventType
		select {
		case recs := <-sim.jobs:
			for i, r := range recs {
				rec, err := ses.DecodeRecord(r.body)
				if err != nil {
					t.Fatalf("%s: record %d: %v\n%s", tt.to, i, err, r.body)
				}
				e, relevant, err := rec.MailEvent()
				if err != nil || !relevant {
					t.Fatalf("%s: record %d: relevant %v, %v", tt.to, i, relevant, err)
				}
				if e.MessageID != "0100-local-1" || e.InvitationID != "inv_1" || e.Recipients[0] != tt.to || rec.Mail.Tags["ses:configuration-set"][0] != "doorman" {
					t.Errorf("%s: event %+v, tags %v", tt.to, e, rec.Mail.Tags)
				}
				if e.Type == invite.MailBounce && e.Permanent != tt.perm {
					t.Errorf("%s: permanent %v, want %v", tt.to, e.Permanent, tt.perm)
				}
				if strings.HasPrefix(tt.to, "suppressionlist") && !e.Suppressed {
					t.Errorf("%s: not suppressed", tt.to)
				}
				got = append(got, e.Type)
			}
		default:
		}
		if strings.Join(typeNames(got), ",") != strings.Join(typeNames(tt.want), ",") {
			t.Errorf("%s: records %v, want %v", tt.to, got, tt.want)
		}
	}
	calls := next.calls
	send("/v2/email/templates", "bounce@simulator.amazonses.com")
	if next.calls != calls+1 || len(sim.jobs) != 0 {
		t.Errorf("another SES call made records, or did not pass through")
	}
}

func typeNames(ts []invite.MailEventType) []string {
	var out []string
	for _, t := range ts {
		out = append(out, string(t))
	}
	return out
}

// TestServeShowsDeliveryStates: through `serve`, an invitation to the simulator's
// bounce address reads as bounced (with its history entry) through the API, and its
// resend is refused with 409 undeliverable; one to success@ reads as delivered.
func TestServeShowsDeliveryStates(t *testing.T) {
	ddb, sesURL := localaws.DynamoEndpoint(t), localaws.SESEndpoint(t)
	env := map[string]string{
		"LISTEN_ADDR": freeAddr(t), "DYNAMODB_ENDPOINT": ddb, "SES_ENDPOINT": sesURL, "AUTH0_DOMAIN": "",
		"TABLE_NAME": "doorman-sessim-test-" + time.Now().Format("150405.000000000"), "SWEEP_INTERVAL": "1h",
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *running, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, func(k string) string { return env[k] }, io.Discard, slog.New(slog.DiscardHandler), func(r *running) { started <- r })
	}()
	t.Cleanup(func() { cancel(); <-done })
	var r *running
	select {
	case r = <-started:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start within 60 s")
	}
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, r.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+r.seed.AdminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	stamp := time.Now().Format("150405.000000000")
	for _, tt := range []struct{ local, status string }{{"bounce", "bounced"}, {"success", "delivered"}} {
		status, inv := call(http.MethodPost, "/v1/invitations", `{"email":"`+tt.local+`+`+stamp+`@simulator.amazonses.com","name":"Sim"}`)
		if status != http.StatusCreated {
			t.Fatalf("create: status %d %v", status, inv)
		}
		id := inv["id"].(string)
		var got map[string]any
		for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(100 * time.Millisecond) {
			_, got = call(http.MethodGet, "/v1/invitations/"+id, "")
			if got["delivery"].(map[string]any)["status"] == tt.status {
				break
			}
		}
		if s := got["delivery"].(map[string]any)["status"]; s != tt.status {
			t.Fatalf("%s@: delivery status %v, want %s", tt.local, s, tt.status)
		}
		var events []string
		for _, h := range got["history"].([]any) {
			events = append(events, h.(map[string]any)["event"].(string))
		}
		if !strings.Contains(strings.Join(events, ","), tt.status) {
			t.Errorf("%s@: history %v lacks %s", tt.local, events, tt.status)
		}
		if tt.local == "bounce" {
			status, p := call(http.MethodPost, "/v1/invitations/"+id+"/resend", "")
			if status != http.StatusConflict || p["code"] != "undeliverable" {
				t.Errorf("resend to bounce@: %d %v, want 409 undeliverable", status, p)
			}
			if known, err := r.app.Service.Undeliverable(ctx, "bounce+"+stamp+"@simulator.amazonses.com"); err != nil || !known {
				t.Errorf("Undeliverable = %v, %v; want true", known, err)
			}
		}
	}
}
