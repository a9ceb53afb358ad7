package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

// The join flows' items, in the same table and through the same indexes as the
// invitations (no new index, so deployed tables take them as they are):
//   - the access request AREQ#<id> / AREQ; while verified it carries the listing
//     keys lst_scope, lst_status and lst_email under values of its own
//     ("areq|<scope>…"), which no invitation's scope can spell, and while open the
//     expiry keys exp_pk AEXP#<shard> / exp_sk, which the invitations' sweeper never
//     queries (it reads EXP#<shard>);
//   - its verification token AREQTOK#<sha256> / TOK and, while open, its reservation
//     AREQRES#<scope>#<email key> / RES, both naming the request;
//   - the join policy JOINPOL#<scope> / POL;
//   - the invite link LINK#<id> / LINK (listed through lst_scope "link|<scope>"), its
//     token LINKTOK#<sha256> / TOK, and its redemptions LINK#<id> / RED#<at>#<request>.
//
// Every item carries "item" naming its kind, so that a reader of the table's stream
// tells them apart.
const (
	skAccessRequest = "AREQ"
	skPolicy        = "POL"
	skLink          = "LINK"
	attrItemKind    = "item"
	attrRef         = "ref_id"
	attrUses        = "uses"
	attrMaxUses     = "max_uses"
	attrRevokedAt   = "revoked_at"
	attrExpiresAt   = "expires_at"
)

var _ invite.JoinStore = (*Store)(nil)

func requestKey(id string) map[string]types.AttributeValue { return key("AREQ#"+id, skAccessRequest) }
func requestTokenKey(hash string) map[string]types.AttributeValue {
	return key("AREQTOK#"+hash, skToken)
}
func requestReservationKey(r *invite.AccessRequest) map[string]types.AttributeValue {
	return key("AREQRES#"+escapeScope(r.Scope())+"#"+invite.EmailKey(r.Email), skReservation)
}
func policyKey(scope string) map[string]types.AttributeValue {
	return key("JOINPOL#"+escapeScope(scope), skPolicy)
}
func linkKey(id string) map[string]types.AttributeValue { return key("LINK#"+id, skLink) }
func linkTokenKey(hash string) map[string]types.AttributeValue {
	return key("LINKTOK#"+hash, skToken)
}

func requestListScope(scope string) string { return "areq|" + escapeScope(scope) }
func linkListScope(scope string) string    { return "link|" + escapeScope(scope) }
func requestExpiryPK(n int) string         { return "AEXP#" + fmt.Sprint(n) }

func refItem(k map[string]types.AttributeValue, id string, ttl int64) map[string]types.AttributeValue {
	k[attrRef] = str(id)
	if ttl > 0 {
		k[attrTTL] = num(ttl)
	}
	return k
}

func setL(m map[string]types.AttributeValue, name string, vs []string) {
	if len(vs) == 0 {
		return
	}
	l := make([]types.AttributeValue, len(vs))
	for i, v := range vs {
		l[i] = str(v)
	}
	m[name] = &types.AttributeValueMemberL{Value: l}
}

func (d *decoder) strings(name string) []string {
	l := d.list(name)
	if len(l) == 0 {
		return nil
	}
	out := make([]string, len(l))
	for i, v := range l {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			d.fail(name, fmt.Errorf("element %d has type %T, want S", i, v))
			return nil
		}
		out[i] = s.Value
	}
	return out
}

func setHistory(m map[string]types.AttributeValue, hist []invite.Event) {
	if len(hist) == 0 {
		return
	}
	l := make([]types.AttributeValue, len(hist))
	for i, e := range hist {
		em := make(map[string]types.AttributeValue, 4)
		setS(em, "event", e.Event)
		setT(em, "at", e.At)
		setS(em, "actor", e.Actor)
		setS(em, "detail", e.Detail)
		l[i] = &types.AttributeValueMemberM{Value: em}
	}
	m["history"] = &types.AttributeValueMemberL{Value: l}
}

func (d *decoder) history() []invite.Event {
	hist := d.list("history")
	if len(hist) == 0 {
		return nil
	}
	out := make([]invite.Event, len(hist))
	for i, h := range hist {
		hm, ok := h.(*types.AttributeValueMemberM)
		if !ok {
			d.fail("history", fmt.Errorf("element %d has type %T, want M", i, h))
			return nil
		}
		hd := &decoder{m: hm.Value}
		out[i] = invite.Event{Event: hd.s("event"), At: hd.t("at"), Actor: hd.s("actor"), Detail: hd.s("detail")}
		if hd.err != nil {
			d.fail("history", hd.err)
		}
	}
	return out
}

