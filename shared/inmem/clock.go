package inmem

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Clock is a settable time source for tests: Now returns what was set, Advance moves
// it. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Rand is a deterministic random source (an io.Reader) for tests, safe for concurrent
// use, so that ids and tokens repeat from run to run.
type Rand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

// NewRand returns a Rand seeded with seed.
func NewRand(seed [32]byte) *Rand { return &Rand{r: rand.NewChaCha8(seed)} }

func (s *Rand) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(p)
}
