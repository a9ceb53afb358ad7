package ses

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/mailbox"
)

// Record is an SES sending event record, as SES publishes it through a configuration
// set's event destination: "Contents of event data that Amazon SES publishes to
// Amazon SNS" (events/ses/ holds SES's examples). One of the type's objects is set,
// by EventType.
type Record struct {
	EventType     string            `json:"eventType"`
	Mail          Mail              `json:"mail"`
	Bounce        *Bounce           `json:"bounce,omitempty"`
	Complaint     *Complaint        `json:"complaint,omitempty"`
	Delivery      *Delivery         `json:"delivery,omitempty"`
	Send          *struct{}         `json:"send,omitempty"`
	Reject        *Reject           `json:"reject,omitempty"`
	Open          *Open             `json:"open,omitempty"`
	Click         *Click            `json:"click,omitempty"`
	Failure       *RenderingFailure `json:"failure,omitempty"`
	DeliveryDelay *DeliveryDelay    `json:"deliveryDelay,omitempty"`
	Subscription  *Subscription     `json:"subscription,omitempty"`
}

// Mail is the email an event is about. Timestamps are kept as SES wrote them.
type Mail struct {
	Timestamp        string              `json:"timestamp"`
	Source           string              `json:"source"`
	SourceArn        string              `json:"sourceArn,omitempty"`
	SendingAccountID string              `json:"sendingAccountId"`
	MessageID        string              `json:"messageId"`
	Destination      []string            `json:"destination"`
	HeadersTruncated bool                `json:"headersTruncated"`
	Headers          []Header            `json:"headers,omitempty"`
	CommonHeaders    *CommonHeaders      `json:"commonHeaders,omitempty"`
	Tags             map[string][]string `json:"tags,omitempty"`
}

// Header is one header of the original email.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CommonHeaders are the original email's common headers.
type CommonHeaders struct {
	From      []string `json:"from,omitempty"`
	To        []string `json:"to,omitempty"`
	MessageID string   `json:"messageId,omitempty"`
	Subject   string   `json:"subject,omitempty"`
}

// Bounce is a Bounce event's object.
type Bounce struct {
	BounceType        string      `json:"bounceType"`
	BounceSubType     string      `json:"bounceSubType"`
	BouncedRecipients []Recipient `json:"bouncedRecipients"`
	Timestamp         string      `json:"timestamp"`
	FeedbackID        string      `json:"feedbackId"`
	ReportingMTA      string      `json:"reportingMTA,omitempty"`
}

// Recipient is a bounced, complained or delayed recipient; the DSN's fields are
// there when SES had one.
type Recipient struct {
	EmailAddress   string `json:"emailAddress"`
	Action         string `json:"action,omitempty"`
	Status         string `json:"status,omitempty"`
	DiagnosticCode string `json:"diagnosticCode,omitempty"`
}

// Complaint is a Complaint event's object.
type Complaint struct {
	ComplainedRecipients  []Recipient `json:"complainedRecipients"`
	Timestamp             string      `json:"timestamp"`
	FeedbackID            string      `json:"feedbackId"`
	ComplaintSubType      *string     `json:"complaintSubType,omitempty"`
	UserAgent             string      `json:"userAgent,omitempty"`
	ComplaintFeedbackType string      `json:"complaintFeedbackType,omitempty"`
	ArrivalDate           string      `json:"arrivalDate,omitempty"`
}

// Delivery is a Delivery event's object.
type Delivery struct {
	Timestamp            string   `json:"timestamp"`
	ProcessingTimeMillis int64    `json:"processingTimeMillis"`
	Recipients           []string `json:"recipients"`
	SMTPResponse         string   `json:"smtpResponse"`
	ReportingMTA         string   `json:"reportingMTA"`
}

// Reject is a Reject event's object.
type Reject struct {
	Reason string `json:"reason"`
}

// Open is an Open event's object.
type Open struct {
	IPAddress string `json:"ipAddress"`
	Timestamp string `json:"timestamp"`
	UserAgent string `json:"userAgent"`
}

// Click is a Click event's object.
type Click struct {
	IPAddress string              `json:"ipAddress"`
	Link      string              `json:"link"`
	LinkTags  map[string][]string `json:"linkTags,omitempty"`
	Timestamp string              `json:"timestamp"`
	UserAgent string              `json:"userAgent"`
}

