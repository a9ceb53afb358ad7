package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// NewJoinStore makes an empty invite.JoinStore for one test.
type NewJoinStore func(t *testing.T) invite.JoinStore

// RunJoin runs the contract of invite.JoinStore against an implementation.
func RunJoin(t *testing.T, newStore NewJoinStore) {
	cases := []struct {
		name string
		run  func(t *testing.T, s invite.JoinStore)
	}{
		{"RequestRoundTrip", testRequestRoundTrip},
		{"RequestReservation", testRequestReservation},
		{"RequestUpdate", testRequestUpdate},
		{"RequestList", testRequestList},
		{"RequestsExpiring", testRequestsExpiring},
		{"JoinPolicy", testJoinPolicy},
		{"Links", testLinks},
		{"LinkUsesExact", testLinkUsesExact},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newStore(t))
		})
	}
}

var joinBase = time.Date(2030, 5, 17, 9, 0, 0, 0, time.UTC)

// Request returns an unverified request of scope orgID ("" for the application).
func Request(id, email, orgID string, created time.Time) *invite.AccessRequest {
	return &invite.AccessRequest{
		ID: id, Email: email, Name: "Ann", OrganizationID: orgID, Note: "please",
		Status: invite.RequestUnverified, CreatedAt: created, ExpiresAt: created.Add(invite.VerifyTTL),
		TokenHash: invite.TokenHash("tok-" + id), Version: 1,
		History: []invite.Event{{Event: invite.RequestEventCreated, At: created, Actor: invite.ActorInvitee}},
	}
}

func verified(r *invite.AccessRequest, at time.Time) *invite.AccessRequest {
	n := r.Clone()
	n.Status, n.VerifiedAt, n.ExpiresAt, n.TokenHash = invite.RequestPending, at, at.Add(invite.PendingTTL), ""
	n.History = append(n.History, invite.Event{Event: invite.RequestEventVerified, At: at, Actor: invite.ActorInvitee})
	n.Version = r.Version + 1
	return n
}

func sameRequest(t *testing.T, got, want *invite.AccessRequest) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request\n got  %+v\n want %+v", got, want)
	}
}

func testRequestRoundTrip(t *testing.T, s invite.JoinStore) {
	ctx := t.Context()
	r := Request("01JREQ0000000000000000000A", "Ann@Example.com", "org_1", joinBase)
	r.LinkID = "01JLNK0000000000000000000A"
	if err := s.CreateRequest(ctx, r); err != nil {
		t.Fatalf("CreateRequest: %v", err)
	}
	got, err := s.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatalf("GetRequest: %v", err)
	}
	sameRequest(t, got, r)
	byTok, err := s.GetRequestByTokenHash(ctx, r.TokenHash)
	if err != nil || byTok.ID != r.ID {
		t.Errorf("GetRequestByTokenHash = %v, %v; want %s", byTok, err, r.ID)
	}
	if _, err := s.GetRequest(ctx, "01JREQ0000000000000000000Z"); invite.ErrorCode(err) != invite.CodeNotFound {
		t.Errorf("GetRequest of none: code %q, want not_found", invite.ErrorCode(err))
	}
	if _, err := s.GetRequestByTokenHash(ctx, invite.TokenHash("nope")); invite.ErrorCode(err) != invite.CodeNotFound {
		t.Errorf("GetRequestByTokenHash of none: code %q, want not_found", invite.ErrorCode(err))
	}
}

