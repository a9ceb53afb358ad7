// Package dynamo keeps Doorman's invitations in one DynamoDB table: it implements
// invite.Store, defines the table (Schema, EnsureTable) for local runs and for the CDK
// stack, and keeps idempotency records and processed log ids. Every change of an
// invitation is one conditional PutItem on its status and version, so that races
// between API, webhook and sweeper have exactly one winner; its reservation, link
// token and lookup items are plain writes ordered around it (Create).
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

// api is the part of the DynamoDB client the Store uses.
type api interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Defaults of Options.
const (
	DefaultRetention    = 90 * 24 * time.Hour
	DefaultExpiryShards = 8
	MinCursorKeyLen     = 32
)

const (
	defaultPageSize = 50
	maxPageSize     = 100 // also BatchGetItem's limit
	maxBatchUsers   = 100
	// maxAttempts bounds the Store's own retries of transaction conflicts and of
	// unprocessed batch keys (the SDK retries throttling before that).
	maxAttempts = 8
	// maxListRounds bounds the index reads of one List call whose filters are partly
	// applied by a filter expression; the page may then come back short, with a cursor.
	maxListRounds = 4
)

// Options configure a Store.
type Options struct {
	// CursorKey signs list and expiry cursors (HMAC-SHA256); at least 32 bytes, and
	// the same in every function that reads the cursors.
	CursorKey []byte
	// Retention is how long finished invitations stay before DynamoDB's TTL removes
	// them (default 90 days).
	Retention time.Duration
	// ExpiryShards is the number of partitions of the expiry index (default 8). It
	// may grow but must never shrink while pending invitations exist.
	ExpiryShards int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Backoff is the wait before retry number attempt (1, 2, ...) of a transaction
	// that lost a race or of unprocessed batch keys (default: exponential from 10ms,
	// capped at 500ms, full jitter).
	Backoff func(attempt int) time.Duration
}

// Store is invite.Store on DynamoDB.
type Store struct {
	db      api
	table   string
	opts    Options
	cursors cursors
}

var _ invite.Store = (*Store)(nil)

// New returns a Store on table. It fails when the cursor key is shorter than 32 bytes.
func New(client api, table string, opts Options) (*Store, error) {
	if len(opts.CursorKey) < MinCursorKeyLen {
		return nil, fmt.Errorf("dynamo: cursor key has %d bytes, want at least %d", len(opts.CursorKey), MinCursorKeyLen)
	}
	if table == "" {
		return nil, errors.New("dynamo: table name is empty")
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.ExpiryShards <= 0 {
		opts.ExpiryShards = DefaultExpiryShards
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Backoff == nil {
		opts.Backoff = jitteredBackoff
	}
	return &Store{db: client, table: table, opts: opts, cursors: cursors{key: opts.CursorKey}}, nil
}

func jitteredBackoff(attempt int) time.Duration {
	ceiling := min(10*time.Millisecond<<min(attempt, 6), 500*time.Millisecond)
	return rand.N(ceiling) + time.Millisecond
}

func (s *Store) sleep(ctx context.Context, attempt int) error {
	return invite.Sleep(ctx, s.opts.Backoff(attempt))
}

// ttlFor returns the TTL (epoch seconds) of an invitation's items: none while pending
// or while its Auth0 cleanup is pending (the retention is configurable, and DynamoDB
// must not remove the only record of what is left in Auth0), the time it finished plus
// the retention after.
func (s *Store) ttlFor(inv *invite.Invitation) int64 {
	if !inv.Status.Terminal() || inv.CleanupPending {
		return 0
	}
	end := inv.AcceptedAt
	for _, t := range []time.Time{inv.RevokedAt, inv.ExpiredAt} {
		if t.After(end) {
			end = t
		}
	}
	if end.IsZero() { // failed invitations have no timestamp of their own
		end = s.opts.Now()
	}
	return end.Add(s.opts.Retention).Unix()
}

// txItem is one write of a transaction, with what its condition failing means.
type txItem struct {
	write types.TransactWriteItem
	// conflict explains a failed condition; reason.Item is the old item when the
	// write asked for it.
	conflict func(reason types.CancellationReason) *invite.Error
}

// transact runs the writes as one transaction. Cancellations caused only by concurrent
// transactions are retried, so that a race has a winner and its losers see the
// winner's result in their conditions.
func (s *Store) transact(ctx context.Context, op string, items []txItem) error {
	for attempt := 1; ; attempt++ {
		in := &dynamodb.TransactWriteItemsInput{TransactItems: make([]types.TransactWriteItem, len(items))}
		for i, it := range items {
			in.TransactItems[i] = it.write
		}
		_, err := s.db.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		var canceled *types.TransactionCanceledException
		if !errors.As(err, &canceled) || len(canceled.CancellationReasons) != len(items) {
			return s.fail(op, err)
		}
		var raced bool
		for i, r := range canceled.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "", "None":
			case "ConditionalCheckFailed":
				e := invite.Errorf(invite.CodeConflict, "a condition of the transaction failed")
				if items[i].conflict != nil {
					e = items[i].conflict(r)
				}
				return fmt.Errorf("dynamo: %s: %w", op, withCause(e, err))
			case "TransactionConflict":
				raced = true
			case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
				return fmt.Errorf("dynamo: %s: %w", op, invite.Wrap(invite.CodeUpstream, err, "the database is throttling writes"))
			default: // validation, item too large: Doorman's own bug
				return fmt.Errorf("dynamo: %s: %w", op, invite.Wrap(invite.CodeInternal, err, "the database refused the transaction"))
			}
		}
		switch {
		case raced && attempt < maxAttempts:
			if err := s.sleep(ctx, attempt); err != nil {
				return s.fail(op, err)
			}
		case raced:
			return fmt.Errorf("dynamo: %s: %w", op, invite.Wrap(invite.CodeConflict, err, "the invitation is being changed concurrently"))
		default:
			return s.fail(op, err)
		}
	}
}

