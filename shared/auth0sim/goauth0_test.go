package auth0sim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// TestGoAuth0Client drives the Sim with the SDK Doorman's adapter uses, so that the
// token exchange, paths and bodies are the ones go-auth0 really sends.
func TestGoAuth0Client(t *testing.T) {
	sim := NewTestServer(t, Options{RateLimit: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	domain := strings.TrimPrefix(sim.BaseURL(), "http://")
	m, err := management.New(domain, management.WithInsecure(),
		management.WithClientCredentials(ctx, sim.opts.ClientID, sim.opts.ClientSecret))
	if err != nil {
		t.Fatalf("management client: %v", err)
	}
	u := &management.User{Connection: auth0.String("Username-Password-Authentication"),
		Email: auth0.String("ann@example.com"), Password: auth0.String("Secret-pass-1"),
		AppMetadata: &map[string]interface{}{"needsInvitation": true, "invitationId": "inv_1"}}
	if err := m.User.Create(ctx, u); err != nil {
		t.Fatalf("create user: %v", err)
	}
	var mErr management.Error
	if err := m.User.Create(ctx, &management.User{Connection: auth0.String("Username-Password-Authentication"),
		Email: auth0.String("ANN@example.com"), Password: auth0.String("Secret-pass-1")}); !errors.As(err, &mErr) || mErr.Status() != http.StatusConflict {
		t.Errorf("got %v creating a duplicate, want a 409 management.Error", err)
	}
	if err := m.User.AssignRoles(ctx, u.GetID(), []*management.Role{{ID: auth0.String("rol_0000000000000000")}}); !errors.As(err, &mErr) || mErr.Status() != http.StatusNotFound {
		t.Errorf("got %v assigning an unknown role, want a 404 management.Error", err)
	}
	if err := m.User.Update(ctx, u.GetID(), &management.User{AppMetadata: &map[string]interface{}{"needsInvitation": nil}}); err != nil {
		t.Fatalf("update user: %v", err)
	}
	got, err := m.User.Read(ctx, u.GetID())
	if err != nil {
		t.Fatalf("read user: %v", err)
	}
	if _, ok := got.GetAppMetadata()["needsInvitation"]; ok || got.GetAppMetadata()["invitationId"] != "inv_1" {
		t.Errorf("got app_metadata %v, want needsInvitation removed and invitationId kept", got.GetAppMetadata())
	}
	org := sim.CreateOrganization("acme", "Acme")
	inv := &management.OrganizationInvitation{Inviter: &management.OrganizationInvitationInviter{Name: auth0.String("Bo")},
		Invitee:  &management.OrganizationInvitationInvitee{Email: auth0.String("c@example.com")},
		ClientID: auth0.String("app"), SendInvitationEmail: auth0.Bool(false), TTLSec: auth0.Int(3600)}
	if err := m.Organization.CreateInvitation(ctx, org.ID, inv); err != nil {
		t.Fatalf("create invitation: %v", err)
	}
	if !strings.HasPrefix(inv.GetInvitationURL(), sim.BaseURL()+"/login?invitation=") || inv.GetExpiresAt() == "" {
		t.Errorf("got invitation %+v, want a URL on the Sim and an expiry", inv)
	}
	ticket := &management.Ticket{UserID: u.ID, ResultURL: auth0.String("https://app.example/done"), TTLSec: auth0.Int(300), MarkEmailAsVerified: auth0.Bool(true)}
	if err := m.Ticket.ChangePassword(ctx, ticket); err != nil {
		t.Fatalf("ticket: %v", err)
	}
	if !strings.HasPrefix(ticket.GetTicket(), sim.BaseURL()+"/u/reset-password?ticket=") {
		t.Errorf("got ticket %s, want one on the Sim", ticket.GetTicket())
	}
	if got := sim.Calls("POST", "/oauth/token"); got != 1 {
		t.Errorf("got %d token requests, want 1 (the token is cached)", got)
	}
}
