package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/functions/internal/lambdaharness"
)

// BenchmarkColdStart measures, for the real api bootstrap and for a hello-world
// aws-lambda-go function built the same way, the time from starting the process to
// its first response (GET /v1/openapi.json; hello answers anything), alternating the
// two in each iteration. It reports the medians and their ratio; run it with
// -benchtime=Nx for N starts of each.
func BenchmarkColdStart(b *testing.B) {
	api, hello := bootstrap(b, "."), bootstrap(b, "./testdata/hello")
	env := envList(baseEnv())
	payload := event(b, "openapi")
	var apiTimes, helloTimes []time.Duration
	coldStart := func(binary string, env []string) time.Duration {
		rt, err := lambdaharness.Start(lambdaharness.Options{Binary: binary, Env: env})
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := rt.Invoke(ctx, payload)
		elapsed := time.Since(rt.StartedAt())
		if err != nil || !strings.Contains(string(out), `"statusCode":200`) {
			b.Fatalf("%s: %.100s, %v\n%s", binary, out, err, rt.Logs())
		}
		return elapsed
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		apiTimes = append(apiTimes, coldStart(api, env))
		helloTimes = append(helloTimes, coldStart(hello, env))
	}
	b.StopTimer()
	a, h := median(apiTimes), median(helloTimes)
	b.ReportMetric(float64(a.Microseconds())/1000, "api-median-ms")
	b.ReportMetric(float64(h.Microseconds())/1000, "hello-median-ms")
	b.ReportMetric(float64(a)/float64(h), "ratio")
	b.Logf("n=%d each: api median %v, hello median %v, ratio %.2f", len(apiTimes), a, h, float64(a)/float64(h))
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