// putItem is a conditional PutItem (cond "" for none). Like transact, it retries a
// write that collided with a transaction in progress on the item; a failed condition
// comes back as *types.ConditionalCheckFailedException, for the caller to explain.
func (s *Store) putItem(ctx context.Context, op string, item map[string]types.AttributeValue, cond string, names map[string]string, values map[string]types.AttributeValue) error {
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: item}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
		in.ExpressionAttributeNames, in.ExpressionAttributeValues = names, values
	}
	return s.retryRaced(ctx, op, func() error { _, err := s.db.PutItem(ctx, in); return err })
}

// deleteItem is a conditional DeleteItem, as putItem.
func (s *Store) deleteItem(ctx context.Context, op string, k map[string]types.AttributeValue, cond string, names map[string]string, values map[string]types.AttributeValue) error {
	in := &dynamodb.DeleteItemInput{TableName: &s.table, Key: k}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
		in.ExpressionAttributeNames, in.ExpressionAttributeValues = names, values
	}
	return s.retryRaced(ctx, op, func() error { _, err := s.db.DeleteItem(ctx, in); return err })
}

// retryRaced runs write until it is neither refused for a transaction in progress on
// its item (maxAttempts) nor failed otherwise; a failed condition is returned as is.
func (s *Store) retryRaced(ctx context.Context, op string, write func() error) error {
	for attempt := 1; ; attempt++ {
		err := write()
		var (
			failed *types.ConditionalCheckFailedException
			raced  *types.TransactionConflictException
		)
		switch {
		case err == nil:
			return nil
		case errors.As(err, &failed):
			return err
		case errors.As(err, &raced) && attempt < maxAttempts:
			if err := s.sleep(ctx, attempt); err != nil {
				return s.fail(op, err)
			}
		case errors.As(err, &raced):
			return fmt.Errorf("dynamo: %s: %w", op, invite.Wrap(invite.CodeConflict, err, "the invitation is being changed concurrently"))
		default:
			return s.fail(op, err)
		}
	}
}

// legacy reports whether the invitation item a write replaced was written by a
// version before satellite TTLs (its history is in the map form those wrote).
func legacy(replaced *dynamodb.PutItemOutput) bool {
	_, ok := replaced.Attributes[attrLegacyHistory]
	return ok
}

func conditionFailed(err error) bool {
	var failed *types.ConditionalCheckFailedException
	return errors.As(err, &failed)
}

func withCause(e *invite.Error, err error) *invite.Error {
	e.Err = err
	return e
}

var notExists = map[string]string{"#pk": attrPK}

const condNotExists = "attribute_not_exists(#pk)"

