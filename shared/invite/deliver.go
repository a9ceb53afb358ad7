package invite

import (
	"context"
	"fmt"
	"time"
)

// deliver sends m and records the outcome on the invitation: on success the message
// id, one more send and email_sent; on failure Delivery failed with a retry queued
// (unless the provider refused the email for good, or the attempts ran out) and
// email_failed. It returns the invitation as stored, or inv when the outcome could not
// be stored (which is logged): the email's fate never fails the caller's request.
func (s *Service) deliver(ctx context.Context, inv *Invitation, m Mail, now time.Time) *Invitation {
	log := s.logger(ctx, inv)
	msgID, sendErr := s.mailer.Send(ctx, m)
	if sendErr != nil {
		log.WarnContext(ctx, "invitation email failed", "template", m.Template, "error", sendErr)
	} else {
		log.InfoContext(ctx, "invitation email sent", "template", m.Template, "message_id", msgID)
	}
	next, err := s.apply(ctx, inv, func(n *Invitation) error {
		d := &n.Delivery
		d.LastAttemptAt = now.UTC()
		if sendErr == nil {
			d.Status, d.MessageID, d.LastSentAt = DeliverySent, msgID, now.UTC()
			d.Sends++
			d.Attempts, d.NextAttemptAt, d.LastError = 0, time.Time{}, ""
			n.record(EventEmailSent, now, ActorDoorman, msgID)
			return nil
		}
		d.Status = DeliveryFailed
		d.Attempts++
		d.Failures++
		d.LastError = safeMessage(sendErr)
		d.NextAttemptAt = time.Time{}
		if !IsCode(sendErr, CodeInvalid) && d.Attempts < maxDeliveryAttempts {
			d.NextAttemptAt = now.Add(retryBackoff(d.Attempts)).UTC()
		}
		n.record(EventEmailFailed, now, ActorDoorman, d.LastError)
		return nil
	})
	if err != nil {
		log.ErrorContext(ctx, "cannot record email outcome", "error", err)
		return inv
	}
	return next
}

// retryBackoff doubles from one minute up to an hour.
func retryBackoff(attempts int) time.Duration {
	d := time.Minute << min(attempts-1, 6)
	return min(d, time.Hour)
}

// RetryDelivery sends again the email of a pending invitation whose last attempt
// failed; the worker calls it once Delivery.NextAttemptAt has passed. The link token is
// replaced: the one of the failed email never reached anyone.
func (s *Service) RetryDelivery(ctx context.Context, id string) (*Invitation, error) {
	inv, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("retry delivery of %s: %w", id, err)
	}
	now := s.now()
	if inv.Status != StatusPending || inv.Delivery.Status != DeliveryFailed {
		return nil, Errorf(CodeConflict, "invitation %s has no failed email to retry", id)
	}
	if inv.Delivery.NextAttemptAt.IsZero() || now.Before(inv.Delivery.NextAttemptAt) {
		return nil, &Error{Code: CodeRateLimited, Message: "no retry is due", RetryAfter: inv.Delivery.NextAttemptAt.Sub(now)}
	}
	org, err := s.organizationFor(ctx, inv.OrganizationID)
	if err != nil {
		return nil, fmt.Errorf("retry delivery of %s: %w", id, err)
	}
	token, err := NewToken(s.rand)
	if err != nil {
		return nil, fmt.Errorf("retry delivery of %s: %w", id, err)
	}
	next, err := s.apply(ctx, inv, func(n *Invitation) error {
		if n.Status != StatusPending || n.Delivery.Status != DeliveryFailed {
			return Errorf(CodeConflict, "invitation %s has no failed email to retry", id)
		}
		n.replaceLink(token, false)
		n.record(EventResent, now, ActorDoorman, "delivery retry")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.deliver(ctx, next, s.emailFor(next, org, token), now), nil
}
