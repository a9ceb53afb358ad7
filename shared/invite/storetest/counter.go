package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

func testCounterAdd(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	ctx := t.Context()
	hour := time.Date(2030, 5, 17, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		name      string
		key       string
		n         int
		at        time.Time
		wantCount int
		wantReset time.Time
	}{
		{"first in window", "invites:a", 1, hour.Add(5 * time.Minute), 1, hour.Add(time.Hour)},
		{"second in window", "invites:a", 1, hour.Add(59 * time.Minute), 2, hour.Add(time.Hour)},
		{"several at once", "invites:a", 40, hour.Add(30 * time.Minute), 42, hour.Add(time.Hour)},
		{"a charge given back", "invites:a", -40, hour.Add(30 * time.Minute), 2, hour.Add(time.Hour)},
		{"other key", "invites:b", 1, hour.Add(10 * time.Minute), 1, hour.Add(time.Hour)},
		{"at the window's start", "invites:c", 1, hour, 1, hour.Add(time.Hour)},
		{"key with hash sign", "invites:a#b", 1, hour.Add(10 * time.Minute), 1, hour.Add(time.Hour)},
		{"next window starts over", "invites:a", 1, hour.Add(time.Hour), 1, hour.Add(2 * time.Hour)},
	}
	for _, s := range steps {
		got, reset, err := f.Counter.IncrBy(ctx, s.key, s.n, time.Hour, s.at)
		if err != nil {
			t.Fatalf("%s: Add: %v", s.name, err)
		}
		if got != s.wantCount || !reset.Equal(s.wantReset) {
			t.Errorf("%s: Add(%d) = %d, reset %s; want %d, reset %s", s.name, s.n, got, reset, s.wantCount, s.wantReset)
		}
	}
}

func testCounterConcurrent(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	now := time.Date(2030, 5, 17, 9, 30, 0, 0, time.UTC)
	const n = 20
	var wg sync.WaitGroup
	seen := make(chan int, n)
	for range n {
		wg.Go(func() {
			got, _, err := f.Counter.IncrBy(context.Background(), "invites:race", 1, time.Hour, now)
			if err != nil {
				t.Errorf("Add: %v", err)
				return
			}
			seen <- got
		})
	}
	wg.Wait()
	close(seen)
	counts := map[int]bool{}
	for v := range seen {
		counts[v] = true
	}
	for i := 1; i <= n; i++ {
		if !counts[i] {
			t.Errorf("no caller saw count %d; got %v, want each of 1..%d once", i, counts, n)
		}
	}
}

func testCounterRefusesBadInput(t *testing.T, newFixture func(*testing.T) *fixture) {
	f := newFixture(t)
	cases := []struct {
		name   string
		key    string
		window time.Duration
	}{
		{"empty key", "", time.Hour},
		{"window under a second", "k", time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.Counter.IncrBy(t.Context(), tc.key, 1, tc.window, f.Clock.Now())
			if got := invite.ErrorCode(err); got != invite.CodeInvalid {
				t.Errorf("Add(%q, %s) code = %q (%v), want invalid_request", tc.key, tc.window, got, err)
			}
		})
	}
}
