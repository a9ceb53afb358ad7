package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/invite"
)

// serve runs the local deployment until ctx ends: the table in DynamoDB Local and the
// Auth0 stand-in on LISTEN_ADDR. Auth0's paths (/oauth/token, /api/v2, /.well-known,
// the login and ticket pages) do not collide with Doorman's (/v1, /i, /webhooks), so
// one listener serves both, as one origin.
func serve(ctx context.Context, cfg config, out io.Writer, log *slog.Logger) error {
	db, err := dynamoClient(ctx, cfg)
	if err != nil {
		return err
	}
	if err := dynamo.EnsureTable(ctx, db, cfg.TableName); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (set LISTEN_ADDR to use another address): %w", cfg.ListenAddr, err)
	}
	base := "http://" + ln.Addr().String()
	sim := auth0sim.New(auth0sim.Options{Logger: log})
	sim.SetBaseURL(base)
	admin, err := seed(sim)
	if err != nil {
		ln.Close()
		return err
	}

	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	fmt.Fprintf(out, `
Doorman local stack is ready.
  Auth0 stand-in      %[1]s  (issuer %[1]s/, JWKS %[1]s/.well-known/jwks.json)
  DynamoDB Local      %[2]s  (table %[3]s)
  Local SES           %[4]s  (sent mail: %[4]s/store)

An admin access token (one hour), for the API's callers:
  %[5]s

Example: curl -s %[1]s/.well-known/openid-configuration
Press Ctrl-C to stop; the stack stops with it.
`, base, cfg.DynamoEndpoint, cfg.TableName, cfg.SESEndpoint, admin)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// seed gives the stand-in what a new tenant would have for trying Doorman: two roles
// and an organization, and mints an admin token with every invitation permission.
func seed(sim *auth0sim.Sim) (string, error) {
	sim.CreateRole("member", "Can use the application")
	sim.CreateRole("admin", "Administers the application")
	sim.CreateOrganization("acme", "Acme Corporation")
	token, err := sim.MintToken(auth0sim.Claims{
		Sub: "auth0|local-admin",
		Permissions: []string{
			invite.PermCreate, invite.PermRead, invite.PermUpdate, invite.PermDelete, invite.PermAdmin,
		},
		TTL: time.Hour,
	})
	if err != nil {
		return "", fmt.Errorf("mint admin token: %w", err)
	}
	return token, nil
}
