package httpretry_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/clocktest"
	"github.com/credres/credres/internal/httpretry"
	"github.com/credres/credres/pkg/model"
)

// TestKind is the one status-to-kind mapping of Graph and every channel.
func TestKind(t *testing.T) {
	kinds := []error{model.ErrThrottled, model.ErrNotFound, model.ErrConflict, model.ErrInvalidInput}
	want := func(status int) error {
		switch status {
		case 429:
			return model.ErrThrottled
		case 404:
			return model.ErrNotFound
		case 409, 412:
			return model.ErrConflict
		case 400, 401, 403, 405, 406, 410, 411, 413, 414, 415, 422, 424, 451:
			return model.ErrInvalidInput
		}
		return nil // 408, 5xx and anything that is not an error status
	}
	for _, status := range []int{200, 204, 301, 400, 401, 403, 404, 405, 406, 408, 409, 410, 411, 412, 413, 414, 415, 422, 424, 429, 451, 500, 501, 502, 503, 504, 599} {
		got := httpretry.Kind(status)
		if got != want(status) {
			t.Errorf("Kind(%d) = %v, want %v", status, got, want(status))
		}
		for _, k := range kinds {
			if k != got && errors.Is(got, k) {
				t.Errorf("Kind(%d) is also %v", status, k)
			}
		}
	}
}

func TestRetryable(t *testing.T) {
	cases := []struct {
		status               int
		repeatable, readOnly bool
	}{
		// status, retried when the attempt is repeatable, retried when not
		{0, true, false},
		{408, true, false},
		{429, true, true},
		{500, true, false},
		{502, true, false},
		{503, true, true},
		{504, true, false},
		{400, false, false},
		{401, false, false},
		{403, false, false},
		{404, false, false},
		{409, false, false},
		{200, false, false},
	}
	for _, c := range cases {
		f := httpretry.Failure{Status: c.status}
		if got := f.Retryable(true); got != c.repeatable {
			t.Errorf("status %d, repeatable: retried = %v, want %v", c.status, got, c.repeatable)
		}
		if got := f.Retryable(false); got != c.readOnly {
			t.Errorf("status %d, not repeatable: retried = %v, want %v", c.status, got, c.readOnly)
		}
	}
}