// RenderingFailure is a Rendering Failure event's object.
type RenderingFailure struct {
	ErrorMessage string `json:"errorMessage"`
	TemplateName string `json:"templateName"`
}

// DeliveryDelay is a DeliveryDelay event's object.
type DeliveryDelay struct {
	Timestamp         string      `json:"timestamp"`
	DelayType         string      `json:"delayType"`
	ExpirationTime    string      `json:"expirationTime,omitempty"`
	DelayedRecipients []Recipient `json:"delayedRecipients"`
	ReportingMTA      string      `json:"reportingMTA,omitempty"`
}

// Subscription is a Subscription event's object (list management).
type Subscription struct {
	ContactList         string            `json:"contactList"`
	Timestamp           string            `json:"timestamp"`
	Source              string            `json:"source"`
	NewTopicPreferences *TopicPreferences `json:"newTopicPreferences,omitempty"`
	OldTopicPreferences *TopicPreferences `json:"oldTopicPreferences,omitempty"`
}

// TopicPreferences are a contact's subscriptions.
type TopicPreferences struct {
	UnsubscribeAll          bool          `json:"unsubscribeAll"`
	TopicSubscriptionStatus []TopicStatus `json:"topicSubscriptionStatus,omitempty"`
}

// TopicStatus is a contact's subscription to one topic.
type TopicStatus struct {
	TopicName          string `json:"topicName"`
	SubscriptionStatus string `json:"subscriptionStatus"`
}

// MaxRecord bounds a record's size: SNS messages are at most 256 KB.
const MaxRecord = 256 << 10

