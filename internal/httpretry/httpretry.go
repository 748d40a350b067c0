// Package httpretry holds what every outgoing HTTP client of credres
// (Microsoft Graph and the delivery channels) shares about retries: the
// clock that waits, the Retry-After header and the back-off with jitter.
package httpretry

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Clock is the time source of retry waits and pacing. Tests pass a fake
// (clocktest.Clock) so that a Retry-After of a minute takes no real time.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// WallClock is the real clock.
type WallClock struct{}

// Now is time.Now.
func (WallClock) Now() time.Time { return time.Now() }

// After is time.After.
func (WallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// MaxRetryAfter is the longest Retry-After taken at its word; a longer one
// (or a negative or non-numeric one) counts as absent.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After value: seconds, possibly fractional
// ("2.128"), or an HTTP date, measured from now. It reports false for an
// empty, malformed, negative, NaN or over-long value.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(s) || s < 0 || s > MaxRetryAfter.Seconds() {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Backoff is the wait after failed attempt n (from 1): one second doubling
// up to 32 s, with jitter over its upper half.
func Backoff(n int) time.Duration {
	d := time.Second << min(max(n-1, 0), 5)
	return d/2 + rand.N(d/2+1)
}
