package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/httpretry"
	"github.com/credres/credres/pkg/model"
)

// part is one of the reads that make up a user.
type part int

const (
	partProfile part = iota
	partMethods
	partMemberOf
	partRegistration
)

// String names the part in errors and logs.
func (p part) String() string {
	switch p {
	case partProfile:
		return "profile"
	case partMethods:
		return "methods"
	case partMemberOf:
		return "memberships"
	}
	return "registration details"
}

// class is the throttling class Graph meters the read in.
func (p part) class() Class {
	if p == partMethods || p == partRegistration {
		return ClassAuthReports
	}
	return ClassDirectory
}

// profileFields are the user properties credres reads.
var profileFields = []string{"id", "userPrincipalName", "displayName", "mail", "preferredLanguage", "onPremisesSyncEnabled", "accountEnabled", "userType"}

// item is one request of a call: the first page of a part, or a later page
// (next holds its @odata.nextLink), or a retry.
type item struct {
	call      *call
	part      part
	next      string
	trail     pageTrail // the nextLinks this part has followed
	attempts  int
	notBefore time.Time
}

// call is the read of one user, shared by every caller who asked for that
// user before any of its requests left.
type call struct {
	key string
	id  string
	reg bool

	waiters    int
	deadline   time.Time // latest deadline among waiters
	noDeadline bool      // a waiter has no deadline
	ctx        context.Context
	cancel     context.CancelFunc
	sent       bool
	pending    int // items not yet answered
	done       chan struct{}
	err        error

	user model.User
	reg1 *RegistrationDetail
}

func (cl *call) effectiveDeadline() time.Time {
	if cl.noDeadline {
		return time.Time{}
	}
	return cl.deadline
}

func (cl *call) addWaiter(ctx context.Context) {
	cl.waiters++
	if dl, ok := ctx.Deadline(); !ok {
		cl.noDeadline = true
	} else if dl.After(cl.deadline) {
		cl.deadline = dl
	}
}

