package dynamo

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestStreamAccessRequestEvents follows an access request through the changes its
// stream records carry: each new history entry is one access_request event with the
// request's data and the entry's actor, a record read twice yields the same ids, and
// a change that adds no entry yields none.
func TestStreamAccessRequestEvents(t *testing.T) {
	s, err := New(nil, "doorman", Options{CursorKey: testKey}) // items only: no request is made
	if err != nil {
		t.Fatal(err)
	}
	renderers := events.Renderers{AccessRequest: func(r *invite.AccessRequest) any {
		return map[string]any{"id": r.ID, "status": string(r.Status)}
	}}
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	created := &invite.AccessRequest{
		ID: "areq_0000000000000000000000st", Email: "ada@example.com", OrganizationID: "org_acme",
		Status: invite.RequestUnverified, CreatedAt: at, ExpiresAt: at.Add(invite.VerifyTTL), Version: 1,
		History: []invite.Event{{Event: invite.RequestEventCreated, At: at, Actor: "requester"}},
	}
	verified := created.Clone()
	verified.Status, verified.VerifiedAt, verified.Version = invite.RequestPending, at.Add(time.Minute), 2
	verified.History = append(verified.History, invite.Event{Event: invite.RequestEventVerified, At: at.Add(time.Minute), Actor: "requester"})
	approved := verified.Clone()
	approved.Status, approved.InvitationID, approved.Version = invite.RequestApproved, "inv_1", 3
	approved.History = append(approved.History, invite.Event{Event: invite.RequestEventApproved, At: at.Add(time.Hour), Actor: "auth0|reviewer", Detail: "inv_1"})
	touched := approved.Clone()
	touched.Version = 4

	record := func(old, cur *invite.AccessRequest) StreamRecord {
		rec := StreamRecord{Keys: requestKey(cur.ID), New: s.requestItem(cur), At: at}
		if old != nil {
			rec.Old = s.requestItem(old)
		}
		return rec
	}
	cases := []struct {
		name      string
		old, cur  *invite.AccessRequest
		wantType  string // "" for none
		wantActor string
	}{
		{"created", nil, created, "access_request.created", "requester"},
		{"verified", created, verified, "access_request.verified", "requester"},
		{"approved", verified, approved, "access_request.approved", "auth0|reviewer"},
		{"no new entry", approved, touched, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first, err := StreamEvents(renderers, record(tc.old, tc.cur))
			if err != nil {
				t.Fatal(err)
			}
			again, err := StreamEvents(renderers, record(tc.old, tc.cur))
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantType == "" {
				if len(first) != 0 {
					t.Fatalf("got %d events, want none", len(first))
				}
				return
			}
			if len(first) != 1 || len(again) != 1 {
				t.Fatalf("got %d and %d events, want one each", len(first), len(again))
			}
			e := first[0]
			if e.Type != tc.wantType || e.Subject != tc.cur.ID || e.Scope != invite.OrgScope("org_acme") {
				t.Errorf("got type %q subject %q scope %q, want %q %q %q", e.Type, e.Subject, e.Scope, tc.wantType, tc.cur.ID, invite.OrgScope("org_acme"))
			}
			if e.ID == "" || e.ID != again[0].ID {
				t.Errorf("got ids %q and %q for one change, want one stable id", e.ID, again[0].ID)
			}
			var data struct{ ID, Status, Actor string }
			if err := json.Unmarshal(e.Data, &data); err != nil {
				t.Fatal(err)
			}
			if data.ID != tc.cur.ID || data.Status != string(tc.cur.Status) || data.Actor != tc.wantActor {
				t.Errorf("got data %+v, want id %s, status %s, actor %s", data, tc.cur.ID, tc.cur.Status, tc.wantActor)
			}
		})
	}
}
