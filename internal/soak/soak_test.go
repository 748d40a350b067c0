package soak

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

var (
	run       = flag.Bool("soak.run", false, "play the storm these flags describe (make soak); without it, the short storms of make test")
	full      = flag.Bool("soak.full", false, "the full storm: 5 000 users, 50 000 audit events")
	users     = flag.Int("soak.users", 150, "users of the storm (without -soak.full)")
	events    = flag.Int("soak.events", 1500, "audit events of the storm (without -soak.full)")
	seed      = flag.Int64("soak.seed", 11, "the storm's seed")
	faultRate = flag.Float64("soak.faults", 0.05, "share of calls to each outside system that fail")
)

// The short storm that `make test` plays (and a plain `go test` of this
// package, given the servers): small enough for seconds, on seeds that
// hold every invariant at this size. -soak.run plays the storm the flags
// describe instead.
const (
	shortUsers  = 40
	shortEvents = 400
)

var shortSeeds = []int64{3, 11}

// TestSoak drives the real stages (ingest, evaluate, nudge, ticket, sweep)
// against DynamoDB Local and the SQS server through a seeded storm while
// the injector fails a share of every outside call and kills handlers
// between their steps; then it checks the final state against an oracle
// computed from the snapshots alone.
//
// Without the servers' environment it skips (internal/awstest), and fails
// under CI, which must never pass by skipping.
func TestSoak(t *testing.T) {
	if !*run {
		for _, s := range shortSeeds {
			t.Run(fmt.Sprintf("short-seed-%d", s), func(t *testing.T) { soak(t, shortUsers, shortEvents, s, 0.05) })
		}
		return
	}
	nUsers, nEvents := *users, *events
	if *full {
		nUsers, nEvents = 5000, 50000
	}
	soak(t, nUsers, nEvents, *seed, *faultRate)
}

// soak plays one storm, checks it and logs its figures.
func soak(t *testing.T, nUsers, nEvents int, seed int64, rate float64) {
	start := time.Now()
	w := newWorld(t, nUsers, nEvents, seed, rate)
	w.run(t)
	fig := w.check(t)
	fig.Elapsed = time.Since(start).Round(time.Second)
	t.Logf("soak figures (seed %d, %.0f%% faults):\n%s", seed, rate*100, fig)
}

// figures are what a soak prints.
type figures struct {
	Users, Events, Messages, Duplicates, Phantom, Poison int
	Faults                                               map[string]int
	Nudges, Reminders, TicketsOpened, TicketsResolved    int
	Absorbed                                             int // repeats the outbox and helpdesk deduplicated
	DeadLetters                                          map[string]int
	Violations                                           map[string]int
	Elapsed                                              time.Duration
}

func (f figures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "users %d, audit events %d in %d Event Hubs messages (%d duplicates, %d phantom changes, %d poison records)\n",
		f.Users, f.Events, f.Messages, f.Duplicates, f.Phantom, f.Poison)
	fmt.Fprintf(&b, "faults injected: %s\n", counts(f.Faults))
	fmt.Fprintf(&b, "delivered: %d nudges (%d reminders), %d tickets opened, %d resolved; %d repeated sends absorbed by the outbox's and helpdesk's deduplication\n",
		f.Nudges, f.Reminders, f.TicketsOpened, f.TicketsResolved, f.Absorbed)
	fmt.Fprintf(&b, "dead letters: %s\n", counts(f.DeadLetters))
	fmt.Fprintf(&b, "invariant violations: %s\n", counts(f.Violations))
	fmt.Fprintf(&b, "elapsed: %s", f.Elapsed)
	return b.String()
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	total := 0
	for k, v := range m {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

// clock is the storm's time: it stands still but for a millisecond per
// reading, and jumps when the driver moves it on to the next phase.
//
// Claims expire by a clock of their own (claims): the storm's time plus
// every visibility timeout a redelivery waited. The driver plays the
// batches one after another, where Lambda runs them side by side; adding
// the waits to the storm's time would move it on by days in a large storm,
// and reminders would fall due in the middle of it.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	leases time.Duration // waited for redeliveries, on claims' clock only
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// claims is the time claims expire by.
func (c *clock) claims() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t.Add(c.leases)
}