func TestWait(t *testing.T) {
	const backoff = 3 * time.Second
	cases := []struct {
		f      httpretry.Failure
		wait   time.Duration
		reason string
	}{
		{httpretry.Failure{Status: 429, RetryAfter: 7 * time.Second, HasRetryAfter: true}, 7 * time.Second, "429 Retry-After"},
		{httpretry.Failure{Status: 429}, backoff, "429 without Retry-After: back-off"},
		{httpretry.Failure{Status: 503, RetryAfter: 0, HasRetryAfter: true}, 0, "503 Retry-After"},
		{httpretry.Failure{Status: 503}, backoff, "503 back-off"},
		{httpretry.Failure{}, backoff, "no response back-off"},
	}
	for _, c := range cases {
		wait, reason := c.f.Wait(backoff)
		if wait != c.wait || reason != c.reason {
			t.Errorf("%+v: Wait = %v %q, want %v %q", c.f, wait, reason, c.wait, c.reason)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{" 2.128 ", 2128 * time.Millisecond, true},
		{"0", 0, true},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true}, // a date in the past: retry now
		{"", 0, false},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"nan", 0, false},
		{"1e9", 0, false},
		{"10", 10 * time.Second, true},
		{"86401", 0, false},
		{"soon", 0, false},
	}
	for _, c := range cases {
		got, ok := httpretry.ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestBackoffDoublesWithJitterUpTo32s(t *testing.T) {
	for n := 1; n <= 8; n++ {
		base := time.Second << min(n-1, 5)
		for range 50 {
			d := httpretry.Backoff(n)
			if d < base/2 || d > base {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", n, d, base/2, base)
			}
		}
	}
	if d := httpretry.Backoff(0); d < time.Second/2 || d > time.Second {
		t.Errorf("Backoff(0) = %v, want the first attempt's", d)
	}
}

// statusErr is an HTTP error response as the adapters' errors are.
type statusErr struct {
	status int
	ra     time.Duration
	hasRA  bool
}

func (e *statusErr) Error() string                         { return http.StatusText(e.status) }
func (e *statusErr) Unwrap() error                         { return httpretry.Kind(e.status) }
func (e *statusErr) HTTPStatus() int                       { return e.status }
func (e *statusErr) RetryAfterHint() (time.Duration, bool) { return e.ra, e.hasRA }

func TestLoop(t *testing.T) {
	lost := &httpretry.Unanswered{Err: errors.New("no response: connection reset")}
	cases := []struct {
		name       string
		loop       httpretry.Loop
		deadline   time.Duration // from the fake clock's now; 0: none
		failures   []error       // returned by the attempts in turn; then success
		attempts   int
		err        error // errors.Is the returned error, when not nil
		contains   string
		paused     bool // the 429's wait went to Throttled instead of the clock
		firstWaits []time.Duration
	}{
		{name: "success-first-time", loop: httpretry.Loop{MaxAttempts: 3}, attempts: 1},
		{
			name:       "429-waits-retry-after-then-succeeds",
			loop:       httpretry.Loop{MaxAttempts: 3},
			failures:   []error{&statusErr{status: 429, ra: 5 * time.Second, hasRA: true}},
			attempts:   2,
			firstWaits: []time.Duration{5 * time.Second},
		},
		{
			name:     "429-with-a-pacer-does-not-sleep",
			loop:     httpretry.Loop{MaxAttempts: 3},
			failures: []error{&statusErr{status: 429, ra: 5 * time.Second, hasRA: true}},
			attempts: 2,
			paused:   true,
		},
		{
			name:     "lost-response-not-repeatable-stops",
			loop:     httpretry.Loop{MaxAttempts: 3},
			failures: []error{lost},
			attempts: 1,
			contains: "connection reset",
		},
		{
			name:     "lost-response-repeatable-retried",
			loop:     httpretry.Loop{MaxAttempts: 3, Repeatable: true},
			failures: []error{lost, lost},
			attempts: 3,
		},
		{
			name:     "gives-up-after-max-attempts",
			loop:     httpretry.Loop{MaxAttempts: 3, Repeatable: true},
			failures: []error{&statusErr{status: 500}, &statusErr{status: 502}, &statusErr{status: 503}, nil},
			attempts: 3,
			contains: "(gave up after 3 attempts)",
		},
		{
			name:     "invalid-input-is-not-retried",
			loop:     httpretry.Loop{MaxAttempts: 3, Repeatable: true},
			failures: []error{&statusErr{status: 403}},
			attempts: 1,
			err:      model.ErrInvalidInput,
		},
		{
			name:     "final-is-not-retried",
			loop:     httpretry.Loop{MaxAttempts: 3, Repeatable: true},
			failures: []error{&httpretry.Final{Err: &statusErr{status: 500}}},
			attempts: 1,
			contains: "outcome unknown",
		},
		{
			name:     "longer-than-max-wait-left-to-the-queue",
			loop:     httpretry.Loop{MaxAttempts: 3, MaxWait: time.Minute},
			failures: []error{&statusErr{status: 429, ra: time.Hour, hasRA: true}},
			attempts: 1,
			err:      model.ErrThrottled,
			contains: "left to the queue",
		},
		{
			name:     "past-the-deadline-says-the-deadline-kind",
			loop:     httpretry.Loop{MaxAttempts: 3, DeadlineKind: model.ErrThrottled},
			deadline: 10 * time.Second,
			failures: []error{&statusErr{status: 503, ra: time.Minute, hasRA: true}},
			attempts: 1,
			err:      model.ErrThrottled,
			contains: "would pass the deadline",
		},
		{
			name:     "not-an-http-failure-is-not-retried",
			loop:     httpretry.Loop{MaxAttempts: 3, Repeatable: true},
			failures: []error{errors.New("cannot build the request")},
			attempts: 1,
			contains: "cannot build",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := clocktest.NewClock(time.Time{})
			c.loop.Clock = clock
			var pauses []time.Time
			if c.paused {
				c.loop.Throttled = func(until time.Time) bool { pauses = append(pauses, until); return true }
			}
			ctx := context.Background()
			if c.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, clock.Now().Add(c.deadline))
				defer cancel()
			}
			n := 0
			err := c.loop.Do(ctx, func(context.Context) error {
				n++
				if n <= len(c.failures) {
					return c.failures[n-1]
				}
				return nil
			})
			if n != c.attempts {
				t.Errorf("attempts = %d, want %d", n, c.attempts)
			}
			if c.err == nil && c.contains == "" && err != nil {
				t.Fatalf("err = %v, want success", err)
			}
			if c.err != nil && !errors.Is(err, c.err) {
				t.Errorf("err = %v, want %v", err, c.err)
			}
			if c.contains != "" && (err == nil || !strings.Contains(err.Error(), c.contains)) {
				t.Errorf("err = %v, want it to say %q", err, c.contains)
			}
			if c.paused && (len(pauses) != 1 || len(clock.Waits()) != 0) {
				t.Errorf("pauses %v, clock waits %v; want one pause and no sleep", pauses, clock.Waits())
			}
			if c.firstWaits != nil {
				got := clock.Waits()
				if len(got) < len(c.firstWaits) || got[0] != c.firstWaits[0] {
					t.Errorf("waits %v, want %v first", got, c.firstWaits)
				}
			}
		})
	}
}

func TestLoopStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	loop := httpretry.Loop{Clock: clocktest.NewClock(time.Time{}), MaxAttempts: 5, Repeatable: true}
	err := loop.Do(ctx, func(context.Context) error {
		cancel()
		return &statusErr{status: 503}
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), http.StatusText(http.StatusServiceUnavailable)) {
		t.Errorf("err = %v, want the 503 and context.Canceled", err)
	}
}
