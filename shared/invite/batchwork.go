package invite

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// WorkBatchItem invites one batch item. It is safe to call any number of times for the
// same item, concurrently or after a crash at any point: the item's invitation id is
// fixed, the Auth0 user or organization invitation of an earlier attempt is found and
// adopted rather than created again, and the email is claimed before it is sent.
//
// An item that fails for a reason that may pass is tried again with backoff and
// jitter; if it still fails, the error is returned so that the queue delivers the
// message again, unless last is set (the queue's final delivery), when the item is
// recorded as failed. nil means the message is done with.
//
// A reference to a deferred single create (InvitationID) is worked by
// workDeferred.
func (s *Service) WorkBatchItem(ctx context.Context, ref ItemRef, last bool) error {
	if ref.InvitationID != "" {
		return s.workDeferred(ctx, ref.InvitationID, last)
	}
	item, err := s.batches.GetBatchItem(ctx, ref)
	if IsCode(err, CodeNotFound) {
		// A message for an item that is gone (retention ended) has nothing left to do.
		s.log.WarnContext(ctx, "batch item not found", "batch_id", ref.BatchID, "index", ref.Index)
		return nil
	}
	if err != nil {
		return fmt.Errorf("work batch item %s/%d: %w", ref.BatchID, ref.Index, err)
	}
	if item.Status != ItemQueued {
		return nil
	}
	var res *itemResult
	err = s.retrying(ctx, func() (err error) {
		res, err = s.runItem(ctx, item)
		return err
	})
	if err != nil && Transient(err) && !last {
		return err
	}
	if err != nil {
		// The delivery's time may be spent, which is why the item failed: its outcome
		// is still recorded, on a short deadline of its own, or the batch never ends.
		rctx, cancel := recordContext(ctx)
		defer cancel()
		return s.finishItem(rctx, item, &itemResult{problem: s.abandonItem(rctx, item, err)})
	}
	return s.finishItem(ctx, item, res)
}

// retrying runs work until it succeeds, fails for good, or has failed for a reason
// that may pass itemAttempts times, waiting between attempts with backoff and jitter
// (or as long as Auth0 asked); it returns work's last error.
func (s *Service) retrying(ctx context.Context, work func() error) error {
	for attempt := 1; ; attempt++ {
		err := work()
		if err == nil || !Transient(err) || attempt >= s.itemAttempts || ctx.Err() != nil {
			return err
		}
		wait := s.jitter(s.itemBackoff << (attempt - 1))
		if e := AsError(err); e != nil && e.RetryAfter > wait {
			wait = e.RetryAfter // Auth0 said how long; sooner would be refused again
		}
		if s.sleep(ctx, wait) != nil {
			return err
		}
	}
}

// workDeferred finishes a single create the API deferred to the worker: the same
// steps as a bulk item's (advance), resumed from what is stored. A failure that may
// pass is returned, so that the queue delivers the message again; on the last delivery
// the invitation is left pending for the sweeper to queue again after
// ProvisioningGrace: a passing refusal never fails an invitation. Auth0's refusal fails
// it, as it would have the create.
func (s *Service) workDeferred(ctx context.Context, id string, last bool) error {
	inv, err := s.store.Get(ctx, id)
	if IsCode(err, CodeNotFound) {
		return nil // gone with its retention
	}
	if err != nil {
		return fmt.Errorf("work deferred invitation %s: %w", id, err)
	}
	err = s.retrying(ctx, func() error {
		if inv.Status != StatusPending {
			return nil // revoked, expired or done meanwhile
		}
		org, err := s.organizationFor(ctx, inv.OrganizationID)
		if err != nil {
			return err
		}
		a := Actor{Sub: inv.Inviter.Sub, Name: inv.Inviter.Name}
		_, err = s.advance(ctx, a, inv, org, true)
		if IsCode(err, CodeConflict) {
			// Someone else changed it (a revoke, another delivery): read it again.
			fresh, gerr := s.store.Get(ctx, id)
			if gerr != nil {
				return gerr
			}
			inv = fresh
			return Errorf(CodeUpstream, "invitation %s changed under the worker", id)
		}
		return err
	})
	switch {
	case err == nil:
		return nil
	case Transient(err) && !last:
		return err
	case Transient(err):
		s.logger(ctx, inv).WarnContext(ctx, "deferred invitation left for the sweeper", "error", err)
		return nil
	default:
		// Refused for good outside Auth0's own answer (its organization is gone, say):
		// it fails, as the create would have.
		if inv.Status == StatusPending && !inv.Provisioned() {
			s.fail(ctx, Actor{Sub: inv.Inviter.Sub}, inv, err)
		}
		return nil
	}
}