// requestItem is the stored form of r, with the index keys its state calls for.
func (s *Store) requestItem(r *invite.AccessRequest) map[string]types.AttributeValue {
	m := requestKey(r.ID)
	m[attrItemKind] = str("access_request")
	setS(m, attrID, r.ID)
	setS(m, "email", r.Email)
	setS(m, "email_key", invite.EmailKey(r.Email))
	setS(m, "name", r.Name)
	setS(m, "org_id", r.OrganizationID)
	setS(m, "note", r.Note)
	setS(m, "link_id", r.LinkID)
	setS(m, attrStatus, string(r.Status))
	setT(m, "created_at", r.CreatedAt)
	setT(m, attrExpiresAt, r.ExpiresAt)
	setT(m, "verified_at", r.VerifiedAt)
	setT(m, "decided_at", r.DecidedAt)
	setS(m, "decider_sub", r.Decider.Sub)
	setS(m, "decider_name", r.Decider.Name)
	setL(m, "roles", r.Roles)
	setS(m, "invitation_id", r.InvitationID)
	setS(m, "deny_note", r.DenyNote)
	setS(m, "token_hash", r.TokenHash)
	setHistory(m, r.History)
	m[attrVersion] = num(int64(r.Version))
	sk := fmtTime(r.CreatedAt) + "#" + r.ID
	if r.Status != invite.RequestUnverified {
		scope := requestListScope(r.Scope())
		m[attrListScope] = str(scope)
		m[attrListStatus] = str(scope + "#" + string(r.Status))
		m[attrListEmail] = str(scope + "#" + invite.EmailKey(r.Email))
		m[attrListSK] = str(sk)
	}
	if r.Status.Open() {
		m[attrExpPK] = str(requestExpiryPK(shard(r.ID, s.opts.ExpiryShards)))
		m[attrExpSK] = str(fmtTime(r.ExpiresAt) + "#" + r.ID)
	} else {
		m[attrTTL] = num(s.opts.Now().Add(s.opts.Retention).Unix())
	}
	return m
}

func decodeRequest(m map[string]types.AttributeValue) (*invite.AccessRequest, error) {
	d := &decoder{m: m}
	r := &invite.AccessRequest{
		ID: d.s(attrID), Email: d.s("email"), Name: d.s("name"), OrganizationID: d.s("org_id"), Note: d.s("note"),
		LinkID: d.s("link_id"), Status: invite.RequestStatus(d.s(attrStatus)), CreatedAt: d.t("created_at"),
		ExpiresAt: d.t(attrExpiresAt), VerifiedAt: d.t("verified_at"), DecidedAt: d.t("decided_at"),
		Decider: invite.Inviter{Sub: d.s("decider_sub"), Name: d.s("decider_name")}, Roles: d.strings("roles"),
		InvitationID: d.s("invitation_id"), DenyNote: d.s("deny_note"), TokenHash: d.s("token_hash"),
		History: d.history(), Version: d.n(attrVersion),
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

// CreateRequest implements invite.JoinStore: one transaction of the request, its
// token item and its reservation.
func (s *Store) CreateRequest(ctx context.Context, r *invite.AccessRequest) error {
	op := "create access request " + r.ID
	items := []txItem{{
		write:    put(s.requestItem(r), s.table, condNotExists, notExists, nil),
		conflict: func(types.CancellationReason) *invite.Error { return conflict("", "access request %s exists", r.ID) },
	}}
	if r.TokenHash != "" {
		items = append(items, txItem{
			write:    put(refItem(requestTokenKey(r.TokenHash), r.ID, r.ExpiresAt.Unix()), s.table, condNotExists, notExists, nil),
			conflict: func(types.CancellationReason) *invite.Error { return conflict("", "the token is taken") },
		})
	}
	if r.Status.Open() {
		res := refItem(requestReservationKey(r), r.ID, 0)
		res[attrRef] = str(r.ID)
		items = append(items, txItem{
			write: types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: res,
				ConditionExpression:      aws.String(condNotExists),
				ExpressionAttributeNames: notExists, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
			conflict: func(reason types.CancellationReason) *invite.Error {
				return conflict((&decoder{m: reason.Item}).s(attrRef), "an open request for this address exists")
			},
		})
	}
	err := s.transact(ctx, op, items)
	var e *invite.Error
	if !errors.As(err, &e) || e.ExistingID == "" {
		return err
	}
	// The reservation names another request. One that is no longer open left it
	// behind (UpdateRequest removes it after the request closed, and a cut write can
	// keep it): it is removed, and the request written once more.
	old, gerr := s.GetRequest(ctx, e.ExistingID)
	if gerr != nil || old.Status.Open() {
		return err
	}
	derr := s.deleteItem(ctx, op, requestReservationKey(r), "#r = :id",
		map[string]string{"#r": attrRef}, map[string]types.AttributeValue{":id": str(old.ID)})
	if derr != nil && !conditionFailed(derr) {
		return s.fail(op, derr)
	}
	return s.transact(ctx, op, items)
}

// GetRequest implements invite.JoinStore.
func (s *Store) GetRequest(ctx context.Context, id string) (*invite.AccessRequest, error) {
	op := "get access request " + id
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: requestKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, s.fail(op, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("dynamo: %s: %w", op, notFound("access request %s not found", id))
	}
	r, err := decodeRequest(out.Item)
	if err != nil {
		return nil, s.fail(op, err)
	}
	return r, nil
}

// ref reads the id a token or reservation item names.
func (s *Store) ref(ctx context.Context, op string, k map[string]types.AttributeValue) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", s.fail(op, err)
	}
	id := (&decoder{m: out.Item}).s(attrRef)
	if id == "" {
		return "", fmt.Errorf("dynamo: %s: %w", op, notFound("no item has this token"))
	}
	return id, nil
}

