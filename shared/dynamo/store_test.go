package dynamo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

func fullInvitation(now time.Time) *invite.Invitation {
	return &invite.Invitation{
		ID:             "inv_full",
		Kind:           invite.KindOrganization,
		Email:          "Zoë.Ångström@Example.com",
		Name:           "Zoë Ångström 山田 🚀",
		OrganizationID: "org_abc#1",
		Roles:          []string{"rol_b", "rol_a", "rol_c"},
		Connection:     "Username-Password-Authentication",
		ClientID:       "client_123",
		AppMetadata: map[string]any{
			"plan":  "pro",
			"seats": 12.5,
			"flags": []any{true, false, nil, "x", 3.0},
			"nested": map[string]any{
				"deeper": map[string]any{"ключ": "значение", "n": 1.0},
				"empty":  map[string]any{},
			},
		},
		UserMetadata: map[string]any{"locale": "fr-CA", "greeting": "Bonjour « vous »"},
		Inviter:      invite.Inviter{Sub: "auth0|admin-1", Name: "Ada Ødegård"},
		Locale:       "fr-CA",
		Message:      "Bienvenue ! ✨ Line two\nLine three",
		RedirectURL:  "https://app.example.com/welcome?x=1&y=2",
		Status:       invite.StatusPending,
		CreatedAt:    now,
		ExpiresAt:    now.Add(72 * time.Hour),
		AcceptedAt:   now.Add(time.Hour),
		RevokedAt:    now.Add(2 * time.Hour),
		ExpiredAt:    now.Add(3 * time.Hour),
		FailedReason: "none really",

		Auth0UserID:        "auth0|user-1",
		UserCreated:        true,
		Auth0InvitationID:  "uinv_123",
		Auth0InvitationURL: "https://tenant.example.com/login?invitation=uinv_123&organization=org_abc",
		FlagClearPending:   true,
		CleanupPending:     true,
		CleanupAttempts:    3,
		NextCleanupAt:      now.Add(4 * time.Minute),
		Resumable:          true,
		TokenHash:          strings.Repeat("ab", 32),
		Delivery: invite.Delivery{
			Status:        invite.DeliverySent,
			MessageID:     "0100018f-msg",
			Sends:         2,
			Attempts:      1,
			NextAttemptAt: now.Add(5 * time.Minute),
			LastSentAt:    now.Add(time.Minute),
			LastError:     "throttled",
		},
		History: []invite.Event{
			{Event: invite.EventCreated, At: now, Actor: "auth0|admin-1", Detail: "via API"},
			{Event: invite.EventEmailSent, At: now.Add(time.Minute), Actor: "worker", Detail: "0100018f-msg"},
		},
		Version: 1,
	}
}

func TestItemRoundTrip(t *testing.T) {
	now := newClock().Now()
	tests := []struct {
		name string
		inv  *invite.Invitation
	}{
		{"every field", fullInvitation(now)},
		{"only required fields", &invite.Invitation{ID: "inv_min", Email: "a@b.c", Status: invite.StatusPending, Version: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item, err := invitationItem(tt.inv, 8, 0)
			if err != nil {
				t.Fatalf("invitationItem: %v", err)
			}
			got, err := decodeInvitation(item)
			if err != nil {
				t.Fatalf("decodeInvitation: %v", err)
			}
			sameInvitation(t, got, tt.inv)
		})
	}
}

func TestCreateGetRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	want := fullInvitation(f.clock.Now())
	f.create(t, want.Clone())

	got, err := f.store.Get(ctx, want.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	sameInvitation(t, got, want)

	byToken, err := f.store.GetByTokenHash(ctx, want.TokenHash)
	if err != nil {
		t.Fatalf("GetByTokenHash: %v", err)
	}
	sameInvitation(t, byToken, want)

	byUser, err := f.store.GetByAuth0UserIDs(ctx, []string{want.Auth0UserID})
	if err != nil {
		t.Fatalf("GetByAuth0UserIDs: %v", err)
	}
	if byUser[want.Auth0UserID] == nil {
		t.Fatalf("GetByAuth0UserIDs: got %v, want an entry for %s", byUser, want.Auth0UserID)
	}
	sameInvitation(t, byUser[want.Auth0UserID], want)

	_, err = f.store.Get(ctx, "inv_missing")
	wantCode(t, err, invite.CodeNotFound)
	_, err = f.store.GetByTokenHash(ctx, "no-such-hash")
	wantCode(t, err, invite.CodeNotFound)
}

