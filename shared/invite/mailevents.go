package invite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"time"
)

// The history events SES's sending events record on an invitation (DESIGN.md,
// "Delivery"). Each is written once per SES event, so that what derives events from
// new history entries tells each outcome once.
const (
	EventDelivered       = "delivered"
	EventBounced         = "bounced" // detail: permanent or transient, SES's type and diagnostic
	EventComplained      = "complained"
	EventSuppressed      = "suppressed"
	EventDeliveryDelayed = "delivery_delayed"
	EventRejected        = "rejected"
	EventRenderingFailed = "rendering_failed"
)

// The delivery states SES's events move an invitation's email to, after sent.
const (
	DeliveryDelivered  DeliveryStatus = "delivered"
	DeliveryBounced    DeliveryStatus = "bounced" // permanent or transient: see Delivery.Undeliverable
	DeliveryComplained DeliveryStatus = "complained"
	DeliverySuppressed DeliveryStatus = "suppressed"
	// DeliveryRejected: SES took the email but did not send it (a Reject or a
	// Rendering Failure event).
	DeliveryRejected DeliveryStatus = "rejected"
)

// Reached reports whether an email in this state went out to the address, as far as
// SES said: sent, delivered, or bounced for a reason that may pass (a permanent
// bounce makes the invitation Undeliverable). A reminder follows only such an email.
func (s DeliveryStatus) Reached() bool {
	switch s {
	case DeliverySent, DeliveryDelivered, DeliveryBounced:
		return true
	}
	return false
}

// ActorSES is the history actor of what SES reported.
const ActorSES = "ses"

// CodeUndeliverable refuses an email to an address SES will not deliver to (a
// permanent bounce, a complaint or SES's suppression list): a conflict (409) until
// the invitation's email changes.
const CodeUndeliverable Code = "undeliverable"

// MailEventType is the kind of an SES sending event, as SES names it in eventType.
type MailEventType string

// The SES event types that can change an invitation. Send, Open and Click change
// nothing Doorman tracks.
const (
	MailDelivery         MailEventType = "Delivery"
	MailBounce           MailEventType = "Bounce"
	MailComplaint        MailEventType = "Complaint"
	MailReject           MailEventType = "Reject"
	MailRenderingFailure MailEventType = "Rendering Failure"
	MailDeliveryDelay    MailEventType = "DeliveryDelay"
	MailSubscription     MailEventType = "Subscription"
)

// MailEvent is one SES sending event reduced to what an invitation records. The SES
// adapter builds it from SES's event record.
type MailEvent struct {
	Type MailEventType
	// MessageID is SES's id of the email; InvitationID is the invitation the email
	// was tagged with ("" when it carried no tag).
	MessageID    string
	InvitationID string
	// Recipients are the addresses the event is about (bounced, complained, delivered).
	Recipients []string
	At         time.Time
	// FeedbackID is SES's id of a bounce or complaint; empty for the other types.
	FeedbackID string
	// Permanent marks a bounce SES will not retry and the address will not take
	// (bounceType Permanent); Suppressed one SES did not even try, the address being
	// on its suppression list.
	Permanent  bool
	Suppressed bool
	// Detail is what the history says of it, in one line without addresses: the
	// bounce's type and SES's diagnostic, the delay's type, the reject's reason.
	Detail string
}

// Key identifies the event among the events of its email, so that an event SES or
// its transport delivers twice is applied once: the feedback id of a bounce or
// complaint, else the type and time.
func (e MailEvent) Key() string {
	if e.FeedbackID != "" {
		return string(e.Type) + "#" + e.FeedbackID
	}
	return string(e.Type) + "@" + e.At.UTC().Format(time.RFC3339Nano)
}

// Undeliverable reports whether the event says SES will not deliver to its
// recipients again: a permanent bounce, a suppressed address or a complaint.
func (e MailEvent) Undeliverable() bool {
	switch e.Type {
	case MailComplaint:
		return true
	case MailBounce:
		return e.Permanent || e.Suppressed
	}
	return false
}

// UndeliverableAddress is an address SES refused for good, kept apart from any
// invitation so that a new invitation or a bulk import can be told before sending.
type UndeliverableAddress struct {
	Email  string
	Reason DeliveryStatus // bounced, complained or suppressed
	At     time.Time
	// MessageID is the email whose event said so.
	MessageID string
}

// DeliveryStore keeps what SES's events say: on the invitation, and of addresses
// apart from any invitation. Errors as Store's.
type DeliveryStore interface {
	// UpdateDelivery is Store.Update for a change of the invitation's delivery and
	// history alone, which writes the invitation's item and nothing else:
	// invalid_request when next differs from prev in what Update keeps other items
	// for (status, link token, email, Auth0 ids, cleanup), conflict as Update's.
	UpdateDelivery(ctx context.Context, prev, next *Invitation) error
	// MarkUndeliverable records that SES refused u.Email for good; marking an address
	// again replaces the record.
	MarkUndeliverable(ctx context.Context, u UndeliverableAddress) error
	// Undeliverable reports whether email (matched as EmailKey) is marked.
	Undeliverable(ctx context.Context, email string) (bool, error)
}

