package graph

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// Class is a Graph throttling class: requests of one class share one budget.
type Class string

// The throttling classes credres uses. Graph counts every $batch item against
// the class of its own request, never the $batch envelope.
const (
	// ClassAuthReports covers authentication-method reads and the
	// authentication-methods reports: 5 requests per 10 seconds per app per
	// tenant ("identity and access reports" in Graph's throttling limits).
	ClassAuthReports Class = "auth-methods-reports"
	// ClassDirectory covers user profiles and memberships, which Graph meters
	// in resource units per tenant (thousands per 10 seconds).
	ClassDirectory Class = "directory"
	// ClassMail covers sendMail: 10 000 requests per 10 minutes and 4
	// concurrent requests per app per mailbox.
	ClassMail Class = "mail"
)

// Limit is a request budget: at most Requests in any window of length Per,
// and at most Concurrent requests in flight (0: no concurrency limit).
type Limit struct {
	Requests   int
	Per        time.Duration
	Concurrent int
}

// String writes the limit as "5/10s".
func (l Limit) String() string { return fmt.Sprintf("%d/%s", l.Requests, l.Per) }

// DefaultLimits returns the budgets credres keeps to unless configured
// otherwise: Graph's documented 5 per 10 s for authentication methods and
// reports, a conservative 500 per 10 s for directory reads (a small tenant
// has 3 500 resource units per 10 s; a user read with $select costs 1), and
// Outlook's 10 000 per 10 minutes with 4 concurrent for mail.
func DefaultLimits() map[Class]Limit {
	return map[Class]Limit{
		ClassAuthReports: {Requests: 5, Per: 10 * time.Second},
		ClassDirectory:   {Requests: 500, Per: 10 * time.Second},
		ClassMail:        {Requests: 10000, Per: 10 * time.Minute, Concurrent: 4},
	}
}

// Pacer keeps requests within per-class budgets before they are sent, so
// that Graph never has to throttle. It is a sliding-window log: a request is
// counted from the moment it is granted until one window after its response
// arrived, because Graph may have counted it at any instant in between. A
// request still in flight therefore blocks a full window. The pacer also
// holds a class back after a 429 until its Retry-After has passed.
//
// One pacer serves one tenant; every Client of the process for that tenant
// shares it (see New), so concurrent handlers cannot overrun the budget
// together.
type Pacer struct {
	clock   Clock
	mu      sync.Mutex
	limits  map[Class]Limit
	classes map[Class]*classState
	// changed is closed and replaced whenever a grant ends, so that waiters
	// blocked by requests in flight re-check.
	changed chan struct{}
}

type classState struct {
	ends        []time.Time // response times of finished requests, ascending
	inFlight    int
	pausedUntil time.Time
}

// NewPacer returns a pacer with the given limits; classes missing from
// limits get DefaultLimits. A nil clock is the wall clock.
func NewPacer(clock Clock, limits map[Class]Limit) *Pacer {
	if clock == nil {
		clock = realClock{}
	}
	all := DefaultLimits()
	for c, l := range limits {
		all[c] = l
	}
	return &Pacer{clock: clock, limits: all, classes: map[Class]*classState{}, changed: make(chan struct{})}
}

// Limit returns the budget of a class.
func (p *Pacer) Limit(c Class) Limit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limitLocked(c)
}

func (p *Pacer) limitLocked(c Class) Limit {
	if l, ok := p.limits[c]; ok && l.Requests > 0 && l.Per > 0 {
		return l
	}
	return Limit{Requests: 1, Per: time.Second}
}

func (p *Pacer) state(c Class) *classState {
	s, ok := p.classes[c]
	if !ok {
		s = &classState{}
		p.classes[c] = s
	}
	return s
}

// Grant is permission to send requests; Done records that their responses
// arrived.
type Grant struct {
	p    *Pacer
	need map[Class]int
	once sync.Once
}

// Done ends the grant: the requests count on for one window from now.
func (g *Grant) Done() {
	if g == nil {
		return
	}
	g.once.Do(func() {
		p := g.p
		p.mu.Lock()
		now := p.clock.Now()
		for c, n := range g.need {
			s := p.state(c)
			s.inFlight -= n
			for range n {
				s.ends = append(s.ends, now)
			}
			sort.Slice(s.ends, func(i, j int) bool { return s.ends[i].Before(s.ends[j]) })
		}
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	})
}