// point writes the lookup item k naming inv unless k already names a newer
// invitation (by creation time, then id): the webhook must find the latest one. An
// item written before lookup items were pointers is a copy that names its invitation
// by id; it is overwritten the same way. Losing to a newer invitation is no error.
func (s *Store) point(ctx context.Context, op string, inv *invite.Invitation, k map[string]types.AttributeValue, ttl int64) error {
	err := s.putItem(ctx, op, lookupItem(k, inv, ttl), "attribute_not_exists(#pk) OR #inv = :id OR #id = :id OR #rank <= :rank",
		map[string]string{"#pk": attrPK, "#inv": attrInvID, "#id": attrID, "#rank": attrUserRank},
		map[string]types.AttributeValue{":id": str(inv.ID), ":rank": str(listSK(inv))})
	if conditionFailed(err) {
		return nil
	}
	return err
}

// lookupKeys are the keys the webhook finds inv by: its Auth0 user's, and for an
// organization invitation its (organization, email)'s and its Auth0 invitation's.
func lookupKeys(inv *invite.Invitation) []map[string]types.AttributeValue {
	var keys []map[string]types.AttributeValue
	if inv.Auth0UserID != "" {
		keys = append(keys, userKey(inv.Auth0UserID))
	}
	if inv.Kind == invite.KindOrganization && inv.OrganizationID != "" {
		keys = append(keys, orgEmailKey(inv.OrganizationID, invite.EmailKey(inv.Email)))
		if inv.Auth0InvitationID != "" {
			keys = append(keys, auth0InvitationKey(inv.Auth0InvitationID))
		}
	}
	return keys
}

// pointers are the keys of the lookup items an update writes: those prev did not
// have, or all of next's when the TTL they carry changes (satelliteTTL). Any other
// update leaves them as they are: they hold the id only, which never changes.
func (s *Store) pointers(prev, next *invite.Invitation) []map[string]types.AttributeValue {
	had := map[string]bool{}
	if s.satelliteTTL(prev) == s.satelliteTTL(next) {
		for _, k := range lookupKeys(prev) {
			had[pkOf(k)] = true
		}
	}
	var keys []map[string]types.AttributeValue
	for _, k := range lookupKeys(next) {
		if !had[pkOf(k)] {
			keys = append(keys, k)
		}
	}
	return keys
}

func pkOf(k map[string]types.AttributeValue) string {
	return k[attrPK].(*types.AttributeValueMemberS).Value
}

// Create implements invite.Store.
//
// Create and Update write plain conditional items, no transaction: a transaction
// costs twice the write units of each item it writes (DESIGN.md, "Storage"), and the
// invitation item's conditional write alone decides every race. The items an
// invitation will name (its reservation, link token and lookup items) are written
// before it, and those it no longer names are removed after it, so that a write cut
// short leaves only items nothing trusts: a lookup or token item is believed only when
// its invitation names it, and a reservation only while its invitation is pending
// (reserve).
func (s *Store) Create(ctx context.Context, inv *invite.Invitation) error {
	op := "create invitation " + inv.ID
	switch {
	case inv.ID == "":
		return fmt.Errorf("dynamo: create invitation: %w", invite.Invalid("id", "an invitation needs an id"))
	case inv.Version != 1:
		return fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("version", "a new invitation has version 1, not %d", inv.Version))
	case inv.Status != invite.StatusPending:
		return fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("status", "a new invitation is pending, not %s", inv.Status))
	case invite.EmailKey(inv.Email) == "":
		return fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("email", "an invitation needs an email"))
	}
	item, err := invitationItem(inv, s.opts.ExpiryShards, 0)
	if err != nil {
		return s.fail(op, err)
	}
	if err := s.reserve(ctx, op, inv); err != nil {
		return err
	}
	sat := s.satelliteTTL(inv)
	if inv.TokenHash != "" {
		if err := s.claimToken(ctx, op, inv, sat); err != nil {
			return err
		}
	}
	for _, k := range lookupKeys(inv) {
		if err := s.point(ctx, op, inv, k, sat); err != nil {
			return err
		}
	}
	err = s.putItem(ctx, op, item, condNotExists, notExists, nil)
	if conditionFailed(err) {
		return fmt.Errorf("dynamo: %s: %w", op, withCause(conflict("", "invitation %s already exists", inv.ID), err))
	}
	return err
}

// reservationGrace is how long a reservation whose invitation does not exist still
// holds: its create may be writing the invitation right now. Past it (longer than any
// Lambda invocation runs), the create was cut short and the reservation is taken over.
const reservationGrace = 15 * time.Minute

const attrReservedAt = "at"

