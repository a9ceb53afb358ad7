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

// TestExistingAccountWithoutApplicationURL: APPLICATION_URL is optional. Inviting an
// existing account with no application URL and no redirect_url sends its invitation
// through the real mailer and its templates, in every language; following the link
// then says to sign in to the application, since there is nowhere to send the browser.
func TestExistingAccountWithoutApplicationURL(t *testing.T) {
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
			if inv.Status != invite.StatusPending || inv.Account != invite.AccountExisting {
				t.Fatalf("status: got %s (account %q), want pending for an existing account", inv.Status, inv.Account)
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
			html := aws.ToString(last.Content.Simple.Body.Html.Data)
			i := strings.Index(html, "/i/")
			if i < 0 {
				t.Fatalf("the invitation carries no Doorman link")
			}
			token := html[i+3 : i+3+43]
			_, err := f.svc.Continue(f.ctx, token)
			if e := wantCode(t, err, invite.CodeConflict); !strings.Contains(e.Message, "sign in") {
				t.Errorf("Continue: %q, want it to say to sign in", e.Message)
			}
		})
	}
}
