package invite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Defaults of AcceptorConfig.
const (
	DefaultLogTTL      = 7 * 24 * time.Hour
	DefaultMaxReissues = 3
	// maxAfterEnd bounds the late Auth0 events kept in a finished invitation's
	// history, so that a user who keeps signing in cannot grow it without end.
	maxAfterEnd = 5
)

// AcceptorConfig builds an Acceptor. Service and Store are required.
type AcceptorConfig struct {
	Service *Service
	Store   EventStore
	// LogTTL is how long applied log ids are remembered (default DefaultLogTTL);
	// Auth0 retries a batch for far less.
	LogTTL time.Duration
	// KeepFailedAccept turns off the default policy for an fi event on a pending
	// organization invitation (a fresh Auth0 invitation and a new link); the
	// invitation then fails with the reason.
	KeepFailedAccept bool
	// MaxReissues bounds the fresh invitations one invitation gets (default 3); the
	// next fi fails it.
	MaxReissues int
}

// Acceptor applies Auth0 log events to invitations: logins and signups accept them,
// password changes and refused accepts are recorded. Every effect is idempotent on the
// event's log id, so at-least-once, out-of-order delivery ends in one state.
type Acceptor struct {
	svc         *Service
	store       EventStore
	logTTL      time.Duration
	reissue     bool
	maxReissues int
}

// NewAcceptor checks cfg and applies its defaults.
func NewAcceptor(cfg AcceptorConfig) (*Acceptor, error) {
	if cfg.Service == nil || cfg.Store == nil {
		return nil, errors.New("invite: Acceptor needs Service and Store")
	}
	a := &Acceptor{svc: cfg.Service, store: cfg.Store, logTTL: cfg.LogTTL, reissue: !cfg.KeepFailedAccept, maxReissues: cfg.MaxReissues}
	if a.logTTL == 0 {
		a.logTTL = DefaultLogTTL
	}
	if a.maxReissues == 0 {
		a.maxReissues = DefaultMaxReissues
	}
	if a.logTTL < 0 || a.maxReissues < 0 {
		return nil, errors.New("invite: LogTTL and MaxReissues must not be negative")
	}
	return a, nil
}

// ApplyResult counts what happened to the events of a batch.
type ApplyResult struct {
	Applied   int // changed an invitation
	Unchanged int // matched an invitation whose state already reflects the event
	Unmatched int // about no invitation Doorman keeps
	Duplicate int // already processed
	Skipped   int // unusable (no log id, unknown type); logged
	// DeadLettered counts the events refused for good, kept as dead letters.
	DeadLettered int
}

