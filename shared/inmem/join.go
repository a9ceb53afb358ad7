package inmem

import (
	"cmp"
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// JoinStore is an in-memory invite.JoinStore, held by the conformance suite to the
// DynamoDB store's behaviour.
type JoinStore struct {
	mu           sync.Mutex
	requests     map[string]*invite.AccessRequest
	reqTokens    map[string]string // token hash → request id
	reservations map[string]string // scope \x00 email key → open request id
	policies     map[string]*invite.JoinPolicy
	links        map[string]*invite.InviteLink
	linkTokens   map[string]string
	redemptions  map[string][]invite.Redemption
}

var _ invite.JoinStore = (*JoinStore)(nil)

// NewJoinStore returns an empty JoinStore.
func NewJoinStore() *JoinStore {
	return &JoinStore{
		requests: map[string]*invite.AccessRequest{}, reqTokens: map[string]string{},
		reservations: map[string]string{}, policies: map[string]*invite.JoinPolicy{},
		links: map[string]*invite.InviteLink{}, linkTokens: map[string]string{},
		redemptions: map[string][]invite.Redemption{},
	}
}

func reqReservation(r *invite.AccessRequest) string {
	return r.Scope() + "\x00" + invite.EmailKey(r.Email)
}

func (s *JoinStore) CreateRequest(_ context.Context, r *invite.AccessRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.requests[r.ID]; ok {
		return invite.Errorf(invite.CodeConflict, "access request %s exists", r.ID)
	}
	res := reqReservation(r)
	if id, ok := s.reservations[res]; ok && r.Status.Open() {
		return &invite.Error{Code: invite.CodeConflict, Message: "an open request for this address exists", ExistingID: id}
	}
	if r.TokenHash != "" {
		if _, ok := s.reqTokens[r.TokenHash]; ok {
			return invite.Errorf(invite.CodeConflict, "token taken")
		}
		s.reqTokens[r.TokenHash] = r.ID
	}
	if r.Status.Open() {
		s.reservations[res] = r.ID
	}
	s.requests[r.ID] = r.Clone()
	return nil
}

func (s *JoinStore) GetRequest(_ context.Context, id string) (*invite.AccessRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok {
		return nil, invite.Errorf(invite.CodeNotFound, "access request %s not found", id)
	}
	return r.Clone(), nil
}

func (s *JoinStore) GetRequestByTokenHash(ctx context.Context, hash string) (*invite.AccessRequest, error) {
	s.mu.Lock()
	id, ok := s.reqTokens[hash]
	s.mu.Unlock()
	if !ok {
		return nil, invite.Errorf(invite.CodeNotFound, "no access request has this token")
	}
	return s.GetRequest(ctx, id)
}

func (s *JoinStore) UpdateRequest(_ context.Context, prev, next *invite.AccessRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.requests[prev.ID]
	if !ok || cur.Version != prev.Version || next.Version != prev.Version+1 {
		return invite.Errorf(invite.CodeConflict, "access request %s changed", prev.ID)
	}
	if next.TokenHash != cur.TokenHash {
		if next.TokenHash != "" {
			if _, taken := s.reqTokens[next.TokenHash]; taken {
				return invite.Errorf(invite.CodeConflict, "token taken")
			}
			s.reqTokens[next.TokenHash] = next.ID
		}
		delete(s.reqTokens, cur.TokenHash)
	}
	if cur.Status.Open() && !next.Status.Open() {
		if s.reservations[reqReservation(cur)] == cur.ID {
			delete(s.reservations, reqReservation(cur))
		}
	}
	s.requests[prev.ID] = next.Clone()
	return nil
}

// page cursors of the in-memory store: the last position, base64url, bound to nothing
// more than the query's key (as good as the fake needs; the suite checks that a
// foreign cursor is refused on DynamoDB, where it is sealed).
func encodeCursor(binding, pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(binding + "\x00" + pos))
}

func decodeCursor(binding, cursor string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	b, pos, ok := strings.Cut(string(raw), "\x00")
	if err != nil || !ok || b != binding {
		return "", invite.Invalid("cursor", "the cursor is malformed or belongs to another query")
	}
	return pos, nil
}

func newestFirst(aAt time.Time, aID string, bAt time.Time, bID string) int {
	if c := bAt.Compare(aAt); c != 0 {
		return c
	}
	return cmp.Compare(bID, aID)
}