func (c *clock) jump(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// redelivery lets a visibility timeout pass for the claims.
func (c *clock) redelivery(d time.Duration) { c.mu.Lock(); c.leases += d; c.mu.Unlock() }

// world is the storm: the snapshots, the servers' tables and queues, the
// stages and the injector.
type world struct {
	inj      *injector
	clk      *clock
	s0, s1   *model.Directory
	reader   *switchReader
	engine   *rules.Engine
	sqs      *sqs.Client
	st       *store.DynamoDB
	queues   map[string]string // name -> url; "evaluate", "nudge", "ticket" and their "-dlq"
	ingest   *pipeline.Ingest
	eval     *pipeline.Evaluate
	nudge    *pipeline.NudgeStage
	ticket   *pipeline.TicketStage
	sink     *sink
	deadIn   *memDead
	feed     *feed
	fig      figures
	changed  map[string]bool // users whose methods differ between the snapshots
	lost     int             // changed users not evaluated after their change
	phase1   time.Time
	campaign map[string]model.Decision
}

func newWorld(t *testing.T, nUsers, nEvents int, seed int64, rate float64) *world {
	ctx := context.Background()
	w := &world{
		inj:     newInjector(seed, rate),
		clk:     &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)},
		engine:  rules.New(nil),
		sqs:     awstest.SQS(t),
		queues:  map[string]string{},
		sink:    &sink{nudges: map[string]int{}, tickets: map[string]int{}},
		deadIn:  &memDead{},
		changed: map[string]bool{},
		fig:     figures{Users: nUsers, Faults: map[string]int{}, DeadLetters: map[string]int{}, Violations: map[string]int{}},
	}
	w.s0 = synth.Tenant(nUsers, seed)
	w.s1 = synth.Tenant(nUsers, seed)
	other := synth.Tenant(nUsers, seed+1)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	for i := range w.s1.Users {
		if rng.Float64() < 0.3 {
			w.s1.Users[i].Methods = other.Users[i].Methods
			w.changed[w.s1.Users[i].ID] = true
		}
	}
	w.reader = &switchReader{dir: w.s0}

	name := awstest.UniqueName(t)
	w.st = store.NewDynamoDB(awstest.DynamoDB(t), name+"-state", name+"-claims", w.clk.claims)
	if err := w.st.CreateTables(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"evaluate", "nudge", "ticket"} {
		dlq := w.createQueue(t, name+"-"+q+"-dlq.fifo", nil)
		arn, err := w.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(dlq), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":3}`, arn.Attributes["QueueArn"])
		w.queues[q] = w.createQueue(t, name+"-"+q+".fifo", map[string]string{"RedrivePolicy": redrive, "VisibilityTimeout": "30"})
		w.queues[q+"-dlq"] = dlq
	}
	send := func(q string) *faultyQueue {
		return &faultyQueue{q: queue.NewSQS(w.sqs, w.queues[q]), inj: w.inj, name: q}
	}
	fstore := &faultyStore{st: w.st, inj: w.inj}
	w.ingest = &pipeline.Ingest{Queue: send("evaluate"), Dead: w.deadIn}
	w.eval = &pipeline.Evaluate{
		Users: &faultyReader{r: w.reader, inj: w.inj}, Store: fstore, Engine: w.engine, Tenant: w.s0.Tenant,
		Nudges: send("nudge"), Tickets: send("ticket"), Dead: queue.NewSQS(w.sqs, w.queues["evaluate-dlq"]), Now: w.clk.Now,
	}
	w.nudge = &pipeline.NudgeStage{Store: fstore, Sender: &faultySender{s: w.sink, inj: w.inj}, Dead: queue.NewSQS(w.sqs, w.queues["nudge-dlq"]), Now: w.clk.Now}
	w.ticket = &pipeline.TicketStage{Store: fstore, Sender: &faultySender{s: w.sink, inj: w.inj}, Dead: queue.NewSQS(w.sqs, w.queues["ticket-dlq"]), Now: w.clk.Now}
	w.feed = newFeed(w, nEvents, rng)
	return w
}

