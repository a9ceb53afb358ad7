package invite

import (
	"context"
	"fmt"
	"time"
)

// RowClass is what a dry run of a batch expects one item to become.
type RowClass string

const (
	// RowNew: a new invitation and a new account (or the account Doorman made for an
	// earlier invitation that was never taken up, which the invitation adopts).
	RowNew RowClass = "new"
	// RowExistingAccount: a new invitation for an address that already has an
	// account; the roles reach it when its owner accepts.
	RowExistingAccount RowClass = "existing_account"
	// RowAlreadyPending: a pending invitation of the address in the same scope exists;
	// the item fails with conflict (or, with on_conflict=resend, resends it).
	RowAlreadyPending RowClass = "already_pending"
	// RowInvalid: the item is refused as it stands (invalid_request).
	RowInvalid RowClass = "invalid"
	// RowUndeliverable: mail to the address bounced for good, was complained about or
	// is suppressed.
	RowUndeliverable RowClass = "undeliverable"
	// RowNotGrantable: the item carries what the caller may not grant (forbidden).
	RowNotGrantable RowClass = "not_grantable"
)

// DryRunRow is one item's classification. Problem says why an invalid or
// not_grantable item would be refused; ExistingID names the pending invitation of an
// already_pending one; Unchecked is set on a new item whose address was not looked up
// in Auth0 (the lookups' time budget ran out), so it may have an account.
type DryRunRow struct {
	Index      int
	Email      string
	Class      RowClass
	Problem    *ItemProblem
	ExistingID string
	Unchecked  bool
}

// DryRunLookupBudget bounds the time a dry run spends asking Auth0 which addresses
// have accounts (at the Management API's rate limit): the items beyond it come back
// new and Unchecked, so that a large preview answers within an API request's time.
const DryRunLookupBudget = 10 * time.Second

// DryRunBatch classifies each request as SubmitBatch and the worker would treat it,
// changing nothing: no reservation, no Auth0 write, no email. The rules are
// SubmitBatch's own (prepare, the organization lookup, checkGrant); then the store
// says which addresses are already pending (and, when it can, undeliverable), and
// Auth0 which have accounts, as provisionUser decides.
func (s *Service) DryRunBatch(ctx context.Context, a Actor, reqs []CreateRequest) ([]DryRunRow, error) {
	if err := authorize(a, PermCreate); err != nil {
		return nil, err
	}
	if len(reqs) == 0 || len(reqs) > MaxBatchItems {
		return nil, Invalid("invitations", "must hold between 1 and %d invitations", MaxBatchItems)
	}
	rows := make([]DryRunRow, len(reqs))
	for i, req := range reqs {
		rows[i] = DryRunRow{Index: i, Email: req.Email, Class: RowNew}
	}
	refuse := func(p ItemProblem) {
		r := &rows[p.Index]
		r.Class, r.Problem = RowInvalid, &p
		if p.Code == CodeForbidden {
			r.Class = RowNotGrantable
		}
	}
	valid, problems := s.validateBatch(a, reqs)
	for _, p := range problems {
		refuse(p)
	}
	for _, p := range s.checkOrganizations(ctx, valid) {
		if p.Code == CodeUpstream || p.Code == CodeRateLimited || p.Code == CodeInternal {
			return nil, fmt.Errorf("dry run: look up organization: %s", p.Message)
		}
		refuse(p)
	}
	deadline := s.now().Add(DryRunLookupBudget)
	for i, req := range valid {
		r := &rows[i]
		if r.Class != RowNew {
			continue
		}
		r.Email = req.Email
		err := s.checkGrant(ctx, a, req)
		if Transient(err) {
			return nil, fmt.Errorf("dry run: %w", err)
		}
		if err != nil {
			refuse(itemProblem(i, err))
			continue
		}
		id, err := s.pendingID(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("dry run: %w", err)
		}
		if id != "" {
			r.Class, r.ExistingID = RowAlreadyPending, id
			continue
		}
		bad, err := s.Undeliverable(ctx, req.Email)
		if err != nil {
			return nil, fmt.Errorf("dry run: %w", err)
		}
		if bad {
			r.Class = RowUndeliverable
			continue
		}
		if !s.now().Before(deadline) {
			r.Unchecked = true
			continue
		}
		u, err := s.identity.FindUserByEmail(ctx, req.Email)
		switch {
		case IsCode(err, CodeNotFound):
		case err != nil:
			return nil, fmt.Errorf("dry run: find Auth0 user: %w", err)
		case !createdForInvitation(u):
			r.Class = RowExistingAccount
		}
	}
	return rows, nil
}

// pendingID returns the id of the pending invitation of req's scope and address
// (which a create would conflict with), or "".
func (s *Service) pendingID(ctx context.Context, req CreateRequest) (string, error) {
	scope := ScopeApplication
	if req.OrganizationID != "" {
		scope = OrgScope(req.OrganizationID)
	}
	q := ListQuery{Scope: scope, Status: StatusPending, EmailKey: EmailKey(req.Email), Limit: 100}
	for range 10 {
		page, err := s.store.List(ctx, q)
		if err != nil {
			return "", fmt.Errorf("find pending invitation: %w", err)
		}
		if len(page.Invitations) > 0 {
			return page.Invitations[0].ID, nil
		}
		if page.NextCursor == "" {
			return "", nil
		}
		q.Cursor = page.NextCursor
	}
	return "", nil
}
