package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

// Failure drills: the pipeline is crashed, fed duplicates, fed old events and
// throttled, and still loses nothing and sends nothing twice.

// drill is one pipeline over in-process queues and a file store.
type drill struct {
	t       *testing.T
	st      *store.FileStore
	reqs    *queue.Memory
	nudges  *queue.Memory
	tickets *queue.Memory
	out     *notify.Outbox
	outDir  string
	eval    *pipeline.Evaluate
	nudge   *pipeline.NudgeStage
	ticket  *pipeline.TicketStage
	// redelivered counts messages handed back for redelivery.
	redelivered int
}

func newDrill(t *testing.T, users pipeline.UserReader, now func() time.Time) *drill {
	t.Helper()
	dir := t.TempDir()
	st, err := store.OpenFileStore(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	out, err := notify.OpenOutbox(dir + "/outbox")
	if err != nil {
		t.Fatal(err)
	}
	d := &drill{t: t, st: st, reqs: queue.NewMemory(), nudges: queue.NewMemory(), tickets: queue.NewMemory(), out: out, outDir: dir + "/outbox"}
	d.eval = &pipeline.Evaluate{Users: users, Store: st, Engine: rules.New(nil), Tenant: tenant(t).Tenant,
		Nudges: d.nudges, Tickets: d.tickets, Now: now}
	d.nudge = &pipeline.NudgeStage{Store: st, Sender: out, Now: now}
	d.ticket = &pipeline.TicketStage{Store: st, Sender: out, Now: now}
	return d
}

// settle runs every stage until the queues are empty, redelivering failed
// messages as SQS would, up to a bound.
func (d *drill) settle(ctx context.Context) {
	d.t.Helper()
	for round := 0; d.reqs.Len()+d.nudges.Len()+d.tickets.Len() > 0; round++ {
		if round > 20 {
			d.t.Fatalf("the queues did not drain")
		}
		for _, stage := range []struct {
			q      *queue.Memory
			handle func([]pipeline.Message) []pipeline.Failure
		}{
			{d.reqs, func(ms []pipeline.Message) []pipeline.Failure { _, f := d.eval.Handle(ctx, ms); return f }},
			{d.nudges, func(ms []pipeline.Message) []pipeline.Failure { return d.nudge.Handle(ctx, ms) }},
			{d.tickets, func(ms []pipeline.Message) []pipeline.Failure { return d.ticket.Handle(ctx, ms) }},
		} {
			batch := stage.q.Receive(10)
			failed := map[string]bool{}
			for _, f := range stage.handle(batch) {
				failed[f.MessageID] = true
				d.redelivered++
			}
			var again []pipeline.Message
			for _, m := range batch {
				if failed[m.ID] {
					again = append(again, m)
				}
			}
			stage.q.Return(again)
		}
	}
}

// sent counts the outbox lines per user.
func (d *drill) sent(file string) map[string]int {
	d.t.Helper()
	data, err := os.ReadFile(d.outDir + "/" + file)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]int{}
	}
	if err != nil {
		d.t.Fatal(err)
	}
	out := map[string]int{}
	dec := json.NewDecoder(bytesReader(data))
	for dec.More() {
		var line struct{ UserID string }
		if err := dec.Decode(&line); err != nil {
			d.t.Fatal(err)
		}
		out[line.UserID]++
	}
	return out
}

type commitCrash struct {
	body    []byte
	served  bool
	crashes int
}

func (c *commitCrash) Next(context.Context) ([]model.AuditMessage, error) {
	if c.served {
		return nil, nil
	}
	c.served = true
	return []model.AuditMessage{{Body: c.body, Position: "p0/41"}}, nil
}

func (c *commitCrash) Commit(context.Context) error {
	if c.crashes > 0 {
		c.crashes--
		return errors.New("the function was stopped before its checkpoint")
	}
	return nil
}

