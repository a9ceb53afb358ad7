package ses_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/ses"
)

const samples = "../../events/ses"

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, name))
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	return b
}

// TestRecordRoundTrip: every sample of SES's documentation decodes and encodes back
// to the same JSON, so that Record models every field SES publishes.
func TestRecordRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(samples, "*.json"))
	if err != nil || len(files) < 9 {
		t.Fatalf("samples: %v, %d files", err, len(files))
	}
	for _, file := range files {
		name := filepath.Base(file)
		if name == "sqs-batch.json" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			raw := readSample(t, name)
			rec, err := ses.DecodeRecord(raw)
			if err != nil {
				t.Fatalf("DecodeRecord: %v", err)
			}
			out, err := ses.EncodeRecord(rec)
			if err != nil {
				t.Fatalf("EncodeRecord: %v", err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip differs:\ngot  %s\nwant %s", out, raw)
			}
		})
	}
}

func TestMailEventFromSamples(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const msg = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
	const feedback = "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000"
	tests := []struct {
		file     string
		relevant bool
		want     invite.MailEvent
	}{
		{"delivery.json", true, invite.MailEvent{Type: invite.MailDelivery, MessageID: msg, Recipients: []string{"recipient@example.com"}, At: at("2016-10-19T23:21:04.133Z")}},
		{"bounce.json", true, invite.MailEvent{Type: invite.MailBounce, MessageID: msg, Recipients: []string{"recipient@example.com"}, At: at("2017-08-05T00:41:02.669Z"),
			FeedbackID: feedback, Permanent: true, Detail: "permanent (General): smtp; 550 5.1.1 user unknown"}},
		{"complaint.json", true, invite.MailEvent{Type: invite.MailComplaint, MessageID: msg, Recipients: []string{"recipient@example.com"}, At: at("2017-08-05T00:41:02.669Z"),
			FeedbackID: feedback, Detail: "abuse"}},
		{"delivery-delay.json", true, invite.MailEvent{Type: invite.MailDeliveryDelay, MessageID: msg, Recipients: []string{"recipient@example.com"}, At: at("2020-06-16T00:25:40.095Z"),
			Detail: "TransientCommunicationFailure: smtp; 421 4.4.1 Unable to connect to remote host"}},
		{"reject.json", true, invite.MailEvent{Type: invite.MailReject, MessageID: msg, Recipients: []string{"sender@example.com"}, At: at("2016-10-14T17:38:15.211Z"), Detail: "Bad content"}},
		{"rendering-failure.json", true, invite.MailEvent{Type: invite.MailRenderingFailure, MessageID: msg, Recipients: []string{"recipient@example.com"}, At: at("2018-01-22T18:43:06.197Z"),
			Detail: "Attribute 'attributeName' is not present in the rendering data."}},
		{"send.json", false, invite.MailEvent{}},
		{"open.json", false, invite.MailEvent{}},
		{"subscription.json", false, invite.MailEvent{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rec, err := ses.DecodeRecord(readSample(t, tt.file))
			if err != nil {
				t.Fatalf("DecodeRecord: %v", err)
			}
			got, relevant, err := rec.MailEvent()
			if err != nil || relevant != tt.relevant {
				t.Fatalf("MailEvent: relevant %v, %v; want %v", relevant, err, tt.relevant)
			}
			if !tt.relevant {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestDecodeEnvelopes: the record arrives bare (SNS raw delivery to SQS), inside an
// SNS notification, or inside an EventBridge event, and decodes the same.
func TestDecodeEnvelopes(t *testing.T) {
	raw := readSample(t, "bounce.json")
	sns, _ := json.Marshal(map[string]any{
		"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events", "Message": string(raw),
		"Timestamp": "2017-08-05T00:41:03.000Z", "SignatureVersion": "1",
	})
	eb := []byte(`{"version":"0","id":"7f3b3e0a-1111-2222-3333-444455556666","detail-type":"Email Bounced","source":"aws.ses",` +
		`"account":"123456789012","time":"2017-08-05T00:41:03Z","region":"us-east-1","resources":[],"detail":` + string(raw) + `}`)
	for name, body := range map[string][]byte{"bare": raw, "sns": sns, "eventbridge": eb} {
		rec, err := ses.DecodeRecord(body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rec.EventType != "Bounce" || rec.Bounce == nil || rec.Bounce.BounceType != "Permanent" {
			t.Errorf("%s: got %+v", name, rec)
		}
	}
}

// TestMalformedRecords: what is not an SES event record, or lacks what its type needs,
// is an error (never a panic), and the handler drops it without an error, so that it
// never stalls its batch.
func TestMalformedRecords(t *testing.T) {
	bounce := string(readSample(t, "bounce.json"))
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"not JSON", "not json"},
		{"truncated", bounce[:len(bounce)/2]},
		{"array", "[]"},
		{"no eventType", `{"mail":{"messageId":"m"}}`},
		{"no message id", `{"eventType":"Delivery","mail":{},"delivery":{"timestamp":"2016-10-19T23:21:04.133Z","recipients":["a@example.com"]}}`},
		{"object of the wrong type", strings.Replace(bounce, `"bounceType": "Permanent"`, `"bounceType": 7`, 1)},
		{"missing its object", `{"eventType":"Bounce","mail":{"messageId":"m"}}`},
		{"bad timestamp", strings.Replace(bounce, `"timestamp": "2017-08-05T00:41:02.669Z"`, `"timestamp": "yesterday"`, 1)},
		{"no recipient", `{"eventType":"Delivery","mail":{"messageId":"m"},"delivery":{"timestamp":"2016-10-19T23:21:04.133Z","recipients":[]}}`},
		{"SNS with a bad message", `{"Type":"Notification","Message":"{\"eventType\":"}`},
		{"too large", `{"eventType":"Delivery","pad":"` + strings.Repeat("x", ses.MaxRecord) + `"}`},
	}
	var logs bytes.Buffer
	handle := ses.EventHandler(func(context.Context, invite.MailEvent) error {
		t.Error("a malformed record was applied")
		return nil
	}, slog.New(slog.NewJSONHandler(&logs, nil)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := ses.DecodeRecord([]byte(tt.body))
			if err == nil {
				_, _, err = rec.MailEvent()
			}
			if err == nil {
				t.Fatal("no error")
			}
			if herr := handle(t.Context(), []byte(tt.body)); herr != nil {
				t.Errorf("handler = %v, want nil (dropped)", herr)
			}
		})
	}
	if n := strings.Count(logs.String(), "malformed SES event record dropped"); n != len(tests) {
		t.Errorf("%d records logged as dropped, want %d", n, len(tests))
	}
}

// TestEventHandlerRetriesOnlyWhatMayPass: a transient failure is returned (SQS
// delivers the record again), a refusal is logged and dropped, the invitation tag
// and a blanked diagnostic reach the applier.
func TestEventHandlerRetriesOnlyWhatMayPass(t *testing.T) {
	raw := strings.Replace(string(readSample(t, "bounce.json")), `"ses:configuration-set": [`, `"doorman_invitation_id": ["inv_1"], "ses:configuration-set": [`, 1)
	raw = strings.Replace(raw, "user unknown", "user ann@example.com unknown", 1)
	var seen []invite.MailEvent
	for _, tt := range []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"applied", nil, false},
		{"store unavailable", invite.Errorf(invite.CodeUpstream, "throttled"), true},
		{"refused for good", invite.Errorf(invite.CodeInvalid, "item too large"), false},
	} {
		handle := ses.EventHandler(func(_ context.Context, e invite.MailEvent) error {
			seen = append(seen, e)
			return tt.err
		}, slog.New(slog.DiscardHandler))
		err := handle(t.Context(), []byte(raw))
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, tt.err)) {
			t.Errorf("%s: handler = %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
	if len(seen) != 3 || seen[0].InvitationID != "inv_1" {
		t.Fatalf("applied %+v, want 3 times for inv_1", seen)
	}
	if d := seen[0].Detail; strings.Contains(d, "ann@") || !strings.Contains(d, "[address]") {
		t.Errorf("detail %q keeps the address", d)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, name := range []string{"bounce.json", "complaint.json", "delivery-delay.json"} {
		f.Add(readSample(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec, err := ses.DecodeRecord(body)
		if err != nil {
			return
		}
		e, relevant, err := rec.MailEvent()
		if err == nil && relevant && (e.MessageID == "" || len(e.Recipients) == 0 || len(e.Detail) > 300) {
			t.Errorf("accepted an incomplete event: %+v", e)
		}
	})
}
