// Package inmem holds in-memory implementations of Doorman's ports (invite.Store,
// invite.Identity, invite.Mailer) for tests and local runs. They behave like the real
// adapters, with the same error codes and conditions: the Store enforces reservations,
// versions and token swaps as the DynamoDB store does, the Identity keeps users and
// organizations with Auth0's not-found and conflict answers, and both it and the Mailer
// can be told to fail. All are safe for concurrent use and never alias the caller's
// values.
package inmem

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// DefaultListLimit and MaxListLimit bound a page, as the API does.
const (
	DefaultListLimit = 50
	MaxListLimit     = 100
	maxBatchGet      = 100
)

// Store is an in-memory invite.Store.
type Store struct {
	mu           sync.Mutex
	invitations  map[string]*invite.Invitation
	reservations map[string]string // scope + "\x00" + email key → invitation id
	tokens       map[string]string // token hash → invitation id
	users        map[string]string // Auth0 user id → latest invitation id
	orgEmails    map[invite.OrgEmail]string
	auth0Invs    map[string]string // Auth0 organization invitation id → invitation id
	processed    map[string]bool   // log ids; kept for the store's life, as a TTL far longer than a test
	lookups      int
}

var (
	_ invite.Store      = (*Store)(nil)
	_ invite.EventStore = (*Store)(nil)
)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		invitations:  map[string]*invite.Invitation{},
		reservations: map[string]string{},
		tokens:       map[string]string{},
		users:        map[string]string{},
		orgEmails:    map[invite.OrgEmail]string{},
		auth0Invs:    map[string]string{},
		processed:    map[string]bool{},
	}
}

func reservationKey(inv *invite.Invitation) string {
	return inv.Scope() + "\x00" + invite.EmailKey(inv.Email)
}

