package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

// listPlan is the index a listing reads and the filters left to a filter expression.
type listPlan struct {
	index, pkAttr, pkValue string
	filter                 string
	names                  map[string]string
	values                 map[string]types.AttributeValue
}

// planList picks the most selective index for the query's filters: email (a handful of
// invitations per address), then inviter, then status, then the whole scope. The other
// filters become a filter expression on the projected status, email_key and inviter_sub,
// so the read cost is proportional to that partition up to the page, not to the scope.
func planList(q invite.ListQuery) listPlan {
	p := listPlan{names: map[string]string{}, values: map[string]types.AttributeValue{}}
	var conds []string
	filter := func(attr, v string) {
		if v == "" {
			return
		}
		n := fmt.Sprintf("#f%d", len(conds))
		conds = append(conds, n+" = :"+n[1:])
		p.names[n] = attr
		p.values[":"+n[1:]] = str(v)
	}
	switch {
	case q.EmailKey != "":
		p.index, p.pkAttr, p.pkValue = IndexScopeEmail, attrListEmail, scoped(q.Scope, q.EmailKey)
		filter(attrStatus, string(q.Status))
		filter("inviter_sub", q.Inviter)
	case q.Inviter != "":
		p.index, p.pkAttr, p.pkValue = IndexScopeInviter, attrListInviter, scoped(q.Scope, q.Inviter)
		filter(attrStatus, string(q.Status))
	case q.Status != "":
		p.index, p.pkAttr, p.pkValue = IndexScopeStatus, attrListStatus, scoped(q.Scope, string(q.Status))
	default:
		p.index, p.pkAttr, p.pkValue = IndexScope, attrListScope, escapeScope(q.Scope)
	}
	p.filter = strings.Join(conds, " AND ")
	p.names["#pk"] = p.pkAttr
	p.values[":pk"] = str(p.pkValue)
	return p
}

func matches(q invite.ListQuery, inv *invite.Invitation) bool {
	return inv.Scope() == q.Scope &&
		(q.Status == "" || inv.Status == q.Status) &&
		(q.EmailKey == "" || invite.EmailKey(inv.Email) == q.EmailKey) &&
		(q.Inviter == "" || inv.Inviter.Sub == q.Inviter)
}

// List implements invite.Store: a Query on a listing index, newest first, then one
// BatchGetItem for the page's invitations.
func (s *Store) List(ctx context.Context, q invite.ListQuery) (*invite.Page, error) {
	const op = "list invitations"
	q.EmailKey = invite.EmailKey(q.EmailKey)
	switch {
	case q.Scope == "":
		return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("organization_id", "a listing needs a scope"))
	case q.Limit < 0 || q.Limit > maxPageSize:
		return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("limit", "limit must be between 1 and %d", maxPageSize))
	case q.Status != "" && !q.Status.Valid():
		return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("status", "unknown status %q", q.Status))
	}
	limit := q.Limit
	if limit == 0 {
		limit = defaultPageSize
	}
	binding := []string{"list", q.Scope, string(q.Status), q.EmailKey, q.Inviter}
	plan := planList(q)
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(plan.index),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  plan.names,
		ExpressionAttributeValues: plan.values,
		ScanIndexForward:          aws.Bool(false),
		// One more than the page tells whether another page exists without a second
		// request.
		Limit: aws.Int32(int32(limit + 1)),
	}
	if plan.filter != "" {
		in.FilterExpression = aws.String(plan.filter)
	}
	if q.Cursor != "" {
		pos, err := s.cursors.open(q.Cursor, binding)
		if err != nil {
			return nil, fmt.Errorf("dynamo: %s: %w", op, err)
		}
		id, ok := idFromSK(pos)
		if !ok {
			return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("cursor", "the cursor is malformed"))
		}
		in.ExclusiveStartKey = invitationKey(id)
		in.ExclusiveStartKey[plan.pkAttr] = str(plan.pkValue)
		in.ExclusiveStartKey[attrListSK] = str(pos)
	}

	var positions []string
	next := ""
	for round := 1; ; round++ {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, s.fail(op, err)
		}
		for _, item := range out.Items {
			positions = append(positions, (&decoder{m: item}).s(attrListSK))
		}
		if len(positions) > limit {
			positions = positions[:limit]
			next = positions[limit-1]
			break
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		if len(positions) == limit {
			next = positions[limit-1]
			break
		}
		if round == maxListRounds {
			// The read budget of a filtered listing is spent: a short page, and the
			// next one starts after what was read.
			next = (&decoder{m: out.LastEvaluatedKey}).s(attrListSK)
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}

	ids := make([]string, 0, len(positions))
	for _, pos := range positions {
		if id, ok := idFromSK(pos); ok {
			ids = append(ids, id)
		}
	}
	invs, err := s.getInvitations(ctx, op, ids, false)
	if err != nil {
		return nil, err
	}
	// The indexes lag the table a little: drop what no longer matches.
	invs = slices.DeleteFunc(invs, func(inv *invite.Invitation) bool { return !matches(q, inv) })
	page := &invite.Page{Invitations: invs}
	if next != "" {
		page.NextCursor = s.cursors.seal(binding, next)
	}
	return page, nil
}

