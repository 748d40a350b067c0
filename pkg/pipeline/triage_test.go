package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

// keptRows is a registration cache holding rows as given.
type keptRows map[string]pipeline.KeptRegistration

func (k keptRows) KeepRegistrations(context.Context, []model.Registration, time.Time, time.Duration) error {
	return errors.New("not kept here")
}

func (k keptRows) FreshRegistrations(_ context.Context, ids []string, since time.Time) (map[string]pipeline.KeptRegistration, error) {
	out := map[string]pipeline.KeptRegistration{}
	for _, id := range ids {
		if r, ok := k[id]; ok && !r.ReadAt.Before(since) {
			out[id] = r
		}
	}
	return out, nil
}

// requeue records the deferred requests, or fails.
type requeue struct {
	reqs []model.EvaluationRequest
	err  error
}

func (r *requeue) SendRequests(_ context.Context, reqs []model.EvaluationRequest) error {
	if r.err != nil {
		return r.err
	}
	r.reqs = append(r.reqs, reqs...)
	return nil
}

// fixedDepth is a backlog of n requests.
type fixedDepth int

func (d fixedDepth) Depth(context.Context) (int, error) { return int(d), nil }

// countedDepth is a backlog of n requests that counts how often it is read.
type countedDepth struct {
	n     int
	reads atomic.Int32
}

func (d *countedDepth) Depth(context.Context) (int, error) { d.reads.Add(1); return d.n, nil }

// In a storm, evaluate defers only a user who can wait: audit events on
// their first delivery, never deferred before, a kept row read after them
// that lost no kind since the last read, and a stored assessment within
// policy with nothing pending. A user below policy (a nudge or ticket
// pending) is read at once, since their events may be the fix an
// administrator waits to see resolved; so is everyone once the backlog is
// under an hour, or when the deferral cannot be queued. A deferred user's
// requests go to the back of the queue marked Deferred, and none of their
// messages fails (the originals are deleted; no try is used up).
func TestStormTriageDefersOnlyWhoCanWait(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	lastRead, event, walk := now.Add(-6*time.Hour), now.Add(-time.Hour), now.Add(-10*time.Minute)
	within := &model.User{ID: "u-1", UserPrincipalName: "u1@contoso.example", Methods: []model.Method{simPassword, simPhone, simApp, simKey}}
	below := &model.User{ID: "u-1", UserPrincipalName: "u1@contoso.example", Methods: []model.Method{simPassword, simPhone}}
	engine, tenant := rules.New(nil), model.Tenant{PasswordAuth: model.PasswordCloud}
	row := pipeline.KeptRegistration{Methods: []string{"fido2", "mobilePhone"}, ReadAt: walk}
	for _, c := range []struct {
		name     string
		stored   *model.User // the user as last assessed
		ticket   bool        // an open ticket
		row      *pipeline.KeptRegistration
		req      model.EvaluationRequest
		receive  int
		backlog  int // requests waiting: 1440 are an hour
		sendFail bool
		mixed    bool // the first request is the copy of one deferred before
		deferred bool
	}{
		{name: "within-policy-and-lost-nothing", stored: within, row: &row, deferred: true},
		{name: "lost-a-kind-since-the-last-read", stored: within, row: &pipeline.KeptRegistration{Methods: row.Methods, ReadAt: walk, ShrankAt: walk}},
		{name: "lost-a-kind-before-the-last-read", stored: within, row: &pipeline.KeptRegistration{Methods: row.Methods, ReadAt: walk, ShrankAt: lastRead.Add(-time.Hour)}, deferred: true},
		{name: "row-read-before-the-events", stored: within, row: &pipeline.KeptRegistration{Methods: row.Methods, ReadAt: event.Add(-time.Minute)}},
		{name: "no-kept-row", stored: within},
		{name: "never-assessed", row: &row},
		{name: "below-policy-a-nudge-pending", stored: below, row: &row},
		{name: "open-ticket", stored: within, ticket: true, row: &row},
		{name: "second-delivery", stored: within, row: &row, receive: 2},
		{name: "already-deferred-once", stored: within, row: &row, req: model.EvaluationRequest{Deferred: true}},
		{name: "originals-after-a-copy", stored: within, row: &row, mixed: true, deferred: true},
		{name: "a-sweep-request", stored: within, row: &row, req: model.EvaluationRequest{Reason: model.ReasonSweep}},
		{name: "backlog-under-an-hour", stored: within, row: &row, backlog: 1440},
		{name: "deferral-cannot-be-queued", stored: within, row: &row, sendFail: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fs, err := store.OpenFileStore(t.TempDir(), func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if c.stored != nil {
				if err := fs.SaveAssessment(ctx, "u-1", engine.EvaluateAt(tenant, c.stored, lastRead), lastRead, time.Time{}); err != nil {
					t.Fatal(err)
				}
			}
			if c.ticket {
				if err := fs.SetTicket(ctx, "u-1", &model.Ticket{ID: "T-1", Status: model.TicketOpen, Opened: lastRead, Updated: lastRead}); err != nil {
					t.Fatal(err)
				}
			}
			rows := keptRows{}
			if c.row != nil {
				rows["u-1"] = *c.row
			}
			backlog := c.backlog
			if backlog == 0 {
				backlog = 10 * 1440
			}
			rq := &requeue{}
			if c.sendFail {
				rq.err = errors.New("queue unavailable")
			}
			r := &countingReader{methodsReader: methodsReader{within}}
			depth := &countedDepth{n: backlog}
			ev := &pipeline.Evaluate{Users: r, Store: fs, Engine: engine, Tenant: tenant, Nudges: queue.NewMemory(), Tickets: queue.NewMemory(),
				Now: func() time.Time { return now }, Observed: fs, RegistrationCache: rows, Requeue: rq,
				Drain: &pipeline.DrainGauge{Queue: depth, UnitsPerHour: 1440}, Triage: &pipeline.StormTriage{}}
			req := c.req
			req.UserID, req.Time = "u-1", event
			if req.Reason == "" {
				req.Reason, req.AuditID = model.ReasonAudit, "a-1"
			}
			receive := c.receive
			if receive == 0 {
				receive = 1
			}
			var msgs []pipeline.Message
			for i := range 2 {
				req.Time = event.Add(time.Duration(i) * time.Minute)
				r := req
				r.Deferred = r.Deferred || (c.mixed && i == 0)
				body, _ := json.Marshal(r)
				msgs = append(msgs, pipeline.Message{ID: fmt.Sprint("m", i), GroupID: "u-1", Body: body, ReceiveCount: receive})
			}
			out, failures := ev.Handle(ctx, msgs)
			if len(failures) > 0 || len(out) != 1 {
				t.Fatalf("outcomes %+v, failures %+v; want one outcome, no failure", out, failures)
			}
			// Triage and the backlog metric share one read of the queue.
			if n := depth.reads.Load(); n != 1 {
				t.Errorf("the queue's depth was read %d times for one batch; want once", n)
			}
			if out[0].Deferred != c.deferred || (r.reads == 0) != c.deferred {
				t.Fatalf("deferred %v with %d reads; want deferred %v", out[0].Deferred, r.reads, c.deferred)
			}
			if !c.deferred {
				if len(rq.reqs) != 0 {
					t.Errorf("%d requests queued again for a user read now", len(rq.reqs))
				}
				return
			}
			// Every original is copied once; a copy is not copied again
			// (the originals' copies bring the user back).
			want := 2
			if c.mixed {
				want = 1
			}
			if len(rq.reqs) != want || !rq.reqs[0].Deferred || rq.reqs[0].AuditID != req.AuditID || !rq.reqs[want-1].Time.Equal(req.Time) {
				t.Fatalf("queued again %+v; want the %d original requests, marked deferred", rq.reqs, want)
			}
			if rq.reqs[0].DeduplicationID() == (model.EvaluationRequest{UserID: "u-1", Reason: model.ReasonAudit, AuditID: "a-1"}).DeduplicationID() {
				t.Error("the deferred copy has the original's deduplication id: the queue would drop it")
			}
			// The copy, delivered, is read: nobody is deferred twice.
			body, _ := json.Marshal(rq.reqs[0])
			out, failures = ev.Handle(ctx, []pipeline.Message{{ID: "c0", GroupID: "u-1", Body: body, ReceiveCount: 1}})
			if len(failures) > 0 || len(out) != 1 || out[0].Deferred || r.reads != 1 {
				t.Errorf("the deferred copy: outcomes %+v, %d reads; want read", out, r.reads)
			}
		})
	}
}

