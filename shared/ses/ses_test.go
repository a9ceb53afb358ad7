package ses

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/doormanhq/doorman/shared/invite"
)

// recordingSES is an in-memory SES: it keeps every request and answers with the
// next message id, or with err when set.
type recordingSES struct {
	mu   sync.Mutex
	sent []*sesv2.SendEmailInput
	err  error
}

func (s *recordingSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	s.sent = append(s.sent, in)
	return &sesv2.SendEmailOutput{MessageId: aws.String(fmt.Sprintf("msg-%d", len(s.sent)))}, nil
}

func (s *recordingSES) requests() []*sesv2.SendEmailInput {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*sesv2.SendEmailInput(nil), s.sent...)
}

func newTestMailer(t *testing.T, client sender, cfg Config) *Mailer {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "Doorman <invites@example.com>"
	}
	m, err := New(client, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func TestSendBuildsTheSESRequest(t *testing.T) {
	cases := []struct {
		name          string
		cfg           Config
		invitationID  string
		wantConfigSet *string
		wantTags      map[string]string
	}{
		{
			name:         "without configuration set",
			invitationID: "inv_01J9ZK-abc",
			wantTags:     map[string]string{tagTemplate: "application_invitation", tagInvitation: "inv_01J9ZK-abc"},
		},
		{
			name:          "with configuration set",
			cfg:           Config{ConfigurationSet: "doorman-prod"},
			invitationID:  "inv_1",
			wantConfigSet: aws.String("doorman-prod"),
			wantTags:      map[string]string{tagTemplate: "application_invitation", tagInvitation: "inv_1"},
		},
		{
			name:         "invitation id reduced to SES's tag alphabet",
			invitationID: "inv 1/é:2",
			wantTags:     map[string]string{tagTemplate: "application_invitation", tagInvitation: "inv_1__2"},
		},
		{
			name:         "no invitation id, no tag",
			invitationID: "",
			wantTags:     map[string]string{tagTemplate: "application_invitation"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := &recordingSES{}
			m := newTestMailer(t, client, tc.cfg)
			mail := sampleMail(invite.TemplateApplication, "de")
			mail.InvitationID = tc.invitationID

			id, err := m.Send(context.Background(), mail)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id != "msg-1" {
				t.Errorf("message id = %q, want %q", id, "msg-1")
			}
			reqs := client.requests()
			if len(reqs) != 1 {
				t.Fatalf("SES got %d requests, want 1", len(reqs))
			}
			in := reqs[0]
			want, err := render(mail)
			if err != nil {
				t.Fatalf("render: %v", err)
			}

			if got := aws.ToString(in.FromEmailAddress); got != "Doorman <invites@example.com>" {
				t.Errorf("From = %q, want %q", got, "Doorman <invites@example.com>")
			}
			if in.Destination == nil || len(in.Destination.ToAddresses) != 1 || in.Destination.ToAddresses[0] != mail.To ||
				len(in.Destination.CcAddresses)+len(in.Destination.BccAddresses) != 0 {
				t.Errorf("Destination = %+v, want only To %q", in.Destination, mail.To)
			}
			if in.Content == nil || in.Content.Simple == nil || in.Content.Raw != nil || in.Content.Template != nil {
				t.Fatalf("Content = %+v, want Simple only", in.Content)
			}
			simple := in.Content.Simple
			if len(simple.Headers) != 0 {
				t.Errorf("custom headers = %+v, want none", simple.Headers)
			}
			for _, part := range []struct {
				name    string
				content *types.Content
				want    string
			}{
				{"subject", simple.Subject, want.Subject},
				{"html", simple.Body.Html, want.HTML},
				{"text", simple.Body.Text, want.Text},
			} {
				if part.content == nil {
					t.Errorf("%s is missing", part.name)
					continue
				}
				if got := aws.ToString(part.content.Data); got != part.want {
					t.Errorf("%s = %q, want %q", part.name, got, part.want)
				}
				if got := aws.ToString(part.content.Charset); got != "UTF-8" {
					t.Errorf("%s charset = %q, want UTF-8", part.name, got)
				}
			}
			if aws.ToString(in.ConfigurationSetName) != aws.ToString(tc.wantConfigSet) {
				t.Errorf("ConfigurationSetName = %v, want %v", aws.ToString(in.ConfigurationSetName), aws.ToString(tc.wantConfigSet))
			}
			gotTags := map[string]string{}
			for _, tag := range in.EmailTags {
				gotTags[aws.ToString(tag.Name)] = aws.ToString(tag.Value)
			}
			if fmt.Sprint(gotTags) != fmt.Sprint(tc.wantTags) {
				t.Errorf("tags = %v, want %v", gotTags, tc.wantTags)
			}
			for name, value := range gotTags {
				if !isTagValue(name) || !isTagValue(value) {
					t.Errorf("tag %q=%q breaks SES's tag rules", name, value)
				}
			}
		})
	}
}

// TestSendAccessWithoutLink: the application URL is optional, so the access notice
// may come without a link, and is sent, in every language, without one.
func TestSendAccessWithoutLink(t *testing.T) {
	for _, lang := range languages {
		client := &recordingSES{}
		m := newTestMailer(t, client, Config{})
		mail := sampleMail(invite.TemplateAccess, lang)
		mail.Link = ""
		id, err := m.Send(context.Background(), mail)
		if err != nil || id == "" {
			t.Fatalf("%s: Send: got %q, %v, want a message id", lang, id, err)
		}
		body := client.requests()[0].Content.Simple.Body
		if h := aws.ToString(body.Html.Data); strings.Contains(h, "href") {
			t.Errorf("%s: the HTML has a link though there is none", lang)
		}
		// A bad link is still refused when there is one.
		mail.Link = "javascript:alert(1)"
		if _, err := m.Send(context.Background(), mail); invite.ErrorCode(err) != invite.CodeInvalid {
			t.Errorf("%s: bad link: got %v, want invalid_request", lang, err)
		}
	}
}

func TestSendRefusesBadMail(t *testing.T) {
	cases := []struct {
		name      string
		edit      func(*invite.Mail)
		wantField string
	}{
		{"no recipient", func(m *invite.Mail) { m.To = "" }, "email"},
		{"display name in recipient", func(m *invite.Mail) { m.To = "Zoe <zoe@example.com>" }, "email"},
		{"two recipients", func(m *invite.Mail) { m.To = "zoe@example.com, eve@example.net" }, "email"},
		{"header injection in recipient", func(m *invite.Mail) { m.To = "zoe@example.com\r\nBcc: eve@example.net" }, "email"},
		{"non-ASCII recipient", func(m *invite.Mail) { m.To = "zoë@example.com" }, "email"},
		{"invitation without a link", func(m *invite.Mail) { m.Link = "" }, "link"},
		{"javascript link", func(m *invite.Mail) { m.Link = "javascript:alert(1)" }, "link"},
		{"relative link", func(m *invite.Mail) { m.Link = "/i/abc" }, "link"},
		{"link with a line break", func(m *invite.Mail) { m.Link = "https://doorman.example.com/i/abc\nBcc: x" }, "link"},
		{"no target name", func(m *invite.Mail) { m.TargetName = " " }, "target_name"},
		{"unknown template", func(m *invite.Mail) { m.Template = "welcome_back" }, "template"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := &recordingSES{}
			m := newTestMailer(t, client, Config{})
			mail := sampleMail(invite.TemplateApplication, "en")
			tc.edit(&mail)

			id, err := m.Send(context.Background(), mail)
			if id != "" {
				t.Errorf("message id = %q, want none", id)
			}
			e := invite.AsError(err)
			if e == nil || e.Code != invite.CodeInvalid || e.Field != tc.wantField {
				t.Fatalf("error = %v, want invalid_request on field %q", err, tc.wantField)
			}
			if n := len(client.requests()); n != 0 {
				t.Errorf("SES got %d requests, want none", n)
			}
		})
	}
}

