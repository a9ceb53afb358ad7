package ses

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/doormanhq/doorman/internal/testsupport/localaws"
	"github.com/doormanhq/doorman/shared/invite"
)

func TestSendThroughLocalSES(t *testing.T) {
	endpoint := localaws.SESEndpoint(t)
	client := sesv2.New(sesv2.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	m := newTestMailer(t, client, Config{From: "Doorman <invites@example.com>", ConfigurationSet: "doorman-test"})

	cases := []struct {
		name     string
		template invite.Template
		locale   string
		edit     func(*invite.Mail)
	}{
		{"application invitation in English", invite.TemplateApplication, "en-US", nil},
		{"organization invitation in German", invite.TemplateOrganization, "de-CH", nil},
		{"access granted in French", invite.TemplateAccess, "fr", nil},
		{"reminder in Spanish with hostile names", invite.TemplateReminder, "es-419", func(m *invite.Mail) {
			m.InviterName = "Eve\r\nBcc: eve@example.net <script>"
			m.TargetName = "Acme\r\nBcc: eve@example.net"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mail := sampleMail(tc.template, tc.locale)
			mail.To = fmt.Sprintf("invitee-%s@example.com", rand.Text()[:12])
			if tc.edit != nil {
				tc.edit(&mail)
			}
			want, err := render(mail)
			if err != nil {
				t.Fatalf("render: %v", err)
			}

			id, err := m.Send(context.Background(), mail)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}

			got := localaws.EmailsTo(t, endpoint, mail.To)
			if len(got) != 1 {
				t.Fatalf("local SES holds %d emails to %s, want 1", len(got), mail.To)
			}
			e := got[0]
			if e.MessageID != id {
				t.Errorf("stored message id = %q, Send returned %q", e.MessageID, id)
			}
			if e.From != "Doorman <invites@example.com>" {
				t.Errorf("from = %q, want %q", e.From, "Doorman <invites@example.com>")
			}
			if len(e.Destination.To) != 1 || len(e.Destination.Cc)+len(e.Destination.Bcc) != 0 {
				t.Errorf("destination = %+v, want only To %s", e.Destination, mail.To)
			}
			checkSubject(t, e.Subject)
			if e.Subject != want.Subject {
				t.Errorf("subject = %q, want %q", e.Subject, want.Subject)
			}
			if e.Body.HTML != want.HTML {
				t.Errorf("html body differs from the rendered one:\n got %q\nwant %q", e.Body.HTML, want.HTML)
			}
			if e.Body.Text != want.Text {
				t.Errorf("text body = %q, want %q", e.Body.Text, want.Text)
			}
		})
	}
}
