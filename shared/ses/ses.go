// Package ses sends Doorman's emails (invitations, access notices and reminders) through
// Amazon SES v2: it renders each email as HTML and plain text in the invitee's language
// (wording_*.go say what they say, in plain Go: no template engine is linked), keeps
// every user-supplied string escaped in HTML and out of the headers, and maps SES's
// refusals to Doorman's error codes. It implements invite.Mailer.
package ses

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/mailbox"
)

// sender is the part of the SES v2 client the Mailer uses.
type sender interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Config configures a Mailer.
type Config struct {
	// From is the sender, an address of a verified SES identity with an optional
	// display name: "Doorman <invites@example.com>".
	From string
	// ConfigurationSet is the SES configuration set to send with; "" for none.
	ConfigurationSet string
}

// Mailer is invite.Mailer on SES v2.
type Mailer struct {
	client    sender
	from      string
	configSet string
}

var (
	_ invite.Mailer = (*Mailer)(nil)
	_ sender        = (*sesv2.Client)(nil)
)

// Message tag names; SES publishes them with sending events.
const (
	tagTemplate   = "doorman_template"
	tagInvitation = "doorman_invitation_id"
	// maxTagValue is SES's limit on a message tag value.
	maxTagValue = 256
)

// New returns a Mailer that sends with client. It checks cfg, so a bad sender
// address fails the cold start.
func New(client sender, cfg Config) (*Mailer, error) {
	if client == nil {
		return nil, errors.New("ses: nil SES client")
	}
	from, err := senderAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("ses: MAIL_FROM: %w", err)
	}
	if cfg.ConfigurationSet != "" && !isTagValue(cfg.ConfigurationSet) {
		// SES names configuration sets with the same alphabet as tag values.
		return nil, fmt.Errorf("ses: configuration set %q: only ASCII letters, digits, _ and - are allowed", cfg.ConfigurationSet)
	}
	return &Mailer{client: client, from: from, configSet: cfg.ConfigurationSet}, nil
}

// Send renders m and sends it. It returns SES's message id. Errors: invalid_request
// (m cannot be sent as given, or SES refused it for good), rate_limited,
// upstream_unavailable; an error names SES's error code, never its message.
//
// Send logs nothing: the caller logs the outcome once, knowing what the email was for.
func (m *Mailer) Send(ctx context.Context, mail invite.Mail) (string, error) {
	to, err := asciiRecipient(mail.To)
	if err != nil {
		return "", err
	}
	if err := checkRecipient(to); err != nil {
		return "", err
	}
	// An invitation is its link; an access notice may have none (no application URL
	// configured), and then shows no button.
	if mail.Link != "" || mail.Template != invite.TemplateAccess {
		if err := checkLink(mail.Link); err != nil {
			return "", err
		}
	}
	if strings.TrimSpace(mail.TargetName) == "" {
		return "", invite.Invalid("target_name", "the email needs the application's or organization's name")
	}
	e, err := render(mail)
	if err != nil {
		if invite.AsError(err) != nil {
			return "", err
		}
		return "", invite.Wrap(invite.CodeInternal, err, "the email could not be rendered")
	}

	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: utf8Content(e.Subject),
			Body: &types.Body{
				Html: utf8Content(e.HTML),
				Text: utf8Content(e.Text),
			},
		}},
		EmailTags: tags(mail),
	}
	if m.configSet != "" {
		in.ConfigurationSetName = aws.String(m.configSet)
	}

	out, err := m.client.SendEmail(ctx, in)
	if err != nil {
		code, sesCode := classify(err)
		if sesCode != "" {
			err = &refusal{code: sesCode, err: err}
		}
		return "", invite.Wrap(code, fmt.Errorf("ses: send %s for invitation %s: %w", mail.Template, mail.InvitationID, err), "%s", codeMessage[code])
	}
	id := aws.ToString(out.MessageId)
	if id == "" {
		return "", invite.Wrap(invite.CodeUpstream, fmt.Errorf("ses: send %s for invitation %s: no message id in the response", mail.Template, mail.InvitationID), "%s", codeMessage[invite.CodeUpstream])
	}
	return id, nil
}

// refusal is SES's answer as an error: its text names SES's error code, never SES's
// message, which can quote the recipient's address; the SDK's error stays in the chain.
type refusal struct {
	code string
	err  error
}