// sdkError wraps err the way the SDK returns service errors.
func sdkError(status int, err error) error {
	return &smithy.OperationError{
		ServiceID:     "SESv2",
		OperationName: "SendEmail",
		Err:           fmt.Errorf("https response error StatusCode: %d, RequestID: r-1, %w", status, err),
	}
}

func TestSendMapsSESErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want invite.Code
	}{
		{"message rejected", sdkError(400, &types.MessageRejected{Message: aws.String("Email address is not verified.")}), invite.CodeInvalid},
		{"mail-from domain not verified", sdkError(400, &types.MailFromDomainNotVerifiedException{}), invite.CodeInvalid},
		{"account suspended", sdkError(400, &types.AccountSuspendedException{}), invite.CodeInvalid},
		{"bad request", sdkError(400, &types.BadRequestException{}), invite.CodeInvalid},
		{"too many requests", sdkError(429, &types.TooManyRequestsException{}), invite.CodeRateLimited},
		{"limit exceeded", sdkError(400, &types.LimitExceededException{}), invite.CodeRateLimited},
		{"sending paused", sdkError(400, &types.SendingPausedException{}), invite.CodeRateLimited},
		{"generic throttling code", sdkError(400, &smithy.GenericAPIError{Code: "TooManyRequestsException"}), invite.CodeRateLimited},
		{"configuration set not found", sdkError(404, &types.NotFoundException{}), invite.CodeUpstream},
		{"internal failure", sdkError(500, &smithy.GenericAPIError{Code: "InternalFailure"}), invite.CodeUpstream},
		{"network", sdkError(0, errors.New("dial tcp 10.0.0.1:443: connect: connection refused")), invite.CodeUpstream},
		{"deadline", sdkError(0, context.DeadlineExceeded), invite.CodeUpstream},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMailer(t, &recordingSES{err: tc.err}, Config{})
			id, err := m.Send(context.Background(), sampleMail(invite.TemplateReminder, "fr"))
			if id != "" {
				t.Errorf("message id = %q, want none", id)
			}
			if got := invite.ErrorCode(err); got != tc.want {
				t.Errorf("error code = %q, want %q (err: %v)", got, tc.want, err)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("error %v does not wrap the SES error", err)
			}
			if e := invite.AsError(err); e != nil && strings.Contains(e.Message, "example.com") {
				t.Errorf("client-facing message %q leaks the address", e.Message)
			}
		})
	}
}