// reserve writes the reservation of inv's (scope, email), or takes over one that no
// longer holds: its invitation is finished (it ended without releasing it) or never
// came to be. A reservation that holds is a conflict naming its invitation. The
// reservation inv already holds (an interrupted create, tried again) is kept.
func (s *Store) reserve(ctx context.Context, op string, inv *invite.Invitation) error {
	k := reservationKey(inv.Scope(), invite.EmailKey(inv.Email))
	cond, names := "attribute_not_exists(#pk) OR #inv = :id", map[string]string{"#pk": attrPK, "#inv": attrInvID}
	values := map[string]types.AttributeValue{":id": str(inv.ID)}
	for attempt := 1; ; attempt++ {
		item := pointerItem(key(pkOf(k), skReservation), inv.ID, 0)
		item[attrReservedAt] = str(fmtTime(s.opts.Now()))
		err := s.putItem(ctx, op, item, cond, names, values)
		if !conditionFailed(err) {
			return err
		}
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return s.fail(op, err)
		}
		d := &decoder{m: out.Item}
		holder, at := d.s(attrInvID), d.t(attrReservedAt)
		if out.Item == nil {
			continue // released meanwhile
		}
		held, err := s.holds(ctx, op, holder, at)
		if err != nil {
			return err
		}
		if held || attempt == maxAttempts {
			return fmt.Errorf("dynamo: %s: %w", op, conflict(holder, "a pending invitation for this email already exists"))
		}
		// Take it over from holder, unless someone else did first.
		cond = "attribute_not_exists(#pk) OR #inv = :id OR #inv = :holder"
		values = map[string]types.AttributeValue{":id": str(inv.ID), ":holder": str(holder)}
	}
}

// holds reports whether a reservation naming id, written at at, still holds: its
// invitation is pending, or does not exist yet and at is within reservationGrace.
func (s *Store) holds(ctx context.Context, op, id string, at time.Time) (bool, error) {
	inv, err := s.Get(ctx, id)
	switch {
	case invite.IsCode(err, invite.CodeNotFound):
		return !at.IsZero() && s.opts.Now().Sub(at) < reservationGrace, nil
	case err != nil:
		return false, fmt.Errorf("dynamo: %s: %w", op, err)
	}
	return inv.Status == invite.StatusPending, nil
}

func (s *Store) claimToken(ctx context.Context, op string, inv *invite.Invitation, ttl int64) error {
	err := s.putItem(ctx, op, pointerItem(tokenKey(inv.TokenHash), inv.ID, ttl), condNotExists, notExists, nil)
	if conditionFailed(err) {
		return fmt.Errorf("dynamo: %s: %w", op, withCause(conflict("", "the link token of invitation %s is already in use", inv.ID), err))
	}
	return err
}

// satelliteSlack is how much longer than its invitation a token or lookup item may
// stay: an invitation expired late by the sweeper, or failed, needs no rewrite of
// them to shorten or lengthen their TTL.
const satelliteSlack = 7 * 24 * time.Hour

// satelliteTTL is the TTL of inv's token and lookup items: from the start, the
// latest an invitation expiring at ExpiresAt normally ends, plus its retention and
// satelliteSlack, so that finishing it needs no rewrite of them; they are rewritten
// only when it changes (a resend moves the expiry). They leave no earlier than their
// invitation, except one whose Auth0 cleanup is still pending that long after it
// expired: the cleanup reads Auth0, not them, and what the webhook then no longer
// finds is an Auth0 event after the end. Their TTL only makes them leave, for a token
// or lookup item is believed only when its invitation names it.
func (s *Store) satelliteTTL(inv *invite.Invitation) int64 {
	t := inv.ExpiresAt.Add(s.opts.Retention + satelliteSlack).Unix()
	return max(t, s.ttlFor(inv))
}

// Update implements invite.Store.
func (s *Store) Update(ctx context.Context, prev, next *invite.Invitation) error {
	op := "update invitation " + prev.ID
	switch {
	case next.ID != prev.ID:
		return fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("id", "an update cannot change the id to %s", next.ID))
	case next.Scope() != prev.Scope() || invite.EmailKey(next.Email) != invite.EmailKey(prev.Email):
		return fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("email", "an update cannot change the email or the organization"))
	case !next.Status.Valid():
		return fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("status", "unknown status %q", next.Status))
	case prev.Status.Terminal() && next.Status != prev.Status:
		return fmt.Errorf("dynamo: %s: %w", op, invite.Errorf(invite.CodeConflict, "invitation %s is already %s", prev.ID, prev.Status))
	}
	version := next.Version
	next.Version = prev.Version + 1
	err := s.update(ctx, op, prev, next)
	if err != nil {
		next.Version = version
	}
	return err
}

