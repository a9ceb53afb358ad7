package dynamo

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

// Marshalling is written by hand: invitations are encoded and decoded on every request,
// and reflection (attributevalue) costs several times the allocations for no gain in
// clarity over a list of named attributes.

// keyTime is the fixed-width UTC form used in sort keys, so that byte order is time
// order. Stored timestamps use it too, so that every time reads the same way.
const keyTime = "2006-01-02T15:04:05.000000000Z"

// Sort-key values of the single-item partitions.
const (
	skInvitation  = "INV"
	skReservation = "RES"
	skToken       = "TOK"
	skUser        = "USER"
	skIdempotency = "IDEM"
	skLog         = "LOG"
	skOrgEmail    = "ORGMAIL"
	skAuth0Inv    = "AUTH0INV"
)

// Non-key attributes referenced in expressions.
const (
	attrID       = "id"
	attrStatus   = "status"
	attrVersion  = "version"
	attrInvID    = "inv_id"    // reservation, token and lookup items: the invitation they name
	attrUserRank = "user_rank" // lookup items: <created_at>#<id> of the invitation, newest wins
)

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

// escapeScope keeps '#' out of the scope so that composite keys <scope>#<value> cannot
// be read two ways.
func escapeScope(scope string) string {
	if !strings.ContainsAny(scope, "#%") {
		return scope
	}
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(scope)
}

func invitationKey(id string) map[string]types.AttributeValue {
	return key("INV#"+id, skInvitation)
}

func reservationKey(scope, emailKey string) map[string]types.AttributeValue {
	return key("RES#"+escapeScope(scope)+"#"+emailKey, skReservation)
}

func tokenKey(hash string) map[string]types.AttributeValue { return key("TOK#"+hash, skToken) }

func userKey(userID string) map[string]types.AttributeValue { return key("USER#"+userID, skUser) }

// orgEmailKey is the item that names the newest invitation of an email to an
// organization; unlike the reservation it outlives the pending state, so that the
// webhook finds finished invitations too.
func orgEmailKey(orgID, emailKey string) map[string]types.AttributeValue {
	return key("ORGMAIL#"+escapeScope(orgID)+"#"+emailKey, skOrgEmail)
}

func auth0InvitationKey(id string) map[string]types.AttributeValue {
	return key("AUTH0INV#"+id, skAuth0Inv)
}

func logKey(logID string) map[string]types.AttributeValue { return key("LOG#"+logID, skLog) }

func fmtTime(t time.Time) string { return t.UTC().Format(keyTime) }

// listSK is the listing indexes' sort key: newest first when read backwards.
func listSK(inv *invite.Invitation) string { return fmtTime(inv.CreatedAt) + "#" + inv.ID }

func expirySK(inv *invite.Invitation) string { return fmtTime(inv.ExpiresAt) + "#" + inv.ID }

// idFromSK returns the id part of a listSK or expirySK value.
func idFromSK(sk string) (string, bool) {
	if len(sk) <= len(keyTime)+1 || sk[len(keyTime)] != '#' {
		return "", false
	}
	return sk[len(keyTime)+1:], true
}

// shard spreads pending invitations over the expiry index's partitions by a hash of the
// id, so that a burst of invitations created together does not land on one partition.
func shard(id string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(shards))
}

func expiryPK(n int) string { return "EXP#" + strconv.Itoa(n) }

func duePK(n int) string { return "DUE#" + strconv.Itoa(n) }

func reminderPK(n int) string { return "REM#" + strconv.Itoa(n) }

func scoped(scope, v string) string { return escapeScope(scope) + "#" + v }