// GetRequestByTokenHash implements invite.JoinStore.
func (s *Store) GetRequestByTokenHash(ctx context.Context, hash string) (*invite.AccessRequest, error) {
	id, err := s.ref(ctx, "resolve verification token", requestTokenKey(hash))
	if err != nil {
		return nil, err
	}
	r, err := s.GetRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.TokenHash != hash {
		return nil, fmt.Errorf("dynamo: resolve verification token: %w", notFound("the token was replaced"))
	}
	return r, nil
}

// UpdateRequest implements invite.JoinStore.
func (s *Store) UpdateRequest(ctx context.Context, prev, next *invite.AccessRequest) error {
	op := "update access request " + prev.ID
	if next.Version != prev.Version+1 {
		return fmt.Errorf("dynamo: %s: %w", op, invite.Errorf(invite.CodeConflict, "next version must follow the one read"))
	}
	stale := func(types.CancellationReason) *invite.Error {
		return conflict("", "access request %s changed", prev.ID)
	}
	items := []txItem{{
		write: put(s.requestItem(next), s.table, "#v = :v", map[string]string{"#v": attrVersion},
			map[string]types.AttributeValue{":v": num(int64(prev.Version))}),
		conflict: stale,
	}}
	if next.TokenHash != prev.TokenHash {
		if next.TokenHash != "" {
			items = append(items, txItem{
				write:    put(refItem(requestTokenKey(next.TokenHash), next.ID, next.ExpiresAt.Unix()), s.table, condNotExists, notExists, nil),
				conflict: func(types.CancellationReason) *invite.Error { return conflict("", "the token is taken") },
			})
		}
		if prev.TokenHash != "" {
			items = append(items, txItem{write: del(requestTokenKey(prev.TokenHash), s.table, "", nil, nil)})
		}
	}
	if err := s.transact(ctx, op, items); err != nil {
		return err
	}
	if prev.Status.Open() && !next.Status.Open() {
		// The reservation goes after the request closed: one left behind by a cut
		// write names a request that is no longer open, which reserve-style readers
		// ignore; a reservation already taken over by a newer request stays.
		err := s.deleteItem(ctx, op, requestReservationKey(prev), "#r = :id",
			map[string]string{"#r": attrRef}, map[string]types.AttributeValue{":id": str(prev.ID)})
		if err != nil && !conditionFailed(err) {
			return s.fail(op, err)
		}
	}
	return nil
}

