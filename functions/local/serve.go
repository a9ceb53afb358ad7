package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/config"
	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// serve runs Doorman locally until ctx ends. Auth0's paths (/oauth/token, /api/v2,
// /.well-known, the login and ticket pages) do not collide with Doorman's (/v1, /i,
// /webhooks), so one listener serves both as one origin.
func serve(ctx context.Context, getenv func(string) string, out io.Writer, log *slog.Logger, started ...func(*running)) error {
	addr, err := listenAddr(getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (set LISTEN_ADDR to use another address): %w", addr, err)
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()
	// One process serves what the api and logstream functions serve in AWS.
	l, cfg, awsCfg, err := prepare(ctx, getenv, base, config.Logstream)
	if err != nil {
		return err
	}
	// SES's event publishing, for the mailbox simulator's addresses (sessim.go).
	sesSim := newSESSimulator(awsCfg.HTTPClient, cfg.Region, log)
	awsCfg.HTTPClient = sesSim

	rt := &router{}
	var seeded seed
	if l.UseSim {
		rate, err := simRate(getenv)
		if err != nil {
			return err
		}
		rt.sim = auth0sim.New(auth0sim.Options{
			ClientID: cfg.Auth0.ClientID, ClientSecret: cfg.Auth0.ClientSecret.Reveal(),
			Audience: l.Audience, Connection: cfg.Auth0.Connection, Logger: log, RateLimit: rate,
			LoginPermissions: consolePermissions,
			LoginHint:        "Doorman's local Auth0 stand-in: sign in to the console as " + consoleAdminEmail + " with the password " + consoleAdminPassword + ".",
			LogStream: &auth0sim.LogStream{
				URL: base + webhookPath, Authorization: "Bearer " + cfg.WebhookToken.Reveal(),
				Format: "array", BatchSize: 20, FlushInterval: 500 * time.Millisecond,
			},
		})
		rt.sim.SetBaseURL(base)
		seeded = seedSim(rt.sim)
	}
	srv := &http.Server{Handler: rt, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	defer func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()

	// The worker's SQS queue, in process: the same redelivery on failure, the same
	// final delivery after QUEUE_MAX_RECEIVES.
	queue := inmem.NewQueue(inmem.QueueOptions{Visibility: 5 * time.Second, MaxReceives: cfg.QueueMaxReceives,
		Logger: func(msg string, args ...any) { log.Warn(msg, args...) }})
	interval, err := sweepInterval(getenv)
	if err != nil {
		return err
	}
	evs := newLocalEvents(out)
	a, err := app.New(ctx, cfg, awsCfg, app.Options{Logger: log, Queue: queue, SweepMargin: min(invite.DefaultSweepMargin, interval/6),
		Events: evs.options()})
	if err != nil {
		return err
	}
	evs.start(ctx, a, cfg, awsCfg, log)
	workers, err := bulkWorkers(getenv)
	if err != nil {
		return err
	}
	go sesSim.run(ctx, a.SESEvents)
	go queue.Run(ctx, workers, func(ctx context.Context, ref invite.ItemRef, last bool) error {
		return a.Service.WorkBatchItem(withNewRequestID(ctx), ref, last)
	})
	auth, err := newAuthenticator(l.Issuer, l.Audience, l.JWKSURL)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", auth.middleware(a.API))
	mux.Handle(webhookPath, a.Webhook)
	rt.api.Store(&handler{h: mux})

	startSweeper(ctx, interval, a.Sweeper, log)

	if err := banner(out, base, cfg, l, rt.sim, seeded); err != nil {
		return err
	}
	for _, f := range started {
		f(&running{base: base, sim: rt.sim, app: a, seed: seeded})
	}
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		log.Info("stopping")
		return nil
	}
}

const webhookPath = "/webhooks/auth0/logs"

// prepare reads fn's settings, the local defaults layered under the environment, and
// makes sure the table exists. base is the local server's URL.
func prepare(ctx context.Context, getenv func(string) string, base string, fn config.Function) (local, *config.Config, aws.Config, error) {
	l, err := localEnv(getenv, base)
	if err != nil {
		return local{}, nil, aws.Config{}, err
	}
	cfg, err := config.Load(ctx, l.getenv, nil, fn)
	if err != nil {
		return local{}, nil, aws.Config{}, err
	}
	awsCfg, err := localAWS(ctx, cfg.Region)
	if err != nil {
		return local{}, nil, aws.Config{}, err
	}
	if err := ensureTable(ctx, awsCfg, cfg.DynamoEndpoint, cfg.TableName); err != nil {
		return local{}, nil, aws.Config{}, err
	}
	return l, cfg, awsCfg, nil
}

// handler boxes an http.Handler for atomic.Pointer.
type handler struct{ h http.Handler }

// router sends Doorman's paths to the API (once built) and everything else to the
// Auth0 stand-in, when there is one.
type router struct {
	api atomic.Pointer[handler]
	sim *auth0sim.Sim
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == tokenPath && rt.sim != nil:
		mintHandler(rt.sim).ServeHTTP(w, r)
	case isDoormanPath(r.URL.Path):
		h := rt.api.Load()
		if h == nil {
			http.Error(w, "Doorman is starting", http.StatusServiceUnavailable)
			return
		}
		h.h.ServeHTTP(w, r)
	case rt.sim != nil:
		rt.sim.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

func isDoormanPath(p string) bool {
	if p == "/join" || p == "/console" || strings.HasPrefix(p, "/console/") {
		return true
	}
	// /r/ and /j/ are the join flows' verification and invite-link pages.
	for _, prefix := range []string{"/v1/", "/i/", "/webhooks/", "/r/", "/j/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// seed is what seedSim made.
type seed struct {
	Member, Admin auth0sim.Role
	Org           auth0sim.Organization
	AdminToken    string
}

// seedSim gives the stand-in what a new tenant would have for trying Doorman: two
// roles and an organization, and an admin token with every invitation permission.
func seedSim(sim *auth0sim.Sim) seed {
	s := seed{
		Member: sim.CreateRole(simMemberRole, "Can use the application"),
		Admin:  sim.CreateRole("admin", "Administers the application"),
		Org:    sim.CreateOrganization("acme", "Acme Corporation"),
	}
	sim.AddUser(auth0sim.User{Email: consoleAdminEmail, Password: consoleAdminPassword, EmailVerified: true, Name: "Local Admin", LoginsCount: 1})
	s.AdminToken, _ = sim.MintToken(auth0sim.Claims{Sub: "auth0|local-admin", Name: "Local Admin", Permissions: allPermissions, TTL: 12 * time.Hour})
	return s
}

var allPermissions = []string{invite.PermCreate, invite.PermRead, invite.PermUpdate, invite.PermDelete, invite.PermAdmin, invite.PermReview, events.PermManage}

func banner(out io.Writer, base string, cfg *config.Config, l local, sim *auth0sim.Sim, s seed) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nDoorman is running.\n")
	fmt.Fprintf(&b, "  API                 %s/v1/invitations   (OpenAPI: %s/v1/openapi.json)\n", base, base)
	fmt.Fprintf(&b, "  DynamoDB Local      %s  (table %s)\n", cfg.DynamoEndpoint, cfg.TableName)
	fmt.Fprintf(&b, "  Bulk invitations    %s/v1/invitation-batches  (worker in process)\n", base)
	fmt.Fprintf(&b, "  Join flows          %s/join  (ask for access; review at %s/v1/access-requests)\n", base, base)
	fmt.Fprintf(&b, "  Log-stream webhook  %s%s  (Authorization: Bearer <WEBHOOK_TOKEN>)\n", base, webhookPath)
	fmt.Fprintf(&b, "  Sent mail           %s/store\n", cfg.SESEndpoint)
	fmt.Fprintf(&b, "  SES events          mail to success@, bounce@, complaint@, suppressionlist@%s (+label allowed)\n"+
		"                      gets SES's event records, applied as in AWS: see each invitation's delivery and history\n", simulatorDomain)
	fmt.Fprintf(&b, "  Webhooks            %s/v1/webhook-endpoints  (loopback URLs allowed; every attempt is printed here\n"+
		"                      and listed at /v1/webhook-endpoints/{id}/attempts; events at %s/v1/events)\n", base, base)
	fmt.Fprintf(&b, "  Grantable roles     %s  (GRANTABLE_ROLES; invitations with other roles are refused)\n",
		or(strings.Join(cfg.GrantableRoles, ", "), "none"))
	if sim == nil {
		fmt.Fprintf(&b, "  Auth0               %s (a real tenant; tokens from it, issuer %s)\n", cfg.Auth0.Domain, l.Issuer)
		_, err := io.WriteString(out, b.String()+"\nPress Ctrl-C to stop.\n")
		return err
	}
	fmt.Fprintf(&b, "  Auth0 stand-in      %s  (issuer %s/, roles %s=member %s=admin, organization %s=acme)\n",
		base, base, s.Member.ID, s.Admin.ID, s.Org.ID)
	fmt.Fprintf(&b, "  Console             %s/console  (sign in as %s, password %s)\n", base, consoleAdminEmail, consoleAdminPassword)
	fmt.Fprintf(&b, "\nAn admin access token (12 hours):\n  %s\n", s.AdminToken)
	fmt.Fprintf(&b, "\nInvite someone:\n  curl -s %s/v1/invitations -H \"Authorization: Bearer %s\" \\\n"+
		"    -H 'Content-Type: application/json' -d '{\"email\":\"ada@example.com\",\"name\":\"Ada\",\"roles\":[\"%s\"]}'\n",
		base, s.AdminToken, s.Member.ID)
	fmt.Fprintf(&b, "\nOther tokens: go run ./functions/local token -sub auth0|someone -org %s -perm create:invitations,read:invitations\n", s.Org.ID)
	_, err := io.WriteString(out, b.String()+"\nPress Ctrl-C to stop; the stack stops with it.\n")
	return err
}

// bulkWorkers is how many batch items the local worker handles at once (BULK_WORKERS,
// default 10, as one Lambda invocation handles a batch of ten SQS messages).
func bulkWorkers(getenv func(string) string) (int, error) {
	v := getenv("BULK_WORKERS")
	if v == "" {
		return 10, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, fmt.Errorf("BULK_WORKERS %q must be an integer from 1 to 100", v)
	}
	return n, nil
}

// running is what a started serve offers the commands that drive it (load).
type running struct {
	base string
	sim  *auth0sim.Sim // nil against a real tenant
	app  *app.App
	seed seed
}

// simRate is AUTH0_SIM_RATE: the stand-in's Management API requests per second
// (default 2, a free tenant's).
func simRate(getenv func(string) string) (float64, error) {
	v := getenv("AUTH0_SIM_RATE")
	if v == "" {
		return 0, nil
	}
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r <= 0 || r > 1000 {
		return 0, fmt.Errorf("AUTH0_SIM_RATE %q must be requests per second, above 0 and at most 1000", v)
	}
	return r, nil
}

// sweepInterval is SWEEP_INTERVAL (default 1m): how often the local run sweeps.
func sweepInterval(getenv func(string) string) (time.Duration, error) {
	v := getenv("SWEEP_INTERVAL")
	if v == "" {
		return time.Minute, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("SWEEP_INTERVAL %q must be a positive duration such as 30s", v)
	}
	return d, nil
}

// startSweeper runs one sweep every interval until ctx ends, as the EventBridge
// schedule does in AWS.
func startSweeper(ctx context.Context, interval time.Duration, sweeper *invite.Sweeper, log *slog.Logger) {
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				// A run gets the interval as its budget, so that runs do not pile up.
				// It logs its outcome, a failure included.
				_, _ = sweeper.Run(withNewRequestID(ctx), time.Now().Add(interval))
			}
		}
	}()
}

// withNewRequestID gives a unit of work done in process (a queue delivery, a sweep)
// an id of its own, as Lambda gives each invocation one, so that its lines carry it.
func withNewRequestID(ctx context.Context) context.Context {
	id, err := invite.NewID(time.Now(), rand.Reader)
	if err != nil {
		return ctx
	}
	return invite.WithRequestID(ctx, id)
}

// consolePermissions are the permissions of the stand-in's users signed in through
// /authorize: every invitation permission for the console administrator, none for
// anyone else (an invitee signing in to the application).
func consolePermissions(email string) []string {
	if strings.EqualFold(email, consoleAdminEmail) {
		return allPermissions
	}
	return nil
}
