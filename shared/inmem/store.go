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
	"slices"
	"strings"
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

// Store is an in-memory invite.Store, invite.EventStore and invite.SweepStore. The
// conformance suite (shared/invite/storetest) holds it to the DynamoDB store's
// behaviour.
type Store struct {
	now          func() time.Time
	mu           sync.Mutex
	invitations  map[string]*invite.Invitation
	reservations map[string]string // scope + "\x00" + email key → invitation id
	tokens       map[string]string // token hash → invitation id
	users        map[string]string // Auth0 user id → latest invitation id
	orgEmails    map[invite.OrgEmail]string
	auth0Invs    map[string]string    // Auth0 organization invitation id → invitation id
	processed    map[string]time.Time // log id → when its mark expires
	dead         []invite.DeadLetter  // oldest first
	lookups      int
	// undeliverable holds the addresses SES refused for good, by email key
	// (deliveries.go); made on first use.
	undeliverable map[string]invite.UndeliverableAddress
}

var (
	_ invite.Store      = (*Store)(nil)
	_ invite.EventStore = (*Store)(nil)
)

// NewStore returns an empty store on the system clock.
func NewStore() *Store { return NewStoreWithClock(time.Now) }

// NewStoreWithClock returns an empty store on the clock now, against which the marks
// of processed log events expire.
func NewStoreWithClock(now func() time.Time) *Store {
	return &Store{
		now:          now,
		invitations:  map[string]*invite.Invitation{},
		reservations: map[string]string{},
		tokens:       map[string]string{},
		users:        map[string]string{},
		orgEmails:    map[invite.OrgEmail]string{},
		auth0Invs:    map[string]string{},
		processed:    map[string]time.Time{},
	}
}

func reservationKey(inv *invite.Invitation) string {
	return inv.Scope() + "\x00" + invite.EmailKey(inv.Email)
}

// Create implements invite.Store.
func (s *Store) Create(_ context.Context, inv *invite.Invitation) error {
	switch {
	case inv == nil:
		return invite.Errorf(invite.CodeInternal, "store: create: no invitation")
	case inv.ID == "":
		return invite.Invalid("id", "an invitation needs an id")
	case inv.Version != 1:
		return invite.Invalid("version", "a new invitation has version 1, not %d", inv.Version)
	case inv.Status != invite.StatusPending:
		return invite.Invalid("status", "a new invitation is pending, not %s", inv.Status)
	case invite.EmailKey(inv.Email) == "":
		return invite.Invalid("email", "an invitation needs an email")
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
	s.indexUser(c, nil)
	s.indexOrg(c, nil)
	return nil
}

// newest points index[k] at inv unless it names a newer invitation, as the DynamoDB
// store's copies do.
func newest[K comparable](s *Store, index map[K]string, k K, inv *invite.Invitation) {
	if cur, ok := s.invitations[index[k]]; ok && cur.ID != inv.ID && rank(cur) > rank(inv) {
		return
	}
	index[k] = inv.ID
}

// unindex removes index[k] when it still names the invitation id.
func unindex[K comparable](index map[K]string, k K, id string) {
	if index[k] == id {
		delete(index, k)
	}
}

// indexUser points the Auth0 user at inv when inv is its latest invitation, and takes
// the user inv had before (prev) off it.
func (s *Store) indexUser(inv, prev *invite.Invitation) {
	if prev != nil && prev.Auth0UserID != "" && prev.Auth0UserID != inv.Auth0UserID {
		unindex(s.users, prev.Auth0UserID, inv.ID)
	}
	if inv.Auth0UserID != "" {
		newest(s, s.users, inv.Auth0UserID, inv)
	}
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

// GetByAuth0UserIDs implements invite.Store. Repeated and empty ids count once and
// not at all towards the limit of 100, as in one BatchGetItem.
func (s *Store) GetByAuth0UserIDs(_ context.Context, userIDs []string) (map[string]*invite.Invitation, error) {
	ids := slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(userIDs))), func(id string) bool { return id == "" })
	if len(ids) > maxBatchGet {
		return nil, invite.Invalid("user_ids", "at most %d user ids, not %d", maxBatchGet, len(ids))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*invite.Invitation, len(ids))
	for _, uid := range ids {
		if inv, ok := s.invitations[s.users[uid]]; ok {
			out[uid] = inv.Clone()
		}
	}
	return out, nil
}

