package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/invite"
)

// Events holds an events.Store to its contract: the feed (in order per scope,
// idempotent on the event, resumable from a position, filtered by type and time),
// the endpoints (created once, read by id with or without scope, listed by scope,
// updated only from the stored version, deleted) and their attempts. open returns an
// empty store.
func Events(t *testing.T, open func(t *testing.T) events.Store) {
	t.Run("feed", func(t *testing.T) { feedContract(t, open(t)) })
	t.Run("endpoints", func(t *testing.T) { endpointsContract(t, open(t)) })
}

func feedContract(t *testing.T, s events.Store) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var all []*events.Event
	for i := range 7 {
		typ := "invitation.created"
		if i%2 == 1 {
			typ = "invitation.revoked"
		}
		e := &events.Event{ID: events.EventID("t", fmt.Sprint(i)), Type: typ, Scope: invite.ScopeApplication,
			Subject: "inv", At: base.Add(time.Duration(i) * time.Second), Data: []byte(`{"n":` + fmt.Sprint(i) + `}`)}
		all = append(all, e)
		first, err := s.PutEvent(ctx, e)
		if err != nil || !first {
			t.Fatalf("PutEvent %d = %v, %v; want first", i, first, err)
		}
		if again, err := s.PutEvent(ctx, e); err != nil || again {
			t.Fatalf("PutEvent %d again = %v, %v; want an idempotent no-op", i, again, err)
		}
	}
	other := &events.Event{ID: events.EventID("o"), Type: "invitation.created", Scope: invite.OrgScope("org_1"), At: base, Data: []byte(`{}`)}
	if _, err := s.PutEvent(ctx, other); err != nil {
		t.Fatal(err)
	}

	// Pages of 3, in order, resuming from each position; an empty page keeps it.
	var got []string
	q := events.FeedQuery{Scope: invite.ScopeApplication, Limit: 3}
	for range 5 {
		page, err := s.Feed(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			got = append(got, e.ID)
		}
		q.After = page.Position
	}
	var want []string
	for _, e := range all {
		want = append(want, e.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("feed = %v, want %v (in order, no other scope's)", got, want)
	}

	page, err := s.Feed(ctx, events.FeedQuery{Scope: invite.ScopeApplication, Types: []string{"invitation.revoked"}, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 || page.Events[0].ID != all[1].ID || page.Events[1].ID != all[3].ID {
		t.Errorf("revocations page = %+v, want events 1 and 3", page.Events)
	}
	page, err = s.Feed(ctx, events.FeedQuery{Scope: invite.ScopeApplication, Since: base.Add(2 * time.Second), Until: base.Add(4 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 || page.Events[0].ID != all[2].ID {
		t.Errorf("range [2s, 4s) = %d events, want events 2 and 3", len(page.Events))
	}
	if _, err := s.Feed(ctx, events.FeedQuery{Scope: invite.ScopeApplication, After: "bogus"}); !invite.IsCode(err, invite.CodeInvalid) {
		t.Errorf("Feed with a bogus cursor = %v, want invalid_request", err)
	}
}

func endpointsContract(t *testing.T, s events.Store) {
	ctx := context.Background()
	ep := &events.Endpoint{ID: "whe_000000000000000000000001", Scope: invite.OrgScope("org_1"), URL: "https://hooks.example.com/x",
		Types: []string{"invitation.accepted"}, Enabled: true, Secrets: []events.Secret{{Value: "whsec_AAAA"}},
		CreatedAt: time.Now().UTC().Truncate(time.Second), CreatedBy: "auth0|a", Version: 1}
	if err := s.CreateEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEndpoint(ctx, ep); !invite.IsCode(err, invite.CodeConflict) {
		t.Errorf("second CreateEndpoint = %v, want conflict", err)
	}
	got, err := s.Endpoint(ctx, "", ep.ID)
	if err != nil || got.URL != ep.URL || got.Scope != ep.Scope || !slices.Equal(got.Types, ep.Types) || got.Secrets[0].Value != "whsec_AAAA" {
		t.Fatalf("Endpoint = %+v, %v", got, err)
	}
	list, err := s.Endpoints(ctx, ep.Scope)
	if err != nil || len(list) != 1 {
		t.Fatalf("Endpoints = %d, %v; want 1", len(list), err)
	}
	if others, _ := s.Endpoints(ctx, invite.ScopeApplication); len(others) != 0 {
		t.Errorf("the application scope lists %d endpoints, want 0", len(others))
	}
	next := got.Clone()
	next.Enabled = false
	next.Version = got.Version + 1
	if err := s.UpdateEndpoint(ctx, got, next); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateEndpoint(ctx, got, next); !invite.IsCode(err, invite.CodeConflict) {
		t.Errorf("UpdateEndpoint from a stale version = %v, want conflict", err)
	}
	if err := s.RecordAttempt(ctx, &events.Attempt{EndpointID: ep.ID, EventID: "evt_1", Type: "invitation.accepted", Number: 1,
		At: time.Now(), Status: 500, Error: "HTTP 500", Outcome: "retrying"}); err != nil {
		t.Fatal(err)
	}
	if as, err := s.Attempts(ctx, ep.ID, 10); err != nil || len(as) != 1 || as[0].Status != 500 {
		t.Errorf("Attempts = %+v, %v", as, err)
	}
	if err := s.DeleteEndpoint(ctx, next); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Endpoint(ctx, "", ep.ID); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("Endpoint after delete = %v, want not_found", err)
	}
}