func (w *world) createQueue(t *testing.T, name string, attrs map[string]string) string {
	t.Helper()
	ctx := context.Background()
	a := map[string]string{"FifoQueue": "true"}
	for k, v := range attrs {
		a[k] = v
	}
	out, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: a})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() { w.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}) })
	return url
}

// run plays the storm: a campaign over the first snapshot, the audit
// events of the changes to the second (with duplicates, phantom changes,
// poison and reordering), and a sweep eight days on for the reminders;
// each phase drains every queue, then redrives the dead letters that
// faults put there, as an operator would.
func (w *world) run(t *testing.T) {
	ctx := context.Background()
	// Phase 0: everyone is evaluated from the first snapshot and told.
	w.sweep(t, ctx, pipeline.SweepOptions{Campaign: true}, 0)
	w.drain(t, ctx)
	w.campaign = w.oracleCampaign()
	// Phase 1: the changes arrive as audit events.
	w.clk.jump(time.Hour)
	w.phase1 = w.clk.Now()
	w.reader.set(w.s1)
	for !w.feed.done() {
		w.ingestOnce(t, ctx)
		w.drain(t, ctx)
	}
	w.drain(t, ctx)
	var ids []string
	for id := range w.changed {
		ids = append(ids, id)
	}
	obs, err := w.st.ObservedAt(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !obs[id].After(w.phase1) {
			w.lost++
			t.Errorf("user %s changed, but was not evaluated after the change", id)
		}
	}
	// Phase 2: eight days on, the daily sweep re-evaluates everyone
	// assessed more than seven days ago: reminders are due.
	w.clk.jump(8 * 24 * time.Hour)
	w.sweep(t, ctx, pipeline.SweepOptions{}, 7*24*time.Hour)
	w.drain(t, ctx)
}

// sweep enqueues users as the sweep function does, retrying the whole
// sweep after an injected failure (the next scheduled run).
func (w *world) sweep(t *testing.T, ctx context.Context, opt pipeline.SweepOptions, maxAge time.Duration) {
	regs := registrations{w.reader}
	sw := pipeline.Sweep{Registrations: regs, Store: &faultyStore{st: w.st, inj: w.inj}, Queue: &faultyQueue{q: queue.NewSQS(w.sqs, w.queues["evaluate"]), inj: w.inj, name: "evaluate"}, MaxAge: maxAge, Now: w.clk.Now}
	for attempt := 0; ; attempt++ {
		var err error
		if w.inj.survive(func() { _, err = sw.Run(ctx, opt) }) && err == nil {
			return
		}
		if attempt > 50 {
			t.Fatalf("sweep keeps failing: %v", err)
		}
	}
}

// ingestOnce drains the feed as one ingest run; a kill loses what was not
// checkpointed, which the next run reads again.
func (w *world) ingestOnce(t *testing.T, ctx context.Context) {
	var err error
	if !w.inj.survive(func() { _, err = w.ingest.Drain(ctx, w.feed) }) {
		w.feed.rewind()
		return
	}
	if err != nil {
		w.feed.rewind()
	}
}

// drain runs the evaluate, nudge and ticket stages over their queues until
// all three are empty, then moves what faults dead-lettered back (an
// operator's redrive) and goes on until nothing but poison is left.
func (w *world) drain(t *testing.T, ctx context.Context) {
	for round := 0; round < 200; round++ {
		n := w.stage(t, ctx, "evaluate", func(ms []pipeline.Message) []pipeline.Failure { _, f := w.eval.Handle(ctx, ms); return f })
		n += w.stage(t, ctx, "nudge", func(ms []pipeline.Message) []pipeline.Failure { return w.nudge.Handle(ctx, ms) })
		n += w.stage(t, ctx, "ticket", func(ms []pipeline.Message) []pipeline.Failure { return w.ticket.Handle(ctx, ms) })
		if n > 0 {
			continue
		}
		if w.redrive(t, ctx) == 0 && w.inFlight(t, ctx) == 0 {
			return
		}
	}
	t.Fatal("the queues did not drain in 200 rounds")
}

