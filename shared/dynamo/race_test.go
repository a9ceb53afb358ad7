package dynamo

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

func TestRaceCreateSameEmail(t *testing.T) {
	f := newFixture(t)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		inv := f.invitation(seq("inv_", i), "race@example.com")
		wg.Go(func() {
			<-start
			errs[i] = f.store.Create(context.Background(), inv)
		})
	}
	close(start)
	wg.Wait()

	winner := ""
	for i, err := range errs {
		if err == nil {
			if winner != "" {
				t.Fatalf("both %s and %s were created", winner, seq("inv_", i))
			}
			winner = seq("inv_", i)
		}
	}
	if winner == "" {
		t.Fatalf("no create succeeded; first error: %v", errs[0])
	}
	conflicts := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		e := wantCode(t, err, invite.CodeConflict)
		if e.ExistingID != winner {
			t.Errorf("create %s: ExistingID = %q, want the winner %s (%v)", seq("inv_", i), e.ExistingID, winner, err)
		}
		conflicts++
	}
	if conflicts != n-1 {
		t.Errorf("conflicts = %d, want %d", conflicts, n-1)
	}
	if got := reservationOwner(t, f, invite.ScopeApplication, "race@example.com"); got != winner {
		t.Errorf("reservation owner = %q, want %s", got, winner)
	}
	// The losers left nothing behind: no invitation, no token item.
	for i := range n {
		id := seq("inv_", i)
		if id == winner {
			continue
		}
		for name, k := range map[string]map[string]types.AttributeValue{"invitation": invitationKey(id), "token": tokenKey("hash-" + id)} {
			out, err := f.client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: k, ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatalf("GetItem: %v", err)
			}
			if out.Item != nil {
				t.Errorf("the losing create %s left its %s item", id, name)
			}
		}
	}
}

func TestRaceAcceptRevoke(t *testing.T) {
	f := newFixture(t)
	var retries atomic.Int64
	f.store.opts.Backoff = func(attempt int) time.Duration {
		retries.Add(1)
		return jitteredBackoff(attempt)
	}
	defer func() { t.Logf("transaction conflicts retried: %d", retries.Load()) }()
	prev := f.create(t, f.invitation("inv_1", "ann@example.com"))
	const pairs = 50
	type attempt struct {
		next *invite.Invitation
		err  error
	}
	attempts := make([]attempt, 2*pairs)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range attempts {
		next := prev.Clone()
		now := f.clock.Now()
		if i%2 == 0 {
			next.Status, next.AcceptedAt = invite.StatusAccepted, now
		} else {
			next.Status, next.RevokedAt = invite.StatusRevoked, now
		}
		next.History = append(next.History, invite.Event{Event: string(next.Status), At: now, Actor: fmt.Sprintf("racer-%d", i)})
		attempts[i].next = next
		wg.Go(func() {
			<-start
			attempts[i].err = f.store.Update(context.Background(), prev, next)
		})
	}
	close(start)
	wg.Wait()

	var winner *invite.Invitation
	for _, a := range attempts {
		switch {
		case a.err == nil && winner != nil:
			t.Fatalf("two updates won: %s and %s", winner.History[1].Actor, a.next.History[1].Actor)
		case a.err == nil:
			winner = a.next
		default:
			wantCode(t, a.err, invite.CodeConflict)
		}
	}
	if winner == nil {
		t.Fatalf("no update won; first error: %v", attempts[0].err)
	}
	got, err := f.store.Get(context.Background(), prev.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	terminal := 0
	for _, e := range got.History {
		if e.Event == invite.EventAccepted || e.Event == invite.EventRevoked {
			terminal++
		}
	}
	if terminal != 1 {
		t.Errorf("stored history has %d terminal events, want 1: %+v", terminal, got.History)
	}
	if got.Version != 2 {
		t.Errorf("stored version = %d, want 2", got.Version)
	}
	sameInvitation(t, got, winner)
	if owner := reservationOwner(t, f, invite.ScopeApplication, "ann@example.com"); owner != "" {
		t.Errorf("reservation still held by %q after the invitation finished", owner)
	}
}