// userKey is how concurrent reads of one user find each other: object ids
// and user principal names compare case-insensitively in Entra.
func userKey(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// enqueue returns the call that will read the user: a call not yet sent for
// the same user is joined, otherwise a new one is queued.
func (c *Client) enqueue(ctx context.Context, id string, reg bool) *call {
	key := userKey(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.pending[key]; ok && !cl.sent && cl.err == nil {
		cl.addWaiter(ctx)
		if reg && !cl.reg {
			cl.reg = true
			cl.pending++
			c.queue = append(c.queue, &item{call: cl, part: partRegistration})
		}
		c.wakeLocked()
		return cl
	}
	// The call's context carries the first caller's logger and ends when
	// every caller has gone; it never ends before them.
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cl := &call{key: key, id: strings.TrimSpace(id), reg: reg, ctx: cctx, cancel: cancel, done: make(chan struct{})}
	cl.addWaiter(ctx)
	parts := []part{partProfile, partMethods, partMemberOf}
	if reg {
		parts = append(parts, partRegistration)
	}
	for _, p := range parts {
		c.queue = append(c.queue, &item{call: cl, part: p})
	}
	cl.pending = len(parts)
	c.pending[key] = cl
	c.wakeLocked()
	return cl
}

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

// leave records that a caller stopped waiting. A call nobody waits for is
// dropped before it is sent.
func (c *Client) leave(cl *call, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-cl.done:
		return
	default:
	}
	cl.waiters--
	if cl.waiters > 0 {
		return
	}
	cl.cancel()
	if !cl.sent {
		c.failLocked(cl, err)
	}
}

// failLocked ends a call with an error and drops its queued items.
func (c *Client) failLocked(cl *call, err error) {
	if cl.err != nil {
		return
	}
	select {
	case <-cl.done:
		return
	default:
	}
	cl.err = err
	c.removeLocked(cl)
	cl.cancel()
	close(cl.done)
}

func (c *Client) removeLocked(cl *call) {
	if c.pending[cl.key] == cl {
		delete(c.pending, cl.key)
	}
	q := c.queue[:0]
	for _, it := range c.queue {
		if it.call != cl {
			q = append(q, it)
		}
	}
	clear(c.queue[len(q):])
	c.queue = q
}

// completeLocked assembles the user once every part has arrived.
func (c *Client) completeLocked(cl *call) {
	if cl.reg1 != nil {
		cl.user.MethodsRegistered = nilIfEmpty(cl.reg1.MethodsRegistered)
	}
	c.removeLocked(cl)
	cl.cancel()
	close(cl.done)
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

// batchResponse is one item of a $batch response; the body is kept as
// Graph wrote it, so that methods decode from the bytes Graph sent.
type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// outcome is what one item's response means for its call.
type outcome struct {
	it *item
	// failure is the item's status and Retry-After (status 0: its
	// response was lost).
	failure httpretry.Failure
	next    string // @odata.nextLink of a page
	err     error  // final failure of the call
	apply   func(*call)
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

// interpret reads one item's response without touching shared state.
func (c *Client) interpret(it *item, r *batchResponse, now time.Time) outcome {
	o := outcome{it: it}
	if r == nil {
		return o // lost: retried
	}
	o.failure.Status = r.Status
	for k, v := range r.Headers {
		if strings.EqualFold(k, "Retry-After") {
			o.failure.RetryAfter, o.failure.HasRetryAfter = httpretry.ParseRetryAfter(v, now)
		}
	}
	if r.Status == http.StatusNotFound && it.part == partRegistration {
		// A user the report does not list yet (a new user): no row, not
		// a missing user.
		o.failure = httpretry.Failure{Status: http.StatusOK}
		o.apply = func(*call) {}
		return o
	}
	if r.Status < 200 || r.Status > 299 {
		if o.failure.Retryable(true) || r.Status == http.StatusFailedDependency {
			return o
		}
		o.err = fmt.Errorf("%s: %w", it.part, itemError(r))
		return o
	}
	var err error
	switch it.part {
	case partProfile:
		var p profile
		if p, err = parseProfile(r.Body); err == nil {
			o.apply = func(cl *call) { p.fill(&cl.user) }
		}
	case partMethods:
		var ms []model.Method
		if ms, o.next, err = parseMethods(r.Body); err == nil {
			o.apply = func(cl *call) { cl.user.Methods = append(cl.user.Methods, ms...) }
		}
	case partMemberOf:
		var roles, groups []string
		if roles, groups, o.next, err = parseMemberships(r.Body); err == nil {
			o.apply = func(cl *call) {
				cl.user.Roles = append(cl.user.Roles, roles...)
				cl.user.Groups = append(cl.user.Groups, groups...)
			}
		}
	case partRegistration:
		var d *RegistrationDetail
		if d, err = parseRegistration(r.Body); err == nil {
			o.apply = func(cl *call) { cl.reg1 = d }
		}
	}
	if err == nil && o.next != "" {
		if err = c.sameService(o.next); err == nil {
			err = it.trail.check(o.next)
		}
		if err != nil {
			o.next = ""
		}
	}
	if err != nil {
		o.err = fmt.Errorf("%s: %w", it.part, err)
	}
	return o
}

// itemError decodes the Graph error body of a failed $batch item.
func itemError(r *batchResponse) *apiError {
	ae := &apiError{Status: r.Status}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.Body, &body) == nil {
		ae.Code, ae.Message = body.Error.Code, body.Error.Message
	}
	return ae
}

// sameService checks that a nextLink stays on the Graph service root, so
// that neither the token nor the read goes anywhere else.
func (c *Client) sameService(next string) error {
	if !strings.HasPrefix(strings.ToLower(next), strings.ToLower(c.cfg.BaseURL)+"/") {
		return fmt.Errorf("%w: @odata.nextLink leaves the Graph service root", model.ErrInvalidInput)
	}
	return nil
}

// postBatch sends the items as one $batch, built with the SDK's request
// builders, and returns the responses by item id ("1".."20").
func (c *Client) postBatch(ctx context.Context, batch []*item) (map[string]*batchResponse, error) {
	br := msgraphcore.NewBatchRequest(c.adapter)
	for i, it := range batch {
		ri, err := c.requestInfo(ctx, it)
		if err != nil {
			return nil, fmt.Errorf("build %s request: %w", it.part, err)
		}
		bi, err := br.AddBatchRequestStep(*ri)
		if err != nil {
			return nil, fmt.Errorf("add %s request: %w", it.part, err)
		}
		id := strconv.Itoa(i + 1)
		bi.SetId(&id)
	}
	ri := abs.NewRequestInformation()
	ri.Method = abs.POST
	ri.UrlTemplate = "{+baseurl}/$batch"
	if err := ri.SetContentFromParsable(ctx, c.adapter, "application/json", br); err != nil {
		return nil, fmt.Errorf("encode $batch: %w", err)
	}
	ri.Headers.TryAdd("Accept", "application/json")
	raw, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping)
	if err != nil {
		return nil, err
	}
	body, _ := raw.([]byte)
	var env struct {
		Responses []*batchResponse `json:"responses"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode $batch response: %w: %v", model.ErrInvalidInput, err)
	}
	out := make(map[string]*batchResponse, len(env.Responses))
	for _, r := range env.Responses {
		if r != nil {
			out[r.ID] = r
		}
	}
	return out, nil
}

// requestInfo builds an item's request with the SDK's request builders.
func (c *Client) requestInfo(ctx context.Context, it *item) (*abs.RequestInformation, error) {
	u := c.users.ByUserId(it.call.id)
	switch it.part {
	case partProfile:
		return u.ToGetRequestInformation(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: profileFields},
		})
	case partMethods:
		b := u.Authentication().Methods()
		if it.next != "" {
			b = b.WithUrl(it.next)
		}
		return b.ToGetRequestInformation(ctx, nil)
	case partMemberOf:
		b := u.TransitiveMemberOf()
		if it.next != "" {
			b = b.WithUrl(it.next)
		}
		return b.ToGetRequestInformation(ctx, nil)
	}
	rows := c.reports.AuthenticationMethods().UserRegistrationDetails()
	if isObjectID(it.call.id) {
		return rows.ByUserRegistrationDetailsId(it.call.id).ToGetRequestInformation(ctx, nil)
	}
	// The report is keyed by object id; a user principal name is a filter.
	f := "userPrincipalName eq '" + strings.ReplaceAll(it.call.id, "'", "''") + "'"
	return rows.ToGetRequestInformation(ctx, &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration{
		QueryParameters: &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetQueryParameters{Filter: &f},
	})
}

// isObjectID reports whether s is shaped like an Entra object id (a GUID).
func isObjectID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F'):
		default:
			return false
		}
	}
	return true
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