// Apply applies a batch of events: one batched read of every candidate, then each
// event in order. It returns an upstream_unavailable error when an event could not be
// applied for a reason that may pass (the store or Auth0 unavailable, a race lost
// repeatedly): the caller must then have the whole batch delivered again, which is
// safe, since applied events are no-ops the second time. Events refused for good are
// logged and counted as skipped.
func (a *Acceptor) Apply(ctx context.Context, events []IdentityEvent) (*ApplyResult, error) {
	res := &ApplyResult{}
	keys, usable := lookupKeys(events)
	res.Skipped = len(events) - usable
	if usable == 0 {
		return res, nil
	}
	found, err := a.store.Lookup(ctx, keys)
	if err != nil {
		return res, fmt.Errorf("look up the invitations of %d events: %w", usable, err)
	}
	// current holds the newest state of each invitation touched by this batch, so
	// that a second event on it does not start from the stale copy read above.
	current := map[string]*Invitation{}
	seen := map[string]bool{}
	var failed []error
	for _, ev := range events {
		if !usableEvent(ev) {
			a.svc.log.WarnContext(ctx, "log event skipped", "index", ev.Index, "log_id", ev.LogID, "type", ev.Type)
			continue
		}
		if found.Processed[ev.LogID] || seen[ev.LogID] {
			res.Duplicate++
			continue
		}
		seen[ev.LogID] = true
		matches := match(ev, found)
		if len(matches) == 0 {
			res.Unmatched++
			continue
		}
		changed := false
		var evErr error
		for _, inv := range matches {
			if c, ok := current[inv.ID]; ok && c.Version >= inv.Version {
				inv = c
			}
			next, err := a.applyOne(ctx, ev, inv)
			switch {
			case errors.Is(err, errUnchanged):
				current[inv.ID] = inv
			case err != nil:
				evErr = err
			default:
				current[next.ID] = next
				changed = true
			}
		}
		switch {
		case evErr != nil && permanent(evErr):
			// One event that can never be applied must not hold back the batch: it is
			// kept as a dead letter (an alarm watches the line below) and the rest goes on.
			ids := make([]string, len(matches))
			for i, inv := range matches {
				ids[i] = inv.ID
			}
			dl := DeadLetter{ID: ev.LogID, Type: ev.Type, InvitationIDs: ids, Reason: safeMessage(evErr), At: a.svc.now().UTC()}
			if err := a.store.RecordDeadLetter(ctx, dl); err != nil {
				failed = append(failed, fmt.Errorf("event %d (log %s): record dead letter: %w", ev.Index, ev.LogID, err))
				continue
			}
			res.DeadLettered++
			a.svc.log.ErrorContext(ctx, "log event dead-lettered", "index", ev.Index, "log_id", ev.LogID, "type", ev.Type, "reason", dl.Reason)
		case evErr != nil:
			failed = append(failed, fmt.Errorf("event %d (log %s): %w", ev.Index, ev.LogID, evErr))
			a.svc.log.WarnContext(ctx, "log event not applied; the batch will be retried", "index", ev.Index, "log_id", ev.LogID, "type", ev.Type, "error", evErr)
		case changed:
			res.Applied++
			// Marked only once the effect is stored; losing the mark costs a no-op
			// replay, since the history names the log id.
			if _, err := a.store.MarkLogProcessed(ctx, ev.LogID, a.logTTL); err != nil {
				a.svc.log.WarnContext(ctx, "cannot mark log event processed", "log_id", ev.LogID, "error", err)
			}
		default:
			res.Unchanged++
		}
	}
	if len(failed) > 0 {
		return res, &Error{Code: CodeUpstream, Message: fmt.Sprintf("%d events could not be applied yet", len(failed)), Err: errors.Join(failed...)}
	}
	return res, nil
}

// permanent reports whether retrying could never help: Auth0 or the store refused
// the request itself.
func permanent(err error) bool {
	switch ErrorCode(err) {
	case CodeInvalid, CodeForbidden, CodeGone:
		return true
	}
	return false
}

func usableEvent(ev IdentityEvent) bool { return ev.LogID != "" && ev.Relevant() }

// lookupKeys gathers the keys of every usable event, without duplicates.
func lookupKeys(events []IdentityEvent) (LookupKeys, int) {
	var k LookupKeys
	users, orgs, invs, logs := map[string]bool{}, map[OrgEmail]bool{}, map[string]bool{}, map[string]bool{}
	usable := 0
	for _, ev := range events {
		if !usableEvent(ev) {
			continue
		}
		usable++
		if !logs[ev.LogID] {
			logs[ev.LogID] = true
			k.LogIDs = append(k.LogIDs, ev.LogID)
		}
		if uid := ev.UserID; uid != "" && (ev.Type == LogSuccessLogin || ev.Type == LogPasswordChanged) && !users[uid] {
			users[uid] = true
			k.UserIDs = append(k.UserIDs, uid)
		}
		if oe, ok := orgEmail(ev); ok && !orgs[oe] {
			orgs[oe] = true
			k.OrgEmails = append(k.OrgEmails, oe)
		}
		if id := ev.Auth0InvitationID; ev.Type == LogFailedInviteAccept && id != "" && !invs[id] {
			invs[id] = true
			k.Auth0InvitationIDs = append(k.Auth0InvitationIDs, id)
		}
	}
	return k, usable
}