// DecodeRecord reads one SES event record from body: the record itself (an SNS topic
// delivering to SQS with raw message delivery, or SES's documentation), an SNS
// notification carrying it in Message, or an EventBridge event carrying it in detail.
// Errors say what is wrong with the record (never an address); such a record can
// never be applied.
func DecodeRecord(body []byte) (*Record, error) {
	if len(body) > MaxRecord {
		return nil, fmt.Errorf("ses: event record of %d bytes, more than %d", len(body), MaxRecord)
	}
	var probe struct {
		Type      string          `json:"Type"`
		Message   *string         `json:"Message"`
		Detail    json.RawMessage `json:"detail"`
		EventType string          `json:"eventType"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("ses: event record is not JSON: %w", jsonSyntax(err))
	}
	switch {
	case probe.EventType != "":
	case probe.Type == "Notification" && probe.Message != nil:
		return DecodeRecord([]byte(*probe.Message))
	case len(probe.Detail) > 0 && probe.Detail[0] == '{':
		return DecodeRecord(probe.Detail)
	default:
		return nil, errors.New("ses: no eventType: not an SES event record")
	}
	var r Record
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("ses: %s record: %w", probe.EventType, jsonSyntax(err))
	}
	if r.Mail.MessageID == "" {
		return nil, fmt.Errorf("ses: %s record without mail.messageId", r.EventType)
	}
	return &r, nil
}

// jsonSyntax keeps an encoding/json error's words without the value it quotes.
func jsonSyntax(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %s: a JSON %s where %s belongs", te.Field, te.Value, te.Type)
	}
	return err
}

// MailEvent reduces r to what an invitation records. relevant is false for the types
// that change nothing Doorman tracks (Send, Open, Click, Subscription), which the
// caller logs and skips. An error says r misses what its type needs.
func (r *Record) MailEvent() (e invite.MailEvent, relevant bool, err error) {
	e = invite.MailEvent{Type: invite.MailEventType(r.EventType), MessageID: r.Mail.MessageID, InvitationID: r.InvitationID()}
	var at string
	switch e.Type {
	case invite.MailDelivery:
		if r.Delivery == nil {
			return e, false, r.missing("delivery")
		}
		at, e.Recipients = r.Delivery.Timestamp, r.Delivery.Recipients
	case invite.MailBounce:
		b := r.Bounce
		if b == nil {
			return e, false, r.missing("bounce")
		}
		at, e.FeedbackID = b.Timestamp, b.FeedbackID
		e.Permanent = b.BounceType == "Permanent"
		e.Suppressed = b.BounceSubType == "Suppressed" || b.BounceSubType == "OnAccountSuppressionList"
		kind := "transient"
		if e.Permanent {
			kind = "permanent"
		} else if b.BounceType != "Transient" {
			kind = "undetermined"
		}
		var diag string
		for _, rc := range b.BouncedRecipients {
			e.Recipients = append(e.Recipients, rc.EmailAddress)
			if diag == "" {
				diag = rc.DiagnosticCode
			}
		}
		e.Detail = detail(kind+" ("+b.BounceSubType+")", diag)
	case invite.MailComplaint:
		c := r.Complaint
		if c == nil {
			return e, false, r.missing("complaint")
		}
		at, e.FeedbackID = c.Timestamp, c.FeedbackID
		for _, rc := range c.ComplainedRecipients {
			e.Recipients = append(e.Recipients, rc.EmailAddress)
		}
		e.Detail = detail(c.ComplaintFeedbackType)
	case invite.MailDeliveryDelay:
		d := r.DeliveryDelay
		if d == nil {
			return e, false, r.missing("deliveryDelay")
		}
		at = d.Timestamp
		var diag string
		for _, rc := range d.DelayedRecipients {
			e.Recipients = append(e.Recipients, rc.EmailAddress)
			if diag == "" {
				diag = rc.DiagnosticCode
			}
		}
		e.Detail = detail(d.DelayType, diag)
	case invite.MailReject:
		if r.Reject == nil {
			return e, false, r.missing("reject")
		}
		at, e.Recipients, e.Detail = r.Mail.Timestamp, r.Mail.Destination, detail(r.Reject.Reason)
	case invite.MailRenderingFailure:
		if r.Failure == nil {
			return e, false, r.missing("failure")
		}
		at, e.Recipients, e.Detail = r.Mail.Timestamp, r.Mail.Destination, detail(r.Failure.ErrorMessage)
	default:
		return e, false, nil
	}
	if e.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return e, false, fmt.Errorf("ses: %s record: timestamp %q is not RFC 3339", r.EventType, at)
	}
	if len(e.Recipients) == 0 {
		return e, false, fmt.Errorf("ses: %s record names no recipient", r.EventType)
	}
	return e, true, nil
}

// InvitationID is the invitation the email was tagged with (Send's message tag), ""
// when none.
func (r *Record) InvitationID() string {
	if v := r.Mail.Tags[tagInvitation]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (r *Record) missing(object string) error {
	return fmt.Errorf("ses: %s record without its %s object", r.EventType, object)
}

// maxDetail bounds what an event says in the history (the history cuts at 300 too).
const maxDetail = 200

// detail is the one-line history detail of an SES outcome: the parts joined, every
// address blanked (a diagnostic often quotes the recipient's), bounded.
func detail(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	s := invite.OneLine(mailbox.Redact(strings.Join(kept, ": ")))
	if len(s) > maxDetail {
		s = strings.ToValidUTF8(s[:maxDetail], "")
	}
	return s
}

// EncodeRecord is r as SES publishes it, for the local run's emitter and the tests.
func EncodeRecord(r *Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("ses: encode %s record: %w", r.EventType, err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// ApplyFunc applies one mail event: invite.Service.ApplyMailEvent.
type ApplyFunc func(ctx context.Context, e invite.MailEvent) error

// EventHandler returns what handles one SES event record, as the sesevents function
// receives it (an SQS message body) and as the local run's emitter produces it: it
// decodes the record and applies it. A record that can never be applied (malformed,
// or refused for good) is logged and dropped, and so is one of a type Doorman does not
// track: the answer is nil, so that it never stalls the rest of its batch. Only an
// error that may pass (the store unavailable, an email whose send is not recorded
// yet) is returned, for the record to be delivered again.
func EventHandler(apply ApplyFunc, log *slog.Logger) func(ctx context.Context, body []byte) error {
	return func(ctx context.Context, body []byte) error {
		rec, err := DecodeRecord(body)
		if err != nil {
			log.ErrorContext(ctx, "malformed SES event record dropped", "error", err)
			return nil
		}
		e, relevant, err := rec.MailEvent()
		l := log.With("ses_event", rec.EventType, "ses_message_id", rec.Mail.MessageID, "invitation_id", e.InvitationID)
		switch {
		case err != nil:
			l.ErrorContext(ctx, "malformed SES event record dropped", "error", err)
			return nil
		case !relevant:
			l.InfoContext(ctx, "SES event of a type Doorman does not track; skipped")
			return nil
		}
		if err := apply(ctx, e); err != nil {
			if invite.Transient(err) {
				l.WarnContext(ctx, "SES event will be retried", "error", err)
				return err
			}
			l.ErrorContext(ctx, "SES event dropped: it cannot be applied", "error", err)
		}
		return nil
	}
}