// ExpiringBefore implements invite.Store. Every shard of the expiry index is queried
// (in parallel) for its first limit+1 keys after the cursor, the shards are merged in
// expiry order, and the first limit invitations are read with one BatchGetItem. limit
// is clamped to 1..100 (0 means 100).
func (s *Store) ExpiringBefore(ctx context.Context, t time.Time, limit int, cursor string) (*invite.Page, error) {
	return s.before(ctx, sparseIndex{
		op: "list expiring invitations", binding: "expiry", name: IndexExpiry, pk: attrExpPK, sk: attrExpSK, shardKey: expiryPK,
		// The index lags the table: drop invitations that have just finished or been
		// extended.
		keep: func(inv *invite.Invitation) bool {
			return inv.Status == invite.StatusPending && inv.ExpiresAt.Before(t)
		},
	}, t, limit, cursor)
}

// DueBefore implements invite.SweepStore on the due index, as ExpiringBefore.
func (s *Store) DueBefore(ctx context.Context, t time.Time, limit int, cursor string) (*invite.Page, error) {
	return s.before(ctx, sparseIndex{
		op: "list invitations with work due", binding: "due", name: IndexDue, pk: attrDuePK, sk: attrDueSK, shardKey: duePK,
		keep: func(inv *invite.Invitation) bool {
			at, ok := inv.DueAt()
			return ok && at.Before(t)
		},
	}, t, limit, cursor)
}

// RemindBefore implements invite.SweepStore on the reminder index, as ExpiringBefore.
func (s *Store) RemindBefore(ctx context.Context, t time.Time, limit int, cursor string) (*invite.Page, error) {
	return s.before(ctx, sparseIndex{
		op: "list invitations awaiting a reminder", binding: "reminder", name: IndexReminder, pk: attrRemPK, sk: attrRemSK, shardKey: reminderPK,
		keep: func(inv *invite.Invitation) bool {
			return inv.AwaitsReminder() && inv.ExpiresAt.Before(t)
		},
	}, t, limit, cursor)
}

var _ invite.SweepStore = (*Store)(nil)

// sparseIndex is one of the sweeper's sharded indexes, whose sort key is
// <time>#<id>; keep drops what the index still lists but the table no longer
// qualifies (an index lags its table).
type sparseIndex struct {
	op, binding, name, pk, sk string
	shardKey                  func(n int) string
	keep                      func(*invite.Invitation) bool
}

// before pages through ix's keys before t in time order across every shard.
func (s *Store) before(ctx context.Context, ix sparseIndex, t time.Time, limit int, cursor string) (*invite.Page, error) {
	op := ix.op
	if limit <= 0 || limit > maxPageSize {
		limit = maxPageSize
	}
	binding := []string{ix.binding}
	cond := "#pk = :pk AND #sk < :hi"
	values := map[string]types.AttributeValue{":hi": str(fmtTime(t))}
	if cursor != "" {
		pos, err := s.cursors.open(cursor, binding)
		if err != nil {
			return nil, fmt.Errorf("dynamo: %s: %w", op, err)
		}
		// pos+"\x00" is the least string after pos; no sort key equals :hi (they all
		// end in #<id>), so BETWEEN is the half-open range (pos, hi).
		lo := pos + "\x00"
		if lo > fmtTime(t) {
			return &invite.Page{}, nil
		}
		cond = "#pk = :pk AND #sk BETWEEN :lo AND :hi"
		values[":lo"] = str(lo)
	}

	type result struct {
		keys []string
		more bool
		err  error
	}
	results := make([]result, s.opts.ExpiryShards)
	var wg sync.WaitGroup
	for n := range s.opts.ExpiryShards {
		wg.Go(func() {
			vals := make(map[string]types.AttributeValue, len(values)+1)
			for k, v := range values {
				vals[k] = v
			}
			vals[":pk"] = str(ix.shardKey(n))
			out, err := s.db.Query(ctx, &dynamodb.QueryInput{
				TableName:                 &s.table,
				IndexName:                 aws.String(ix.name),
				KeyConditionExpression:    aws.String(cond),
				ExpressionAttributeNames:  map[string]string{"#pk": ix.pk, "#sk": ix.sk},
				ExpressionAttributeValues: vals,
				Limit:                     aws.Int32(int32(limit + 1)),
			})
			if err != nil {
				results[n].err = err
				return
			}
			for _, item := range out.Items {
				results[n].keys = append(results[n].keys, (&decoder{m: item}).s(ix.sk))
			}
			results[n].more = out.LastEvaluatedKey != nil
		})
	}
	wg.Wait()

	var all []string
	more := false
	for n, r := range results {
		if r.err != nil {
			return nil, s.fail(fmt.Sprintf("%s: shard %d", op, n), r.err)
		}
		all = append(all, r.keys...)
		// A shard that stopped early (1 MB) without returning limit+1 keys may hold
		// more than it returned.
		more = more || (r.more && len(r.keys) <= limit)
	}
	slices.Sort(all)
	if len(all) > limit {
		all, more = all[:limit], true
	}
	ids := make([]string, 0, len(all))
	for _, k := range all {
		if id, ok := idFromSK(k); ok {
			ids = append(ids, id)
		}
	}
	// Eventually consistent, at half the cost: the sweeper's conditional update refuses
	// a stale copy, and the next run sees the invitation again.
	invs, err := s.getInvitations(ctx, op, ids, false)
	if err != nil {
		return nil, err
	}
	invs = slices.DeleteFunc(invs, func(inv *invite.Invitation) bool { return !ix.keep(inv) })
	page := &invite.Page{Invitations: invs}
	if more && len(all) > 0 {
		page.NextCursor = s.cursors.seal(binding, all[len(all)-1])
	}
	return page, nil
}