// TestSendMapsSESWireErrors runs the real SES v2 client against a server answering
// with SES's error responses, so the mapping is checked on what the SDK decodes.
func TestSendMapsSESWireErrors(t *testing.T) {
	cases := []struct {
		name, errorType string
		status          int
		want            invite.Code
	}{
		{"message rejected", "MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/", http.StatusBadRequest, invite.CodeInvalid},
		{"mail-from not verified", "MailFromDomainNotVerifiedException", http.StatusBadRequest, invite.CodeInvalid},
		{"throttled", "TooManyRequestsException", http.StatusTooManyRequests, invite.CodeRateLimited},
		{"sending paused", "SendingPausedException", http.StatusBadRequest, invite.CodeRateLimited},
		{"internal error", "InternalFailure", http.StatusInternalServerError, invite.CodeUpstream},
		{"untyped 502", "", http.StatusBadGateway, invite.CodeUpstream},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.errorType != "" {
					w.Header().Set("X-Amzn-ErrorType", tc.errorType)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, `{"message":"refused for zoe@example.com"}`)
			}))
			t.Cleanup(srv.Close)
			client := sesv2.New(sesv2.Options{
				BaseEndpoint:     aws.String(srv.URL),
				Region:           "us-east-1",
				Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
				RetryMaxAttempts: 1,
			})
			m := newTestMailer(t, client, Config{})
			_, err := m.Send(context.Background(), sampleMail(invite.TemplateOrganization, "es"))
			if got := invite.ErrorCode(err); got != tc.want {
				t.Errorf("error code = %q, want %q (err: %v)", got, tc.want, err)
			}
		})
	}
}