func (s *JoinStore) ListRequests(_ context.Context, q invite.RequestQuery) (*invite.RequestPage, error) {
	if q.Limit < 0 || q.Limit > MaxListLimit {
		return nil, invite.Invalid("limit", "limit must be between 1 and %d", MaxListLimit)
	}
	limit := cmp.Or(q.Limit, DefaultListLimit)
	q.EmailKey = invite.EmailKey(q.EmailKey)
	binding := strings.Join([]string{"areq", q.Scope, string(q.Status), q.EmailKey}, "|")
	after := ""
	if q.Cursor != "" {
		var err error
		if after, err = decodeCursor(binding, q.Cursor); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	var all []*invite.AccessRequest
	for _, r := range s.requests {
		if r.Scope() == q.Scope && r.Status != invite.RequestUnverified &&
			(q.Status == "" || r.Status == q.Status) && (q.EmailKey == "" || invite.EmailKey(r.Email) == q.EmailKey) {
			all = append(all, r.Clone())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b *invite.AccessRequest) int { return newestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
	if after != "" {
		i := slices.IndexFunc(all, func(r *invite.AccessRequest) bool { return r.ID == after })
		all = all[i+1:]
	}
	page := &invite.RequestPage{}
	if len(all) > limit {
		all = all[:limit]
		page.NextCursor = encodeCursor(binding, all[limit-1].ID)
	}
	page.Requests = all
	return page, nil
}

func (s *JoinStore) RequestsExpiringBefore(_ context.Context, t time.Time, limit int) ([]*invite.AccessRequest, error) {
	if limit <= 0 || limit > MaxListLimit {
		limit = MaxListLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*invite.AccessRequest
	for _, r := range s.requests {
		if r.Status.Open() && r.ExpiresAt.Before(t) {
			out = append(out, r.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *invite.AccessRequest) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *JoinStore) JoinPolicy(_ context.Context, scope string) (*invite.JoinPolicy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.policies[scope]
	if !ok {
		return nil, invite.Errorf(invite.CodeNotFound, "no join policy for %s", scope)
	}
	return p.Clone(), nil
}

func (s *JoinStore) PutJoinPolicy(_ context.Context, p *invite.JoinPolicy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := p.Clone()
	if old, ok := s.policies[p.Scope]; ok {
		c.Version = old.Version + 1
	} else {
		c.Version = 1
	}
	p.Version = c.Version
	s.policies[p.Scope] = c
	return nil
}

func (s *JoinStore) CreateLink(_ context.Context, l *invite.InviteLink) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.links[l.ID]; ok {
		return invite.Errorf(invite.CodeConflict, "link %s exists", l.ID)
	}
	if _, ok := s.linkTokens[l.TokenHash]; ok {
		return invite.Errorf(invite.CodeConflict, "token taken")
	}
	s.links[l.ID] = l.Clone()
	s.linkTokens[l.TokenHash] = l.ID
	return nil
}

func (s *JoinStore) GetLink(_ context.Context, id string) (*invite.InviteLink, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[id]
	if !ok {
		return nil, invite.Errorf(invite.CodeNotFound, "link %s not found", id)
	}
	return l.Clone(), nil
}

func (s *JoinStore) GetLinkByTokenHash(ctx context.Context, hash string) (*invite.InviteLink, error) {
	s.mu.Lock()
	id, ok := s.linkTokens[hash]
	s.mu.Unlock()
	if !ok {
		return nil, invite.Errorf(invite.CodeNotFound, "no link has this token")
	}
	return s.GetLink(ctx, id)
}

func (s *JoinStore) ListLinks(_ context.Context, scope string, limit int, cursor string) (*invite.LinkPage, error) {
	if limit < 0 || limit > MaxListLimit {
		return nil, invite.Invalid("limit", "limit must be between 1 and %d", MaxListLimit)
	}
	limit = cmp.Or(limit, DefaultListLimit)
	binding := "link|" + scope
	after := ""
	if cursor != "" {
		var err error
		if after, err = decodeCursor(binding, cursor); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	var all []*invite.InviteLink
	for _, l := range s.links {
		if l.Scope() == scope {
			all = append(all, l.Clone())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b *invite.InviteLink) int { return newestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
	if after != "" {
		i := slices.IndexFunc(all, func(l *invite.InviteLink) bool { return l.ID == after })
		all = all[i+1:]
	}
	page := &invite.LinkPage{}
	if len(all) > limit {
		all = all[:limit]
		page.NextCursor = encodeCursor(binding, all[limit-1].ID)
	}
	page.Links = all
	return page, nil
}

func (s *JoinStore) RevokeLink(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[id]
	switch {
	case !ok:
		return invite.Errorf(invite.CodeNotFound, "link %s not found", id)
	case !l.RevokedAt.IsZero():
		return invite.Errorf(invite.CodeConflict, "link %s was revoked already", id)
	}
	l.RevokedAt = at.UTC()
	l.Version++
	return nil
}

func (s *JoinStore) ClaimLinkUse(_ context.Context, red invite.Redemption) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[red.LinkID]
	if !ok {
		return invite.Errorf(invite.CodeNotFound, "link %s not found", red.LinkID)
	}
	if !l.Usable(red.At) {
		return invite.Errorf(invite.CodeConflict, "link %s is revoked, expired or spent", red.LinkID)
	}
	l.Uses++
	l.Version++
	red.At = red.At.UTC()
	s.redemptions[red.LinkID] = append(s.redemptions[red.LinkID], red)
	return nil
}

func (s *JoinStore) SetRedemptionInvitation(_ context.Context, linkID, requestID, invitationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	reds := s.redemptions[linkID]
	for i := range reds {
		if reds[i].RequestID == requestID {
			reds[i].InvitationID = invitationID
			return nil
		}
	}
	return invite.Errorf(invite.CodeNotFound, "no redemption of %s by %s", linkID, requestID)
}

func (s *JoinStore) Redemptions(_ context.Context, linkID string, limit int) ([]invite.Redemption, error) {
	if limit <= 0 || limit > MaxListLimit {
		limit = MaxListLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	reds := slices.Clone(s.redemptions[linkID])
	if len(reds) > limit {
		reds = reds[:limit]
	}
	return reds, nil
}