func TestDrillCrashBetweenEnqueueAndCheckpoint(t *testing.T) {
	body, err := os.ReadFile("../../events/audit/eventhub-user-registered-fido2.json")
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	d := newDrill(t, &local.SnapshotReader{Dir: tenant(t)}, c.Now)
	in := pipeline.Ingest{Queue: d.reqs}
	src := &commitCrash{body: body, crashes: 1}
	if _, err := in.Drain(context.Background(), src); err == nil {
		t.Fatal("the crash was not reported")
	}
	// The checkpoint did not move: the next run reads the same records again.
	src.served = false
	if _, err := in.Drain(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if n := d.reqs.Len(); n != 1 {
		t.Fatalf("%d evaluation requests queued, want 1: the FIFO queue drops the repeat by audit record id", n)
	}
	d.settle(context.Background())
	if got := d.sent("nudges.jsonl"); got[adele] != 1 || len(got) != 1 {
		t.Errorf("nudges %v, want exactly one for adele", got)
	}
}

// twiceQueue delivers every decision twice, as a standard queue may (or a
// FIFO queue after its five-minute deduplication window).
type twiceQueue struct{ *queue.Memory }

func (q twiceQueue) SendDecisions(_ context.Context, ds []model.DecisionMessage) error {
	for _, dm := range ds {
		body, err := json.Marshal(dm)
		if err != nil {
			return err
		}
		q.Return([]pipeline.Message{{ID: dm.ID + "/1", Body: body}, {ID: dm.ID + "/2", Body: body}})
	}
	return nil
}

func TestDrillDuplicateAndOutOfOrderEvents(t *testing.T) {
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	d := newDrill(t, &local.SnapshotReader{Dir: tenant(t)}, c.Now)
	d.eval.Nudges = twiceQueue{d.nudges}
	ctx := context.Background()
	newer := model.EvaluationRequest{UserID: bianca, Reason: model.ReasonAudit, AuditID: "a-newer", Time: c.t.Add(time.Hour)}
	older := model.EvaluationRequest{UserID: bianca, Reason: model.ReasonAudit, AuditID: "a-older", Time: c.t}
	d.reqs.SendRequests(ctx, []model.EvaluationRequest{newer, newer})
	d.settle(ctx)
	// The older event arrives late, and the newer one is delivered again
	// after the queue's deduplication window.
	d.reqs.SendRequests(ctx, []model.EvaluationRequest{older})
	d.settle(ctx)
	redelivered := queue.NewMemory()
	redelivered.SendRequests(ctx, []model.EvaluationRequest{newer})
	d.reqs = redelivered
	d.settle(ctx)
	if got := d.sent("nudges.jsonl"); got[bianca] != 1 || len(got) != 1 {
		t.Errorf("nudges %v, want exactly one for bianca", got)
	}
	s, err := d.st.LoadUser(ctx, bianca)
	if err != nil || s.Assessment == nil || len(s.History.Nudges) != 1 {
		t.Fatalf("state %+v, %v", s, err)
	}
}

func TestDrillGraph429StormMidBatch(t *testing.T) {
	dir := tenant(t)
	clk := graphtest.NewClock(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	srv := graphtest.NewServer(t, dir, graphtest.WithClock(clk), graphtest.WithToken("drill"))
	ctx := zerolog.Nop().WithContext(context.Background())
	client, err := graph.New(ctx, graph.Config{BaseURL: srv.URL(), TenantID: dir.Tenant.ID, Token: "drill", Clock: clk,
		Pacer: graph.NewPacer(clk, nil), PasswordAuth: dir.Tenant.PasswordAuth, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	d := newDrill(t, client, clk.Now)
	var ids []string
	for _, u := range dir.Users[:10] {
		ids = append(ids, u.ID)
		d.reqs.SendRequests(ctx, []model.EvaluationRequest{{UserID: u.ID, Reason: model.ReasonAudit, AuditID: "a-" + u.ID, Time: clk.Now()}})
	}
	// Graph throttles a storm of item reads with Retry-After; some users'
	// reads exhaust their tries and their messages come back for redelivery.
	srv.Throttle(40, 3*time.Second)
	d.settle(ctx)
	throttled := 0
	for _, it := range srv.Items() {
		if it.Status == 429 {
			throttled++
		}
	}
	if throttled == 0 || d.redelivered == 0 {
		t.Fatalf("%d throttled items, %d redeliveries: the storm did not bite", throttled, d.redelivered)
	}

	if over := srv.OverBudget(); len(over) != 0 {
		t.Errorf("%d requests over Graph's budget", len(over))
	}
	at, err := d.st.ObservedAt(ctx, ids)
	if err != nil || len(at) != len(ids) {
		t.Fatalf("assessed %d of %d users (%v): a throttled user was lost", len(at), len(ids), err)
	}
	engine := rules.New(nil)
	want := map[string]int{}
	for _, u := range dir.Users[:10] {
		a := engine.Evaluate(dir.Tenant, &u)
		if !a.Compliant && a.OnViolation == "nudge" && !a.HasViolation(model.ViolationNoMFAPath) && len(a.UserViolations()) > 0 {
			want[u.ID] = 1
		}
	}
	got := d.sent("nudges.jsonl")
	for id, n := range got {
		if n != 1 {
			t.Errorf("user %s nudged %d times", id, n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d users nudged, want %d", len(got), len(want))
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
