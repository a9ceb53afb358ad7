package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/invite"
)

// load is Doorman under load, measured: it starts `serve` in this process (the local
// stack, the Auth0 stand-in at -auth0-rate Management API requests per second), has
// -creators admins create invitations as fast as their answers come for -duration,
// then waits until the queue drains, and reports the answers' statuses and times, how
// long until every invitation was provisioned and mailed, the drain's Management API
// rate against the tenant's, and what was lost: failed invitations, Auth0 users
// without an invitation, invitations without their Auth0 side.
//
//	go run ./functions/local load -creators 20 -duration 60s -auth0-rate 2
func load(ctx context.Context, getenv func(string) string, args []string, out io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	creators := fs.Int("creators", 20, "concurrent creators")
	duration := fs.Duration("duration", 60*time.Second, "how long they create")
	rate := fs.Float64("auth0-rate", 2, "the stand-in's Management API requests per second")
	drainLimit := fs.Duration("drain-timeout", 15*time.Minute, "how long to wait for the queue to drain")
	think := fs.Duration("think", 0, "each creator's pause between creates (0: as fast as the answers come)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rateText := strconv.FormatFloat(*rate, 'f', -1, 64)
	// A table of its own: what an earlier run left (deferred invitations the sweeper
	// would queue again) must not be measured as this run's.
	table := "doorman-load-" + time.Now().Format("20060102-150405")
	defer dropTable(getenv, table)
	env := func(k string) string {
		switch k {
		case "TABLE_NAME":
			return table
		case "LISTEN_ADDR":
			return "127.0.0.1:0"
		case "AUTH0_SIM_RATE", "AUTH0_RATE_LIMIT":
			return rateText
		case "SWEEP_INTERVAL":
			return "5s"
		case "INVITES_PER_HOUR":
			return "0" // the load is the point: no per-inviter cap
		}
		return getenv(k)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan *running, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, env, io.Discard, log, func(r *running) { ready <- r })
	}()
	var r *running
	select {
	case r = <-ready:
	case err := <-done:
		return fmt.Errorf("load: serve: %w", err)
	}
	if r.sim == nil {
		return errors.New("load: needs the Auth0 stand-in (leave AUTH0_DOMAIN unset)")
	}

	res := drive(ctx, r, *creators, *duration, *think)
	drainStart := time.Now()
	admitted := r.app.Limiter.Stats().Admitted
	left, err := awaitDrain(ctx, r, res.ids, *drainLimit)
	if err != nil {
		return err
	}
	drain := time.Since(drainStart)
	drainRate := float64(r.app.Limiter.Stats().Admitted-admitted) / drain.Seconds()
	lost, err := audit(ctx, r, res.ids)
	if err != nil {
		return err
	}
	report(out, *creators, *duration, *rate, res, left, drain, drainRate, lost)
	cancel()
	<-done
	return nil
}

type loadResult struct {
	mu        sync.Mutex
	statuses  map[int]int
	latencies []time.Duration
	ids       []string
	deferred  int
}

// drive has n creators create invitations for d, each with the seeded member role.
func drive(ctx context.Context, r *running, n int, d, think time.Duration) *loadResult {
	res := &loadResult{statuses: map[int]int{}}
	client := &http.Client{Timeout: 60 * time.Second}
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := range n {
		// Each creator is an admin of its own, as a team's SPAs are.
		token, err := r.sim.MintToken(auth0sim.Claims{Sub: fmt.Sprintf("auth0|load-admin-%d", c), Name: "Load Admin",
			Permissions: allPermissions, TTL: time.Hour})
		if err != nil {
			token = r.seed.AdminToken
		}
		wg.Go(func() {
			for i := 0; time.Now().Before(stop) && ctx.Err() == nil; i++ {
				body, _ := json.Marshal(map[string]any{
					"email": fmt.Sprintf("load-%d-%d-%d@example.com", time.Now().UnixNano()%1e9, c, i),
					"name":  "Load", "roles": []string{r.seed.Member.ID},
				})
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/v1/invitations", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				start := time.Now()
				resp, err := client.Do(req)
				took := time.Since(start)
				status := 0
				var inv struct {
					ID           string `json:"id"`
					Provisioning bool   `json:"provisioning"`
				}
				if err == nil {
					status = resp.StatusCode
					_ = json.NewDecoder(resp.Body).Decode(&inv)
					resp.Body.Close()
				}
				res.mu.Lock()
				res.statuses[status]++
				res.latencies = append(res.latencies, took)
				if (status == http.StatusCreated || status == http.StatusAccepted) && inv.ID != "" {
					res.ids = append(res.ids, inv.ID)
				}
				if inv.Provisioning {
					res.deferred++
				}
				res.mu.Unlock()
				if think > 0 {
					select {
					case <-time.After(think):
					case <-ctx.Done():
					}
				}
			}
		})
	}
	wg.Wait()
	return res
}