func (r *refusal) Error() string { return "SES answered " + r.code }
func (r *refusal) Unwrap() error { return r.err }

var codeMessage = map[invite.Code]string{
	invite.CodeInvalid:     "the email service refused the message",
	invite.CodeRateLimited: "the email service is throttling sends; try again later",
	invite.CodeUpstream:    "the email service is unavailable",
}

// classify maps an SES error to a Doorman code, and returns SES's error code ("" when
// err is not SES's answer).
func classify(err error) (invite.Code, string) {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return invite.CodeUpstream, ""
	}
	switch c := apiErr.ErrorCode(); c {
	case "MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException", "BadRequestException":
		return invite.CodeInvalid, c
	case "TooManyRequestsException", "LimitExceededException", "SendingPausedException":
		return invite.CodeRateLimited, c
	default:
		return invite.CodeUpstream, c
	}
}

func utf8Content(s string) *types.Content {
	return &types.Content{Data: aws.String(s), Charset: aws.String("UTF-8")}
}

// tags names the template and invitation on the message for SES's event
// publishing. The invitation id is reduced to the characters SES allows in a tag
// value (ASCII letters, digits, _ and -, at most 256); a tag left empty is omitted,
// since SES refuses empty values.
func tags(m invite.Mail) []types.MessageTag {
	out := make([]types.MessageTag, 0, 2)
	for _, t := range [...]struct{ name, value string }{
		{tagTemplate, string(m.Template)},
		{tagInvitation, m.InvitationID},
	} {
		if v := tagValue(t.value); v != "" {
			out = append(out, types.MessageTag{Name: aws.String(t.name), Value: aws.String(v)})
		}
	}
	return out
}

func tagValue(s string) string {
	if isTagValue(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxTagValue; i++ {
		if c := s[i]; isTagByte(c) {
			b.WriteByte(c)
		} else if c < 0x80 {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func isTagValue(s string) bool {
	if s == "" || len(s) > maxTagValue {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTagByte(s[i]) {
			return false
		}
	}
	return true
}

func isTagByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// senderAddress checks the configured From and returns it as SES wants it: SES
// takes only 7-bit ASCII addresses, and a display name beyond ASCII must be
// MIME-encoded (RFC 2047), which mail.Address.String does.
func senderAddress(from string) (string, error) {
	from = strings.TrimSpace(from)
	if from == "" {
		return "", errors.New("the sender address is empty")
	}
	if strings.ContainsFunc(from, invite.BreaksLine) {
		return "", errors.New("the sender address contains a control character")
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "", fmt.Errorf("the sender address %q: %w", from, err)
	}
	if !isASCII(a.Address) {
		return "", fmt.Errorf("the sender address %q: SES takes only ASCII addresses (use Punycode for the domain)", a.Address)
	}
	if !isASCII(a.Name) {
		return a.String(), nil
	}
	return from, nil
}

// asciiRecipient is the address SES is given: the domain's in ASCII through IDNA,
// by the very mapping the domain keys addresses with (mailbox.Normalize), since SES
// takes only 7-bit ASCII addresses while Doorman accepts IDN domains. The local part
// is left as it is; checkRecipient refuses it if it is not ASCII.
func asciiRecipient(to string) (string, error) {
	ascii, err := mailbox.Normalize(to)
	if err != nil {
		return "", invite.Invalid("email", "the recipient's domain is not a valid internationalized domain name")
	}
	return ascii, nil
}

// checkRecipient accepts one bare ASCII address: the invitee's address goes into
// SES's Destination field as is, so anything else (a display name, a list, a line
// break) is refused rather than passed on.
func checkRecipient(to string) error {
	if to == "" {
		return invite.Invalid("email", "the email has no recipient")
	}
	if strings.ContainsFunc(to, invite.BreaksLine) || !isASCII(to) {
		return invite.Invalid("email", "the recipient address must be plain ASCII without control characters")
	}
	a, err := mail.ParseAddress(to)
	if err != nil || a.Name != "" || a.Address != to {
		return invite.Invalid("email", "the recipient must be a single bare email address")
	}
	return nil
}

// checkLink accepts only an absolute http(s) URL: the link becomes the button, and
// html/template would otherwise silently defuse any other scheme into "#ZgotmplZ".
func checkLink(link string) error {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsFunc(link, invite.BreaksLine) {
		return invite.Invalid("link", "the email link must be an absolute http or https URL")
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
