package graph

// Coalescing: a user's read is a call of several parts (profile, methods,
// memberships, registration row); callers who ask for a user whose call has
// not left yet join it, and the call completes when every part arrived.

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
)

// part is one of the reads that make up a user.
type part int

const (
	partProfile part = iota
	partMethods
	partMemberOf
	partRegistration
	partEligible
	partRegisteredDevices
	partOwnedDevices
)

// userParts are the reads of every user; the registration row is added
// when asked for.
var userParts = []part{partProfile, partMethods, partMemberOf, partEligible, partRegisteredDevices, partOwnedDevices}

// String names the part in errors and logs.
func (p part) String() string {
	switch p {
	case partProfile:
		return "profile"
	case partMethods:
		return "methods"
	case partMemberOf:
		return "memberships"
	case partEligible:
		return "eligible roles"
	case partRegisteredDevices:
		return "registered devices"
	case partOwnedDevices:
		return "owned devices"
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

// permission is the application permission the read needs (docs/GRAPH.md),
// named in the error when Graph refuses it.
func (p part) permission() string {
	switch p {
	case partMethods:
		return "UserAuthenticationMethod.Read.All"
	case partRegistration:
		return "AuditLog.Read.All"
	case partEligible:
		return "RoleManagement.Read.Directory"
	}
	return "User.Read.All"
}

// devices reports whether the part lists the user's devices.
func (p part) devices() bool { return p == partRegisteredDevices || p == partOwnedDevices }

// profileFields are the user properties credres reads.
var profileFields = []string{"id", "userPrincipalName", "displayName", "mail", "preferredLanguage", "onPremisesSyncEnabled", "accountEnabled", "userType", "authorizationInfo"}

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
	// eligibleLater: the user was asked for by principal name, and the
	// eligible roles, filtered by object id, wait for the profile.
	eligibleLater bool
	// devicesUnknown: Graph refused the devices or left out their
	// properties; the user's Devices stay nil.
	devicesUnknown bool
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
	parts := userParts
	if reg {
		parts = append(slices.Clone(parts), partRegistration)
	}
	cl.eligibleLater = !isObjectID(cl.id)
	for _, p := range parts {
		if p != partEligible || !cl.eligibleLater {
			c.queue = append(c.queue, &item{call: cl, part: p})
		}
	}
	cl.pending = len(parts)
	c.pending[key] = cl
	c.wakeLocked()
	return cl
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
		cl.user.Registration = cl.reg1.Details()
	}
	switch {
	case cl.devicesUnknown:
		cl.user.Devices = nil
	case cl.user.Devices == nil:
		// Graph answered both lists, empty: known to have none.
		cl.user.Devices = []model.Device{}
	}
	c.removeLocked(cl)
	cl.cancel()
	close(cl.done)
}