// Update implements invite.Store. On success next.Version is set to prev.Version+1.
func (s *Store) Update(_ context.Context, prev, next *invite.Invitation) error {
	switch {
	case prev == nil || next == nil:
		return invite.Errorf(invite.CodeInternal, "store: update: no invitation")
	case next.ID != prev.ID:
		return invite.Invalid("id", "an update cannot change the id to %s", next.ID)
	case reservationKey(prev) != reservationKey(next):
		return invite.Invalid("email", "an update cannot change the email or the organization")
	case !next.Status.Valid():
		return invite.Invalid("status", "unknown status %q", next.Status)
	case prev.Status.Terminal() && next.Status != prev.Status:
		return invite.Errorf(invite.CodeConflict, "invitation %s is already %s", prev.ID, prev.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A missing invitation fails the condition as a changed one does.
	cur, ok := s.invitations[prev.ID]
	if !ok || cur.Status != prev.Status || cur.Version != prev.Version {
		return invite.Errorf(invite.CodeConflict, "invitation %s changed since it was read", prev.ID)
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
	s.indexUser(c, cur)
	s.indexOrg(c, cur)
	return nil
}

func pageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultListLimit, nil
	case limit < 0 || limit > MaxListLimit:
		return 0, invite.Invalid("limit", "limit must be between 1 and %d", MaxListLimit)
	}
	return limit, nil
}

// List implements invite.Store: newest first (creation time, then id).
func (s *Store) List(_ context.Context, q invite.ListQuery) (*invite.Page, error) {
	q.EmailKey = invite.EmailKey(q.EmailKey)
	switch {
	case q.Scope == "":
		return nil, invite.Invalid("organization_id", "a listing needs a scope")
	case q.Status != "" && !q.Status.Valid():
		return nil, invite.Invalid("status", "unknown status %q", q.Status)
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, err
	}
	binding := []string{"list", q.Scope, string(q.Status), q.EmailKey, q.Inviter}
	after := ""
	if q.Cursor != "" {
		if after, err = open(q.Cursor, binding); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*invite.Invitation
	for _, inv := range s.invitations {
		if inv.Scope() == q.Scope &&
			(q.Status == "" || inv.Status == q.Status) &&
			(q.EmailKey == "" || invite.EmailKey(inv.Email) == q.EmailKey) &&
			(q.Inviter == "" || inv.Inviter.Sub == q.Inviter) &&
			(after == "" || rank(inv) < after) {
			match = append(match, inv)
		}
	}
	slices.SortFunc(match, func(a, b *invite.Invitation) int { return strings.Compare(rank(b), rank(a)) })
	page := &invite.Page{Invitations: []*invite.Invitation{}}
	for _, inv := range match[:min(limit, len(match))] {
		page.Invitations = append(page.Invitations, inv.Clone())
	}
	if len(match) > limit {
		page.NextCursor = seal(binding, rank(match[limit-1]))
	}
	return page, nil
}

// ExpiringBefore implements invite.Store: pending invitations due before t, the
// earliest first.
func (s *Store) ExpiringBefore(_ context.Context, t time.Time, limit int, cur string) (*invite.Page, error) {
	return s.before("expiry", t, limit, cur, func(inv *invite.Invitation) (time.Time, bool) {
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

// before pages through the invitations that at places before t, in its order, as the
// DynamoDB store's sparse indexes do: limit is clamped to 1..100 (0 means 100), and a
// cursor is bound to its index, not to t.
func (s *Store) before(index string, t time.Time, limit int, cur string, at func(*invite.Invitation) (time.Time, bool)) (*invite.Page, error) {
	if limit <= 0 || limit > MaxListLimit {
		limit = MaxListLimit
	}
	binding := []string{index}
	after := ""
	if cur != "" {
		var err error
		if after, err = open(cur, binding); err != nil {
			return nil, err
		}
	}
	type entry struct {
		key string
		inv *invite.Invitation
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []entry
	for _, inv := range s.invitations {
		if when, ok := at(inv); ok && when.Before(t) {
			if k := sortKey(when, inv.ID); k > after {
				match = append(match, entry{k, inv})
			}
		}
	}
	slices.SortFunc(match, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	page := &invite.Page{Invitations: []*invite.Invitation{}}
	for _, e := range match[:min(limit, len(match))] {
		page.Invitations = append(page.Invitations, e.inv.Clone())
	}
	if len(match) > limit {
		page.NextCursor = seal(binding, match[limit-1].key)
	}
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
	slices.SortFunc(out, func(a, b *invite.Invitation) int { return strings.Compare(rank(b), rank(a)) })
	return out
}

// indexOrg keeps the organization keys of the webhook as the DynamoDB store's copies
// do: (organization, email) names the newest invitation, and an Auth0 invitation id
// names its invitation until it is replaced.
func (s *Store) indexOrg(inv, prev *invite.Invitation) {
	if prev != nil && prev.Auth0InvitationID != "" && prev.Auth0InvitationID != inv.Auth0InvitationID {
		unindex(s.auth0Invs, prev.Auth0InvitationID, inv.ID)
	}
	if inv.Kind != invite.KindOrganization || inv.OrganizationID == "" {
		return
	}
	newest(s, s.orgEmails, invite.OrgEmail{OrgID: inv.OrganizationID, EmailKey: invite.EmailKey(inv.Email)}, inv)
	if inv.Auth0InvitationID != "" {
		newest(s, s.auth0Invs, inv.Auth0InvitationID, inv)
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
		if s.marked(id) {
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
	if s.marked(logID) {
		return false, nil
	}
	s.processed[logID] = s.now().Add(ttl)
	return true, nil
}

// marked reports whether the log id carries a mark that has not expired. Callers
// hold s.mu.
func (s *Store) marked(logID string) bool {
	expires, ok := s.processed[logID]
	return ok && expires.After(s.now())
}

// RecordDeadLetter implements invite.EventStore.
func (s *Store) RecordDeadLetter(_ context.Context, d invite.DeadLetter) error {
	if d.ID == "" || d.At.IsZero() {
		return invite.Invalid("id", "a dead letter needs an id and a time")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d.At = d.At.UTC()
	d.InvitationIDs = slices.Clone(d.InvitationIDs)
	for i, e := range s.dead {
		if e.ID == d.ID && e.At.Equal(d.At) {
			s.dead[i] = d
			return nil
		}
	}
	s.dead = append(s.dead, d)
	slices.SortStableFunc(s.dead, func(a, b invite.DeadLetter) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID))
	})
	return nil
}

// DeadLetters implements invite.EventStore: newest first; the cursor is the position
// of the next one, sealed like the store's other cursors.
func (s *Store) DeadLetters(_ context.Context, limit int, cursor string) (*invite.DeadLetterPage, error) {
	if limit < 1 || limit > 100 {
		return nil, invite.Invalid("limit", "must be between 1 and 100")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Newest first. (DynamoDB's TTL removes them after DeadLetterRetention, some time
	// later; nothing reads them by age, so the fake keeps them.)
	live := slices.Clone(s.dead)
	slices.Reverse(live)
	binding := []string{"dead"}
	start := 0
	if cursor != "" {
		pos, err := open(cursor, binding)
		if err != nil {
			return nil, err
		}
		// The position is the sort key of the last one returned, as DynamoDB's is.
		start = len(live)
		for i, d := range live {
			if sortKey(d.At, d.ID) < pos {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(live))
	page := &invite.DeadLetterPage{DeadLetters: slices.Clone(live[start:end])}
	if end < len(live) {
		last := live[end-1]
		page.NextCursor = seal(binding, sortKey(last.At, last.ID))
	}
	return page, nil
}