// recordTimeout bounds the writes that record an item's failure after its context
// ended; it is shorter than the time the queue handler keeps to answer.
const recordTimeout = 2 * time.Second

func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

// jitter draws a wait uniformly from [d/2, d], so that workers that failed together
// do not come back together.
func (s *Service) jitter(d time.Duration) time.Duration {
	var b [2]byte
	if _, err := s.rand.Read(b[:]); err != nil {
		return d
	}
	frac := float64(uint16(b[0])<<8|uint16(b[1])) / 65535
	return d/2 + time.Duration(frac*float64(d/2))
}

type itemResult struct {
	id      string
	resent  bool
	problem *ItemProblem
}

func (s *Service) finishItem(ctx context.Context, item *BatchItem, res *itemResult) error {
	done := *item
	done.FinishedAt = s.now().UTC()
	if res.problem != nil {
		done.Status, done.Problem = ItemFailed, res.problem
	} else {
		done.Status, done.ResultID, done.Resent = ItemSucceeded, res.id, res.resent
	}
	err := s.batches.FinishBatchItem(ctx, &done)
	if IsCode(err, CodeConflict) {
		return nil // another delivery of the message finished it first
	}
	if err != nil {
		return fmt.Errorf("finish batch item %s/%d: %w", item.BatchID, item.Index, err)
	}
	return nil
}

// abandonItem ends an item that kept failing: its invitation, when it was written and
// is still pending, is failed (which releases the reservation and marks what is in
// Auth0 for cleanup).
func (s *Service) abandonItem(ctx context.Context, item *BatchItem, cause error) *ItemProblem {
	p := itemProblem(item.Index, cause)
	if inv, err := s.store.Get(ctx, item.InvitationID); err == nil && inv.Status == StatusPending {
		s.fail(ctx, item.Actor, inv, cause)
	}
	s.log.WarnContext(ctx, "batch item abandoned", "batch_id", item.BatchID, "index", item.Index, "invitation_id", item.InvitationID, "error", cause)
	return &p
}

// runItem takes the item's invitation as far as it goes: written, provisioned in
// Auth0, emailed. Each step starts from what is stored, so a retry resumes where an
// earlier attempt stopped. A refusal comes back as the item's problem (err nil).
func (s *Service) runItem(ctx context.Context, item *BatchItem) (*itemResult, error) {
	a, req := item.Actor, item.Request
	if item.ResendOf != "" {
		// An earlier attempt claimed the resend; it may have happened: never again.
		return &itemResult{id: item.ResendOf, resent: true}, nil
	}
	var org *Organization
	if req.OrganizationID != "" {
		var err error
		if org, err = s.organization(ctx, req.OrganizationID); err != nil {
			return refused(item, err)
		}
	}
	inv, err := s.store.Get(ctx, item.InvitationID)
	resumed := err == nil
	if IsCode(err, CodeNotFound) {
		inv, err = s.createItemInvitation(ctx, item)
		if e := AsError(err); e != nil && e.Code == CodeConflict && e.ExistingID != "" && e.ExistingID != item.InvitationID {
			return s.itemConflict(ctx, item, e.ExistingID)
		}
		if IsCode(err, CodeConflict) {
			// Another delivery of this item wrote it meanwhile.
			inv, err = s.store.Get(ctx, item.InvitationID)
			resumed = true
		}
	}
	if err != nil {
		return refused(item, err)
	}

	for range 3 {
		next, err := s.advance(ctx, a, inv, org, resumed)
		if IsCode(err, CodeConflict) {
			// Someone else changed the invitation (another delivery, a revoke, the
			// webhook): read it again and take it from there.
			if inv, err = s.store.Get(ctx, item.InvitationID); err != nil {
				return nil, err
			}
			resumed = true
			continue
		}
		if err != nil {
			return refused(item, err)
		}
		if next.Status == StatusFailed {
			return &itemResult{problem: failedProblem(item.Index, next)}, nil
		}
		return &itemResult{id: next.ID}, nil
	}
	return nil, Errorf(CodeUpstream, "invitation %s keeps changing under the worker", item.InvitationID)
}