func testRequestReservation(t *testing.T, s invite.JoinStore) {
	ctx := t.Context()
	a := Request("01JREQ0000000000000000000A", "ann@example.com", "", joinBase)
	if err := s.CreateRequest(ctx, a); err != nil {
		t.Fatalf("CreateRequest: %v", err)
	}
	b := Request("01JREQ0000000000000000000B", "ANN@example.com", "", joinBase.Add(time.Second))
	err := s.CreateRequest(ctx, b)
	if e := invite.AsError(err); e == nil || e.Code != invite.CodeConflict || e.ExistingID != a.ID {
		t.Fatalf("second open request of the address: %v; want conflict naming %s", err, a.ID)
	}
	other := Request("01JREQ0000000000000000000C", "ann@example.com", "org_1", joinBase)
	if err := s.CreateRequest(ctx, other); err != nil {
		t.Errorf("same address in another scope: %v", err)
	}
	// Closing the first releases the address.
	closed := a.Clone()
	closed.Status, closed.TokenHash, closed.Version = invite.RequestExpired, "", 2
	if err := s.UpdateRequest(ctx, a, closed); err != nil {
		t.Fatalf("UpdateRequest: %v", err)
	}
	if err := s.CreateRequest(ctx, b); err != nil {
		t.Errorf("request after the first closed: %v", err)
	}
}

func testRequestUpdate(t *testing.T, s invite.JoinStore) {
	ctx := t.Context()
	r := Request("01JREQ0000000000000000000A", "ann@example.com", "", joinBase)
	if err := s.CreateRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	next := verified(r, joinBase.Add(time.Minute))
	if err := s.UpdateRequest(ctx, r, next); err != nil {
		t.Fatalf("UpdateRequest: %v", err)
	}
	if err := s.UpdateRequest(ctx, r, next); invite.ErrorCode(err) != invite.CodeConflict {
		t.Errorf("update from a stale version: code %q, want conflict", invite.ErrorCode(err))
	}
	got, err := s.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRequest(t, got, next)
	if _, err := s.GetRequestByTokenHash(ctx, r.TokenHash); invite.ErrorCode(err) != invite.CodeNotFound {
		t.Errorf("spent token still resolves: code %q", invite.ErrorCode(err))
	}
}

