package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

var _ invite.BatchStore = (*Store)(nil)

// A batch is one partition: its head item (counts, actor) and one item per invitation,
// sorted by index, so that a page of results is one Query.
const (
	skBatch        = "BATCH"
	skItemPrefix   = "ITEM#"
	maxBatchWrite  = 25 // BatchWriteItem's limit
	attrBatchTotal = "total"
	attrSucceeded  = "succeeded"
	attrFailed     = "failed"
	attrItemStatus = "item_status"
	attrResendOf   = "resend_of"
)

func batchPK(id string) string { return "BATCH#" + id }

// itemSK pads the index so that the sort key orders items by index.
func itemSK(index int) string { return fmt.Sprintf("%s%05d", skItemPrefix, index) }

func batchItemKey(ref invite.ItemRef) map[string]types.AttributeValue {
	return key(batchPK(ref.BatchID), itemSK(ref.Index))
}

// storedActor, storedRequest and storedProblem are the JSON forms kept in items.
type storedActor struct {
	Sub         string   `json:"sub"`
	Name        string   `json:"name,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	OrgID       string   `json:"org_id,omitempty"`
}

type storedRequest struct {
	Email          string         `json:"email"`
	Name           string         `json:"name,omitempty"`
	OrganizationID string         `json:"organization_id,omitempty"`
	Roles          []string       `json:"roles,omitempty"`
	Connection     string         `json:"connection,omitempty"`
	ClientID       string         `json:"client_id,omitempty"`
	AppMetadata    map[string]any `json:"app_metadata,omitempty"`
	UserMetadata   map[string]any `json:"user_metadata,omitempty"`
	TTLSeconds     int64          `json:"ttl_seconds,omitempty"`
	RedirectURL    string         `json:"redirect_url,omitempty"`
	SendEmail      bool           `json:"send_email"`
	Locale         string         `json:"locale,omitempty"`
	Message        string         `json:"message,omitempty"`
	OnConflict     string         `json:"on_conflict,omitempty"`
}

type storedProblem struct {
	Code       string `json:"code"`
	Message    string `json:"message,omitempty"`
	Field      string `json:"field,omitempty"`
	ExistingID string `json:"existing_id,omitempty"`
}

func setBlob(m map[string]types.AttributeValue, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	m[name] = str(string(b))
	return nil
}

func getBlob(m map[string]types.AttributeValue, name string, v any) error {
	s, ok := m[name].(*types.AttributeValueMemberS)
	if !ok {
		return fmt.Errorf("attribute %s is missing", name)
	}
	if err := json.Unmarshal([]byte(s.Value), v); err != nil {
		return fmt.Errorf("decode %s: %w", name, err)
	}
	return nil
}

func toStoredActor(a invite.Actor) storedActor {
	return storedActor{Sub: a.Sub, Name: a.Name, Permissions: a.Permissions, OrgID: a.OrgID}
}

func (a storedActor) actor() invite.Actor {
	return invite.Actor{Sub: a.Sub, Name: a.Name, Permissions: a.Permissions, OrgID: a.OrgID}
}

func batchItem(b *invite.Batch) (map[string]types.AttributeValue, error) {
	m := key(batchPK(b.ID), skBatch)
	setS(m, attrID, b.ID)
	setN(m, attrBatchTotal, b.Total)
	m[attrSucceeded] = num(int64(b.Succeeded))
	m[attrFailed] = num(int64(b.Failed))
	setT(m, "created_at", b.CreatedAt)
	m[attrTTL] = num(b.ExpiresAt.Unix())
	return m, setBlob(m, "actor", toStoredActor(b.Actor))
}

func itemItem(it *invite.BatchItem, ttl int64) (map[string]types.AttributeValue, error) {
	m := batchItemKey(invite.ItemRef{BatchID: it.BatchID, Index: it.Index})
	setS(m, "inv_id", it.InvitationID)
	setS(m, attrItemStatus, string(it.Status))
	m[attrTTL] = num(ttl)
	r := it.Request
	req := storedRequest{
		Email: r.Email, Name: r.Name, OrganizationID: r.OrganizationID, Roles: r.Roles,
		Connection: r.Connection, ClientID: r.ClientID, AppMetadata: r.AppMetadata, UserMetadata: r.UserMetadata,
		TTLSeconds: int64(r.TTL / time.Second), RedirectURL: r.RedirectURL, SendEmail: r.SendEmail,
		Locale: r.Locale, Message: r.Message, OnConflict: r.OnConflict,
	}
	if err := setBlob(m, "req", req); err != nil {
		return nil, err
	}
	return m, setBlob(m, "actor", toStoredActor(it.Actor))
}

func decodeBatch(m map[string]types.AttributeValue) (*invite.Batch, error) {
	d := &decoder{m: m}
	b := &invite.Batch{
		ID:        d.s(attrID),
		Total:     d.n(attrBatchTotal),
		Succeeded: d.n(attrSucceeded),
		Failed:    d.n(attrFailed),
		CreatedAt: d.t("created_at"),
	}
	if ttl := d.n(attrTTL); ttl > 0 {
		b.ExpiresAt = time.Unix(int64(ttl), 0).UTC()
	}
	var a storedActor
	if err := getBlob(m, "actor", &a); err != nil {
		d.fail("actor", err)
	}
	b.Actor = a.actor()
	if d.err != nil {
		return nil, fmt.Errorf("decode batch: %w", d.err)
	}
	return b, nil
}

func decodeBatchItem(m map[string]types.AttributeValue) (*invite.BatchItem, error) {
	d := &decoder{m: m}
	pk, sk := d.s(attrPK), d.s(attrSK)
	idx, err := strconv.Atoi(sk[min(len(sk), len(skItemPrefix)):])
	if err != nil {
		d.fail(attrSK, err)
	}
	it := &invite.BatchItem{
		BatchID:      pk[min(len(pk), len("BATCH#")):],
		Index:        idx,
		InvitationID: d.s("inv_id"),
		Status:       invite.ItemStatus(d.s(attrItemStatus)),
		ResultID:     d.s("result_id"),
		Resent:       d.b("resent"),
		ResendOf:     d.s(attrResendOf),
		FinishedAt:   d.t("finished_at"),
	}
	var a storedActor
	if err := getBlob(m, "actor", &a); err != nil {
		d.fail("actor", err)
	}
	it.Actor = a.actor()
	var r storedRequest
	if err := getBlob(m, "req", &r); err != nil {
		d.fail("req", err)
	}
	it.Request = invite.CreateRequest{
		Email: r.Email, Name: r.Name, OrganizationID: r.OrganizationID, Roles: r.Roles,
		Connection: r.Connection, ClientID: r.ClientID, AppMetadata: r.AppMetadata, UserMetadata: r.UserMetadata,
		TTL: time.Duration(r.TTLSeconds) * time.Second, RedirectURL: r.RedirectURL, SendEmail: r.SendEmail,
		Locale: r.Locale, Message: r.Message, OnConflict: r.OnConflict,
	}
	if _, ok := m["problem"]; ok {
		var p storedProblem
		if err := getBlob(m, "problem", &p); err != nil {
			d.fail("problem", err)
		}
		it.Problem = &invite.ItemProblem{Index: idx, Code: invite.Code(p.Code), Message: p.Message, Field: p.Field, ExistingID: p.ExistingID}
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode batch item: %w", d.err)
	}
	return it, nil
}

// Batches not yet marked queued are listed in one partition, sorted by creation:
// a batch is written there once and deleted once, so the partition stays small.
const pkUnqueued = "BATCHES#UNQUEUED"

func unqueuedKey(b *invite.Batch) map[string]types.AttributeValue {
	return key(pkUnqueued, fmtTime(b.CreatedAt)+"#"+b.ID)
}

// CreateBatch writes the items, 25 to a BatchWriteItem, retrying unprocessed ones, and
// then, in one transaction, the head item (on condition that the id is new) and the
// batch's entry in the unqueued list. Until the head exists the batch is invisible;
// items of a batch whose head was never written expire with their TTL.
func (s *Store) CreateBatch(ctx context.Context, b *invite.Batch, items []*invite.BatchItem) error {
	op := "create batch " + b.ID
	head, err := batchItem(b)
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	exists := invite.Errorf(invite.CodeConflict, "batch %s exists", b.ID)
	// Ids are random; the check keeps a clash from overwriting another batch's items.
	if _, err := s.GetBatch(ctx, b.ID); err == nil {
		return fmt.Errorf("dynamo: %s: %w", op, exists)
	} else if !invite.IsCode(err, invite.CodeNotFound) {
		return err
	}
	ttl := b.ExpiresAt.Unix()
	for start := 0; start < len(items); start += maxBatchWrite {
		chunk := items[start:min(start+maxBatchWrite, len(items))]
		reqs := make([]types.WriteRequest, len(chunk))
		for i, it := range chunk {
			m, err := itemItem(it, ttl)
			if err != nil {
				return fmt.Errorf("dynamo: %s: %w", op, err)
			}
			reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: m}}
		}
		if err := s.batchWrite(ctx, op, reqs); err != nil {
			return err
		}
	}
	marker := unqueuedKey(b)
	setS(marker, attrID, b.ID)
	setT(marker, "created_at", b.CreatedAt)
	marker[attrTTL] = num(ttl)
	return s.transact(ctx, op, []txItem{
		{
			write: types.TransactWriteItem{Put: &types.Put{
				TableName: &s.table, Item: head,
				ConditionExpression: aws.String(condNotExists), ExpressionAttributeNames: notExists,
			}},
			conflict: func(types.CancellationReason) *invite.Error { return exists },
		},
		{write: types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: marker}}},
	})
}

// MarkBatchQueued deletes the batch's entry in the unqueued list.
func (s *Store) MarkBatchQueued(ctx context.Context, b *invite.Batch) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: unqueuedKey(b)})
	if err != nil {
		return s.fail("mark batch queued "+b.ID, err)
	}
	return nil
}

// UnqueuedBatches queries the unqueued list up to before, strongly consistent.
func (s *Store) UnqueuedBatches(ctx context.Context, before time.Time, limit int) ([]*invite.Batch, error) {
	op := "list unqueued batches"
	if limit <= 0 || limit > maxPageSize {
		return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("limit", "must be between 1 and %d", maxPageSize))
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk < :before"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pkUnqueued), ":before": str(fmtTime(before))},
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, s.fail(op, err)
	}
	batches := make([]*invite.Batch, 0, len(out.Items))
	for _, m := range out.Items {
		d := &decoder{m: m}
		batches = append(batches, &invite.Batch{ID: d.s(attrID), CreatedAt: d.t("created_at")})
		if d.err != nil {
			return nil, fmt.Errorf("dynamo: %s: %w", op, d.err)
		}
	}
	return batches, nil
}

func (s *Store) batchWrite(ctx context.Context, op string, reqs []types.WriteRequest) error {
	for attempt := 1; len(reqs) > 0; attempt++ {
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: reqs}})
		if err != nil {
			return s.fail(op, err)
		}
		reqs = out.UnprocessedItems[s.table]
		if len(reqs) == 0 {
			return nil
		}
		if attempt == maxAttempts {
			return fmt.Errorf("dynamo: %s: %w", op, invite.Errorf(invite.CodeUpstream, "the database left %d writes unprocessed", len(reqs)))
		}
		if err := s.sleep(ctx, attempt); err != nil {
			return s.fail(op, err)
		}
	}
	return nil
}

// GetBatch reads the head item, strongly consistent so that a caller sees the counts
// of what the worker has recorded.
func (s *Store) GetBatch(ctx context.Context, id string) (*invite.Batch, error) {
	op := "get batch " + id
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(batchPK(id), skBatch), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, s.fail(op, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("dynamo: %s: %w", op, notFound("batch %s not found", id))
	}
	b, err := decodeBatch(out.Item)
	if err != nil {
		return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Wrap(invite.CodeInternal, err, "a stored batch is unreadable"))
	}
	return b, nil
}

// GetBatchItem reads one item, strongly consistent: the worker must see an outcome or
// a resend claim that an earlier delivery recorded.
func (s *Store) GetBatchItem(ctx context.Context, ref invite.ItemRef) (*invite.BatchItem, error) {
	op := fmt.Sprintf("get batch item %s/%d", ref.BatchID, ref.Index)
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: batchItemKey(ref), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, s.fail(op, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("dynamo: %s: %w", op, notFound("batch item %s/%d not found", ref.BatchID, ref.Index))
	}
	it, err := decodeBatchItem(out.Item)
	if err != nil {
		return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Wrap(invite.CodeInternal, err, "a stored batch item is unreadable"))
	}
	return it, nil
}

// BatchItems queries the batch's partition from the cursor's sort key.
func (s *Store) BatchItems(ctx context.Context, batchID string, limit int, cursor string) (*invite.BatchItemPage, error) {
	op := "list batch items " + batchID
	if limit <= 0 || limit > invite.MaxBatchItems {
		return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Invalid("limit", "must be between 1 and %d", invite.MaxBatchItems))
	}
	binding := []string{"batch", batchID}
	from := skItemPrefix
	if cursor != "" {
		pos, err := s.cursors.open(cursor, binding)
		if err != nil {
			return nil, fmt.Errorf("dynamo: %s: %w", op, err)
		}
		from = pos
	}
	page := &invite.BatchItemPage{}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk > :from"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(batchPK(batchID)), ":from": str(from)},
		Limit:                     aws.Int32(int32(limit)),
		ConsistentRead:            aws.Bool(true),
	}
	// A page of large items may come back short of limit (1 MB per Query): read on
	// until it is full or the partition ends.
	for len(page.Items) < limit {
		in.Limit = aws.Int32(int32(limit - len(page.Items)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, s.fail(op, err)
		}
		for _, m := range out.Items {
			it, err := decodeBatchItem(m)
			if err != nil {
				return nil, fmt.Errorf("dynamo: %s: %w", op, invite.Wrap(invite.CodeInternal, err, "a stored batch item is unreadable"))
			}
			page.Items = append(page.Items, it)
		}
		if out.LastEvaluatedKey == nil {
			return page, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if last := page.Items[len(page.Items)-1]; last != nil {
		page.NextCursor = s.cursors.seal(binding, itemSK(last.Index))
	}
	return page, nil
}

// ClaimResend records the resend on a queued item without a claim.
func (s *Store) ClaimResend(ctx context.Context, ref invite.ItemRef, existingID string) error {
	op := fmt.Sprintf("claim resend for batch item %s/%d", ref.BatchID, ref.Index)
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       batchItemKey(ref),
		UpdateExpression:          aws.String("SET #claim = :id"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND attribute_not_exists(#claim) AND #st = :queued"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#claim": attrResendOf, "#st": attrItemStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(existingID), ":queued": str(string(invite.ItemQueued))},
	})
	if err != nil {
		return s.fail(op, err) // a failed condition classifies as conflict
	}
	return nil
}

// FinishBatchItem stores the outcome on the queued item and adds it to the head's
// count in one transaction, so that the count and the outcomes never disagree.
func (s *Store) FinishBatchItem(ctx context.Context, it *invite.BatchItem) error {
	op := fmt.Sprintf("finish batch item %s/%d", it.BatchID, it.Index)
	counter := attrSucceeded
	switch it.Status {
	case invite.ItemSucceeded:
	case invite.ItemFailed:
		counter = attrFailed
	default:
		return fmt.Errorf("dynamo: %s: %w", op, invite.Errorf(invite.CodeInternal, "outcome %q is not final", it.Status))
	}
	set := "SET #st = :st, #fin = :fin"
	names := map[string]string{"#pk": attrPK, "#st": attrItemStatus, "#fin": "finished_at"}
	values := map[string]types.AttributeValue{
		":st": str(string(it.Status)), ":fin": str(fmtTime(it.FinishedAt)), ":queued": str(string(invite.ItemQueued)),
	}
	if it.ResultID != "" {
		set += ", #res = :res"
		names["#res"], values[":res"] = "result_id", str(it.ResultID)
	}
	if it.Resent {
		set += ", #resent = :resent"
		names["#resent"], values[":resent"] = "resent", &types.AttributeValueMemberBOOL{Value: true}
	}
	if p := it.Problem; p != nil {
		b, err := json.Marshal(storedProblem{Code: string(p.Code), Message: p.Message, Field: p.Field, ExistingID: p.ExistingID})
		if err != nil {
			return fmt.Errorf("dynamo: %s: %w", op, err)
		}
		set += ", #prob = :prob"
		names["#prob"], values[":prob"] = "problem", str(string(b))
	}
	return s.transact(ctx, op, []txItem{
		{
			write: types.TransactWriteItem{Update: &types.Update{
				TableName: &s.table, Key: batchItemKey(invite.ItemRef{BatchID: it.BatchID, Index: it.Index}),
				UpdateExpression:          aws.String(set),
				ConditionExpression:       aws.String("attribute_exists(#pk) AND #st = :queued"),
				ExpressionAttributeNames:  names,
				ExpressionAttributeValues: values,
			}},
			conflict: func(types.CancellationReason) *invite.Error {
				return invite.Errorf(invite.CodeConflict, "batch item %s/%d has finished already", it.BatchID, it.Index)
			},
		},
		{
			write: types.TransactWriteItem{Update: &types.Update{
				TableName: &s.table, Key: key(batchPK(it.BatchID), skBatch),
				UpdateExpression:          aws.String("ADD #n :one"),
				ConditionExpression:       aws.String("attribute_exists(#pk)"),
				ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#n": counter},
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
			}},
			conflict: func(types.CancellationReason) *invite.Error {
				return invite.Errorf(invite.CodeNotFound, "batch %s not found", it.BatchID)
			},
		},
	})
}