// invitationItem is the invitation item with its index keys; ttl is 0 for none.
func invitationItem(inv *invite.Invitation, shards int, ttl int64) (map[string]types.AttributeValue, error) {
	m := make(map[string]types.AttributeValue, 48)
	if err := putInvitation(m, inv); err != nil {
		return nil, err
	}
	m[attrPK] = str("INV#" + inv.ID)
	m[attrSK] = str(skInvitation)
	scope := inv.Scope()
	m[attrListScope] = str(escapeScope(scope))
	m[attrListStatus] = str(scoped(scope, string(inv.Status)))
	m[attrListEmail] = str(scoped(scope, invite.EmailKey(inv.Email)))
	m[attrListInviter] = str(scoped(scope, inv.Inviter.Sub))
	m[attrListSK] = str(listSK(inv))
	if inv.Status == invite.StatusPending {
		m[attrExpPK] = str(expiryPK(shard(inv.ID, shards)))
		m[attrExpSK] = str(expirySK(inv))
	}
	if at, ok := inv.DueAt(); ok {
		m[attrDuePK] = str(duePK(shard(inv.ID, shards)))
		m[attrDueSK] = str(fmtTime(at) + "#" + inv.ID)
	}
	if inv.AwaitsReminder() {
		m[attrRemPK] = str(reminderPK(shard(inv.ID, shards)))
		m[attrRemSK] = str(expirySK(inv))
	}
	if ttl > 0 {
		m[attrTTL] = num(ttl)
	}
	return m, nil
}

// lookupItem is the lookup item k (the Auth0 user's, the organization email's or the
// Auth0 invitation's key) naming inv, ranked so that the newest invitation keeps it.
// It carries no index keys, so that it never shows in a listing or in the sweeper's
// index.
func lookupItem(k map[string]types.AttributeValue, inv *invite.Invitation, ttl int64) map[string]types.AttributeValue {
	m := pointerItem(k, inv.ID, ttl)
	m[attrUserRank] = str(listSK(inv))
	return m
}

// pointerItem is a reservation or token item: a key that names its invitation.
func pointerItem(k map[string]types.AttributeValue, id string, ttl int64) map[string]types.AttributeValue {
	k[attrInvID] = str(id)
	if ttl > 0 {
		k[attrTTL] = num(ttl)
	}
	return k
}

func setS(m map[string]types.AttributeValue, name, v string) {
	if v != "" {
		m[name] = str(v)
	}
}

func setT(m map[string]types.AttributeValue, name string, t time.Time) {
	if !t.IsZero() {
		m[name] = str(fmtTime(t))
	}
}

func setN(m map[string]types.AttributeValue, name string, v int) {
	if v != 0 {
		m[name] = num(int64(v))
	}
}

// setJSON stores free-form metadata as a JSON string: it is never queried, and JSON
// gives back exactly the values the API decoded (numbers as float64).
func setJSON(m map[string]types.AttributeValue, name string, v map[string]any) error {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	m[name] = str(string(b))
	return nil
}

