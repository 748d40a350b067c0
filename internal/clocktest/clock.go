// Package clocktest is a fake clock for tests of code that paces itself or
// waits out Retry-After: time stands still until someone waits, and a wait
// moves it forward at once, so nothing sleeps.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a fake clock. After(d) moves the clock forward by d at once and
// fires, so code that paces itself runs without sleeping, and a fake server
// sharing the clock sees requests at the instants the client meant to send
// them. Concurrent waiters each move it forward, so simulated time is an
// upper bound. Waits lists every wait asked for.
type Clock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
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

// After records d, advances the clock by d (when positive) and returns a
// channel that already holds the new time.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits = append(c.waits, d)
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

// Waits returns the waits asked for so far.
func (c *Clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}