// awaitDrain waits until every invitation is provisioned and its email sent, and
// returns how many were not by the limit.
func awaitDrain(ctx context.Context, r *running, ids []string, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	pending := slices.Clone(ids)
	for {
		var still []string
		for _, id := range pending {
			inv, err := r.app.Store.Get(ctx, id)
			if err != nil {
				return 0, fmt.Errorf("load: read %s: %w", id, err)
			}
			if inv.Status == invite.StatusPending && (!inv.Provisioned() || inv.Delivery.Sends == 0) {
				still = append(still, id)
			}
		}
		pending = still
		if len(pending) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return len(pending), ctx.Err()
		}
		time.Sleep(250 * time.Millisecond)
	}
}

type lostCounts struct {
	failed, unprovisioned, orphanUsers, users int
}

// audit counts the invitations that failed or lack their Auth0 side, and the Auth0
// users that no invitation names.
func audit(ctx context.Context, r *running, ids []string) (lostCounts, error) {
	var l lostCounts
	named := map[string]bool{}
	for _, id := range ids {
		inv, err := r.app.Store.Get(ctx, id)
		if err != nil {
			return l, fmt.Errorf("load: read %s: %w", id, err)
		}
		switch {
		case inv.Status == invite.StatusFailed:
			l.failed++
		case !inv.Provisioned():
			l.unprovisioned++
		}
		named[inv.Auth0UserID] = true
	}
	for _, u := range r.sim.Users() {
		if u.Email == consoleAdminEmail {
			continue // seeded for /console, no invitation's
		}
		l.users++
		if !named[u.ID] {
			l.orphanUsers++
		}
	}
	return l, nil
}

func report(out io.Writer, creators int, d time.Duration, rate float64, res *loadResult, left int, drain time.Duration, drainRate float64, lost lostCounts) {
	lat := slices.Clone(res.latencies)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	codes := make([]int, 0, len(res.statuses))
	for c := range res.statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	fmt.Fprintf(out, "load: %d creators for %s, the Auth0 stand-in at %g requests/s\n", creators, d, rate)
	fmt.Fprintf(out, "  creates          %d\n", len(lat))
	for _, c := range codes {
		fmt.Fprintf(out, "  status %-9d %d\n", c, res.statuses[c])
	}
	fmt.Fprintf(out, "  deferred (202)   %d\n", res.deferred)
	fmt.Fprintf(out, "  response time    p50 %s  p90 %s  p99 %s  max %s\n", pct(0.50).Round(time.Millisecond),
		pct(0.90).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond))
	fmt.Fprintf(out, "  drained in       %s after the last create (%d not provisioned and mailed by the limit)\n", drain.Round(time.Millisecond), left)
	if drain >= time.Second {
		fmt.Fprintf(out, "  drain rate       %.2f Management API requests/s = %.2f of the tenant's %g\n", drainRate, drainRate/rate, rate)
	} else {
		fmt.Fprintf(out, "  drain rate       nothing was left to drain\n")
	}
	fmt.Fprintf(out, "  failed           %d invitations\n", lost.failed)
	fmt.Fprintf(out, "  without Auth0    %d invitations\n", lost.unprovisioned)
	fmt.Fprintf(out, "  orphan users     %d of %d Auth0 users name no invitation\n", lost.orphanUsers, lost.users)
}

// dropTable deletes a load run's table; a failure leaves it for the operator.
func dropTable(getenv func(string) string, table string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	awsCfg, err := localAWS(ctx, or(getenv("AWS_REGION"), "us-east-1"))
	if err != nil {
		return
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(or(getenv("DYNAMODB_ENDPOINT"), "http://127.0.0.1:8000"))
	})
	_, _ = db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
}