// orgEmail is the organization key of a login or signup that can accept an
// organization invitation.
func orgEmail(ev IdentityEvent) (OrgEmail, bool) {
	if (ev.Type != LogSuccessLogin && ev.Type != LogSuccessSignup) || ev.OrganizationID == "" || EmailKey(ev.Email) == "" {
		return OrgEmail{}, false
	}
	return OrgEmail{OrgID: ev.OrganizationID, EmailKey: EmailKey(ev.Email)}, true
}

// match returns the invitations an event is about: the application invitation of
// its user (s, scp), the organization invitation of its organization and email
// (s, ss), or the organization invitation Auth0 refused (fi). One login can accept an
// application and an organization invitation at once.
func match(ev IdentityEvent, found *Lookup) []*Invitation {
	var out []*Invitation
	if ev.Type == LogSuccessLogin || ev.Type == LogPasswordChanged {
		if inv := found.ByUserID[ev.UserID]; inv != nil && inv.Kind == KindApplication && inv.Auth0UserID == ev.UserID {
			out = append(out, inv)
		}
	}
	if oe, ok := orgEmail(ev); ok {
		if inv := found.ByOrgEmail[oe]; inv != nil && inv.Kind == KindOrganization && inv.OrganizationID == oe.OrgID && EmailKey(inv.Email) == oe.EmailKey {
			out = append(out, inv)
		}
	}
	if ev.Type == LogFailedInviteAccept && ev.Auth0InvitationID != "" {
		inv := found.ByAuth0InvitationID[ev.Auth0InvitationID]
		if inv != nil && inv.Kind == KindOrganization && inv.Auth0InvitationID == ev.Auth0InvitationID &&
			(ev.OrganizationID == "" || ev.OrganizationID == inv.OrganizationID) {
			out = append(out, inv)
		}
	}
	return out
}

// applyOne applies one event to one invitation it matched and returns the
// invitation as stored, or errUnchanged.
func (a *Acceptor) applyOne(ctx context.Context, ev IdentityEvent, inv *Invitation) (*Invitation, error) {
	if inv.hasLog(ev.LogID) {
		return nil, errUnchanged
	}
	if ev.At.IsZero() {
		ev.At = a.svc.now()
	}
	if ev.At.Before(inv.CreatedAt) {
		// A late event of an existing user's earlier session says nothing about this
		// invitation.
		return nil, errUnchanged
	}
	switch {
	case ev.Type == LogPasswordChanged:
		return a.svc.apply(ctx, inv, func(n *Invitation) error {
			return a.note(n, ev, EventPasswordSet, "password set through the ticket")
		})
	case ev.Type == LogFailedInviteAccept:
		return a.failedAccept(ctx, ev, inv)
	case inv.Kind == KindApplication && inv.Account != "":
		return a.acceptOwner(ctx, ev, inv)
	case inv.Kind == KindApplication:
		return a.accept(ctx, ev, inv, "first login")
	default:
		return a.acceptMember(ctx, ev, inv)
	}
}

// note records a history-only event once. On a finished invitation it records the
// event as arriving after the end, a bounded number of times; an event after
// acceptance is the user's ordinary life and is not recorded.
func (a *Acceptor) note(n *Invitation, ev IdentityEvent, event, detail string) error {
	if n.hasLog(ev.LogID) {
		return errUnchanged
	}
	switch {
	case n.Status == StatusPending:
		n.record(event, ev.At, ActorAuth0, detail+" "+logRef(ev.LogID))
	case n.Status == StatusAccepted && ev.At.Before(n.AcceptedAt):
		// Delivered out of order: it belongs to the acceptance.
		n.record(event, ev.At, ActorAuth0, detail+" "+logRef(ev.LogID))
	case n.Status == StatusAccepted:
		return errUnchanged
	default:
		return recordAfterEnd(n, ev)
	}
	return nil
}