// getRequests reads requests by key in one BatchGetItem, in the order of keys.
func (s *Store) getRequests(ctx context.Context, op string, ids []string) ([]*invite.AccessRequest, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = requestKey(id)
	}
	items, err := s.batchGet(ctx, op, keys, false)
	if err != nil {
		return nil, err
	}
	byID := map[string]*invite.AccessRequest{}
	for _, it := range items {
		r, err := decodeRequest(it)
		if err != nil {
			return nil, s.fail(op, err)
		}
		byID[r.ID] = r
	}
	out := make([]*invite.AccessRequest, 0, len(ids))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// listKeys reads one page of positions (lst_sk) from a listing index partition,
// newest first.
func (s *Store) listKeys(ctx context.Context, op, index, pkAttr, pkValue string, binding []string, tableKey func(id string) map[string]types.AttributeValue, limit int, cursor string) ([]string, string, error) {
	if limit < 0 || limit > maxPageSize {
		return nil, "", fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("limit", "limit must be between 1 and %d", maxPageSize))
	}
	if limit == 0 {
		limit = defaultPageSize
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(index),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pkValue)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit + 1)),
	}
	if cursor != "" {
		pos, err := s.cursors.open(cursor, binding)
		if err != nil {
			return nil, "", fmt.Errorf("dynamo: %s: %w", op, err)
		}
		id, ok := idFromSK(pos)
		if !ok {
			return nil, "", fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("cursor", "the cursor is malformed"))
		}
		in.ExclusiveStartKey = tableKey(id)
		in.ExclusiveStartKey[pkAttr] = str(pkValue)
		in.ExclusiveStartKey[attrListSK] = str(pos)
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", s.fail(op, err)
	}
	var positions []string
	for _, item := range out.Items {
		positions = append(positions, (&decoder{m: item}).s(attrListSK))
	}
	next := ""
	if len(positions) > limit {
		positions = positions[:limit]
		next = s.cursors.seal(binding, positions[limit-1])
	}
	ids := make([]string, 0, len(positions))
	for _, pos := range positions {
		if id, ok := idFromSK(pos); ok {
			ids = append(ids, id)
		}
	}
	return ids, next, nil
}

// ListRequests implements invite.JoinStore: a Query on the listing index that the
// filters make most selective (email, then status, then the scope), then one
// BatchGetItem.
func (s *Store) ListRequests(ctx context.Context, q invite.RequestQuery) (*invite.RequestPage, error) {
	const op = "list access requests"
	q.EmailKey = invite.EmailKey(q.EmailKey)
	scope := requestListScope(q.Scope)
	index, pkAttr, pkValue := IndexScope, attrListScope, scope
	switch {
	case q.EmailKey != "":
		index, pkAttr, pkValue = IndexScopeEmail, attrListEmail, scope+"#"+q.EmailKey
	case q.Status != "":
		index, pkAttr, pkValue = IndexScopeStatus, attrListStatus, scope+"#"+string(q.Status)
	}
	binding := []string{"areq", q.Scope, string(q.Status), q.EmailKey}
	// A status filter together with an email is applied after the read: an address has
	// a handful of requests.
	ids, next, err := s.listKeys(ctx, op, index, pkAttr, pkValue, binding, requestKey, q.Limit, q.Cursor)
	if err != nil {
		return nil, err
	}
	reqs, err := s.getRequests(ctx, op, ids)
	if err != nil {
		return nil, err
	}
	if q.EmailKey != "" && q.Status != "" {
		reqs = slices.DeleteFunc(reqs, func(r *invite.AccessRequest) bool { return r.Status != q.Status })
	}
	return &invite.RequestPage{Requests: reqs, NextCursor: next}, nil
}