func putInvitation(m map[string]types.AttributeValue, inv *invite.Invitation) error {
	setS(m, attrID, inv.ID)
	setS(m, "kind", string(inv.Kind))
	setS(m, "email", inv.Email)
	// No email_key: it is invite.EmailKey(email), and the listing by email reads it
	// from its index key (items written before carry it, unread).
	setS(m, "name", inv.Name)
	setS(m, "org_id", inv.OrganizationID)
	if len(inv.Roles) > 0 {
		l := make([]types.AttributeValue, len(inv.Roles))
		for i, r := range inv.Roles {
			l[i] = str(r)
		}
		m["roles"] = &types.AttributeValueMemberL{Value: l}
	}
	setS(m, "connection", inv.Connection)
	setS(m, "client_id", inv.ClientID)
	if err := setJSON(m, "app_metadata", inv.AppMetadata); err != nil {
		return err
	}
	if err := setJSON(m, "user_metadata", inv.UserMetadata); err != nil {
		return err
	}
	setS(m, "inviter_sub", inv.Inviter.Sub)
	setS(m, "inviter_name", inv.Inviter.Name)
	setS(m, "locale", inv.Locale)
	setS(m, "message", inv.Message)
	setS(m, "redirect_url", inv.RedirectURL)
	setS(m, attrStatus, string(inv.Status))
	setT(m, "created_at", inv.CreatedAt)
	setT(m, "expires_at", inv.ExpiresAt)
	setT(m, "accepted_at", inv.AcceptedAt)
	setT(m, "revoked_at", inv.RevokedAt)
	setT(m, "expired_at", inv.ExpiredAt)
	setS(m, "failed_reason", inv.FailedReason)
	setS(m, "auth0_user_id", inv.Auth0UserID)
	if inv.UserCreated {
		m["user_created"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	setS(m, "account", string(inv.Account))
	if inv.LinkDisclosed {
		m["link_disclosed"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	setS(m, "auth0_inv_id", inv.Auth0InvitationID)
	setS(m, "auth0_inv_url", inv.Auth0InvitationURL)
	if inv.FlagClearPending {
		m["flag_clear_pending"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if inv.CleanupPending {
		m["cleanup_pending"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	setN(m, "cleanup_attempts", inv.CleanupAttempts)
	setT(m, "next_cleanup_at", inv.NextCleanupAt)
	if inv.Resumable {
		m["resumable"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if inv.Deferred {
		m["deferred"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	setS(m, "token_hash", inv.TokenHash)

	d := make(map[string]types.AttributeValue, 7)
	setS(d, "status", string(inv.Delivery.Status))
	setS(d, "message_id", inv.Delivery.MessageID)
	setN(d, "sends", inv.Delivery.Sends)
	setN(d, "attempts", inv.Delivery.Attempts)
	setT(d, "next_attempt_at", inv.Delivery.NextAttemptAt)
	setT(d, "last_sent_at", inv.Delivery.LastSentAt)
	setS(d, "last_error", inv.Delivery.LastError)
	setN(d, "failures", inv.Delivery.Failures)
	// The last attempt is most often the last send: then only last_sent_at is
	// written, and an empty last_attempt_at says "none" when there was a send.
	switch la := inv.Delivery.LastAttemptAt; {
	case la.IsZero() && !inv.Delivery.LastSentAt.IsZero():
		d["last_attempt_at"] = str("")
	case !la.Equal(inv.Delivery.LastSentAt):
		setT(d, "last_attempt_at", la)
	}
	setS(d, "undeliverable", inv.Delivery.Undeliverable)
	if len(inv.Delivery.Applied) > 0 {
		l := make([]types.AttributeValue, len(inv.Delivery.Applied))
		for i, k := range inv.Delivery.Applied {
			l[i] = str(k)
		}
		d["applied"] = &types.AttributeValueMemberL{Value: l}
	}
	if len(d) > 0 {
		m["delivery"] = &types.AttributeValueMemberM{Value: d}
	}

	if len(inv.History) > 0 {
		l := make([]types.AttributeValue, len(inv.History))
		for i, e := range inv.History {
			l[i] = encodeEvent(e)
		}
		m[attrHistory] = &types.AttributeValueMemberL{Value: l}
	}
	if len(inv.Folded) > 0 {
		f := make(map[string]types.AttributeValue, len(inv.Folded))
		for event, n := range inv.Folded {
			setN(f, event, n)
		}
		m["history_folded"] = &types.AttributeValueMemberM{Value: f}
	}
	m[attrVersion] = num(int64(inv.Version))
	return nil
}

// History entries are written to hist, each a string "<unix nanoseconds in base
// 36>\x1f<event>\x1f<actor>\x1f<detail>": the same entry as a map of four named attributes (what
// items written before hold, in history) is about 30 bytes more, and every entry is
// paid for in the write units of every update. An entry whose event or actor holds
// the separator keeps the map form.
const (
	attrHistory       = "hist"
	attrLegacyHistory = "history"
	eventSep          = "\x1f"
)

func encodeEvent(e invite.Event) types.AttributeValue {
	if strings.Contains(e.Event, eventSep) || strings.Contains(e.Actor, eventSep) {
		em := make(map[string]types.AttributeValue, 4)
		setS(em, "event", e.Event)
		setT(em, "at", e.At)
		setS(em, "actor", e.Actor)
		setS(em, "detail", e.Detail)
		return &types.AttributeValueMemberM{Value: em}
	}
	at := ""
	if !e.At.IsZero() {
		at = strconv.FormatInt(e.At.UnixNano(), 36)
	}
	return str(at + eventSep + e.Event + eventSep + e.Actor + eventSep + e.Detail)
}

func decodeEvent(v types.AttributeValue) (invite.Event, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberM:
		hd := &decoder{m: v.Value}
		e := invite.Event{Event: hd.s("event"), At: hd.t("at"), Actor: hd.s("actor"), Detail: hd.s("detail")}
		return e, hd.err
	case *types.AttributeValueMemberS:
		f := strings.SplitN(v.Value, eventSep, 4)
		if len(f) != 4 {
			return invite.Event{}, fmt.Errorf("%d fields, want 4", len(f))
		}
		e := invite.Event{Event: f[1], Actor: f[2], Detail: f[3]}
		if f[0] != "" {
			ns, err := strconv.ParseInt(f[0], 36, 64)
			if err != nil {
				return invite.Event{}, fmt.Errorf("time: %w", err)
			}
			e.At = time.Unix(0, ns).UTC()
		}
		return e, nil
	default:
		return invite.Event{}, fmt.Errorf("type %T, want S or M", v)
	}
}

// decoder reads attributes and keeps the first malformed one, so that decoding reads
// as a list of fields with one error check at the end.
type decoder struct {
	m   map[string]types.AttributeValue
	err error
}

func (d *decoder) fail(name string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %s: %w", name, err)
	}
}

func (d *decoder) s(name string) string {
	switch v := d.m[name].(type) {
	case nil:
		return ""
	case *types.AttributeValueMemberS:
		return v.Value
	default:
		d.fail(name, fmt.Errorf("type %T, want S", v))
		return ""
	}
}

func (d *decoder) t(name string) time.Time {
	v := d.s(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		d.fail(name, err)
	}
	return t
}

func (d *decoder) n(name string) int {
	switch v := d.m[name].(type) {
	case nil:
		return 0
	case *types.AttributeValueMemberN:
		i, err := strconv.Atoi(v.Value)
		if err != nil {
			d.fail(name, err)
		}
		return i
	default:
		d.fail(name, fmt.Errorf("type %T, want N", v))
		return 0
	}
}

func (d *decoder) b(name string) bool {
	v, ok := d.m[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

func (d *decoder) json(name string) map[string]any {
	v := d.s(name)
	if v == "" {
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		d.fail(name, err)
	}
	return out
}

func (d *decoder) list(name string) []types.AttributeValue {
	switch v := d.m[name].(type) {
	case nil:
		return nil
	case *types.AttributeValueMemberL:
		return v.Value
	default:
		d.fail(name, fmt.Errorf("type %T, want L", v))
		return nil
	}
}

func (d *decoder) sub(name string) *decoder {
	switch v := d.m[name].(type) {
	case nil:
		return &decoder{}
	case *types.AttributeValueMemberM:
		return &decoder{m: v.Value}
	default:
		d.fail(name, fmt.Errorf("type %T, want M", v))
		return &decoder{}
	}
}

func decodeInvitation(m map[string]types.AttributeValue) (*invite.Invitation, error) {
	d := &decoder{m: m}
	inv := &invite.Invitation{
		ID:                 d.s(attrID),
		Kind:               invite.Kind(d.s("kind")),
		Email:              d.s("email"),
		Name:               d.s("name"),
		OrganizationID:     d.s("org_id"),
		Connection:         d.s("connection"),
		ClientID:           d.s("client_id"),
		AppMetadata:        d.json("app_metadata"),
		UserMetadata:       d.json("user_metadata"),
		Inviter:            invite.Inviter{Sub: d.s("inviter_sub"), Name: d.s("inviter_name")},
		Locale:             d.s("locale"),
		Message:            d.s("message"),
		RedirectURL:        d.s("redirect_url"),
		Status:             invite.Status(d.s(attrStatus)),
		CreatedAt:          d.t("created_at"),
		ExpiresAt:          d.t("expires_at"),
		AcceptedAt:         d.t("accepted_at"),
		RevokedAt:          d.t("revoked_at"),
		ExpiredAt:          d.t("expired_at"),
		FailedReason:       d.s("failed_reason"),
		Auth0UserID:        d.s("auth0_user_id"),
		UserCreated:        d.b("user_created"),
		Account:            invite.AccountState(d.s("account")),
		Deferred:           d.b("deferred"),
		LinkDisclosed:      d.b("link_disclosed"),
		Auth0InvitationID:  d.s("auth0_inv_id"),
		Auth0InvitationURL: d.s("auth0_inv_url"),
		FlagClearPending:   d.b("flag_clear_pending"),
		CleanupPending:     d.b("cleanup_pending"),
		CleanupAttempts:    d.n("cleanup_attempts"),
		NextCleanupAt:      d.t("next_cleanup_at"),
		Resumable:          d.b("resumable"),
		TokenHash:          d.s("token_hash"),
		Version:            d.n(attrVersion),
	}
	if roles := d.list("roles"); len(roles) > 0 {
		inv.Roles = make([]string, len(roles))
		for i, r := range roles {
			s, ok := r.(*types.AttributeValueMemberS)
			if !ok {
				d.fail("roles", fmt.Errorf("element %d has type %T, want S", i, r))
				break
			}
			inv.Roles[i] = s.Value
		}
	}
	dd := d.sub("delivery")
	inv.Delivery = invite.Delivery{
		Status:        invite.DeliveryStatus(dd.s("status")),
		MessageID:     dd.s("message_id"),
		Sends:         dd.n("sends"),
		Attempts:      dd.n("attempts"),
		NextAttemptAt: dd.t("next_attempt_at"),
		LastSentAt:    dd.t("last_sent_at"),
		LastError:     dd.s("last_error"),
		Failures:      dd.n("failures"),
		LastAttemptAt: dd.t("last_attempt_at"),
		Undeliverable: dd.s("undeliverable"),
	}
	for i, a := range dd.list("applied") {
		s, ok := a.(*types.AttributeValueMemberS)
		if !ok {
			dd.fail("applied", fmt.Errorf("element %d has type %T, want S", i, a))
			break
		}
		inv.Delivery.Applied = append(inv.Delivery.Applied, s.Value)
	}
	if _, ok := dd.m["last_attempt_at"]; !ok {
		inv.Delivery.LastAttemptAt = inv.Delivery.LastSentAt
	}
	if dd.err != nil {
		d.fail("delivery", dd.err)
	}
	hist := d.list(attrHistory)
	if len(hist) == 0 {
		hist = d.list(attrLegacyHistory)
	}
	if len(hist) > 0 {
		inv.History = make([]invite.Event, len(hist))
		for i, h := range hist {
			e, err := decodeEvent(h)
			if err != nil {
				d.fail("history", fmt.Errorf("element %d: %w", i, err))
				break
			}
			inv.History[i] = e
		}
	}
	if fm, ok := d.m["history_folded"].(*types.AttributeValueMemberM); ok && len(fm.Value) > 0 {
		fd := &decoder{m: fm.Value}
		inv.Folded = make(map[string]int, len(fm.Value))
		for event := range fm.Value {
			inv.Folded[event] = fd.n(event)
		}
		if fd.err != nil {
			d.fail("history_folded", fd.err)
		}
	}
	if d.err == nil && inv.ID == "" {
		d.fail(attrID, fmt.Errorf("missing"))
	}
	if d.err != nil {
		return nil, d.err
	}
	return inv, nil
}