// DeliveryOnly reports whether next differs from prev only in what UpdateDelivery
// may write: the delivery, the history and the folded counts.
func DeliveryOnly(prev, next *Invitation) bool {
	a, b := prev.Clone(), next.Clone()
	b.Delivery, b.History, b.Folded, b.Version = a.Delivery, a.History, a.Folded, a.Version
	return reflect.DeepEqual(a, b)
}

// maxApplied bounds the SES events remembered on an invitation for deduplication:
// one email has a handful (a delivery, a complaint, a few delays).
const maxApplied = 10

// unknownMessageGrace is how long an event for an email the invitation does not name
// is retried: its send may not be recorded yet (SES answered, the write follows).
const unknownMessageGrace = 10 * time.Minute

// errAlreadyApplied ends an apply that finds the event recorded: nothing to write.
var errAlreadyApplied = errors.New("mail event already applied")

// Undeliverable reports whether email (matched as EmailKey) is an address SES
// refused for good, as far as Doorman learned from SES's events. Without a
// DeliveryStore it knows none.
func (s *Service) Undeliverable(ctx context.Context, email string) (bool, error) {
	if s.deliveries == nil {
		return false, nil
	}
	return s.deliveries.Undeliverable(ctx, email)
}

// ApplyMailEvent records one SES sending event: the address as undeliverable when
// SES refused it for good, and on the invitation whose email it is about, the
// delivery state and a history entry. An event already applied, one about an email
// the invitation replaced since (a resend), one without an invitation and one of a
// type Doorman does not track change nothing. Errors are the store's, and
// upstream_unavailable for an event whose email the invitation does not name yet
// (its send may still be being recorded): both may pass, so the caller retries.
func (s *Service) ApplyMailEvent(ctx context.Context, e MailEvent) error {
	if s.deliveries == nil {
		return errors.New("invite: ApplyMailEvent needs a DeliveryStore")
	}
	log := s.log.With("ses_message_id", e.MessageID, "ses_event", string(e.Type))
	if e.status() == "" && e.Type != MailDeliveryDelay {
		log.InfoContext(ctx, "SES event of a type Doorman does not track; not applied")
		return nil
	}
	if e.Undeliverable() {
		for _, r := range e.Recipients {
			u := UndeliverableAddress{Email: r, Reason: e.status(), At: e.At.UTC(), MessageID: e.MessageID}
			if err := s.deliveries.MarkUndeliverable(ctx, u); err != nil {
				return fmt.Errorf("mark address undeliverable: %w", err)
			}
		}
	}
	if e.InvitationID == "" {
		log.InfoContext(ctx, "SES event names no invitation; not applied")
		return nil
	}
	inv, err := s.store.Get(ctx, e.InvitationID)
	if IsCode(err, CodeNotFound) {
		log.InfoContext(ctx, "SES event for an invitation that is gone; not applied", "invitation_id", e.InvitationID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply SES event to %s: %w", e.InvitationID, err)
	}
	ilog := s.logger(ctx, inv).With("ses_message_id", e.MessageID, "ses_event", string(e.Type))
	if inv.Delivery.MessageID != e.MessageID {
		switch {
		case inv.sentMessage(e.MessageID):
			ilog.InfoContext(ctx, "SES event for an earlier email of the invitation; not applied")
			return nil
		case s.now().Sub(e.At) < unknownMessageGrace:
			return Errorf(CodeUpstream, "invitation %s does not name SES message %s yet", inv.ID, e.MessageID)
		default:
			ilog.WarnContext(ctx, "SES event for an email the invitation does not know; not applied")
			return nil
		}
	}
	key := e.Key()
	err = s.applyDelivery(ctx, inv, func(n *Invitation) error {
		if n.Delivery.MessageID != e.MessageID || slices.Contains(n.Delivery.Applied, key) {
			return errAlreadyApplied
		}
		n.applyMailEvent(e, key)
		return nil
	})
	if errors.Is(err, errAlreadyApplied) {
		ilog.InfoContext(ctx, "SES event already applied")
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply SES event to %s: %w", inv.ID, err)
	}
	ilog.InfoContext(ctx, "SES event applied")
	return nil
}

// applyDelivery writes change(copy of cur) over cur with UpdateDelivery, reading the
// invitation again and reapplying change when another writer got there first, as
// apply does for Update.
func (s *Service) applyDelivery(ctx context.Context, cur *Invitation, change func(*Invitation) error) error {
	for attempt := 1; ; attempt++ {
		next := cur.Clone()
		if err := change(next); err != nil {
			return err
		}
		next.Version = cur.Version + 1
		err := s.deliveries.UpdateDelivery(ctx, cur, next)
		if err == nil || !IsCode(err, CodeConflict) || attempt == 3 {
			return err
		}
		if cur, err = s.store.Get(ctx, cur.ID); err != nil {
			return fmt.Errorf("reread invitation %s: %w", next.ID, err)
		}
	}
}

// applyMailEvent records e (of the invitation's current email) on n: its history
// entry, the delivery state it moves to, and, for an address SES refused for good,
// which address that was and that it gets no reminder.
func (n *Invitation) applyMailEvent(e MailEvent, key string) {
	d := &n.Delivery
	d.Applied = append(d.Applied, key)
	if len(d.Applied) > maxApplied {
		d.Applied = slices.Clone(d.Applied[len(d.Applied)-maxApplied:])
	}
	at := e.At.UTC()
	switch e.Type {
	case MailDelivery:
		n.record(EventDelivered, at, ActorSES, e.Detail)
	case MailBounce:
		event := EventBounced
		if e.Suppressed {
			event = EventSuppressed
		}
		n.record(event, at, ActorSES, e.Detail)
	case MailComplaint:
		n.record(EventComplained, at, ActorSES, e.Detail)
	case MailDeliveryDelay:
		n.record(EventDeliveryDelayed, at, ActorSES, e.Detail)
	case MailReject:
		n.record(EventRejected, at, ActorSES, e.Detail)
	case MailRenderingFailure:
		n.record(EventRenderingFailed, at, ActorSES, e.Detail)
	default:
		return
	}
	if to := e.status(); to != "" && deliveryRank(to) >= deliveryRank(d.Status) {
		d.Status = to
		if to == DeliveryRejected {
			d.LastError = e.Detail
		}
	}
	if e.Undeliverable() {
		d.Undeliverable = EmailKey(n.Email)
		if n.AwaitsReminder() {
			n.record(EventReminderSkipped, at, ActorSES, "the address is undeliverable")
		}
	}
}

// status is the delivery state e moves an email to; "" for none (a delay).
func (e MailEvent) status() DeliveryStatus {
	switch e.Type {
	case MailDelivery:
		return DeliveryDelivered
	case MailBounce:
		if e.Suppressed {
			return DeliverySuppressed
		}
		return DeliveryBounced
	case MailComplaint:
		return DeliveryComplained
	case MailReject, MailRenderingFailure:
		return DeliveryRejected
	}
	return ""
}

// deliveryRank orders what SES's events say of one email, so that events arriving
// out of order never move it back: a complaint outranks the delivery it follows.
func deliveryRank(s DeliveryStatus) int {
	switch s {
	case DeliveryDelivered:
		return 1
	case DeliveryBounced, DeliverySuppressed, DeliveryRejected:
		return 2
	case DeliveryComplained:
		return 3
	}
	return 0
}

// sentMessage reports whether the history records the email with that SES message
// id as sent (email_sent's detail is the message id).
func (inv *Invitation) sentMessage(id string) bool {
	for _, e := range inv.History {
		if e.Event == EventEmailSent && e.Detail == id {
			return true
		}
	}
	return false
}

// Undeliverable reports whether SES refused the invitation's current address for
// good: a resend is refused, and no reminder goes out, until the email changes.
func (inv *Invitation) Undeliverable() bool {
	u := inv.Delivery.Undeliverable
	return u != "" && u == EmailKey(inv.Email)
}

// errUndeliverable answers a send to an address SES refused for good.
func errUndeliverable(inv *Invitation) error {
	why := "bounced permanently"
	switch inv.Delivery.Status {
	case DeliveryComplained:
		why = "was marked as spam by its recipient"
	case DeliverySuppressed:
		why = "is on the email service's suppression list"
	}
	return &Error{Code: CodeUndeliverable, Message: "the invitation's email address " + why +
		"; email will not be sent to it again until the invitation's email changes"}
}

// Deliveries applies SES's sending events to invitations for a process that does
// nothing else (the sesevents function): it needs the store alone, and no Auth0 or
// SES client.
type Deliveries struct {
	svc *Service
}

// DeliveriesConfig builds Deliveries. Store and Deliveries are required; Now
// defaults to time.Now.
type DeliveriesConfig struct {
	Store      Store
	Deliveries DeliveryStore
	Now        func() time.Time
	Logger     *slog.Logger // default: discard
}

// NewDeliveries checks cfg.
func NewDeliveries(cfg DeliveriesConfig) (*Deliveries, error) {
	if cfg.Store == nil || cfg.Deliveries == nil {
		return nil, errors.New("invite: Deliveries needs a Store and a DeliveryStore")
	}
	s := &Service{store: cfg.Store, deliveries: cfg.Deliveries, now: cfg.Now, log: cfg.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	} else {
		s.log = slog.New(LogHandler(s.log.Handler()))
	}
	return &Deliveries{svc: s}, nil
}

// Apply is Service.ApplyMailEvent.
func (d *Deliveries) Apply(ctx context.Context, e MailEvent) error {
	return d.svc.ApplyMailEvent(ctx, e)
}