func recordAfterEnd(n *Invitation, ev IdentityEvent) error {
	if n.count(EventAfterEnd) >= maxAfterEnd {
		return errUnchanged
	}
	detail := fmt.Sprintf("%s after the invitation was %s; not applied %s", describeLog(ev.Type), n.Status, logRef(ev.LogID))
	n.record(EventAfterEnd, ev.At, ActorAuth0, detail)
	return nil
}

// accept moves a pending invitation to accepted. An application invitation then has
// its needsInvitation flag cleared in Auth0; when that fails, FlagClearPending stays
// set on the stored invitation for the sweeper, so the event is durably handled
// either way.
func (a *Acceptor) accept(ctx context.Context, ev IdentityEvent, inv *Invitation, how string) (*Invitation, error) {
	next, err := a.svc.apply(ctx, inv, func(n *Invitation) error {
		if n.hasLog(ev.LogID) {
			return errUnchanged
		}
		switch n.Status {
		case StatusPending:
		case StatusAccepted:
			return errUnchanged
		default:
			return recordAfterEnd(n, ev)
		}
		if err := n.transition(StatusAccepted, ev.At, ActorAuth0, how+" "+logRef(ev.LogID)); err != nil {
			return err
		}
		// Set before Auth0 is asked, so that a crash in between leaves a retry behind.
		// Only users Doorman created carry the flag.
		n.FlagClearPending = n.Kind == KindApplication && n.Auth0UserID != "" && n.Account == ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	log := a.svc.logger(ctx, next).With("log_id", ev.LogID)
	if next.Status != StatusAccepted {
		log.InfoContext(ctx, "auth0 event after the end recorded", "status", next.Status, "type", ev.Type)
		return next, nil
	}
	log.InfoContext(ctx, "invitation accepted", "source", "auth0", "type", ev.Type)
	if next.FlagClearPending {
		if cleared, err := a.svc.clearFlag(ctx, next); err == nil {
			next = cleared
		}
	}
	return next, nil
}

// acceptOwner accepts an application invitation of an account that was there before
// it, on a sign-in of that account after its owner proved control of the address: for
// a verified account, by following the link (link_used); for an unclaimed one, by
// setting the password through the ticket behind it (password_set), which also
// verifies the email. The account's email must be verified now. The roles are granted
// then, before the invitation is stored accepted, so that a crash in between leaves the
// event to be applied again.
func (a *Acceptor) acceptOwner(ctx context.Context, ev IdentityEvent, inv *Invitation) (*Invitation, error) {
	how := "signed in after following the link"
	proof := EventLinkUsed
	if inv.Account == AccountUnclaimed {
		how, proof = "signed in after setting a password through the link", EventPasswordSet
	}
	if inv.Status != StatusPending {
		return a.accept(ctx, ev, inv, how)
	}
	unproven := func(why string) (*Invitation, error) {
		return a.svc.apply(ctx, inv, func(n *Invitation) error {
			return a.note(n, ev, EventOwnerUnproven, describeLog(ev.Type)+" "+why+"; nothing granted")
		})
	}
	if ev.Type != LogSuccessLogin {
		return unproven("is not a sign-in")
	}
	if !provedBefore(inv, proof, ev.At) {
		return unproven("before the owner " + map[string]string{EventLinkUsed: "followed the invitation link", EventPasswordSet: "set a password through the invitation link"}[proof])
	}
	u, err := a.svc.identity.GetUser(ctx, inv.Auth0UserID)
	if err != nil {
		return nil, fmt.Errorf("read the account of %s: %w", inv.ID, err)
	}
	if !u.EmailVerified {
		return unproven("to an account whose email is not verified")
	}
	if err := a.svc.assignRoles(ctx, inv); err != nil {
		return nil, err
	}
	return a.accept(ctx, ev, inv, how)
}

// provedBefore reports whether the history records proof at or before t, since the
// current link was issued.
func provedBefore(inv *Invitation, proof string, t time.Time) bool {
	for i := len(inv.History) - 1; i >= 0; i-- {
		e := inv.History[i]
		switch e.Event {
		case proof:
			if !e.At.After(t) {
				return true
			}
		case EventCreated:
			return false
		}
	}
	return false
}

// acceptMember accepts an organization invitation once Auth0 confirms that the user
// of the login is a member of the organization and that it consumed the invitation
// (or the member holds the invitation's roles): an email match and a membership alone
// may be someone else's doing.
func (a *Acceptor) acceptMember(ctx context.Context, ev IdentityEvent, inv *Invitation) (*Invitation, error) {
	how := "signed in as " + ev.UserID
	if ev.Type == LogSuccessSignup {
		how = "signed up as " + ev.UserID
	}
	if inv.Status != StatusPending {
		return a.accept(ctx, ev, inv, how)
	}
	if ev.UserID == "" {
		return a.svc.apply(ctx, inv, func(n *Invitation) error {
			return a.note(n, ev, EventNotMember, describeLog(ev.Type)+" without a user id; membership cannot be confirmed")
		})
	}
	m, err := a.svc.identity.OrgMember(ctx, inv.OrganizationID, ev.UserID)
	if IsCode(err, CodeNotFound) {
		return a.svc.apply(ctx, inv, func(n *Invitation) error {
			return a.note(n, ev, EventNotMember, fmt.Sprintf("%s as %s, but Auth0 does not list that user as a member", describeLog(ev.Type), ev.UserID))
		})
	}
	if err != nil {
		return nil, fmt.Errorf("confirm membership of %s in %s: %w", ev.UserID, inv.OrganizationID, err)
	}
	if ok, err := a.svc.memberAccepted(ctx, inv, m); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return a.svc.apply(ctx, inv, func(n *Invitation) error {
			return a.note(n, ev, EventNotMember, fmt.Sprintf("%s as %s, a member, but Auth0 has not consumed the invitation", describeLog(ev.Type), ev.UserID))
		})
	}
	return a.accept(ctx, ev, inv, how+", a member of the organization")
}

// failedAccept handles an fi event: Auth0 consumed the organization invitation
// without adding the member, typically because it was opened while signed in as
// another account. By policy Doorman issues a fresh Auth0 invitation and emails a new
// link that says which address to use; otherwise the invitation fails with the reason.
func (a *Acceptor) failedAccept(ctx context.Context, ev IdentityEvent, inv *Invitation) (*Invitation, error) {
	reason := failedAcceptReason(ev, inv)
	now := a.svc.now()
	switch {
	case inv.Status != StatusPending:
		return a.svc.apply(ctx, inv, func(n *Invitation) error { return a.note(n, ev, EventAcceptFailed, reason) })
	case !inv.ExpiresAt.After(now):
		// Nothing to reissue: the sweeper expires it.
		return a.svc.apply(ctx, inv, func(n *Invitation) error { return a.note(n, ev, EventAcceptFailed, reason) })
	case !a.reissue || inv.count(EventReissued) >= a.maxReissues:
		return a.failInvitation(ctx, ev, inv, reason+" The Auth0 invitation is used up; invite again.")
	}
	org, err := a.svc.organizationFor(ctx, inv.OrganizationID)
	if err != nil {
		return nil, fmt.Errorf("reissue %s: %w", inv.ID, err)
	}
	fresh, err := a.svc.identity.CreateOrgInvitation(ctx, a.svc.orgInvitationRequest(inv, inv.ExpiresAt.Sub(now)))
	if permanent(err) {
		return a.failInvitation(ctx, ev, inv, reason+" Auth0 refused a new invitation: "+safeMessage(err))
	}
	if err != nil {
		return nil, fmt.Errorf("reissue %s: create Auth0 organization invitation: %w", inv.ID, err)
	}
	token, err := NewToken(a.svc.rand)
	if err != nil {
		a.svc.deleteOrgInvitation(ctx, inv, fresh.ID)
		return nil, fmt.Errorf("reissue %s: %w", inv.ID, err)
	}
	next, err := a.svc.apply(ctx, inv, func(n *Invitation) error {
		if n.hasLog(ev.LogID) || n.Status != StatusPending {
			return errUnchanged
		}
		n.record(EventAcceptFailed, ev.At, ActorAuth0, reason+" "+logRef(ev.LogID))
		n.Auth0InvitationID, n.Auth0InvitationURL = fresh.ID, ""
		n.replaceLink(token, false)
		n.record(EventReissued, now, ActorDoorman, "a new Auth0 invitation and link were emailed "+logRef(ev.LogID))
		return nil
	})
	if err != nil {
		a.svc.deleteOrgInvitation(ctx, inv, fresh.ID)
		if errors.Is(err, errUnchanged) {
			// Another event got there first; apply it to the fresh state next time.
			return nil, err
		}
		return nil, fmt.Errorf("reissue %s: %w", inv.ID, err)
	}
	a.svc.logger(ctx, next).InfoContext(ctx, "organization invitation reissued after a failed accept", "log_id", ev.LogID)
	m := a.svc.emailFor(next, org, token)
	m.Message = "You opened this invitation while signed in with a different account. It is for " +
		next.Email + ": please sign in or sign up with that address."
	// deliver records the outcome, and queues a retry of a failed email.
	return a.svc.deliver(ctx, next, m, now), nil
}

// failInvitation ends a pending invitation as failed with reason.
func (a *Acceptor) failInvitation(ctx context.Context, ev IdentityEvent, inv *Invitation, reason string) (*Invitation, error) {
	next, err := a.svc.apply(ctx, inv, func(n *Invitation) error {
		if n.hasLog(ev.LogID) {
			return errUnchanged
		}
		if n.Status != StatusPending {
			return a.note(n, ev, EventAcceptFailed, reason)
		}
		return n.transition(StatusFailed, ev.At, ActorAuth0, reason+" "+logRef(ev.LogID))
	})
	if err == nil {
		a.svc.logger(ctx, next).WarnContext(ctx, "invitation failed after a refused accept", "log_id", ev.LogID)
	}
	return next, err
}

// failedAcceptReason says in an admin's words why Auth0 refused the invitation. The
// signed-in account's address is shown to admins only, never emailed to the invitee.
func failedAcceptReason(ev IdentityEvent, inv *Invitation) string {
	who := "another account"
	if ev.Email != "" && EmailKey(ev.Email) != EmailKey(inv.Email) {
		who = "another account (" + ev.Email + ")"
	}
	reason := fmt.Sprintf("The invitation was opened while signed in as %s; Auth0 lets only %s accept it.", who, inv.Email)
	if ev.Email != "" && EmailKey(ev.Email) == EmailKey(inv.Email) {
		reason = "Auth0 refused the invitation for " + inv.Email + "."
	}
	if d := SanitizeHeaderText(ev.Description); d != "" {
		if r := []rune(d); len(r) > 200 {
			d = string(r[:200])
		}
		reason += " Auth0 said: " + d + "."
	}
	return reason
}

// memberAccepted reports whether a member m of an organization took up the invitation:
// Auth0 consumed the organization invitation (it is gone), or the member holds every
// role it carries. Membership alone may be someone else's doing.
func (s *Service) memberAccepted(ctx context.Context, inv *Invitation, m *Member) (bool, error) {
	if len(inv.Roles) > 0 && containsAll(m.Roles, inv.Roles) {
		return true, nil
	}
	if inv.Auth0InvitationID == "" {
		return false, nil
	}
	_, err := s.identity.GetOrgInvitation(ctx, inv.OrganizationID, inv.Auth0InvitationID)
	switch {
	case IsCode(err, CodeNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("confirm Auth0 consumed the invitation of %s: %w", inv.ID, err)
	}
	return false, nil
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
