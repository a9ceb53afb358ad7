package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/functions/internal/lambdaharness"
	"github.com/doormanhq/doorman/shared/invite"
)

// coldStarter is one binary BenchmarkColdStart starts: its first invocation is one
// its function answers without leaving the process, so that what is measured is the
// start and not the network.
type coldStarter struct {
	name, pkg string
	env       map[string]string
	timeout   time.Duration // each invocation's deadline; 0 is the harness's
	payload   []byte
	want      string // in the response
	times     []time.Duration
}

// BenchmarkColdStart measures, for each function's real bootstrap, for
// the floor (functions/internal/floor: the same SDK clients and operations, answering
// hello) and for a hello-world aws-lambda-go function, all built as the release build
// does, the time from starting the process to its first response, running them in
// turn in each iteration (from a different one each time). The first responses need
// no network: api serves GET /v1/openapi.json, logstream refuses a wrong token,
// sweeper stops at a budget already spent, worker, sesevents and publisher get an
// empty batch. It reports each median and its ratio to the floor's; run it with
// -benchtime=Nx for N starts of each.
func BenchmarkColdStart(b *testing.B) {
	webhookEnv := baseEnv()
	webhookEnv["WEBHOOK_TOKEN"] = strings.Repeat("w", 40)
	starters := []*coldStarter{
		{name: "floor", pkg: "../internal/floor", env: baseEnv(), payload: event(b, "openapi"), want: `"statusCode":200`},
		{name: "hello", pkg: "./testdata/hello", env: baseEnv(), payload: event(b, "openapi"), want: `"statusCode":200`},
		{name: "api", pkg: ".", env: baseEnv(), payload: event(b, "openapi"), want: `"statusCode":200`},
		// The same start answering a small body: a call without claims, refused.
		{name: "api-401", pkg: ".", env: baseEnv(), payload: event(b, "no-claims"), want: `"statusCode":401`},
		{name: "logstream", pkg: "../logstream", env: webhookEnv, payload: event(b, "webhook-logs"), want: `"statusCode":401`},
		// A deadline within the sweep's margin: the run stops before its first page.
		{name: "sweeper", pkg: "../sweeper", env: baseEnv(), timeout: invite.DefaultSweepMargin / 2,
			payload: readFile(b, "../../events/scheduled/sweeper.json"), want: `"Complete":false`},
		{name: "worker", pkg: "../worker", env: baseEnv(), payload: []byte(`{"Records":[]}`), want: `"batchItemFailures":[]`},
		{name: "sesevents", pkg: "../sesevents", env: baseEnv(), payload: []byte(`{"Records":[]}`), want: `"batchItemFailures":[]`},
		// An empty batch: nothing to publish or deliver.
		{name: "publisher", pkg: "../publisher", env: baseEnv(), payload: []byte(`{"Records":[]}`), want: `null`},
	}
	for _, s := range starters {
		bootstrap(b, s.pkg)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range starters {
			s := starters[(i+j)%len(starters)]
			s.times = append(s.times, s.coldStart(b))
		}
	}
	b.StopTimer()
	floor := median(starters[0].times)
	for _, s := range starters {
		m := median(s.times)
		b.ReportMetric(float64(m.Microseconds())/1000, s.name+"-median-ms")
		if s.name != "floor" {
			b.ReportMetric(float64(m)/float64(floor), s.name+"/floor")
		}
		if b.N == 1 {
			continue // the probe round of -benchtime=Nx; its lines would crowd out the run's
		}
		q1, q3 := quartiles(s.times)
		b.Logf("%-9s n=%d median %6.2f ms (quartiles %.2f–%.2f, min %.2f, max %.2f) ratio to floor %.2f", s.name, len(s.times),
			ms(m), ms(q1), ms(q3), ms(slices.Min(s.times)), ms(slices.Max(s.times)), float64(m)/float64(floor))
	}
}

// coldStart starts the binary, invokes it once and returns the time from the start
// to the response.
func (s *coldStarter) coldStart(b *testing.B) time.Duration {
	rt, err := lambdaharness.Start(lambdaharness.Options{Binary: bootstrap(b, s.pkg), Env: envList(s.env), Timeout: s.timeout})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := rt.Invoke(ctx, s.payload)
	elapsed := time.Since(rt.StartedAt())
	if err != nil || !strings.Contains(string(out), s.want) {
		b.Fatalf("%s: %.200s, %v (want %s)\n%s", s.name, out, err, s.want, rt.Logs())
	}
	return elapsed
}

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quartiles(d []time.Duration) (q1, q3 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/4], s[len(s)*3/4]
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkPeakRSS serves b.N creates (use -benchtime=1000x) with the real bootstrap
// against the local stack and the unthrottled Auth0 stand-in, and reports the
// process's peak RSS (VmHWM).
func BenchmarkPeakRSS(b *testing.B) {
	s := newStack(b)
	run := time.Now().UnixNano()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := invoke(b, s.rt, event(b, "create-application",
			"ada.lovelace@example.com", fmt.Sprintf("rss+%d-%d@example.com", run, i),
			"rol_EXAMPLEmember000", s.roleID, "4f6d2c1a-9b8e-4f3d-a2c1-0e9f8d7c6b5a", fmt.Sprintf("rss-%d-%d", run, i)))
		if res.StatusCode != 201 {
			b.Fatalf("create %d: status %d: %s", i, res.StatusCode, res.Body)
		}
	}
	b.StopTimer()
	rss, err := s.rt.PeakRSS()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
	b.Logf("creates=%d peak RSS %.1f MiB", b.N, float64(rss)/(1<<20))
}