// Create implements invite.Store.
func (s *Store) Create(_ context.Context, inv *invite.Invitation) error {
	if inv == nil || inv.ID == "" {
		return invite.Errorf(invite.CodeInternal, "store: create: invitation without id")
	}
	if inv.Version != 1 || inv.Status != invite.StatusPending {
		return invite.Errorf(invite.CodeInternal, "store: create %s: want a pending invitation at version 1, got %s at %d", inv.ID, inv.Status, inv.Version)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.invitations[inv.ID]; ok {
		return invite.Errorf(invite.CodeConflict, "store: invitation %s exists", inv.ID)
	}
	key := reservationKey(inv)
	if existing, ok := s.reservations[key]; ok {
		return &invite.Error{Code: invite.CodeConflict, Message: "a pending invitation for this email exists", ExistingID: existing}
	}
	if inv.TokenHash != "" {
		if _, ok := s.tokens[inv.TokenHash]; ok {
			return invite.Errorf(invite.CodeConflict, "store: token hash taken")
		}
	}
	c := inv.Clone()
	s.invitations[c.ID] = c
	s.reservations[key] = c.ID
	if c.TokenHash != "" {
		s.tokens[c.TokenHash] = c.ID
	}
	s.indexUser(c)
	s.indexOrg(c, nil)
	return nil
}

// indexUser points the Auth0 user at inv when inv is its latest invitation.
func (s *Store) indexUser(inv *invite.Invitation) {
	if inv.Auth0UserID == "" {
		return
	}
	if cur, ok := s.invitations[s.users[inv.Auth0UserID]]; ok && cur.ID != inv.ID && cur.CreatedAt.After(inv.CreatedAt) {
		return
	}
	s.users[inv.Auth0UserID] = inv.ID
}

// Get implements invite.Store.
func (s *Store) Get(_ context.Context, id string) (*invite.Invitation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invitations[id]
	if !ok {
		return nil, invite.Errorf(invite.CodeNotFound, "invitation %s not found", id)
	}
	return inv.Clone(), nil
}

// GetByTokenHash implements invite.Store.
func (s *Store) GetByTokenHash(_ context.Context, hash string) (*invite.Invitation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invitations[s.tokens[hash]]
	if !ok {
		return nil, invite.Errorf(invite.CodeNotFound, "no invitation for that link")
	}
	return inv.Clone(), nil
}

// GetByAuth0UserIDs implements invite.Store.
func (s *Store) GetByAuth0UserIDs(_ context.Context, userIDs []string) (map[string]*invite.Invitation, error) {
	if len(userIDs) > maxBatchGet {
		return nil, invite.Errorf(invite.CodeInvalid, "at most %d user ids per read, got %d", maxBatchGet, len(userIDs))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*invite.Invitation, len(userIDs))
	for _, uid := range userIDs {
		if inv, ok := s.invitations[s.users[uid]]; ok {
			out[uid] = inv.Clone()
		}
	}
	return out, nil
}

// Update implements invite.Store. On success next.Version is set to prev.Version+1.
func (s *Store) Update(_ context.Context, prev, next *invite.Invitation) error {
	if prev == nil || next == nil || prev.ID != next.ID {
		return invite.Errorf(invite.CodeInternal, "store: update: prev and next must be the same invitation")
	}
	if prev.Status.Terminal() && next.Status == invite.StatusPending {
		return invite.Errorf(invite.CodeInternal, "store: update %s: %s cannot become pending", prev.ID, prev.Status)
	}
	if reservationKey(prev) != reservationKey(next) {
		return invite.Errorf(invite.CodeInternal, "store: update %s: scope and email cannot change", prev.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.invitations[prev.ID]
	if !ok {
		return invite.Errorf(invite.CodeNotFound, "invitation %s not found", prev.ID)
	}
	if cur.Status != prev.Status || cur.Version != prev.Version {
		return invite.Errorf(invite.CodeConflict, "invitation %s changed (now %s at version %d)", prev.ID, cur.Status, cur.Version)
	}
	if next.TokenHash != cur.TokenHash && next.TokenHash != "" {
		if owner, ok := s.tokens[next.TokenHash]; ok && owner != cur.ID {
			return invite.Errorf(invite.CodeConflict, "store: token hash taken")
		}
	}
	c := next.Clone()
	c.Version = prev.Version + 1
	next.Version = c.Version
	if c.TokenHash != cur.TokenHash {
		delete(s.tokens, cur.TokenHash)
		if c.TokenHash != "" {
			s.tokens[c.TokenHash] = c.ID
		}
	}
	if c.Status != invite.StatusPending {
		key := reservationKey(c)
		if s.reservations[key] == c.ID {
			delete(s.reservations, key)
		}
	}
	s.invitations[c.ID] = c
	s.indexUser(c)
	s.indexOrg(c, cur)
	return nil
}

// cursor is the decoded form of a page cursor. Digest binds it to the query that
// produced it; Sum detects tampering.
type cursor struct {
	Digest string    `json:"d"`
	At     time.Time `json:"t"`
	ID     string    `json:"i"`
	Sum    string    `json:"s"`
}

func (c cursor) sum() string {
	h := sha256.Sum256([]byte("inmem-cursor\x00" + c.Digest + "\x00" + c.At.Format(time.RFC3339Nano) + "\x00" + c.ID))
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

func encodeCursor(digest string, at time.Time, id string) string {
	c := cursor{Digest: digest, At: at, ID: id}
	c.Sum = c.sum()
	b, _ := json.Marshal(c) // a struct of strings and a time always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, digest string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Sum != c.sum() {
		return cursor{}, &invite.Error{Code: invite.CodeInvalid, Field: "cursor", Message: "malformed cursor"}
	}
	if c.Digest != digest {
		return cursor{}, &invite.Error{Code: invite.CodeInvalid, Field: "cursor", Message: "the cursor belongs to another query"}
	}
	return c, nil
}

func queryDigest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

func pageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultListLimit, nil
	case limit < 0 || limit > MaxListLimit:
		return 0, &invite.Error{Code: invite.CodeInvalid, Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxListLimit)}
	}
	return limit, nil
}

