package dynamo

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

// putLegacyCopy replaces the lookup item k of inv with what the version before
// lookup pointers wrote there: a full copy of the invitation as it was then.
func putLegacyCopy(t *testing.T, f *fixture, inv *invite.Invitation, k map[string]types.AttributeValue) {
	t.Helper()
	m := make(map[string]types.AttributeValue, 40)
	if err := putInvitation(m, inv); err != nil {
		t.Fatalf("putInvitation: %v", err)
	}
	m[attrPK], m[attrSK] = k[attrPK], k[attrSK]
	m[attrUserRank] = str(listSK(inv))
	if _, err := f.client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: m}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
}

// putLegacyInvitation rewrites inv's invitation item and token item as the version
// before satellite TTLs wrote them: the history as a list of maps under "history",
// the token item without a TTL.
func putLegacyInvitation(t *testing.T, f *fixture, inv *invite.Invitation) {
	t.Helper()
	m, err := invitationItem(inv, f.store.opts.ExpiryShards, 0)
	if err != nil {
		t.Fatalf("invitationItem: %v", err)
	}
	delete(m, attrHistory)
	l := make([]types.AttributeValue, len(inv.History))
	for i, e := range inv.History {
		em := map[string]types.AttributeValue{}
		setS(em, "event", e.Event)
		setT(em, "at", e.At)
		setS(em, "actor", e.Actor)
		setS(em, "detail", e.Detail)
		l[i] = &types.AttributeValueMemberM{Value: em}
	}
	m[attrLegacyHistory] = &types.AttributeValueMemberL{Value: l}
	m["email_key"] = str(invite.EmailKey(inv.Email))
	for _, item := range []map[string]types.AttributeValue{m, pointerItem(tokenKey(inv.TokenHash), inv.ID, 0)} {
		if _, err := f.client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: item}); err != nil {
			t.Fatalf("PutItem: %v", err)
		}
	}
}

func getItem(t *testing.T, f *fixture, k map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := f.client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	return out.Item
}

