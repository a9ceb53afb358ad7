package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/shared/invite"
)

// TestReservationTakeover: the writes of a create or an end are not one transaction,
// so a reservation can outlive what it reserved for: a create cut short before its
// invitation was written, or an end cut short before the release. Such a reservation
// is taken over by the next create for the address; one whose invitation is pending,
// or may still be being written, holds.
func TestReservationTakeover(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// leave writes what a cut-short write left for ann@example.com.
		leave      func(t *testing.T, f *fixture)
		wantHolder string // "" when the create succeeds
	}{
		{"an invitation never written, past the grace", func(t *testing.T, f *fixture) {
			ghost := f.Invitation("inv_ghost", "ann@example.com")
			if err := f.store.reserve(ctx, "test", ghost); err != nil {
				t.Fatalf("reserve: %v", err)
			}
			f.Clock.Advance(reservationGrace + time.Second)
		}, ""},
		{"an invitation perhaps still being written", func(t *testing.T, f *fixture) {
			ghost := f.Invitation("inv_ghost", "ann@example.com")
			if err := f.store.reserve(ctx, "test", ghost); err != nil {
				t.Fatalf("reserve: %v", err)
			}
			f.Clock.Advance(reservationGrace - time.Second)
		}, "inv_ghost"},
		{"a finished invitation that did not release it", func(t *testing.T, f *fixture) {
			old := f.Create(t, f.Invitation("inv_old", "ann@example.com"))
			done := old.Clone()
			done.Status, done.RevokedAt, done.Version = invite.StatusRevoked, f.Clock.Now(), 2
			item, err := invitationItem(done, f.store.opts.ExpiryShards, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: item}); err != nil {
				t.Fatalf("PutItem: %v", err)
			}
		}, ""},
		{"a pending invitation", func(t *testing.T, f *fixture) {
			f.Create(t, f.Invitation("inv_old", "ann@example.com"))
			f.Clock.Advance(reservationGrace + time.Second)
		}, "inv_old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.leave(t, f)
			inv := f.Invitation("inv_new", "ann@example.com")
			err := f.store.Create(ctx, inv)
			if tt.wantHolder == "" {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				if got := getItem(t, f, reservationKey(inv.Scope(), "ann@example.com")); (&decoder{m: got}).s(attrInvID) != "inv_new" {
					t.Errorf("reservation after the create: %v, want it held by inv_new", got)
				}
				return
			}
			e := invite.AsError(err)
			if e == nil || e.Code != invite.CodeConflict || e.ExistingID != tt.wantHolder {
				t.Fatalf("Create: got %v, want a conflict naming %s", err, tt.wantHolder)
			}
			if _, err := f.store.Get(ctx, "inv_new"); !invite.IsCode(err, invite.CodeNotFound) {
				t.Errorf("Get(inv_new) after the conflict: %v, want not found", err)
			}
		})
	}

	t.Run("a create tried again after it was cut short", func(t *testing.T) {
		f := newFixture(t)
		inv := f.Invitation("inv_1", "ann@example.com")
		if err := f.store.reserve(ctx, "test", inv); err != nil {
			t.Fatalf("reserve: %v", err)
		}
		f.Clock.Advance(time.Minute)
		if err := f.store.Create(ctx, inv); err != nil {
			t.Fatalf("Create again: %v", err)
		}
		if _, err := f.store.Get(ctx, "inv_1"); err != nil {
			t.Errorf("Get: %v", err)
		}
	})
}
