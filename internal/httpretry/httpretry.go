// Package httpretry holds what every outgoing HTTP client of credres
// (Microsoft Graph and the delivery channels) shares about failures and
// retries: the clock that waits, the Retry-After header, the back-off with
// jitter, which error kind an HTTP status is, which failures are worth
// another attempt, and the loop that makes them.
package httpretry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
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

// Kind is the model's sentinel kind of an HTTP error status, the one
// mapping of Graph and every channel:
//   - 429 is model.ErrThrottled;
//   - 404 is model.ErrNotFound; 409 and 412 are model.ErrConflict;
//   - 408 and every 5xx are none: transient, retried;
//   - every other 4xx is model.ErrInvalidInput: the request, the credentials
//     or the permissions are wrong, and sending it again, now or from the
//     queue, cannot succeed until an administrator fixes them.
func Kind(status int) error {
	switch {
	case status == http.StatusTooManyRequests:
		return model.ErrThrottled
	case status == http.StatusNotFound:
		return model.ErrNotFound
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		return model.ErrConflict
	case status == http.StatusRequestTimeout:
		return nil
	case status >= 400 && status < 500:
		return model.ErrInvalidInput
	}
	return nil
}

// Failure is one failed attempt as the retry rule sees it.
type Failure struct {
	// Status is the response's HTTP status; 0 when no response came (the
	// request was refused, reset or timed out, or its answer was lost).
	Status int
	// RetryAfter is the response's Retry-After, when HasRetryAfter.
	RetryAfter    time.Duration
	HasRetryAfter bool
}

// Retryable says whether the failure is worth another attempt. 429 and 503
// always are: the server says it did not act. 408, another 5xx and a lost
// response leave open whether the server acted, so they are only when the
// attempt is repeatable: a read, or a write that first looks up what an
// earlier attempt did.
func (f Failure) Retryable(repeatable bool) bool {
	switch {
	case f.Status == http.StatusTooManyRequests, f.Status == http.StatusServiceUnavailable:
		return true
	case f.Status == 0, f.Status == http.StatusRequestTimeout, f.Status >= 500:
		return repeatable
	}
	return false
}

// Wait is how long to wait before the next attempt, and why (for the log):
// the server's Retry-After when it gave one, otherwise backoff (the
// caller's Backoff(attempt), which callers that retry several requests
// together share).
func (f Failure) Wait(backoff time.Duration) (time.Duration, string) {
	status := strconv.Itoa(f.Status)
	if f.Status == 0 {
		status = "no response"
	}
	if f.HasRetryAfter {
		return f.RetryAfter, status + " Retry-After"
	}
	if f.Status == http.StatusTooManyRequests {
		return backoff, status + " without Retry-After: back-off"
	}
	return backoff, status + " back-off"
}

// Response is implemented by the errors of an HTTP error response.
type Response interface {
	error
	HTTPStatus() int
	// RetryAfterHint is the response's Retry-After, when it had a valid one.
	RetryAfterHint() (time.Duration, bool)
}

// Unanswered is the error of a request that got no response: refused,
// reset, timed out, or closed before the answer. The server may have acted
// on it.
type Unanswered struct{ Err error }

func (e *Unanswered) Error() string { return e.Err.Error() }
func (e *Unanswered) Unwrap() error { return e.Err }

// Final marks a failure that must not be retried within the call, because
// a retry could act twice (a create whose outcome is unknown and cannot yet
// be looked up). The caller's queue retries it later.
type Final struct{ Err error }

func (e *Final) Error() string { return e.Err.Error() }
func (e *Final) Unwrap() error { return e.Err }

// FailureOf reads what the retry rule needs of an attempt's error; ok is
// false for errors that are neither a Response nor Unanswered (a request
// that could not be built, a refused budget): those are never retried.
func FailureOf(err error) (f Failure, ok bool) {
	var r Response
	if errors.As(err, &r) {
		f = Failure{Status: r.HTTPStatus()}
		f.RetryAfter, f.HasRetryAfter = r.RetryAfterHint()
		return f, true
	}
	var u *Unanswered
	if errors.As(err, &u) {
		return Failure{}, true
	}
	return Failure{}, false
}

// Loop is the retry loop of one operation.
type Loop struct {
	Clock Clock
	// MaxAttempts bounds the attempts of one call; the queue's redrive
	// count bounds the calls.
	MaxAttempts int
	// MaxWait, when not zero, is the longest wait: a longer Retry-After
	// fails the call and leaves the retry to the caller's queue.
	MaxWait time.Duration
	// Repeatable says the attempt may be sent again when its outcome is
	// unknown (see Failure.Retryable).
	Repeatable bool
	// DeadlineKind, when not nil, is wrapped into the error returned when
	// the next wait would pass the context's deadline (Graph says
	// model.ErrThrottled, so that its callers wait longer).
	DeadlineKind error
	// Throttled, when set, is told of a 429's wait; when it returns true,
	// the next attempt waits by itself (a pacer) and the loop does not.
	Throttled func(until time.Time) bool
	// Log is told of every retry.
	Log func(attempt int, wait time.Duration, reason string)
}

// Do runs attempt until it succeeds or fails for good: a failure that is
// not retryable, a Final one, the last attempt, a wait longer than MaxWait
// or past the context's deadline, or a cancelled context. The error
// returned is the last attempt's, with why no further attempt was made.
func (l Loop) Do(ctx context.Context, attempt func(context.Context) error) error {
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		var final *Final
		if errors.As(err, &final) {
			return fmt.Errorf("%w (outcome unknown: not retried before the queue redelivers)", final.Err)
		}
		if ctx.Err() != nil {
			return cancelled(ctx, err)
		}
		f, ok := FailureOf(err)
		if !ok || !f.Retryable(l.Repeatable) {
			return err
		}
		wait, reason := f.Wait(Backoff(n))
		if n >= l.MaxAttempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, n)
		}
		if l.MaxWait > 0 && wait > l.MaxWait {
			return fmt.Errorf("%w (asked to wait %s; left to the queue)", err, wait.Round(time.Second))
		}
		now := l.Clock.Now()
		if dl, has := ctx.Deadline(); has && now.Add(wait).After(dl) {
			if l.DeadlineKind != nil {
				return fmt.Errorf("%w: %w (a retry in %s would pass the deadline)", l.DeadlineKind, err, wait.Round(time.Millisecond))
			}
			return fmt.Errorf("%w (a retry in %s would pass the deadline)", err, wait.Round(time.Millisecond))
		}
		if l.Log != nil {
			l.Log(n, wait, reason)
		}
		if f.Status == http.StatusTooManyRequests && l.Throttled != nil && l.Throttled(now.Add(wait)) {
			continue
		}
		select {
		case <-ctx.Done():
			return cancelled(ctx, err)
		case <-l.Clock.After(wait):
		}
	}
}

// cancelled is err with the context's end, unless err already says it.
func cancelled(ctx context.Context, err error) error {
	if errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w (retry cancelled: %w)", err, ctx.Err())
}