// A user below policy with a pending nudge who fixes their methods during a
// storm is read at once and resolved, not deferred behind the backlog.
func TestStormTriageResolvesAFixAtOnce(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	fs, err := store.OpenFileStore(t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	engine, tenant := rules.New(nil), model.Tenant{PasswordAuth: model.PasswordCloud}
	below := &model.User{ID: "u-1", UserPrincipalName: "u1@contoso.example", Methods: []model.Method{simPassword, simPhone}}
	fixed := &model.User{ID: "u-1", UserPrincipalName: "u1@contoso.example", Methods: []model.Method{simPassword, simPhone, simApp, simKey}}
	nudges, tickets := queue.NewMemory(), queue.NewMemory()
	ev := &pipeline.Evaluate{Users: methodsReader{below}, Store: fs, Engine: engine, Tenant: tenant, Nudges: nudges, Tickets: tickets,
		Now: func() time.Time { return now.Add(-24 * time.Hour) }}
	handle := func(at time.Time, receive int) []pipeline.Outcome {
		body, _ := json.Marshal(model.EvaluationRequest{UserID: "u-1", Reason: model.ReasonAudit, AuditID: at.String(), Time: at})
		out, failures := ev.Handle(ctx, []pipeline.Message{{ID: at.String(), GroupID: "u-1", Body: body, ReceiveCount: receive}})
		if len(failures) > 0 {
			t.Fatal(failures)
		}
		return out
	}
	if out := handle(now.Add(-25*time.Hour), 1); out[0].Decision.Kind != model.DecisionNudge {
		t.Fatalf("the drop: %+v, want a nudge", out[0].Decision)
	}
	nudges.Receive(0)
	// The storm: the fix is one of many registrations.
	ev.Users, ev.Now = methodsReader{fixed}, func() time.Time { return now }
	ev.Observed, ev.Requeue, ev.Triage = fs, &requeue{}, &pipeline.StormTriage{}
	ev.RegistrationCache = keptRows{"u-1": {Methods: []string{"fido2", "microsoftAuthenticatorPush", "mobilePhone"}, ReadAt: now.Add(-5 * time.Minute)}}
	ev.Drain = &pipeline.DrainGauge{Queue: fixedDepth(50000), UnitsPerHour: 1440}
	out := handle(now.Add(-30*time.Minute), 1)
	if out[0].Deferred || out[0].Decision.Kind != model.DecisionResolve || nudges.Len() != 1 {
		t.Errorf("the fix in a storm: %+v, %d nudge messages; want read at once and resolved", out[0], nudges.Len())
	}
}
