package graph

// Scheduling: one goroutine sends the queued items as $batch requests, as
// full as the pacer's budget allows, and settles or retries each item by
// its own status (httpretry's rule).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/httpretry"
	"github.com/credres/credres/pkg/model"
)

// wakeLocked starts the flush goroutine, or nudges the running one.
func (c *Client) wakeLocked() {
	if !c.flushing {
		c.flushing = true
		go c.flush()
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// flush sends queued items as $batch requests, as full as the budget
// allows, until the queue is empty.
func (c *Client) flush() {
	for {
		c.mu.Lock()
		c.dropAbandonedLocked()
		if len(c.queue) == 0 {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		now := c.clock.Now()
		var head *item
		var earliest time.Time
		for _, it := range c.queue {
			if !it.notBefore.After(now) {
				head = it
				break
			}
			if earliest.IsZero() || it.notBefore.Before(earliest) {
				earliest = it.notBefore
			}
		}
		if head == nil {
			// Everything queued is backing off.
			c.mu.Unlock()
			select {
			case <-c.clock.After(earliest.Sub(now)):
			case <-c.kick:
			}
			continue
		}
		hctx, hdl := head.call.ctx, head.call.effectiveDeadline()
		c.mu.Unlock()

		// Wait until the first item fits the budget, then take as many
		// items as fit now: callers arriving meanwhile join this batch.
		if _, err := c.pacer.acquire(hctx, map[Class]int{head.part.class(): 1}, hdl, false); err != nil {
			c.mu.Lock()
			c.failLocked(head.call, fmt.Errorf("%s: %w", head.part, err))
			c.mu.Unlock()
			continue
		}
		c.mu.Lock()
		batch := c.pickLocked(c.clock.Now())
		c.mu.Unlock()
		if len(batch) > 0 {
			c.send(batch)
		}
	}
}

// dropAbandonedLocked fails calls nobody waits for any more, and drops
// items of calls that already failed.
func (c *Client) dropAbandonedLocked() {
	for i := 0; i < len(c.queue); {
		cl := c.queue[i].call
		switch {
		case cl.err != nil:
			c.removeLocked(cl)
		case cl.waiters <= 0:
			c.failLocked(cl, context.Canceled)
		default:
			i++
			continue
		}
		// The queue shrank under i.
	}
}

// pickLocked takes, in queue order, the items that fit the budget now, up to
// Graph's 20 per $batch.
func (c *Client) pickLocked(now time.Time) []*item {
	avail := map[Class]int{}
	var batch []*item
	rest := c.queue[:0]
	for _, it := range c.queue {
		if len(batch) < maxBatch && !it.notBefore.After(now) {
			cls := it.part.class()
			n, ok := avail[cls]
			if !ok {
				n = c.pacer.Available(cls)
			}
			if n > 0 {
				avail[cls] = n - 1
				batch = append(batch, it)
				if !it.call.sent {
					it.call.sent = true
					if c.pending[it.call.key] == it.call {
						delete(c.pending, it.call.key)
					}
				}
				continue
			}
			avail[cls] = 0
		}
		rest = append(rest, it)
	}
	clear(c.queue[len(rest):])
	c.queue = rest
	return batch
}

// send posts one $batch and settles every item in it.
func (c *Client) send(batch []*item) {
	units, dl := batchBudget(batch)
	ctx := batch[0].call.ctx
	log := zerolog.Ctx(ctx)
	g, err := c.pacer.acquire(ctx, units, dl, true)
	if err != nil {
		c.mu.Lock()
		for _, it := range batch {
			c.failLocked(it.call, fmt.Errorf("%s: %w", it.part, err))
		}
		c.mu.Unlock()
		return
	}
	// The request outlives callers who give up: their answers still
	// settle the other callers' items.
	responses, err := c.postBatch(context.WithoutCancel(ctx), batch)
	g.Done()
	now := c.clock.Now()
	if err != nil {
		c.batchFailed(batch, err, now, log)
		return
	}
	outcomes := make([]outcome, len(batch))
	for i, it := range batch {
		outcomes[i] = c.interpret(it, responses[strconv.Itoa(i+1)], now)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	waits := map[int]time.Duration{}
	for _, o := range outcomes {
		c.settleLocked(o, now, waits, log)
	}
	if len(c.queue) > 0 {
		c.wakeLocked()
	}
}

// batchBudget is what a batch takes of each class's budget, and the latest
// of its callers' deadlines (zero when one of them has none).
func batchBudget(batch []*item) (map[Class]int, time.Time) {
	units := map[Class]int{}
	var dl time.Time
	none := false
	for _, it := range batch {
		units[it.part.class()]++
		d := it.call.effectiveDeadline()
		if d.IsZero() {
			none = true
		} else if d.After(dl) {
			dl = d
		}
	}
	if none {
		dl = time.Time{}
	}
	return units, dl
}

// batchFailed settles the items of a $batch that failed as a whole: each is
// retried when httpretry deems the failure retryable, or fails its call.
func (c *Client) batchFailed(batch []*item, err error, now time.Time, log *zerolog.Logger) {
	var f httpretry.Failure // no response, unless Graph answered the $batch itself
	ae, ok := asAPIError(err, now)
	if ok {
		f = httpretry.Failure{Status: ae.Status, RetryAfter: ae.RetryAfter, HasRetryAfter: ae.HasRetry}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	waits := map[int]time.Duration{}
	for _, it := range batch {
		if it.call.err != nil {
			continue
		}
		if f.Retryable(true) {
			c.retryLocked(it, now, f, waits, log)
		} else {
			c.failLocked(it.call, fmt.Errorf("%s: $batch: %w", it.part, ae))
		}
	}
}

// settleLocked applies one item's outcome to its call: a failure, a retry,
// the next page in its place, or its part done.
func (c *Client) settleLocked(o outcome, now time.Time, waits map[int]time.Duration, log *zerolog.Logger) {
	cl := o.it.call
	switch {
	case cl.err != nil:
	case o.err != nil:
		c.failLocked(cl, o.err)
	case o.failure.Retryable(true) || o.failure.Status == http.StatusFailedDependency:
		c.retryLocked(o.it, now, o.failure, waits, log)
	case o.next != "":
		o.apply(cl)
		// The next page takes the place of this one.
		c.queue = append([]*item{{call: cl, part: o.it.part, next: o.next, trail: o.it.trail.with(o.next)}}, c.queue...)
	default:
		o.apply(cl)
		if o.it.part == partProfile && cl.eligibleLater {
			// The eligible roles are filtered by the object id the
			// profile gave.
			cl.eligibleLater = false
			c.queue = append(c.queue, &item{call: cl, part: partEligible})
		}
		cl.pending--
		if cl.pending == 0 {
			c.completeLocked(cl)
		}
	}
}

// retryLocked puts an item back at the front of the queue after a failure
// httpretry deems retryable (a 429 also pauses the class for its wait),
// unless attempts or the callers' deadline run out. Items of one response on
// the same try share one back-off (waits, by try), so that they go out
// together again. Batch items are reads: always repeatable.
func (c *Client) retryLocked(it *item, now time.Time, f httpretry.Failure, waits map[int]time.Duration, log *zerolog.Logger) {
	if it.call.err != nil {
		return
	}
	it.attempts++
	backoff, ok := waits[it.attempts]
	if !ok {
		backoff = httpretry.Backoff(it.attempts)
		waits[it.attempts] = backoff
	}
	wait, reason := f.Wait(backoff)
	if f.Status == http.StatusTooManyRequests {
		c.pacer.Pause(it.part.class(), now.Add(wait))
	}
	var last error = &apiError{Status: f.Status}
	if f.Status == 0 {
		last = errors.New("no response")
	}
	if it.attempts >= c.cfg.MaxAttempts {
		c.failLocked(it.call, fmt.Errorf("%s: %w (gave up after %d attempts)", it.part, last, it.attempts))
		return
	}
	if dl := it.call.effectiveDeadline(); !dl.IsZero() && now.Add(wait).After(dl) {
		c.failLocked(it.call, fmt.Errorf("%s: %w: %w (a retry in %s would pass the deadline)", it.part, model.ErrThrottled, last, wait.Round(time.Millisecond)))
		return
	}
	it.notBefore = now.Add(wait)
	log.Warn().Str("op", "read user "+it.part.String()).Str("class", string(it.part.class())).Int("attempt", it.attempts).Dur("wait", wait).Str("reason", reason).Msg("graph: retrying batch item")
	c.queue = append([]*item{it}, c.queue...)
}
