package graphtest

import (
	"sync"
	"time"
)

// Clock is a fake clock for tests: time stands still until someone waits.
// After(d) moves the clock forward by d at once and fires, so code that
// paces itself runs without sleeping, and a server sharing the clock sees
// requests at the instants the client meant to send them. Concurrent
// waiters each move it forward, so simulated time is an upper bound.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock reading start; the zero start means the current
// wall-clock second, so that context deadlines set from the fake time stay
// meaningful.
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	return &Clock{now: start}
}

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After advances the clock by d (when positive) and returns a channel that
// already holds the new time.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	now := c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
}
