package events_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/invite"
)

var renderers = events.Renderers{
	Invitation: func(inv *invite.Invitation) any {
		return map[string]any{"id": inv.ID, "status": string(inv.Status)}
	},
	Batch: func(b *invite.Batch) any { return map[string]any{"id": b.ID} },
}

func entry(name string, sec int) invite.Event {
	return invite.Event{Event: name, At: time.Unix(1700000000+int64(sec), 0).UTC(), Actor: "auth0|admin"}
}

func types(evs []events.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestInvitationEvents(t *testing.T) {
	created := &invite.Invitation{ID: "inv1", Status: invite.StatusPending,
		History: []invite.Event{entry(invite.EventCreated, 0), entry(invite.EventEmailSent, 1)}}
	ticket := created.Clone()
	ticket.History = append(ticket.History, entry(invite.EventTicket, 2))
	accepted := ticket.Clone()
	accepted.Status = invite.StatusAccepted
	accepted.History = append(accepted.History, entry(invite.EventLinkOpened, 3), entry(invite.EventAccepted, 4))

	tests := []struct {
		name     string
		old, cur *invite.Invitation
		want     []string
	}{
		{"created", nil, created, []string{"invitation.created", "invitation.sent"}},
		{"bookkeeping only", created, ticket, nil},
		{"two new entries", ticket, accepted, []string{"invitation.link_opened", "invitation.accepted"}},
		{"no change", accepted, accepted, nil},
		{"removed", accepted, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := renderers.InvitationEvents(tc.old, tc.cur)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(types(got), tc.want) {
				t.Errorf("types = %v, want %v", types(got), tc.want)
			}
			for _, e := range got {
				if e.Scope != invite.ScopeApplication || e.Subject != "inv1" || !strings.HasPrefix(e.ID, "evt_") {
					t.Errorf("event = %+v", e)
				}
				var data map[string]any
				if err := json.Unmarshal(e.Data, &data); err != nil || data["actor"] != "auth0|admin" || data["id"] != "inv1" {
					t.Errorf("data = %s (%v), want the invitation with its actor", e.Data, err)
				}
			}
		})
	}
}

// TestEventIDsStable: the same change read again yields the same ids, and the same
// entry keeps its id in every later change, however the history is folded.
func TestEventIDsStable(t *testing.T) {
	inv := &invite.Invitation{ID: "inv2", Status: invite.StatusPending, History: []invite.Event{entry(invite.EventCreated, 0)}}
	first, _ := renderers.InvitationEvents(nil, inv)
	again, _ := renderers.InvitationEvents(nil, inv)
	if first[0].ID != again[0].ID {
		t.Fatalf("ids %s and %s for one change", first[0].ID, again[0].ID)
	}
	seen := map[string]string{first[0].ID: "created"}
	prev := inv
	// 200 resends: the history folds at 60 entries, every step still yields exactly
	// its one new event, with an id never seen before.
	for i := 1; i <= 200; i++ {
		next := prev.Clone()
		next.History = append(next.History, entry(invite.EventResent, i))
		for len(next.History) > invite.MaxHistory {
			if next.Folded == nil {
				next.Folded = map[string]int{}
			}
			next.Folded[next.History[1].Event]++
			next.History = append(next.History[:1], next.History[2:]...)
		}
		got, err := renderers.InvitationEvents(prev, next)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Type != "invitation.resent" || !got[0].At.Equal(entry("", i).At) {
			t.Fatalf("step %d: events %v, want one invitation.resent at its entry's time", i, types(got))
		}
		if what, dup := seen[got[0].ID]; dup {
			t.Fatalf("step %d: id %s already used by %s", i, got[0].ID, what)
		}
		seen[got[0].ID] = fmt.Sprint("resend ", i)
		prev = next
	}
}

func TestDeliveryNamesMapped(t *testing.T) {
	old := &invite.Invitation{ID: "inv3", History: []invite.Event{entry(invite.EventCreated, 0)}}
	cur := old.Clone()
	for i, n := range []string{"delivered", "bounced", "complained", "suppressed", "unknown_name"} {
		cur.History = append(cur.History, entry(n, i+1))
	}
	got, _ := renderers.InvitationEvents(old, cur)
	want := []string{"invitation.delivered", "invitation.bounced", "invitation.complained", "invitation.suppressed"}
	if !slices.Equal(types(got), want) {
		t.Errorf("types = %v, want %v", types(got), want)
	}
}

func TestBatchCompleted(t *testing.T) {
	running := &invite.Batch{ID: "b1", Total: 2, Succeeded: 1, Actor: invite.Actor{OrgID: "org_1"}}
	done := *running
	done.Failed = 1
	at := time.Unix(1700000000, 0)
	got, _ := renderers.BatchEvents(running, &done, at)
	if len(got) != 1 || got[0].Type != events.TypeBatchCompleted || got[0].Scope != invite.OrgScope("org_1") {
		t.Fatalf("events = %+v, want one batch.completed in org_1's scope", got)
	}
	if again, _ := renderers.BatchEvents(&done, &done, at); len(again) != 0 {
		t.Errorf("a change of a finished batch made %v", types(again))
	}
}

func TestEveryTypeValid(t *testing.T) {
	for _, ty := range events.Types() {
		if !events.ValidType(ty) {
			t.Errorf("%s is listed but not valid", ty)
		}
	}
	if events.ValidType("invitation.bogus") {
		t.Error("invitation.bogus is valid")
	}
}