func testRequestList(t *testing.T, s invite.JoinStore) {
	ctx := t.Context()
	var pending []*invite.AccessRequest
	for i := range 5 {
		r := Request(fmt.Sprintf("01JREQ000000000000000000%02d", i), fmt.Sprintf("p%d@example.com", i), "", joinBase.Add(time.Duration(i)*time.Minute))
		if err := s.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			continue // stays unverified: never listed
		}
		v := verified(r, r.CreatedAt.Add(time.Second))
		if err := s.UpdateRequest(ctx, r, v); err != nil {
			t.Fatal(err)
		}
		pending = append(pending, v)
	}
	denied := pending[1].Clone()
	denied.Status, denied.Version = invite.RequestDenied, pending[1].Version+1
	if err := s.UpdateRequest(ctx, pending[1], denied); err != nil {
		t.Fatal(err)
	}
	ids := func(p *invite.RequestPage) []string {
		var out []string
		for _, r := range p.Requests {
			out = append(out, r.ID[len(r.ID)-2:])
		}
		return out
	}
	tests := []struct {
		name string
		q    invite.RequestQuery
		want []string
	}{
		{"scope, newest first, no unverified", invite.RequestQuery{Scope: invite.ScopeApplication}, []string{"03", "02", "01", "00"}},
		{"status", invite.RequestQuery{Scope: invite.ScopeApplication, Status: invite.RequestPending}, []string{"03", "02", "00"}},
		{"email", invite.RequestQuery{Scope: invite.ScopeApplication, EmailKey: "P2@example.com"}, []string{"02"}},
		{"unverified address", invite.RequestQuery{Scope: invite.ScopeApplication, EmailKey: "p4@example.com"}, nil},
		{"other scope", invite.RequestQuery{Scope: invite.OrgScope("org_1")}, nil},
	}
	for _, tt := range tests {
		p, err := s.ListRequests(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := ids(p); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	// Pages of two follow each other.
	var got []string
	q := invite.RequestQuery{Scope: invite.ScopeApplication, Limit: 2}
	for range 3 {
		p, err := s.ListRequests(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(p)...)
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	if want := []string{"03", "02", "01", "00"}; !reflect.DeepEqual(got, want) {
		t.Errorf("paged: got %v, want %v", got, want)
	}
	if _, err := s.ListRequests(ctx, invite.RequestQuery{Scope: invite.OrgScope("org_1"), Cursor: q.Cursor}); invite.ErrorCode(err) != invite.CodeInvalid {
		t.Errorf("cursor of another query: code %q, want invalid_request", invite.ErrorCode(err))
	}
}

func testRequestsExpiring(t *testing.T, s invite.JoinStore) {
	ctx := t.Context()
	a := Request("01JREQ0000000000000000000A", "a@example.com", "", joinBase)
	b := Request("01JREQ0000000000000000000B", "b@example.com", "org_1", joinBase.Add(time.Hour))
	c := Request("01JREQ0000000000000000000C", "c@example.com", "", joinBase)
	for _, r := range []*invite.AccessRequest{a, b, c} {
		if err := s.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	closed := c.Clone()
	closed.Status, closed.Version = invite.RequestDenied, 2
	if err := s.UpdateRequest(ctx, c, closed); err != nil {
		t.Fatal(err)
	}
	got, err := s.RequestsExpiringBefore(ctx, joinBase.Add(invite.VerifyTTL+time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("expiring = %v, want only %s", got, a.ID)
	}
}

func testJoinPolicy(t *testing.T, s invite.JoinStore) {
	ctx := t.Context()
	if _, err := s.JoinPolicy(ctx, invite.ScopeApplication); invite.ErrorCode(err) != invite.CodeNotFound {
		t.Errorf("policy never set: code %q, want not_found", invite.ErrorCode(err))
	}
	p := &invite.JoinPolicy{Scope: invite.OrgScope("org_1"), Default: invite.JoinRule{Mode: invite.JoinRequireApproval},
		Domains: map[string]invite.JoinRule{
			"example.com": {Mode: invite.JoinAutoApprove, Roles: []string{"rol_1", "rol_2"}},
			"spam.test":   {Mode: invite.JoinDeny},
		}, UpdatedAt: joinBase, UpdatedBy: "auth0|admin"}
	for range 2 {
		if err := s.PutJoinPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.JoinPolicy(ctx, p.Scope)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) || got.Version != 2 {
		t.Errorf("policy\n got  %+v\n want %+v (version 2)", got, p)
	}
}

// Link returns a link of orgID with max uses.
func Link(id, orgID string, maxUses int, created time.Time) *invite.InviteLink {
	return &invite.InviteLink{ID: id, OrganizationID: orgID, Roles: []string{"rol_1"}, MaxUses: maxUses,
		AllowedDomains: []string{"example.com"}, ExpiresAt: created.Add(24 * time.Hour), RequiresApproval: true,
		Creator: invite.Inviter{Sub: "auth0|admin", Name: "Admin"}, CreatedAt: created, TokenHash: invite.TokenHash("link-" + id), Version: 1}
}

func testLinks(t *testing.T, s invite.JoinStore) {
	ctx := t.Context()
	a := Link("01JLNK0000000000000000000A", "", 3, joinBase)
	b := Link("01JLNK0000000000000000000B", "", 3, joinBase.Add(time.Minute))
	b.ExpiresAt = time.Time{}
	for _, l := range []*invite.InviteLink{a, b} {
		if err := s.CreateLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateLink(ctx, a); invite.ErrorCode(err) != invite.CodeConflict {
		t.Errorf("link created twice: code %q, want conflict", invite.ErrorCode(err))
	}
	got, err := s.GetLinkByTokenHash(ctx, a.TokenHash)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("GetLinkByTokenHash = %+v, %v; want %+v", got, err, a)
	}
	p, err := s.ListLinks(ctx, invite.ScopeApplication, 1, "")
	if err != nil || len(p.Links) != 1 || p.Links[0].ID != b.ID || p.NextCursor == "" {
		t.Fatalf("ListLinks first page = %+v, %v; want %s and a cursor", p, err, b.ID)
	}
	p, err = s.ListLinks(ctx, invite.ScopeApplication, 1, p.NextCursor)
	if err != nil || len(p.Links) != 1 || p.Links[0].ID != a.ID || p.NextCursor != "" {
		t.Errorf("ListLinks second page = %+v, %v; want %s alone", p, err, a.ID)
	}
	red := invite.Redemption{LinkID: a.ID, RequestID: "01JREQ0000000000000000000A", Email: "ann@example.com", At: joinBase.Add(time.Hour)}
	if err := s.ClaimLinkUse(ctx, red); err != nil {
		t.Fatalf("ClaimLinkUse: %v", err)
	}
	if err := s.SetRedemptionInvitation(ctx, a.ID, red.RequestID, "01JINV0000000000000000000A"); err != nil {
		t.Fatalf("SetRedemptionInvitation: %v", err)
	}
	reds, err := s.Redemptions(ctx, a.ID, 10)
	red.InvitationID = "01JINV0000000000000000000A"
	if err != nil || !reflect.DeepEqual(reds, []invite.Redemption{red}) {
		t.Errorf("Redemptions = %+v, %v; want %+v", reds, err, red)
	}
	if err := s.ClaimLinkUse(ctx, invite.Redemption{LinkID: a.ID, RequestID: "01JREQ0000000000000000000B", At: joinBase.Add(25 * time.Hour)}); invite.ErrorCode(err) != invite.CodeConflict {
		t.Errorf("use after expiry: code %q, want conflict", invite.ErrorCode(err))
	}
	if err := s.RevokeLink(ctx, a.ID, joinBase.Add(2*time.Hour)); err != nil {
		t.Fatalf("RevokeLink: %v", err)
	}
	if err := s.RevokeLink(ctx, a.ID, joinBase.Add(2*time.Hour)); invite.ErrorCode(err) != invite.CodeConflict {
		t.Errorf("revoked twice: code %q, want conflict", invite.ErrorCode(err))
	}
	if err := s.ClaimLinkUse(ctx, invite.Redemption{LinkID: a.ID, RequestID: "01JREQ0000000000000000000C", At: joinBase.Add(3 * time.Hour)}); invite.ErrorCode(err) != invite.CodeConflict {
		t.Errorf("use after revocation: code %q, want conflict", invite.ErrorCode(err))
	}
	got, err = s.GetLink(ctx, a.ID)
	if err != nil || got.Uses != 1 || !got.RevokedAt.Equal(joinBase.Add(2*time.Hour)) {
		t.Errorf("link after a use and revocation = %+v, %v; want 1 use, revoked", got, err)
	}
}

// LinkRace is the size of the concurrent redemption race: Redeemers claim a link of
// MaxUses at once.
const (
	LinkRaceRedeemers = 50
	LinkRaceMaxUses   = 10
)

func testLinkUsesExact(t *testing.T, s invite.JoinStore) {
	ctx := t.Context()
	l := Link("01JLNK0000000000000000000A", "", LinkRaceMaxUses, joinBase)
	if err := s.CreateLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	var won, refused, failed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range LinkRaceRedeemers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := s.ClaimLinkUse(ctx, invite.Redemption{LinkID: l.ID, RequestID: fmt.Sprintf("01JREQ00000000000000000%03d", i),
				Email: fmt.Sprintf("r%d@example.com", i), At: joinBase.Add(time.Minute)})
			switch invite.ErrorCode(err) {
			case "":
				won.Add(1)
			case invite.CodeConflict:
				refused.Add(1)
			default:
				failed.Add(1)
				t.Errorf("claim %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	got, err := s.GetLink(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	reds, err := s.Redemptions(ctx, l.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("link race: %d redeemers, max_uses %d: %d claimed, %d refused, %d failed; stored uses %d, redemptions %d",
		LinkRaceRedeemers, LinkRaceMaxUses, won.Load(), refused.Load(), failed.Load(), got.Uses, len(reds))
	if won.Load() != LinkRaceMaxUses || got.Uses != LinkRaceMaxUses || len(reds) != LinkRaceMaxUses {
		t.Errorf("claimed %d, stored uses %d, redemptions %d; want %d each", won.Load(), got.Uses, len(reds), LinkRaceMaxUses)
	}
}