// refused turns a final error into the item's problem and passes any other through.
func refused(item *BatchItem, err error) (*itemResult, error) {
	if Transient(err) {
		return nil, err
	}
	p := itemProblem(item.Index, err)
	return &itemResult{problem: &p}, nil
}

// failedProblem describes an item whose invitation ended failed (Auth0 refused it).
func failedProblem(index int, inv *Invitation) *ItemProblem {
	p := &ItemProblem{Index: index, Code: CodeInvalid, Message: inv.FailedReason}
	if strings.Contains(inv.FailedReason, string(CodeUpstream)) || strings.Contains(inv.FailedReason, string(CodeRateLimited)) {
		p.Code = CodeUpstream
	}
	return p
}

func (s *Service) createItemInvitation(ctx context.Context, item *BatchItem) (*Invitation, error) {
	inv, _, err := s.newInvitation(item.Actor, item.Request, item.InvitationID, s.now())
	if err != nil {
		return nil, err
	}
	inv.History[len(inv.History)-1].Detail = fmt.Sprintf("batch %s item %d", item.BatchID, item.Index)
	inv.Resumable = true
	if err := s.store.Create(ctx, inv); err != nil {
		return nil, err
	}
	s.logger(ctx, inv).InfoContext(ctx, "invitation created", "kind", inv.Kind, "batch_id", item.BatchID, "index", item.Index)
	return inv, nil
}

// itemConflict handles a pending invitation of the same person: a conflict, or with
// on_conflict=resend a resend of it, claimed on the item first so that it happens at
// most once.
func (s *Service) itemConflict(ctx context.Context, item *BatchItem, existingID string) (*itemResult, error) {
	if item.Request.OnConflict != OnConflictResend {
		p := ItemProblem{Index: item.Index, Code: CodeConflict, Message: "a pending invitation for this email exists", ExistingID: existingID}
		return &itemResult{problem: &p}, nil
	}
	ref := ItemRef{BatchID: item.BatchID, Index: item.Index}
	if err := s.batches.ClaimResend(ctx, ref, existingID); err != nil {
		if IsCode(err, CodeConflict) {
			return &itemResult{id: existingID, resent: true}, nil
		}
		return nil, err
	}
	out, err := s.resendExisting(ctx, item.Actor, existingID, item.Request.TTL, item.Request.SendEmail)
	if err != nil {
		return refused(item, err)
	}
	return &itemResult{id: out.Invitation.ID, resent: true}, nil
}

// advance takes a stored invitation one or more steps: provision it in Auth0 when that
// has not happened, then send its email when one is due. It returns the invitation as
// stored; conflict when a conditional write lost (the caller reads it again).
func (s *Service) advance(ctx context.Context, a Actor, inv *Invitation, org *Organization, resumed bool) (*Invitation, error) {
	if inv.Status == StatusPending && !inv.Provisioned() {
		next, err := s.provision(ctx, a, inv, org, true, resumed)
		if next != nil && next.Status == StatusFailed {
			return next, nil // Auth0 refused it: the caller reports the stored reason
		}
		if err != nil {
			return nil, err
		}
		inv = next
	}
	switch {
	case inv.Delivery.Status == DeliverySending:
		// An earlier attempt claimed the send and stopped before recording its outcome.
		return s.apply(ctx, inv, func(n *Invitation) error {
			if n.Delivery.Status != DeliverySending {
				return Errorf(CodeConflict, "delivery of %s changed", n.ID)
			}
			n.Delivery.Status = DeliveryUnconfirmed
			n.record(EventEmailUnconfirmed, s.now(), ActorDoorman, "the worker stopped while sending; resend if the invitee has no email")
			return nil
		})
	case inv.Delivery.Status != DeliveryPending:
		return inv, nil
	case inv.Status == StatusAccepted || inv.Status == StatusPending:
		return s.send(ctx, inv, org, "")
	}
	return inv, nil
}

// sameAuth0Side reports whether two copies of an invitation name the same Auth0 user
// or organization invitation.
func sameAuth0Side(a, b *Invitation) bool {
	if a.Kind == KindOrganization {
		return a.Auth0InvitationID == b.Auth0InvitationID
	}
	return a.Auth0UserID == b.Auth0UserID
}
