package inmem

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Counter counts events in fixed time windows in memory, as dynamo.Counter does.
type Counter struct {
	mu     sync.Mutex
	counts map[counterKey]int
	fail   []invite.Code
}

type counterKey struct {
	key   string
	start int64 // the window's start, Unix nanoseconds
}

// NewCounter returns a counter with every count at zero.
func NewCounter() *Counter { return &Counter{counts: map[counterKey]int{}} }

// Incr adds one to key's count in the window of length window that holds now.
func (c *Counter) Incr(_ context.Context, key string, window time.Duration, now time.Time) (int, time.Time, error) {
	if key == "" || window <= 0 {
		return 0, time.Time{}, invite.Invalid("key", "a key and a positive window are required")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.fail) > 0 {
		code := c.fail[0]
		c.fail = c.fail[1:]
		return 0, time.Time{}, invite.Wrap(code, errors.New("injected failure"), "counter failed")
	}
	// Windows start at multiples of window since the Unix epoch, as in DynamoDB.
	ns := now.UnixNano()
	start := time.Unix(0, ns-ns%int64(window)).UTC()
	k := counterKey{key: key, start: start.UnixNano()}
	c.counts[k]++
	return c.counts[k], start.Add(window), nil
}

// FailNext makes the next n calls fail with code.
func (c *Counter) FailNext(n int, code invite.Code) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		c.fail = append(c.fail, code)
	}
}
