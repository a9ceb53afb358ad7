package invite_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/ses"
)

// sesOutbox is SES answering every send, keeping what it was asked to send.
type sesOutbox struct {
	mu   sync.Mutex
	sent []*sesv2.SendEmailInput
}

func (o *sesOutbox) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, in)
	return &sesv2.SendEmailOutput{MessageId: aws.String("0100018f-access-000000")}, nil
}

// TestAccessGrantedWithoutApplicationURL: APPLICATION_URL is optional. Inviting an
// existing account with no application URL and no redirect_url sends the "access
// granted" email, through the real mailer and its templates, without a link.
func TestAccessGrantedWithoutApplicationURL(t *testing.T) {
	outbox := &sesOutbox{}
	mailer, err := ses.New(outbox, ses.Config{From: "Doorman <invites@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	for _, locale := range []string{"en", "de", "fr", "es"} {
		t.Run(locale, func(t *testing.T) {
			f := newFixture(t, func(c *invite.Config) {
				c.ApplicationURL = ""
				c.Mailer = mailer
			})
			email := "carol." + locale + "@example.com"
			f.idp.AddUser(email, 12)
			req := appRequest(email)
			req.Locale = locale
			c := f.create(t, appAdmin, req)
			inv := f.stored(t, c.Invitation.ID)
			if inv.Status != invite.StatusAccepted {
				t.Fatalf("status: got %s, want accepted (an existing account)", inv.Status)
			}
			if inv.Delivery.Status != invite.DeliverySent || inv.Delivery.MessageID == "" || inv.Delivery.LastError != "" {
				t.Fatalf("delivery: got %+v, want sent", inv.Delivery)
			}
			outbox.mu.Lock()
			last := outbox.sent[len(outbox.sent)-1]
			outbox.mu.Unlock()
			if to := last.Destination.ToAddresses; len(to) != 1 || to[0] != email {
				t.Errorf("sent to %v, want %s", to, email)
			}
			if h := aws.ToString(last.Content.Simple.Body.Html.Data); strings.Contains(h, "href") {
				t.Errorf("the access email has a link though no application URL is set")
			}
		})
	}
}
