package graph

import "time"

// Clock is the time source of the pacer and of retry back-off. Tests pass a
// fake clock (graphtest.Clock) so that waits take no real time.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// realClock is the wall clock.
type realClock struct{}

// Now is time.Now.
func (realClock) Now() time.Time { return time.Now() }

// After is time.After.
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