// TestSendLeavesTheLogToItsCaller: an email's outcome is logged once, by the domain,
// which knows what the email was for; the Mailer adds no line of its own. Its error is
// what that line shows: SES's error code, never SES's message (which quotes the
// recipient) nor anything of the email.
func TestSendLeavesTheLogToItsCaller(t *testing.T) {
	cases := []struct {
		name    string
		sesErr  error
		wantErr []string // in the error's text; none for a send that succeeds
	}{
		{"sent", nil, nil},
		{"failed", sdkError(400, &types.MessageRejected{Message: aws.String("Address blacklisted: zoe@example.com")}), []string{"MessageRejected", "inv_42", "reminder"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			defaultLog := slog.Default()
			slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
			t.Cleanup(func() { slog.SetDefault(defaultLog) })
			m := newTestMailer(t, &recordingSES{err: tc.sesErr}, Config{})
			mail := sampleMail(invite.TemplateReminder, "en")
			mail.InvitationID = "inv_42"
			mail.Message = "Secret plans for Monday"
			_, err := m.Send(context.Background(), mail)

			if logs.Len() != 0 {
				t.Errorf("the Mailer logged:\n%s\nwant nothing: its caller logs the outcome", logs.String())
			}
			if (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("Send error = %v, want one: %v", err, tc.wantErr != nil)
			}
			if err == nil {
				return
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			for _, secret := range []string{"Tok3n_-abcDEF", "/i/", mail.To, "Secret plans", "Acme Portal", "blacklisted"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains %q", err, secret)
				}
			}
		})
	}
}

func TestNewChecksConfig(t *testing.T) {
	cases := []struct {
		name     string
		cfg      Config
		wantFrom string
		wantErr  string
	}{
		{"name and address", Config{From: "Doorman <invites@example.com>"}, "Doorman <invites@example.com>", ""},
		{"bare address", Config{From: " invites@example.com "}, "invites@example.com", ""},
		{"non-ASCII name is MIME-encoded", Config{From: "Türsteher <invites@example.com>"}, "=?utf-8?q?T=C3=BCrsteher?= <invites@example.com>", ""},
		{"empty", Config{}, "", "empty"},
		{"not an address", Config{From: "Doorman"}, "", "sender address"},
		{"header injection", Config{From: "Doorman <invites@example.com>\r\nBcc: eve@example.net"}, "", "control character"},
		{"non-ASCII address", Config{From: "invités@example.com"}, "", "ASCII"},
		{"bad configuration set", Config{From: "invites@example.com", ConfigurationSet: "prod set"}, "", "configuration set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(&recordingSES{}, tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New error = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if m.from != tc.wantFrom {
				t.Errorf("from = %q, want %q", m.from, tc.wantFrom)
			}
		})
	}
	if _, err := New(nil, Config{From: "invites@example.com"}); err == nil {
		t.Errorf("New(nil client) succeeded, want an error")
	}
}

// TestSendDeliversToTheKeyedMailbox: whatever spelling of a domain reaches Send, SES
// is given the ASCII form the domain keys the address by.
func TestSendDeliversToTheKeyedMailbox(t *testing.T) {
	for _, to := range []string{
		"zoe@bücher.example",
		"zoe@ｂüｃｈｅｒ.example",
		"zoe@bu\u0308cher.example",
		"zoe@XN--BCHER-KVA.example",
	} {
		client := &recordingSES{}
		m := newTestMailer(t, client, Config{})
		mail := sampleMail(invite.TemplateApplication, "en")
		mail.To = to
		if _, err := m.Send(context.Background(), mail); err != nil {
			t.Fatalf("Send to %q: %v", to, err)
		}
		got := client.requests()[0].Destination.ToAddresses
		if len(got) != 1 || got[0] != invite.EmailKey(to) {
			t.Errorf("Send to %q: ToAddresses = %q, want [%s]", to, got, invite.EmailKey(to))
		}
	}
}

func TestSendPunycodesInternationalDomains(t *testing.T) {
	client := &recordingSES{}
	m := newTestMailer(t, client, Config{})
	mail := sampleMail(invite.TemplateApplication, "de")
	mail.To = "zoe@bücher.example"

	if _, err := m.Send(context.Background(), mail); err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := client.requests()
	if len(reqs) != 1 {
		t.Fatalf("SES got %d requests, want 1", len(reqs))
	}
	if got, want := reqs[0].Destination.ToAddresses, []string{"zoe@xn--bcher-kva.example"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("ToAddresses = %q, want %q", got, want)
	}
}