// update writes next over prev: first the token and lookup items next names and prev
// did not, then the invitation item on condition that it is still prev (the write
// that decides a race), then, no longer needed, the reservation of a finished
// invitation, a replaced token and lookup items of keys next dropped. These last are
// tidying: once the invitation is written the update has happened, and what they
// leave behind when they fail is distrusted by its readers.
func (s *Store) update(ctx context.Context, op string, prev, next *invite.Invitation) error {
	ttl := s.ttlFor(next)
	item, err := invitationItem(next, s.opts.ExpiryShards, ttl)
	if err != nil {
		return s.fail(op, err)
	}
	sat := s.satelliteTTL(next)
	newToken := next.TokenHash != prev.TokenHash
	if newToken && next.TokenHash != "" {
		if err := s.claimToken(ctx, op, next, sat); err != nil {
			return err
		}
	}
	pointed := map[string]bool{}
	for _, k := range s.pointers(prev, next) {
		if err := s.point(ctx, op, next, k, sat); err != nil {
			return err
		}
		pointed[pkOf(k)] = true
	}
	out, err := s.replaceInvitation(ctx, op, prev, item)
	if err != nil {
		return err
	}
	if legacy(out) {
		// Written by a version before satellite TTLs: its token item has no TTL and
		// its lookup items may be full copies without one. They become what this
		// version writes, once.
		for _, k := range lookupKeys(next) {
			if !pointed[pkOf(k)] {
				_ = s.point(ctx, op, next, k, sat)
			}
		}
		if !newToken && next.TokenHash != "" {
			_ = s.putItem(ctx, op, pointerItem(tokenKey(next.TokenHash), next.ID, sat), "", nil, nil)
		}
	}

	byID := map[string]string{"#inv": attrInvID, "#id": attrID}
	mine := map[string]types.AttributeValue{":id": str(prev.ID)}
	if !prev.Status.Terminal() && next.Status.Terminal() {
		// Released only while it is still this invitation's: a create may have taken
		// it over already.
		_ = s.deleteItem(ctx, op, reservationKey(prev.Scope(), reservationEmailKey(prev.Email)), "#inv = :id", map[string]string{"#inv": attrInvID}, mine)
	}
	switch {
	case newToken && prev.TokenHash != "":
		_ = s.deleteItem(ctx, op, tokenKey(prev.TokenHash), "", nil, nil)
	case !newToken && next.TokenHash != "" && sat != s.satelliteTTL(prev) && !legacy(out):
		_ = s.putItem(ctx, op, pointerItem(tokenKey(next.TokenHash), next.ID, sat), "", nil, nil)
	}
	var stale []map[string]types.AttributeValue
	if prev.Auth0UserID != "" && prev.Auth0UserID != next.Auth0UserID {
		stale = append(stale, userKey(prev.Auth0UserID))
	}
	if prev.Auth0InvitationID != "" && prev.Auth0InvitationID != next.Auth0InvitationID {
		stale = append(stale, auth0InvitationKey(prev.Auth0InvitationID))
	}
	for _, k := range stale {
		// Unless it already names a newer invitation.
		_ = s.deleteItem(ctx, op, k, "#inv = :id OR #id = :id", byID, mine)
	}
	return nil
}

// replaceInvitation writes an invitation's item on condition that the stored one is
// still prev's status and version: the write that decides every race. The item it
// replaces comes back (at no cost in capacity units): it says whether an earlier
// version wrote it.
func (s *Store) replaceInvitation(ctx context.Context, op string, prev *invite.Invitation, item map[string]types.AttributeValue) (*dynamodb.PutItemOutput, error) {
	in := &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("#st = :st AND #v = :v"),
		ExpressionAttributeNames:  map[string]string{"#st": attrStatus, "#v": attrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{":st": str(string(prev.Status)), ":v": num(int64(prev.Version))},
		ReturnValues:              types.ReturnValueAllOld,
	}
	var out *dynamodb.PutItemOutput
	err := s.retryRaced(ctx, op, func() (err error) { out, err = s.db.PutItem(ctx, in); return err })
	if conditionFailed(err) {
		return nil, fmt.Errorf("dynamo: %s: %w", op, withCause(conflict("", "invitation %s changed since it was read", prev.ID), err))
	}
	return out, err
}