// inFlight counts the messages received but neither deleted nor visible
// again (a change of visibility that did not take): the drain waits for
// them rather than end with work outstanding.
func (w *world) inFlight(t *testing.T, ctx context.Context) int {
	n := 0
	for _, q := range []string{"evaluate", "nudge", "ticket", "evaluate-dlq", "nudge-dlq", "ticket-dlq"} {
		out, err := w.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(w.queues[q]),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Attributes {
			c, _ := strconv.Atoi(v)
			n += c
		}
	}
	if n > 0 {
		time.Sleep(time.Second)
	}
	return n
}

// stage receives up to ten messages at a time from q and handles them as
// the Lambda adapter does; it returns how many it received.
func (w *world) stage(t *testing.T, ctx context.Context, q string, handle func([]pipeline.Message) []pipeline.Failure) int {
	total := 0
	for {
		out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(w.queues[q]), MaxNumberOfMessages: 10, VisibilityTimeout: 30,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return total
		}
		total += len(out.Messages)
		msgs := make([]pipeline.Message, len(out.Messages))
		for i, m := range out.Messages {
			msgs[i] = pipeline.Message{ID: aws.ToString(m.MessageId), GroupID: m.Attributes["MessageGroupId"], Body: []byte(aws.ToString(m.Body))}
		}
		var failures []pipeline.Failure
		if !w.inj.survive(func() { failures = pipeline.HoldBack(msgs, handle(msgs)) }) {
			// Killed: the whole batch comes back after the visibility
			// timeout, which the storm's clock passes at once.
			failures = failures[:0]
			for _, m := range msgs {
				failures = append(failures, pipeline.Failure{MessageID: m.ID})
			}
		}
		failed := map[string]bool{}
		for _, f := range failures {
			failed[f.MessageID] = true
		}
		for _, m := range out.Messages {
			if failed[aws.ToString(m.MessageId)] {
				// Redelivered "after the visibility timeout": past every
				// claim's lease.
				w.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(w.queues[q]), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
				continue
			}
			if _, err := w.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.queues[q]), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
		if len(failed) > 0 {
			w.clk.redelivery(pipeline.DefaultClaimLease + time.Minute)
		}
	}
}

// redrive moves dead letters that are not poison back to their queue, as
// an operator does after an outage, and counts the poison it leaves.
func (w *world) redrive(t *testing.T, ctx context.Context) int {
	moved := 0
	for _, q := range []string{"evaluate", "nudge", "ticket"} {
		for {
			out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.queues[q+"-dlq"]), MaxNumberOfMessages: 10,
				VisibilityTimeout: 30, MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 0 {
				break
			}
			for _, m := range out.Messages {
				body := aws.ToString(m.Body)
				if reason, ok := m.MessageAttributes[queue.AttrReason]; ok {
					// Dead-lettered at once as invalid: it stays, documented.
					w.fig.DeadLetters[q+": "+short(aws.ToString(reason.StringValue))]++
				} else {
					w.fig.DeadLetters[q+": redriven after faults"]++
					group := m.Attributes["MessageGroupId"]
					if _, err := w.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(w.queues[q]), MessageBody: aws.String(body),
						MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String("redrive-" + strconv.Itoa(w.inj.next()))}); err != nil {
						t.Fatal(err)
					}
					moved++
				}
				w.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.queues[q+"-dlq"]), ReceiptHandle: m.ReceiptHandle})
			}
		}
	}
	return moved
}

func short(reason string) string {
	if i := strings.Index(reason, ": "); i > 0 && i < 60 {
		reason = reason[:i]
	}
	if len(reason) > 60 {
		reason = reason[:60]
	}
	return reason
}

// errInjected marks every injected failure.
var errInjected = errors.New("injected fault")
