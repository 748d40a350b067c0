package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

// historyFailsOnce fails the first nudge-history write, as a throttled or
// unreachable table would.
type historyFailsOnce struct {
	*store.FileStore
	failed bool
}

func (h *historyFailsOnce) RecordNudge(ctx context.Context, userID string, at time.Time) error {
	if !h.failed {
		h.failed = true
		return errors.New("table unavailable")
	}
	return h.FileStore.RecordNudge(ctx, userID, at)
}

// simulation is what 60 days of daily evaluations of one user below policy
// sent: nudges that reached the user, and ticket decisions.
type simulation struct{ nudges, tickets int }

// simulate runs the real stages over a file store, delivering failed
// messages again after the claim's lease as SQS does, up to three times.
func simulate(t *testing.T, failHistoryOnce bool) simulation {
	t.Helper()
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	c := &clock{start}
	fs, err := store.OpenFileStore(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	var delivery pipeline.DeliveryStore = fs
	if failHistoryOnce {
		delivery = &historyFailsOnce{FileStore: fs}
	}
	nq, tq := queue.NewMemory(), queue.NewMemory()
	ev := &pipeline.Evaluate{
		Users: &local.SnapshotReader{Dir: tenant(t)}, Store: fs, Engine: rules.New(nil), Tenant: tenant(t).Tenant,
		Nudges: nq, Tickets: tq, Now: c.Now,
	}
	sender := &flakySender{}
	nudge := &pipeline.NudgeStage{Store: delivery, Sender: sender, Now: c.Now}
	ticket := &pipeline.TicketStage{Store: delivery, Sender: sender, Now: c.Now}
	drain := func(q *queue.Memory, handle func(context.Context, []pipeline.Message) []pipeline.Failure) {
		attempts := map[string]int{}
		for q.Len() > 0 {
			batch := q.Receive(10)
			failed := pipeline.HoldBack(batch, handle(context.Background(), batch))
			var again []pipeline.Message
			for _, f := range failed {
				for _, m := range batch {
					if m.ID == f.MessageID {
						if attempts[m.ID]++; attempts[m.ID] < 3 {
							again = append(again, m)
						}
					}
				}
			}
			c.t = c.t.Add(pipeline.DefaultClaimLease + time.Minute) // the visibility timeout
			q.Return(again)
		}
	}
	var sim simulation
	for day := range 60 {
		c.t = start.Add(time.Duration(day) * 24 * time.Hour)
		req := request(t, "sweep", adele)
		outcomes, failures := ev.Handle(context.Background(), []pipeline.Message{req})
		if len(failures) != 0 {
			t.Fatalf("day %d: evaluation failed: %v", day, failures)
		}
		if outcomes[0].Decision.Kind == model.DecisionTicket {
			sim.tickets++
		}
		drain(nq, nudge.Handle)
		drain(tq, ticket.Handle)
	}
	sim.nudges = len(sender.nudges)
	return sim
}

// A nudge whose history entry could not be written at first must still
// start the reminder schedule: reminders and the escalation follow as if
// the write had succeeded, and nobody is nudged twice.
func TestLostHistoryWriteDoesNotSilenceReminders(t *testing.T) {
	normal := simulate(t, false)
	if normal != (simulation{nudges: 3, tickets: 1}) {
		t.Fatalf("without failures: %+v, want a nudge, two reminders after the 7-day cooldown and an escalation", normal)
	}
	if got := simulate(t, true); got != normal {
		t.Errorf("with the first history write failing: %+v, want %+v as without failures", got, normal)
	}
}

// completeFailsOnce fails the first completion of a decision's own claim:
// the nudge went out and its history entry was written, but the delivery
// could not be marked done.
type completeFailsOnce struct {
	*store.FileStore
	failed bool
}

func (c *completeFailsOnce) Complete(ctx context.Context, key string, retention time.Duration) error {
	if !c.failed && !strings.HasSuffix(key, "/sent") {
		c.failed = true
		return errors.New("table unavailable")
	}
	return c.FileStore.Complete(ctx, key, retention)
}

// A retried nudge whose history entry was already written writes no
// second entry: the escalation counts nudges, not deliveries.
func TestRetriedNudgeRecordsOneHistoryEntry(t *testing.T) {
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	fs, err := store.OpenFileStore(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	sender := &countingSender{}
	stage := pipeline.NudgeStage{Store: &completeFailsOnce{FileStore: fs}, Sender: sender, Now: c.Now}
	body, _ := json.Marshal(model.DecisionMessage{ID: "d1", Decision: model.Decision{Kind: model.DecisionNudge, UserID: adele}, Time: c.t})
	msg := []pipeline.Message{{ID: "m1", GroupID: adele, Body: body}}
	stage.Handle(context.Background(), msg)
	c.t = c.t.Add(pipeline.DefaultClaimLease + time.Minute)
	if f := stage.Handle(context.Background(), msg); len(f) != 0 {
		t.Fatalf("redelivery: %v", f)
	}
	s, _ := fs.LoadUser(context.Background(), adele)
	if sender.n != 1 || len(s.History.Nudges) != 1 {
		t.Errorf("sent %d, history %v; want one nudge, one entry", sender.n, s.History.Nudges)
	}
}

// Two evaluations that find the same reminder due before it is recorded
// (an audit event and a sweep, or a retry after a lost answer, while the
// first reminder's history entry is still being retried) publish one
// reminder: its id names the last nudge it follows.
func TestReminderDecidedTwiceBeforeItIsRecordedIsSentOnce(t *testing.T) {
	c := &clock{time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	nudges := &publishedQueue{}
	ev, fs := newEvaluate(t, c, &local.SnapshotReader{Dir: tenant(t)}, nudges, &publishedQueue{})
	ctx := context.Background()
	sender := &countingSender{}
	stage := pipeline.NudgeStage{Store: fs, Sender: sender, Now: c.Now}
	deliver := func(st pipeline.DeliveryStore) {
		stage.Store = st
		for _, d := range nudges.ds {
			body, _ := json.Marshal(d)
			stage.Handle(ctx, []pipeline.Message{{ID: "n-" + d.ID, GroupID: adele, Body: body}})
		}
		nudges.ds = nil
	}
	ev.Handle(ctx, []pipeline.Message{request(t, "m1", adele)})
	deliver(fs) // the first nudge
	c.t = c.t.Add(8 * 24 * time.Hour)
	ev.Handle(ctx, []pipeline.Message{request(t, "m2", adele)})
	deliver(historyFails{fs}) // the reminder goes out; its entry is not written yet
	ev.Handle(ctx, []pipeline.Message{request(t, "m3", adele)})
	deliver(fs)
	if sender.n != 2 {
		t.Errorf("sent %d nudges, want the first and one reminder", sender.n)
	}
}
