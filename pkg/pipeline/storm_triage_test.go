package pipeline_test

import (
	"container/heap"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
)

// The triage storm: 2 000 users and 10 000 events by default; the figures
// of docs/DEPLOY.md come from
//
//	go test -run TestStormTriageReadsWhoMayHaveDroppedFirst -v ./pkg/pipeline/ -args -triage.users=20000 -triage.events=100000
var (
	triageUsers  = flag.Int("triage.users", 2000, "users of the triage storm's tenant")
	triageEvents = flag.Int("triage.events", 10000, "audit events of the triage storm")
)

// The evaluation queue as template.yaml makes it: a message not deleted
// comes back after the visibility timeout, and is dead-lettered once it
// has been received maxReceiveCount times.
const (
	simVisibility = 1080 * time.Second
	simMaxReceive = 4
	simReportPage = 500
)

// Methods of the storm's users: within policy with all four; a user who
// drops loses the security key, and with it a registered kind, which
// leaves the phone as a single point of failure.
var (
	simPassword = model.Method{ID: "28c10230-6103-485e-b985-444c60001490", Kind: model.KindPassword}
	simPhone    = model.Method{ID: "3179e48a-750b-4051-897c-87b9720928f7", Kind: model.KindMobilePhone, PhoneType: "mobile", PhoneNumber: "+1 5550100"}
	simApp      = model.Method{ID: "a1", Kind: model.KindAuthenticator, DisplayName: "iPhone", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.0"}
	simKey      = model.Method{ID: "f1", Kind: model.KindFIDO2, DisplayName: "YubiKey", AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8"}
)

// stormTenant is a tenant where a known set of users drops below policy
// when the storm begins (dropped), and everyone else stays within it.
type stormTenant struct {
	n       int
	dropped []bool
}

func (st *stormTenant) user(i int, drop bool) model.User {
	ms := []model.Method{simPassword, simPhone, simApp, simKey}
	if drop && st.dropped[i] {
		ms = ms[:3]
	}
	return model.User{ID: graphtest.LargeUserID(i), UserPrincipalName: fmt.Sprintf("user%07d@contoso.example", i),
		DisplayName: fmt.Sprintf("User %d", i), Methods: ms}
}

// stormRun is what one run of the storm measured.
type stormRun struct {
	took       time.Duration   // from the storm's start until the queue was empty
	droppedAt  []time.Duration // when each dropped user was read, from the start, in order
	reads      map[string]int  // deep reads per user
	throttled  int
	pages      int // registration report pages read during the storm
	deferred   int // users deferred (batches of their requests)
	dead       int // messages dead-lettered
	walks      int // triage walks started
	unitsSpent int
}

// A storm of audit events (a bulk registration push) over a tenant where a
// few users dropped below policy: with triage, the sweep walks the
// registration report as soon as the backlog's drain estimate passes an
// hour, and evaluate defers the users whose kept row, read after their
// events, lost no kind, so that the users who may have dropped are read
// within minutes rather than in queue order. The queue is a FIFO on the
// fake clock with visibility timeouts, receive counts and a redrive count.
// Both runs, with and without triage, read every user exactly once, throttle
// nothing and dead-letter nothing; the figures compare them (-v).
func TestStormTriageReadsWhoMayHaveDroppedFirst(t *testing.T) {
	users, events := *triageUsers, *triageEvents
	st := &stormTenant{n: users, dropped: make([]bool, users)}
	rng := rand.New(rand.NewPCG(13, 2))
	drops := 0
	for _, i := range rng.Perm(users)[:users/50] { // 2%
		st.dropped[i] = true
		drops++
	}
	wall := time.Now()
	off := runTriageStorm(t, st, events, false)
	on := runTriageStorm(t, st, events, true)
	floor := time.Duration(users) * 10 * time.Second / 4
	for _, r := range []struct {
		name string
		run  stormRun
	}{{"in queue order", off}, {"with triage", on}} {
		run := r.run
		if run.throttled > 0 || run.dead > 0 {
			t.Errorf("%s: %d requests throttled, %d messages dead-lettered; want none", r.name, run.throttled, run.dead)
		}
		if len(run.reads) != users {
			t.Errorf("%s: %d users read, want all %d", r.name, len(run.reads), users)
		}
		for id, n := range run.reads {
			if n > 1 {
				t.Fatalf("%s: user %s read %d times in the storm, want once", r.name, id, n)
			}
		}
		if len(run.droppedAt) != drops {
			t.Fatalf("%s: %d of the %d users who dropped were read", r.name, len(run.droppedAt), drops)
		}
		t.Logf("| %s | %d events over %d users, %d dropped | median dropped user read after %s | last after %s | drained in %s (%.2f h), floor %s: ratio %.3f | %d deep reads | %d units | %d report pages (%d walks) | %d user batches deferred | %d throttled | %d dead-lettered |",
			r.name, events, users, drops, run.droppedAt[len(run.droppedAt)/2].Round(time.Second), run.droppedAt[len(run.droppedAt)-1].Round(time.Second),
			run.took.Round(time.Second), run.took.Hours(), floor, run.took.Hours()/floor.Hours(), len(run.reads), run.unitsSpent, run.pages, run.walks, run.deferred, run.throttled, run.dead)
	}
	t.Logf("wall %s", time.Since(wall).Round(time.Second))
	if on.droppedAt[len(on.droppedAt)-1] >= off.droppedAt[len(off.droppedAt)/2] {
		t.Errorf("with triage the last dropped user is read after %s, not before the median in queue order (%s)", on.droppedAt[len(on.droppedAt)-1], off.droppedAt[len(off.droppedAt)/2])
	}
	if on.deferred == 0 {
		t.Error("triage deferred nobody")
	}
}

// runTriageStorm runs the storm once: the daily sweep keeps every row and
// the users are assessed within policy; six hours later the storm's events
// (each user at least once, in the hour before) wait in the queue and the
// dropped users have lost their key.
func runTriageStorm(t *testing.T, st *stormTenant, events int, triage bool) stormRun {
	t.Helper()
	clk := graphtest.NewClock(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC))
	var dropped atomic.Bool
	srv := graphtest.NewServer(t, nil, graphtest.WithClock(clk), graphtest.WithToken("t"), graphtest.WithReportPageSize(simReportPage),
		graphtest.WithLargeTenant(st.n, func(i int) model.User { return st.user(i, dropped.Load()) }))
	newClient := func(per int) *graph.Client {
		limits := map[graph.Class]graph.Limit{graph.ClassAuthReports: {Requests: per, Per: 10 * time.Second}}
		c, err := graph.New(context.Background(), graph.Config{BaseURL: srv.URL(), TenantID: "storm", Token: "t", Clock: clk, Pacer: graph.NewPacer(clk, limits)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	db := openState(t, clk.Now)
	ctx := zerolog.Nop().WithContext(context.Background())
	engine, tenant := rules.New(nil), model.Tenant{PasswordAuth: model.PasswordCloud}
	q := newFIFOSim()
	// One invocation of the simulated sweep reads one page: its clock moves
	// on by its budget once it has read one, so that the walk's pages (one
	// every 10 s, as in a 13-minute invocation) interleave with the
	// evaluator's batches on the one fake clock.
	var walked time.Duration
	sweepNow := func() time.Time { return clk.Now().Add(walked) }
	sw := &pipeline.Sweep{Pages: pagesWalked{newClient(1), &walked}, Checkpoints: db, Store: db, Queue: queue.NewMemory(), Now: sweepNow,
		RegistrationCache: db, Budget: time.Second}
	for stats := (pipeline.SweepStats{}); !stats.Done; {
		walked = 0
		var err error
		if stats, err = sw.Run(ctx, pipeline.SweepOptions{Baseline: true}); err != nil {
			t.Fatalf("the daily sweep: %+v, %v", stats, err)
		}
		clk.Advance(10 * time.Second)
	}
	for i := range st.n {
		u := st.user(i, false)
		if err := db.SaveAssessment(ctx, u.ID, engine.EvaluateAt(tenant, &u, clk.Now()), clk.Now(), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(6 * time.Hour)
	dropped.Store(true)
	stormQueue(q, st.n, events, clk.Now())

	ev := &pipeline.Evaluate{Users: newClient(4), Store: db, Engine: engine, Tenant: tenant,
		Nudges: queue.NewMemory(), Tickets: queue.NewMemory(), Now: clk.Now, RegistrationCache: db, Observed: db,
		Drain: &pipeline.DrainGauge{Queue: q, UnitsPerHour: 1440}}
	if triage {
		ev.Triage, ev.Requeue = &pipeline.StormTriage{}, q
		sw.Backlog = &pipeline.DrainGauge{Queue: q, UnitsPerHour: 1440}
	}
	skip := len(srv.Requests())
	start := clk.Now()
	run := stormRun{}
	nextSweep := start
	for q.Len() > 0 {
		if triage && !clk.Now().Before(nextSweep) {
			walked = 0
			stats, err := sw.Run(ctx, pipeline.SweepOptions{PolicyChangesOnly: true})
			if err != nil {
				t.Fatalf("sweep at %s: %v", clk.Now().Sub(start), err)
			}
			if stats.Triage && stats.Invocations == 1 {
				run.walks++
			}
			// A walk goes on a page every 10 s; otherwise the next run is
			// the schedule's, every 15 minutes.
			nextSweep = start.Add(clk.Now().Sub(start).Truncate(15 * time.Minute)).Add(15 * time.Minute)
			if stats.Triage && !stats.Done {
				nextSweep = clk.Now().Add(10 * time.Second)
			}
		}
		batch := q.receive(clk.Now(), 10)
		if len(batch) == 0 {
			next := q.nextVisible()
			if triage && nextSweep.Before(next) {
				next = nextSweep
			}
			clk.Advance(next.Sub(clk.Now()))
			continue
		}
		outcomes, failures := ev.Handle(ctx, batch)
		for _, o := range outcomes {
			if o.Deferred {
				run.deferred++
			}
		}
		q.settle(batch, pipeline.HoldBack(batch, failures), clk.Now())
	}
	run.took, run.dead = clk.Now().Sub(start), q.dead
	run.reads = map[string]int{}
	for _, r := range srv.Requests()[skip:] {
		for _, it := range r.Items {
			if it.Status == 429 {
				run.throttled++
			}
			if it.Class == graphtest.ClassAuthReports {
				run.unitsSpent++
			}
			p := strings.SplitN(it.URL, "?", 2)[0]
			if strings.Contains(p, "userRegistrationDetails") {
				run.pages++
			}
			if strings.HasSuffix(p, "/authentication/methods") {
				id := strings.Split(p, "/")[2]
				run.reads[id]++
				if i, ok := graphtest.LargeUserIndex(id); ok && st.dropped[i] && run.reads[id] == 1 {
					run.droppedAt = append(run.droppedAt, r.Time.Sub(start))
				}
			}
		}
	}
	slices.Sort(run.droppedAt)
	return run
}

// pagesWalked reads report pages and moves the simulated sweep's clock on by
// its budget after each (runTriageStorm).
type pagesWalked struct {
	pager  pipeline.RegistrationPager
	walked *time.Duration
}

func (p pagesWalked) RegistrationPage(ctx context.Context, link string) ([]model.Registration, string, error) {
	rows, next, err := p.pager.RegistrationPage(ctx, link)
	*p.walked += time.Second
	return rows, next, err
}

// stormQueue fills q with the storm: events for random users, each user
// named at least once, logged in the hour before now and at least 2
// minutes before it.
func stormQueue(q *fifoSim, users, events int, now time.Time) {
	rng := rand.New(rand.NewPCG(13, 1))
	msgs := make([]pipeline.Message, events)
	for i := range msgs {
		u := i % users
		if i >= users {
			u = rng.IntN(users)
		}
		at := now.Add(-2*time.Minute - time.Duration(rng.IntN(3480))*time.Second)
		body, _ := json.Marshal(model.EvaluationRequest{UserID: graphtest.LargeUserID(u), Reason: model.ReasonAudit,
			AuditID: fmt.Sprint("storm-", i), Activity: "User registered security info", Time: at})
		msgs[i] = pipeline.Message{ID: fmt.Sprint("m", i), GroupID: graphtest.LargeUserID(u), Body: body}
	}
	rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	for _, m := range msgs {
		q.send(m)
	}
}

// fifoSim is an SQS FIFO queue on a fake clock: messages of a group are
// delivered in order and none while one of the group is in flight; across
// groups the oldest message goes first; a failed message comes back after
// its RetryAfter or the visibility timeout, with its receive count; one
// received simMaxReceive times is dead-lettered instead of delivered.
type fifoSim struct {
	groups  map[string]*simGroup
	ready   groupHeap // groups that can deliver, oldest head first
	waiting groupHeap // groups whose head is not visible yet, soonest first
	seq     int
	left    int
	dead    int
}

type simGroup struct {
	id   string
	msgs []simMsg
	at   time.Time // when the head is visible
}

type simMsg struct {
	m   pipeline.Message
	seq int
}

func newFIFOSim() *fifoSim {
	q := &fifoSim{groups: map[string]*simGroup{}}
	q.ready.less = func(a, b *simGroup) bool { return a.msgs[0].seq < b.msgs[0].seq }
	q.waiting.less = func(a, b *simGroup) bool { return a.at.Before(b.at) }
	return q
}

func (q *fifoSim) send(m pipeline.Message) {
	q.seq++
	q.left++
	g := q.groups[m.GroupID]
	if g == nil {
		g = &simGroup{id: m.GroupID}
		q.groups[m.GroupID] = g
		g.msgs = append(g.msgs, simMsg{m, q.seq})
		q.ready.push(g)
		return
	}
	g.msgs = append(g.msgs, simMsg{m, q.seq})
}

// Len is the messages not yet deleted (nor dead-lettered).
func (q *fifoSim) Len() int { return q.left }

// SendRequests sends requests at the back of the queue, as evaluate's
// deferral does.
func (q *fifoSim) SendRequests(_ context.Context, reqs []model.EvaluationRequest) error {
	for _, r := range reqs {
		body, err := json.Marshal(r)
		if err != nil {
			return err
		}
		q.send(pipeline.Message{ID: fmt.Sprint("c", q.seq), GroupID: r.UserID, Body: body})
	}
	return nil
}

// Depth is what SQS reports: visible and in flight.
func (q *fifoSim) Depth(context.Context) (int, error) { return q.left, nil }

// receive delivers up to max messages visible at now, a group's in a row;
// the group is then in flight until settle.
func (q *fifoSim) receive(now time.Time, max int) []pipeline.Message {
	for len(q.waiting.gs) > 0 && !q.waiting.gs[0].at.After(now) {
		q.ready.push(q.waiting.pop())
	}
	var out []pipeline.Message
	for len(out) < max && len(q.ready.gs) > 0 {
		g := q.ready.pop()
		for i := 0; i < len(g.msgs) && len(out) < max; {
			m := &g.msgs[i].m
			if m.ReceiveCount >= simMaxReceive {
				q.dead++
				q.left--
				g.msgs = slices.Delete(g.msgs, i, i+1)
				continue
			}
			m.ReceiveCount++
			out = append(out, *m)
			i++
		}
		if len(g.msgs) == 0 {
			delete(q.groups, g.id)
		}
	}
	return out
}

// settle deletes the delivered messages that did not fail, and makes the
// failed ones visible again after their RetryAfter or the visibility
// timeout.
func (q *fifoSim) settle(batch []pipeline.Message, failures []pipeline.Failure, now time.Time) {
	failed := map[string]time.Duration{}
	for _, f := range failures {
		failed[f.MessageID] = simVisibility
		if f.RetryAfter > 0 { // the handler changes the message's visibility
			failed[f.MessageID] = f.RetryAfter
		}
	}
	delivered := map[string]bool{}
	groups := map[string]bool{}
	for _, m := range batch {
		delivered[m.ID] = true
		groups[m.GroupID] = true
	}
	for id := range groups {
		g := q.groups[id]
		if g == nil {
			continue
		}
		var keep []simMsg
		var wait time.Duration
		for _, m := range g.msgs {
			d, fail := failed[m.m.ID]
			if delivered[m.m.ID] && !fail {
				q.left--
				continue
			}
			if fail && len(keep) == 0 {
				wait = d
			}
			keep = append(keep, m)
		}
		g.msgs = keep
		if len(keep) == 0 {
			delete(q.groups, id)
			continue
		}
		if wait > 0 {
			g.at = now.Add(wait)
			q.waiting.push(g)
		} else {
			q.ready.push(g)
		}
	}
}

// nextVisible is when the next message becomes visible.
func (q *fifoSim) nextVisible() time.Time {
	if len(q.waiting.gs) == 0 {
		return time.Time{}
	}
	return q.waiting.gs[0].at
}

// groupHeap orders groups by less.
type groupHeap struct {
	gs   []*simGroup
	less func(a, b *simGroup) bool
}

func (h *groupHeap) Len() int           { return len(h.gs) }
func (h *groupHeap) Less(i, j int) bool { return h.less(h.gs[i], h.gs[j]) }
func (h *groupHeap) Swap(i, j int)      { h.gs[i], h.gs[j] = h.gs[j], h.gs[i] }
func (h *groupHeap) Push(x any)         { h.gs = append(h.gs, x.(*simGroup)) }
func (h *groupHeap) Pop() any {
	g := h.gs[len(h.gs)-1]
	h.gs = h.gs[:len(h.gs)-1]
	return g
}
func (h *groupHeap) push(g *simGroup) { heap.Push(h, g) }
func (h *groupHeap) pop() *simGroup   { return heap.Pop(h).(*simGroup) }