// RequestsExpiringBefore implements invite.JoinStore through the expiry index's
// AEXP#<shard> partitions.
func (s *Store) RequestsExpiringBefore(ctx context.Context, t time.Time, limit int) ([]*invite.AccessRequest, error) {
	const op = "find expiring access requests"
	if limit <= 0 || limit > maxPageSize {
		limit = maxPageSize
	}
	var ids []string
	for n := 0; n < s.opts.ExpiryShards && len(ids) < limit; n++ {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: &s.table, IndexName: aws.String(IndexExpiry),
			KeyConditionExpression:    aws.String("#pk = :pk AND #sk < :t"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrExpPK, "#sk": attrExpSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(requestExpiryPK(n)), ":t": str(fmtTime(t))},
			Limit:                     aws.Int32(int32(limit - len(ids))),
		})
		if err != nil {
			return nil, s.fail(op, err)
		}
		for _, item := range out.Items {
			if id, ok := idFromSK((&decoder{m: item}).s(attrExpSK)); ok {
				ids = append(ids, id)
			}
		}
	}
	reqs, err := s.getRequests(ctx, op, ids)
	if err != nil {
		return nil, err
	}
	// The index is eventually consistent: keep what is still open and due.
	return slices.DeleteFunc(reqs, func(r *invite.AccessRequest) bool { return !r.Status.Open() || !r.ExpiresAt.Before(t) }), nil
}

// JoinPolicy implements invite.JoinStore.
func (s *Store) JoinPolicy(ctx context.Context, scope string) (*invite.JoinPolicy, error) {
	op := "get join policy of " + scope
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: policyKey(scope), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, s.fail(op, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("dynamo: %s: %w", op, notFound("no join policy for %s", scope))
	}
	d := &decoder{m: out.Item}
	p := &invite.JoinPolicy{Scope: d.s("scope"), Default: invite.JoinRule{Mode: invite.JoinMode(d.s("mode")), Roles: d.strings("roles")},
		UpdatedAt: d.t("updated_at"), UpdatedBy: d.s("updated_by"), Version: d.n(attrVersion)}
	if dm, ok := out.Item["domains"].(*types.AttributeValueMemberM); ok && len(dm.Value) > 0 {
		p.Domains = make(map[string]invite.JoinRule, len(dm.Value))
		for dom := range dm.Value {
			rd := d.sub("domains").sub(dom)
			p.Domains[dom] = invite.JoinRule{Mode: invite.JoinMode(rd.s("mode")), Roles: rd.strings("roles")}
			if rd.err != nil {
				d.fail("domains", rd.err)
			}
		}
	}
	if d.err != nil {
		return nil, s.fail(op, d.err)
	}
	return p, nil
}

// PutJoinPolicy implements invite.JoinStore; the version counts the puts.
func (s *Store) PutJoinPolicy(ctx context.Context, p *invite.JoinPolicy) error {
	op := "put join policy of " + p.Scope
	vals := map[string]types.AttributeValue{
		":kind": str("join_policy"), ":scope": str(p.Scope), ":mode": str(string(p.Default.Mode)),
		":roles": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}, ":domains": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		":at": str(fmtTime(p.UpdatedAt)), ":by": str(p.UpdatedBy), ":one": num(1), ":zero": num(0),
	}
	if len(p.Default.Roles) > 0 {
		m := map[string]types.AttributeValue{}
		setL(m, "r", p.Default.Roles)
		vals[":roles"] = m["r"]
	}
	dm := map[string]types.AttributeValue{}
	for dom, r := range p.Domains {
		rm := map[string]types.AttributeValue{}
		setS(rm, "mode", string(r.Mode))
		setL(rm, "roles", r.Roles)
		dm[dom] = &types.AttributeValueMemberM{Value: rm}
	}
	vals[":domains"] = &types.AttributeValueMemberM{Value: dm}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: policyKey(p.Scope),
		UpdateExpression: aws.String("SET #item = :kind, #scope = :scope, #mode = :mode, #roles = :roles, #domains = :domains, " +
			"#at = :at, #by = :by, #v = if_not_exists(#v, :zero) + :one"),
		ExpressionAttributeNames: map[string]string{"#item": attrItemKind, "#scope": "scope", "#mode": "mode", "#roles": "roles",
			"#domains": "domains", "#at": "updated_at", "#by": "updated_by", "#v": attrVersion},
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return s.fail(op, err)
	}
	p.Version = (&decoder{m: out.Attributes}).n(attrVersion)
	return nil
}