// TestLegacyCopyItems: a table written before lookup items were pointers holds full
// copies of invitations under their Auth0 user, organization email and Auth0
// invitation keys, without a TTL. After the upgrade they are read through the id they
// carry (never trusted for the rest), are taken over by the newest invitation, become
// pointers with their TTL at their invitation's first update, and are deleted when it
// leaves their key.
func TestLegacyCopyItems(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.Invitation("inv_app", "ann@example.com")
	app.Auth0UserID = "auth0|ann"
	f.Create(t, app)
	putLegacyInvitation(t, f, app)
	putLegacyCopy(t, f, app, userKey("auth0|ann"))
	org := f.Invitation("inv_org", "carol@example.net")
	org.Kind, org.OrganizationID, org.Auth0InvitationID = invite.KindOrganization, "org_acme", "uinv_1"
	f.Create(t, org)
	putLegacyInvitation(t, f, org)
	putLegacyCopy(t, f, org, orgEmailKey("org_acme", "carol@example.net"))
	putLegacyCopy(t, f, org, auth0InvitationKey("uinv_1"))

	// Updates through the new code replace the copies with pointers.
	sent := app.Clone()
	sent.Delivery.Sends++
	if err := f.store.Update(ctx, app, sent); err != nil {
		t.Fatalf("Update: %v", err)
	}
	orgSent := org.Clone()
	orgSent.Delivery.Sends++
	if err := f.store.Update(ctx, org, orgSent); err != nil {
		t.Fatalf("Update: %v", err)
	}
	oe := invite.OrgEmail{OrgID: "org_acme", EmailKey: "carol@example.net"}
	found, err := f.store.Lookup(ctx, invite.LookupKeys{UserIDs: []string{"auth0|ann"}, OrgEmails: []invite.OrgEmail{oe}, Auth0InvitationIDs: []string{"uinv_1"}})
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	for name, got := range map[string]*invite.Invitation{"user": found.ByUserID["auth0|ann"], "org email": found.ByOrgEmail[oe], "auth0 invitation": found.ByAuth0InvitationID["uinv_1"]} {
		if got == nil || got.Version != 2 || got.Delivery.Sends != 1 {
			t.Errorf("lookup by %s: got %+v, want the stored invitation at version 2", name, got)
		}
	}
	users, err := f.store.GetByAuth0UserIDs(ctx, []string{"auth0|ann"})
	if err != nil {
		t.Fatalf("GetByAuth0UserIDs: %v", err)
	}
	if got := users["auth0|ann"]; got == nil || got.Version != 2 {
		t.Errorf("GetByAuth0UserIDs: got %+v, want the stored invitation at version 2", got)
	}

	t.Run("a newer invitation takes the key over", func(t *testing.T) {
		f.Clock.Advance(1)
		newer := f.Invitation("inv_newer", "ann.other@example.com")
		newer.Auth0UserID = "auth0|ann"
		f.Create(t, newer)
		users, err := f.store.GetByAuth0UserIDs(ctx, []string{"auth0|ann"})
		if err != nil {
			t.Fatalf("GetByAuth0UserIDs: %v", err)
		}
		if got := users["auth0|ann"]; got == nil || got.ID != "inv_newer" {
			t.Errorf("GetByAuth0UserIDs: got %+v, want inv_newer", got)
		}
	})

	t.Run("an updated invitation's copies and token become items with a TTL", func(t *testing.T) {
		done := f.Finish(t, orgSent, invite.StatusAccepted)
		want := f.store.satelliteTTL(done)
		for name, k := range map[string]map[string]types.AttributeValue{
			"org email": orgEmailKey("org_acme", "carol@example.net"), "auth0 invitation": auth0InvitationKey("uinv_1"),
		} {
			item := getItem(t, f, k)
			d := &decoder{m: item}
			if d.s(attrInvID) != org.ID || d.s("email") != "" {
				t.Errorf("%s item after the update: %v, want a pointer to %s", name, item, org.ID)
			}
			if got := int64(d.n(attrTTL)); got != want {
				t.Errorf("%s item ttl = %d, want %d", name, got, want)
			}
		}
		if got := ttlOf(t, f, tokenKey(org.TokenHash)); got != want {
			t.Errorf("token item ttl = %d, want %d", got, want)
		}
		if got, own := want, done.AcceptedAt.Add(DefaultRetention).Unix(); got < own {
			t.Errorf("satellite ttl %d is before the invitation's %d", got, own)
		}
	})

	t.Run("a copy whose invitation left its key is deleted", func(t *testing.T) {
		other := f.Invitation("inv_moved", "dave@example.com")
		other.Auth0UserID = "auth0|dave"
		f.Create(t, other)
		putLegacyCopy(t, f, other, userKey("auth0|dave"))
		moved := other.Clone()
		moved.Auth0UserID = "auth0|dave2"
		if err := f.store.Update(ctx, other, moved); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if item := getItem(t, f, userKey("auth0|dave")); item != nil {
			t.Errorf("the copy under the old user is still there: %v", item)
		}
		users, err := f.store.GetByAuth0UserIDs(ctx, []string{"auth0|dave", "auth0|dave2"})
		if err != nil {
			t.Fatalf("GetByAuth0UserIDs: %v", err)
		}
		if users["auth0|dave"] != nil || users["auth0|dave2"] == nil || users["auth0|dave2"].ID != other.ID {
			t.Errorf("GetByAuth0UserIDs: got %v, want only auth0|dave2's %s", users, other.ID)
		}
	})

	t.Run("a copy whose invitation no longer has its key is not trusted", func(t *testing.T) {
		stale := f.Invitation("inv_stale", "erin@example.com")
		stale.Auth0UserID = "auth0|erin"
		f.Create(t, stale)
		copied := stale.Clone()
		copied.Auth0UserID = "auth0|ghost" // what an old copy may say
		putLegacyCopy(t, f, copied, userKey("auth0|ghost"))
		users, err := f.store.GetByAuth0UserIDs(ctx, []string{"auth0|ghost"})
		if err != nil {
			t.Fatalf("GetByAuth0UserIDs: %v", err)
		}
		if got := users["auth0|ghost"]; got != nil {
			t.Errorf("GetByAuth0UserIDs found %s through a copy its invitation contradicts", got.ID)
		}
	})
}