func TestCreateConflicts(t *testing.T) {
	tests := []struct {
		name         string
		second       func(f *fixture, first *invite.Invitation) *invite.Invitation
		wantCode     invite.Code
		wantExisting bool
	}{
		{
			name: "same scope and email",
			second: func(f *fixture, _ *invite.Invitation) *invite.Invitation {
				return f.invitation("inv_2", "ann@example.com")
			},
			wantCode:     invite.CodeConflict,
			wantExisting: true,
		},
		{
			name: "same email in another case",
			second: func(f *fixture, _ *invite.Invitation) *invite.Invitation {
				return f.invitation("inv_2", "ANN@Example.COM")
			},
			wantCode:     invite.CodeConflict,
			wantExisting: true,
		},
		{
			name: "same email in an organization",
			second: func(f *fixture, _ *invite.Invitation) *invite.Invitation {
				inv := f.invitation("inv_2", "ann@example.com")
				inv.Kind, inv.OrganizationID = invite.KindOrganization, "org_1"
				return inv
			},
		},
		{
			name: "same id",
			second: func(f *fixture, first *invite.Invitation) *invite.Invitation {
				return f.invitation(first.ID, "bob@example.com")
			},
			wantCode: invite.CodeConflict,
		},
		{
			name: "same token hash",
			second: func(f *fixture, first *invite.Invitation) *invite.Invitation {
				inv := f.invitation("inv_2", "bob@example.com")
				inv.TokenHash = first.TokenHash
				return inv
			},
			wantCode: invite.CodeConflict,
		},
		{
			name: "version other than 1",
			second: func(f *fixture, _ *invite.Invitation) *invite.Invitation {
				inv := f.invitation("inv_2", "bob@example.com")
				inv.Version = 2
				return inv
			},
			wantCode: invite.CodeInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			first := f.create(t, f.invitation("inv_1", "ann@example.com"))
			err := f.store.Create(context.Background(), tt.second(f, first))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Create: %v, want success", err)
				}
				return
			}
			e := wantCode(t, err, tt.wantCode)
			got := e.ExistingID
			want := ""
			if tt.wantExisting {
				want = first.ID
			}
			if got != want {
				t.Errorf("ExistingID = %q, want %q", got, want)
			}
			if !strings.HasPrefix(err.Error(), "dynamo: ") {
				t.Errorf("error %q does not say where it comes from", err)
			}
		})
	}
}

func reservationOwner(t testing.TB, f *fixture, scope, email string) string {
	t.Helper()
	out, err := f.client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(f.table), Key: reservationKey(scope, invite.EmailKey(email)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("get reservation: %v", err)
	}
	if out.Item == nil {
		return ""
	}
	return (&decoder{m: out.Item}).s(attrInvID)
}