func linkItem(l *invite.InviteLink) map[string]types.AttributeValue {
	m := linkKey(l.ID)
	m[attrItemKind] = str("invite_link")
	setS(m, attrID, l.ID)
	setS(m, "org_id", l.OrganizationID)
	setL(m, "roles", l.Roles)
	m[attrMaxUses] = num(int64(l.MaxUses))
	m[attrUses] = num(int64(l.Uses))
	setL(m, "allowed_domains", l.AllowedDomains)
	setT(m, attrExpiresAt, l.ExpiresAt)
	if l.RequiresApproval {
		m["requires_approval"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	setS(m, "creator_sub", l.Creator.Sub)
	setS(m, "creator_name", l.Creator.Name)
	setT(m, "created_at", l.CreatedAt)
	setT(m, attrRevokedAt, l.RevokedAt)
	setS(m, "token_hash", l.TokenHash)
	m[attrVersion] = num(int64(l.Version))
	m[attrListScope] = str(linkListScope(l.Scope()))
	m[attrListSK] = str(fmtTime(l.CreatedAt) + "#" + l.ID)
	return m
}

func decodeLink(m map[string]types.AttributeValue) (*invite.InviteLink, error) {
	d := &decoder{m: m}
	l := &invite.InviteLink{ID: d.s(attrID), OrganizationID: d.s("org_id"), Roles: d.strings("roles"), MaxUses: d.n(attrMaxUses),
		Uses: d.n(attrUses), AllowedDomains: d.strings("allowed_domains"), ExpiresAt: d.t(attrExpiresAt),
		RequiresApproval: d.b("requires_approval"), Creator: invite.Inviter{Sub: d.s("creator_sub"), Name: d.s("creator_name")},
		CreatedAt: d.t("created_at"), RevokedAt: d.t(attrRevokedAt), TokenHash: d.s("token_hash"), Version: d.n(attrVersion)}
	if d.err != nil {
		return nil, d.err
	}
	return l, nil
}

// CreateLink implements invite.JoinStore.
func (s *Store) CreateLink(ctx context.Context, l *invite.InviteLink) error {
	taken := func(types.CancellationReason) *invite.Error { return conflict("", "the link or its token exists") }
	return s.transact(ctx, "create invite link "+l.ID, []txItem{
		{write: put(linkItem(l), s.table, condNotExists, notExists, nil), conflict: taken},
		{write: put(refItem(linkTokenKey(l.TokenHash), l.ID, 0), s.table, condNotExists, notExists, nil), conflict: taken},
	})
}

// GetLink implements invite.JoinStore.
func (s *Store) GetLink(ctx context.Context, id string) (*invite.InviteLink, error) {
	op := "get invite link " + id
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: linkKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, s.fail(op, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("dynamo: %s: %w", op, notFound("invite link %s not found", id))
	}
	l, err := decodeLink(out.Item)
	if err != nil {
		return nil, s.fail(op, err)
	}
	return l, nil
}

// GetLinkByTokenHash implements invite.JoinStore.
func (s *Store) GetLinkByTokenHash(ctx context.Context, hash string) (*invite.InviteLink, error) {
	id, err := s.ref(ctx, "resolve invite link token", linkTokenKey(hash))
	if err != nil {
		return nil, err
	}
	return s.GetLink(ctx, id)
}

// ListLinks implements invite.JoinStore.
func (s *Store) ListLinks(ctx context.Context, scope string, limit int, cursor string) (*invite.LinkPage, error) {
	const op = "list invite links"
	ids, next, err := s.listKeys(ctx, op, IndexScope, attrListScope, linkListScope(scope), []string{"link", scope}, linkKey, limit, cursor)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return &invite.LinkPage{}, nil
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = linkKey(id)
	}
	items, err := s.batchGet(ctx, op, keys, false)
	if err != nil {
		return nil, err
	}
	byID := map[string]*invite.InviteLink{}
	for _, it := range items {
		l, err := decodeLink(it)
		if err != nil {
			return nil, s.fail(op, err)
		}
		byID[l.ID] = l
	}
	page := &invite.LinkPage{NextCursor: next}
	for _, id := range ids {
		if l, ok := byID[id]; ok {
			page.Links = append(page.Links, l)
		}
	}
	return page, nil
}

// RevokeLink implements invite.JoinStore.
func (s *Store) RevokeLink(ctx context.Context, id string, at time.Time) error {
	op := "revoke invite link " + id
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: linkKey(id),
		UpdateExpression:          aws.String("SET #rev = :at, #v = #v + :one"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND attribute_not_exists(#rev)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#rev": attrRevokedAt, "#v": attrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": str(fmtTime(at)), ":one": num(1)},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("dynamo: %s: %w", op, conflict("", "the link is unknown or revoked already"))
	}
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// ClaimLinkUse implements invite.JoinStore. The use is one conditional UpdateItem
// (uses < max_uses, not revoked, not expired): DynamoDB applies writes to one item one
// at a time, so concurrent claims never take more than max_uses, and, unlike a
// transaction, a claim never fails for having raced another. The redemption is
// written after it.
func (s *Store) ClaimLinkUse(ctx context.Context, red invite.Redemption) error {
	op := "claim a use of invite link " + red.LinkID
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: linkKey(red.LinkID),
		UpdateExpression: aws.String("SET #uses = #uses + :one, #v = #v + :one"),
		ConditionExpression: aws.String("attribute_exists(#pk) AND #uses < #max AND attribute_not_exists(#rev) AND " +
			"(attribute_not_exists(#exp) OR #exp > :now)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#uses": attrUses, "#max": attrMaxUses, "#rev": attrRevokedAt,
			"#exp": attrExpiresAt, "#v": attrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":now": str(fmtTime(red.At))},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("dynamo: %s: %w", op, conflict("", "the link is revoked, expired or spent"))
	}
	if err != nil {
		return s.fail(op, err)
	}
	m := key("LINK#"+red.LinkID, "RED#"+fmtTime(red.At)+"#"+red.RequestID)
	m[attrItemKind] = str("link_redemption")
	setS(m, "link_id", red.LinkID)
	setS(m, "request_id", red.RequestID)
	setS(m, "email", red.Email)
	setT(m, "at", red.At)
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: m}); err != nil {
		return s.fail(op+": record the redemption", err)
	}
	return nil
}