// List implements invite.Store: newest first (creation time, then id).
func (s *Store) List(_ context.Context, q invite.ListQuery) (*invite.Page, error) {
	if q.Scope == "" {
		return nil, invite.Errorf(invite.CodeInvalid, "store: list needs a scope")
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, err
	}
	digest := queryDigest("list", q.Scope, string(q.Status), q.EmailKey, q.Inviter)
	var after *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, digest)
		if err != nil {
			return nil, err
		}
		after = &c
	}
	s.mu.Lock()
	var match []*invite.Invitation
	for _, inv := range s.invitations {
		if inv.Scope() != q.Scope ||
			(q.Status != "" && inv.Status != q.Status) ||
			(q.EmailKey != "" && invite.EmailKey(inv.Email) != q.EmailKey) ||
			(q.Inviter != "" && inv.Inviter.Sub != q.Inviter) {
			continue
		}
		match = append(match, inv)
	}
	newestFirst := func(a, b *invite.Invitation) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	}
	slices.SortFunc(match, newestFirst)
	page := s.page(match, limit, func(inv *invite.Invitation) bool {
		return after == nil || newestFirst(inv, &invite.Invitation{CreatedAt: after.At, ID: after.ID}) > 0
	})
	s.mu.Unlock()
	if page.NextCursor != "" {
		last := page.Invitations[len(page.Invitations)-1]
		page.NextCursor = encodeCursor(digest, last.CreatedAt, last.ID)
	}
	return page, nil
}

// page copies up to limit of the sorted invitations that keep accepts; NextCursor is
// set (to a placeholder the caller replaces) when more remain.
func (s *Store) page(sorted []*invite.Invitation, limit int, keep func(*invite.Invitation) bool) *invite.Page {
	p := &invite.Page{Invitations: []*invite.Invitation{}}
	for _, inv := range sorted {
		if !keep(inv) {
			continue
		}
		if len(p.Invitations) == limit {
			p.NextCursor = "more"
			break
		}
		p.Invitations = append(p.Invitations, inv.Clone())
	}
	return p
}

// ExpiringBefore implements invite.Store: pending invitations due before t, the
// earliest first.
func (s *Store) ExpiringBefore(_ context.Context, t time.Time, limit int, cur string) (*invite.Page, error) {
	return s.before("expiring", t, limit, cur, func(inv *invite.Invitation) (time.Time, bool) {
		return inv.ExpiresAt, inv.Status == invite.StatusPending
	})
}

// DueBefore implements invite.SweepStore: invitations whose DueAt is before t, the
// earliest due first.
func (s *Store) DueBefore(_ context.Context, t time.Time, limit int, cur string) (*invite.Page, error) {
	return s.before("due", t, limit, cur, (*invite.Invitation).DueAt)
}

// RemindBefore implements invite.SweepStore: invitations awaiting their reminder that
// expire before t, the earliest first.
func (s *Store) RemindBefore(_ context.Context, t time.Time, limit int, cur string) (*invite.Page, error) {
	return s.before("reminder", t, limit, cur, func(inv *invite.Invitation) (time.Time, bool) {
		return inv.ExpiresAt, inv.AwaitsReminder()
	})
}

var _ invite.SweepStore = (*Store)(nil)

// before pages through the invitations that at places before t, in its order.
func (s *Store) before(name string, t time.Time, limit int, cur string, at func(*invite.Invitation) (time.Time, bool)) (*invite.Page, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	digest := queryDigest(name, t.UTC().Format(time.RFC3339Nano))
	var after *cursor
	if cur != "" {
		c, err := decodeCursor(cur, digest)
		if err != nil {
			return nil, err
		}
		after = &c
	}
	type entry struct {
		at  time.Time
		inv *invite.Invitation
	}
	s.mu.Lock()
	var match []entry
	for _, inv := range s.invitations {
		if when, ok := at(inv); ok && when.Before(t) {
			match = append(match, entry{when, inv})
		}
	}
	order := func(a, b entry) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.inv.ID, b.inv.ID)) }
	slices.SortFunc(match, order)
	page := &invite.Page{Invitations: []*invite.Invitation{}}
	var last entry
	for _, e := range match {
		if after != nil && order(e, entry{after.At, &invite.Invitation{ID: after.ID}}) <= 0 {
			continue
		}
		if len(page.Invitations) == limit {
			page.NextCursor = encodeCursor(digest, last.at, last.inv.ID)
			break
		}
		page.Invitations = append(page.Invitations, e.inv.Clone())
		last = e
	}
	s.mu.Unlock()
	return page, nil
}

