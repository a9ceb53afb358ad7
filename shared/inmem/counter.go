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
	start int64 // the window's start, Unix seconds
}

// NewCounter returns a counter with every count at zero.
func NewCounter() *Counter { return &Counter{counts: map[counterKey]int{}} }

// IncrBy adds n (negative to give a charge back) to key's count in the window of length
// window that holds now.
func (c *Counter) IncrBy(_ context.Context, key string, n int, window time.Duration, now time.Time) (int, time.Time, error) {
	if key == "" || window < time.Second {
		return 0, time.Time{}, invite.Invalid("key", "a key and a window of at least a second are required")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.fail) > 0 {
		code := c.fail[0]
		c.fail = c.fail[1:]
		return 0, time.Time{}, invite.Wrap(code, errors.New("injected failure"), "counter failed")
	}
	// Windows are whole seconds and start at multiples of window since the Unix
	// epoch, as in DynamoDB.
	secs := int64(window / time.Second)
	start := now.Unix() - now.Unix()%secs
	k := counterKey{key: key, start: start}
	c.counts[k] += n
	return c.counts[k], time.Unix(start+secs, 0).UTC(), nil
}

// FailNext makes the next n calls fail with code.
func (c *Counter) FailNext(n int, code invite.Code) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		c.fail = append(c.fail, code)
	}
}