// Get implements invite.Store.
func (s *Store) Get(ctx context.Context, id string) (*invite.Invitation, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: invitationKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, s.fail("get invitation "+id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("dynamo: get invitation %s: %w", id, notFound("invitation %s not found", id))
	}
	inv, err := decodeInvitation(out.Item)
	if err != nil {
		return nil, s.fail("decode invitation "+id, err)
	}
	return inv, nil
}

// GetByTokenHash implements invite.Store.
func (s *Store) GetByTokenHash(ctx context.Context, hash string) (*invite.Invitation, error) {
	gone := notFound("no invitation has this link")
	if hash == "" {
		return nil, fmt.Errorf("dynamo: get invitation by token: %w", gone)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: tokenKey(hash), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, s.fail("get token", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("dynamo: get invitation by token: %w", gone)
	}
	id := (&decoder{m: out.Item}).s(attrInvID)
	inv, err := s.Get(ctx, id)
	if invite.IsCode(err, invite.CodeNotFound) || (err == nil && inv.TokenHash != hash) {
		// The invitation left with its TTL, or this token was replaced.
		return nil, fmt.Errorf("dynamo: get invitation by token: %w", gone)
	}
	return inv, err
}

// GetByAuth0UserIDs implements invite.Store.
func (s *Store) GetByAuth0UserIDs(ctx context.Context, userIDs []string) (map[string]*invite.Invitation, error) {
	const op = "get invitations of auth0 users"
	seen := make(map[string]bool, len(userIDs))
	keys := make([]map[string]types.AttributeValue, 0, len(userIDs))
	for _, id := range userIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, userKey(id))
		}
	}
	if len(keys) > maxBatchUsers {
		return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("user_ids", "at most %d user ids, not %d", maxBatchUsers, len(keys)))
	}
	found := make(map[string]*invite.Invitation, len(keys))
	if len(keys) == 0 {
		return found, nil
	}
	items, err := s.batchGet(ctx, op, keys, true)
	if err != nil {
		return nil, err
	}
	invs, err := s.resolve(ctx, op, items)
	if err != nil {
		return nil, err
	}
	for pk, inv := range invs {
		if userID := strings.TrimPrefix(pk, "USER#"); inv.Auth0UserID == userID {
			found[userID] = inv
		}
	}
	return found, nil
}

// batchGet reads up to 100 keys with one BatchGetItem, retrying unprocessed keys with
// backoff. Missing items are simply absent from the result.
func (s *Store) batchGet(ctx context.Context, op string, keys []map[string]types.AttributeValue, consistent bool) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(consistent)}}
	for attempt := 1; ; attempt++ {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, s.fail(op, err)
		}
		items = append(items, out.Responses[s.table]...)
		left, ok := out.UnprocessedKeys[s.table]
		if !ok || len(left.Keys) == 0 {
			return items, nil
		}
		if attempt == maxAttempts {
			return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Errorf(invite.CodeUpstream, "the database left %d keys unprocessed", len(left.Keys)))
		}
		if err := s.sleep(ctx, attempt); err != nil {
			return nil, s.fail(op, err)
		}
		req = map[string]types.KeysAndAttributes{s.table: left}
	}
}

// getInvitations reads invitations by id and returns them in the order of ids; ids
// whose invitation is gone are skipped.
func (s *Store) getInvitations(ctx context.Context, op string, ids []string, consistent bool) ([]*invite.Invitation, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = invitationKey(id)
	}
	items, err := s.batchGet(ctx, op, keys, consistent)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*invite.Invitation, len(items))
	for _, item := range items {
		inv, err := decodeInvitation(item)
		if err != nil {
			return nil, s.fail("decode invitation", err)
		}
		byID[inv.ID] = inv
	}
	out := make([]*invite.Invitation, 0, len(ids))
	for _, id := range ids {
		if inv, ok := byID[id]; ok {
			out = append(out, inv)
		}
	}
	return out, nil
}

// reservationEmailKey is the email key a stored invitation's reservation was written
// under. Invitations stored before addresses were keyed through IDNA kept a Unicode
// domain, and their reservation the address lower-cased; since then the stored domain
// is ASCII and the key invite.EmailKey's.
func reservationEmailKey(email string) string {
	at := strings.LastIndexByte(email, '@')
	for _, r := range email[at+1:] {
		if r >= utf8.RuneSelf {
			return strings.ToLower(strings.TrimSpace(email))
		}
	}
	return invite.EmailKey(email)
}