// SetRedemptionInvitation implements invite.JoinStore.
func (s *Store) SetRedemptionInvitation(ctx context.Context, linkID, requestID, invitationID string) error {
	op := "record the invitation of a redemption of " + linkID
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :red)"),
		FilterExpression:          aws.String("#req = :req"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK, "#req": "request_id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("LINK#" + linkID), ":red": str("RED#"), ":req": str(requestID)},
	})
	if err != nil {
		return s.fail(op, err)
	}
	if len(out.Items) == 0 {
		return fmt.Errorf("dynamo: %s: %w", op, notFound("no redemption of %s by %s", linkID, requestID))
	}
	d := &decoder{m: out.Items[0]}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(d.s(attrPK), d.s(attrSK)),
		UpdateExpression:          aws.String("SET #inv = :inv"),
		ExpressionAttributeNames:  map[string]string{"#inv": "invitation_id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":inv": str(invitationID)},
	})
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// Redemptions implements invite.JoinStore: a Query of the link's partition.
func (s *Store) Redemptions(ctx context.Context, linkID string, limit int) ([]invite.Redemption, error) {
	op := "redemptions of " + linkID
	if limit <= 0 || limit > maxPageSize {
		limit = maxPageSize
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :red)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("LINK#" + linkID), ":red": str("RED#")},
		Limit:                     aws.Int32(int32(limit)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, s.fail(op, err)
	}
	reds := make([]invite.Redemption, 0, len(out.Items))
	for _, it := range out.Items {
		d := &decoder{m: it}
		reds = append(reds, invite.Redemption{LinkID: d.s("link_id"), RequestID: d.s("request_id"), Email: d.s("email"),
			At: d.t("at"), InvitationID: d.s("invitation_id")})
		if d.err != nil {
			return nil, s.fail(op, d.err)
		}
	}
	return reds, nil
}

// put and del are one Put or Delete of a transaction (cond "" for none).
func put(item map[string]types.AttributeValue, table, cond string, names map[string]string, values map[string]types.AttributeValue) types.TransactWriteItem {
	p := &types.Put{TableName: &table, Item: item}
	if cond != "" {
		p.ConditionExpression = aws.String(cond)
		p.ExpressionAttributeNames = names
		p.ExpressionAttributeValues = values
	}
	return types.TransactWriteItem{Put: p}
}

func del(k map[string]types.AttributeValue, table, cond string, names map[string]string, values map[string]types.AttributeValue) types.TransactWriteItem {
	d := &types.Delete{TableName: &table, Key: k}
	if cond != "" {
		d.ConditionExpression = aws.String(cond)
		d.ExpressionAttributeNames = names
		d.ExpressionAttributeValues = values
	}
	return types.TransactWriteItem{Delete: d}
}
