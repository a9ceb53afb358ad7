package dynamo

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// TestInviteLinkRaceThroughTheService: 50 people redeem a link of 10 places and then
// confirm their addresses all at once, through the service on DynamoDB Local: exactly
// 10 invitations, 10 uses, 10 redemptions each naming its invitation, and 40 told the
// link has no place left.
func TestInviteLinkRaceThroughTheService(t *testing.T) {
	const redeemers, places = 50, 10
	client, _ := testClient(t)
	table := newTable(t, client)
	store, err := New(client, table, Options{CursorKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	counter, err := NewCounter(client, table)
	if err != nil {
		t.Fatal(err)
	}
	mail := inmem.NewMailer()
	svc, err := invite.NewService(invite.Config{Store: store, Batches: store, Identity: inmem.NewIdentity(time.Now), Mailer: mail,
		PublicBaseURL: "https://doorman.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	join, err := invite.NewJoin(invite.JoinConfig{Invites: svc, Store: store, Counter: counter})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	admin := invite.Actor{Sub: "auth0|admin", Name: "Admin", Permissions: []string{invite.PermCreate, invite.PermRead}}
	link, token, err := join.CreateLink(ctx, admin, invite.LinkRequest{MaxUses: places, AllowedDomains: []string{"team.example"}})
	if err != nil {
		t.Fatal(err)
	}
	tokens := make([]string, redeemers)
	for i := range redeemers {
		addr := fmt.Sprintf("r%d@team.example", i)
		if err := join.Redeem(ctx, token, addr, "R"); err != nil {
			t.Fatalf("Redeem %s: %v", addr, err)
		}
		sent := mail.SentTo(addr)
		if len(sent) != 1 {
			t.Fatalf("%d emails to %s, want its verification", len(sent), addr)
		}
		tokens[i] = strings.TrimPrefix(sent[0].Link, "https://doorman.example.com/r/")
	}
	var mu sync.Mutex
	outcomes := map[invite.VerifyOutcome]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			o, err := join.Verify(ctx, tok)
			if err != nil {
				t.Errorf("Verify: %v", err)
				o = "error"
			}
			mu.Lock()
			outcomes[o]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	got, reds, err := join.GetLink(ctx, admin, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	withInvitation := 0
	for _, r := range reds {
		if r.InvitationID != "" {
			withInvitation++
		}
	}
	t.Logf("%d redeemers confirming at once, max_uses %d: %d invited, %d refused (no place left), %d errors; stored uses %d, redemptions %d (%d with their invitation)",
		redeemers, places, outcomes[invite.VerifiedInvited], outcomes[invite.VerifiedClosed], outcomes["error"], got.Uses, len(reds), withInvitation)
	if outcomes[invite.VerifiedInvited] != places || outcomes[invite.VerifiedClosed] != redeemers-places || got.Uses != places ||
		len(reds) != places || withInvitation != places {
		t.Errorf("want exactly %d invited and %d refused, %d uses and redemptions with invitations", places, redeemers-places, places)
	}
}