// Len returns how many invitations the store holds.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.invitations)
}

// Reserved returns the id of the pending invitation that holds (scope, email), if any.
func (s *Store) Reserved(scope, email string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.reservations[scope+"\x00"+invite.EmailKey(email)]
	return id, ok
}

// All returns copies of every invitation, newest first.
func (s *Store) All() []*invite.Invitation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*invite.Invitation, 0, len(s.invitations))
	for _, inv := range s.invitations {
		out = append(out, inv.Clone())
	}
	slices.SortFunc(out, func(a, b *invite.Invitation) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return out
}

// indexOrg keeps the organization keys of the webhook as the DynamoDB store's copies
// do: (organization, email) names the newest invitation, and an Auth0 invitation id
// names its invitation until it is replaced.
func (s *Store) indexOrg(inv, prev *invite.Invitation) {
	if inv.Kind != invite.KindOrganization {
		return
	}
	k := invite.OrgEmail{OrgID: inv.OrganizationID, EmailKey: invite.EmailKey(inv.Email)}
	if cur, ok := s.invitations[s.orgEmails[k]]; !ok || cur.ID == inv.ID || !cur.CreatedAt.After(inv.CreatedAt) {
		s.orgEmails[k] = inv.ID
	}
	if prev != nil && prev.Auth0InvitationID != "" && prev.Auth0InvitationID != inv.Auth0InvitationID && s.auth0Invs[prev.Auth0InvitationID] == inv.ID {
		delete(s.auth0Invs, prev.Auth0InvitationID)
	}
	if inv.Auth0InvitationID != "" {
		s.auth0Invs[inv.Auth0InvitationID] = inv.ID
	}
}

// Lookup implements invite.EventStore.
func (s *Store) Lookup(_ context.Context, keys invite.LookupKeys) (*invite.Lookup, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	out := &invite.Lookup{
		ByUserID:            map[string]*invite.Invitation{},
		ByOrgEmail:          map[invite.OrgEmail]*invite.Invitation{},
		ByAuth0InvitationID: map[string]*invite.Invitation{},
		Processed:           map[string]bool{},
	}
	for _, id := range keys.UserIDs {
		if inv, ok := s.invitations[s.users[id]]; ok {
			out.ByUserID[id] = inv.Clone()
		}
	}
	for _, k := range keys.OrgEmails {
		if inv, ok := s.invitations[s.orgEmails[k]]; ok {
			out.ByOrgEmail[k] = inv.Clone()
		}
	}
	for _, id := range keys.Auth0InvitationIDs {
		if inv, ok := s.invitations[s.auth0Invs[id]]; ok {
			out.ByAuth0InvitationID[id] = inv.Clone()
		}
	}
	for _, id := range keys.LogIDs {
		if s.processed[id] {
			out.Processed[id] = true
		}
	}
	return out, nil
}

// Lookups counts the calls of Lookup, so that tests can check that a batch is read
// once.
func (s *Store) Lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

// MarkLogProcessed implements invite.EventStore.
func (s *Store) MarkLogProcessed(_ context.Context, logID string, ttl time.Duration) (bool, error) {
	if logID == "" || ttl <= 0 {
		return false, invite.Invalid("log_id", "a log id and a positive ttl are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.processed[logID] {
		return false, nil
	}
	s.processed[logID] = true
	return true, nil
}