// Pause holds a class back until the given time (a Retry-After).
func (p *Pacer) Pause(c Class, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.state(c)
	if until.After(s.pausedUntil) {
		s.pausedUntil = until
	}
}

// Available reports how many requests of a class could be granted now.
func (p *Pacer) Available(c Class) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	l := p.limitLocked(c)
	s := p.state(c)
	s.prune(now, l.Per)
	if s.pausedUntil.After(now) {
		return 0
	}
	n := l.Requests - len(s.ends) - s.inFlight
	if l.Concurrent > 0 && l.Concurrent-s.inFlight < n {
		n = l.Concurrent - s.inFlight
	}
	return max(n, 0)
}

// Acquire waits until the requests in need fit every class budget at once
// and grants them. It fails without waiting, with model.ErrThrottled, when
// the wait would outlast the context's deadline, and with the context's
// error when it ends first.
func (p *Pacer) Acquire(ctx context.Context, need map[Class]int) (*Grant, error) {
	dl, _ := ctx.Deadline()
	g, err := p.acquire(ctx, need, dl, true)
	if err != nil {
		return nil, fmt.Errorf("graph: pacer: %w", err)
	}
	return g, nil
}

// acquire is Acquire with an explicit deadline (zero: none); take false only
// waits until the requests would fit, granting nothing.
func (p *Pacer) acquire(ctx context.Context, need map[Class]int, deadline time.Time, take bool) (*Grant, error) {
	logged := ""
	for {
		p.mu.Lock()
		now := p.clock.Now()
		var wait time.Duration
		blocked := false
		reason := ""
		var class Class
		var limit Limit
		for c, n := range need {
			if n <= 0 {
				continue
			}
			l := p.limitLocked(c)
			if n > l.Requests || (l.Concurrent > 0 && n > l.Concurrent) {
				p.mu.Unlock()
				return nil, fmt.Errorf("%w: %d requests of class %s exceed its budget %s", model.ErrInvalidInput, n, c, l)
			}
			s := p.state(c)
			s.prune(now, l.Per)
			if d := s.pausedUntil.Sub(now); d > wait {
				wait, reason, class, limit = d, "retry-after", c, l
			}
			if excess := len(s.ends) + s.inFlight + n - l.Requests; excess > 0 {
				if excess > len(s.ends) {
					blocked, reason, class, limit = true, "budget-in-flight", c, l
				} else if d := s.ends[excess-1].Add(l.Per).Sub(now); d > wait {
					wait, reason, class, limit = d, "budget", c, l
				}
			}
			if l.Concurrent > 0 && s.inFlight+n > l.Concurrent {
				blocked, reason, class, limit = true, "concurrency", c, l
			}
		}
		if wait <= 0 && !blocked {
			var g *Grant
			if take {
				g = &Grant{p: p, need: make(map[Class]int, len(need))}
				for c, n := range need {
					if n > 0 {
						p.state(c).inFlight += n
						g.need[c] = n
					}
				}
			}
			p.mu.Unlock()
			return g, nil
		}
		changed := p.changed
		p.mu.Unlock()

		if wait > 0 && !deadline.IsZero() && now.Add(wait).After(deadline) {
			return nil, fmt.Errorf("%w: class %s needs %s for budget (%s), beyond the deadline", model.ErrThrottled, class, wait.Round(time.Millisecond), reason)
		}
		// Log each distinct wait once; a waiter woken by another grant's end
		// re-checks without repeating itself.
		if key := fmt.Sprintf("%s/%s/%s", class, reason, wait); key != logged {
			logged = key
			ev := zerolog.Ctx(ctx).Info().Str("class", string(class)).Str("reason", reason).Stringer("budget", limit)
			if wait > 0 {
				ev = ev.Dur("wait", wait)
			}
			ev.Msg("graph: waiting for throttling budget")
		}
		var timer <-chan time.Time
		if wait > 0 {
			timer = p.clock.After(wait)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for budget of class %s: %w", class, ctx.Err())
		case <-timer:
		case <-changed:
		}
	}
}

// prune forgets requests whose response arrived a full window ago or more.
func (s *classState) prune(now time.Time, per time.Duration) {
	cut := now.Add(-per)
	i := 0
	for i < len(s.ends) && !s.ends[i].After(cut) {
		i++
	}
	s.ends = s.ends[i:]
}