func TestReleaseThenReinvite(t *testing.T) {
	for _, status := range []invite.Status{invite.StatusRevoked, invite.StatusAccepted, invite.StatusExpired, invite.StatusFailed} {
		t.Run(string(status), func(t *testing.T) {
			f := newFixture(t)
			first := f.create(t, f.invitation("inv_1", "ann@example.com"))
			if got := reservationOwner(t, f, invite.ScopeApplication, "ann@example.com"); got != "inv_1" {
				t.Fatalf("reservation owner = %q, want inv_1", got)
			}
			f.finish(t, first, status)
			if got := reservationOwner(t, f, invite.ScopeApplication, "ann@example.com"); got != "" {
				t.Fatalf("reservation owner after %s = %q, want none", status, got)
			}
			f.clock.Advance(time.Minute)
			f.create(t, f.invitation("inv_2", "ann@example.com"))
			if got := reservationOwner(t, f, invite.ScopeApplication, "ann@example.com"); got != "inv_2" {
				t.Errorf("reservation owner = %q, want inv_2", got)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	prev := f.create(t, f.invitation("inv_1", "ann@example.com"))

	next := prev.Clone()
	next.Delivery = invite.Delivery{Status: invite.DeliverySent, MessageID: "m-1", Sends: 1}
	next.History = append(next.History, invite.Event{Event: invite.EventEmailSent, At: f.clock.Now(), Actor: "worker"})
	if err := f.store.Update(ctx, prev, next); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if next.Version != 2 {
		t.Errorf("next.Version = %d, want 2", next.Version)
	}
	got, err := f.store.Get(ctx, prev.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	sameInvitation(t, got, next)

	t.Run("stale version", func(t *testing.T) {
		stale := prev.Clone()
		stale.Name = "changed"
		err := f.store.Update(ctx, prev, stale)
		wantCode(t, err, invite.CodeConflict)
		if stale.Version != prev.Version {
			t.Errorf("Version after a failed update = %d, want it unchanged (%d)", stale.Version, prev.Version)
		}
	})
	t.Run("missing invitation", func(t *testing.T) {
		ghost := f.invitation("inv_ghost", "ghost@example.com")
		err := f.store.Update(ctx, ghost, ghost.Clone())
		wantCode(t, err, invite.CodeConflict)
	})
	t.Run("email change", func(t *testing.T) {
		moved := next.Clone()
		moved.Email = "other@example.com"
		wantCode(t, f.store.Update(ctx, next, moved), invite.CodeInvalid)
	})
}

func TestTokenSwap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	prev := f.create(t, f.invitation("inv_1", "ann@example.com"))
	next := prev.Clone()
	next.TokenHash = "hash-new"
	next.History = append(next.History, invite.Event{Event: invite.EventResent, At: f.clock.Now(), Actor: "auth0|admin"})
	if err := f.store.Update(ctx, prev, next); err != nil {
		t.Fatalf("Update: %v", err)
	}

	tests := []struct {
		name     string
		hash     string
		wantCode invite.Code
	}{
		{"old hash", prev.TokenHash, invite.CodeNotFound},
		{"new hash", "hash-new", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.store.GetByTokenHash(ctx, tt.hash)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatalf("GetByTokenHash: %v", err)
			}
			sameInvitation(t, got, next)
		})
	}

	t.Run("hash of another invitation", func(t *testing.T) {
		other := f.create(t, f.invitation("inv_2", "bob@example.com"))
		taken := other.Clone()
		taken.TokenHash = "hash-new"
		wantCode(t, f.store.Update(ctx, other, taken), invite.CodeConflict)
	})
}

func TestTerminalTTL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := f.invitation("inv_1", "ann@example.com")
	inv.Auth0UserID = "auth0|u1"
	f.create(t, inv)
	f.clock.Advance(time.Hour)
	done := f.finish(t, inv, invite.StatusAccepted)
	want := done.AcceptedAt.Add(DefaultRetention).Unix()

	tests := []struct {
		name string
		key  map[string]types.AttributeValue
	}{
		{"invitation", invitationKey("inv_1")},
		{"token", tokenKey(inv.TokenHash)},
		{"user copy", userKey("auth0|u1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: tt.key})
			if err != nil {
				t.Fatalf("GetItem: %v", err)
			}
			d := &decoder{m: out.Item}
			if got := int64(d.n(attrTTL)); got != want || d.err != nil {
				t.Errorf("ttl = %d (%v), want %d", got, d.err, want)
			}
			if _, ok := out.Item[attrExpPK]; ok {
				t.Errorf("a finished invitation still carries the expiry index key %s", attrExpPK)
			}
		})
	}
}
