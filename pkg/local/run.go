package local

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

// Config is one local run.
type Config struct {
	Directory *model.Directory
	// Events are the audit and sign-in records to ingest; nil ingests
	// nothing.
	Events pipeline.AuditReceiver
	// StateDir holds the store and the outbox; it persists between runs.
	StateDir string
	Engine   *rules.Engine
	Now      func() time.Time
	// Sweep also reconciles every user of the snapshot, as the scheduled
	// sweep function does; Baseline and Campaign are its options.
	Sweep    bool
	Baseline bool
	Campaign bool
	// MaxAge makes a sweep re-evaluate users assessed longer ago than this
	// (the reminder schedule runs on these re-evaluations).
	MaxAge time.Duration
	// Render writes nudges and tickets; nil delivers decisions without text.
	Render pipeline.Renderer
	// DryRun records every intended message in <state>/outbox/dry-run.jsonl
	// and sends nothing.
	DryRun bool
}

// Result is what a run did.
type Result struct {
	Ingest    pipeline.IngestStats
	Sweep     *pipeline.SweepStats
	Outcomes  []pipeline.Outcome
	Nudges    []model.NudgeRecord
	Tickets   []model.TicketRecord
	Dead      []DeadLetter
	OutboxDir string
	// Usage is what the sign-ins of the run changed in the usage store,
	// user by user in the order ingest wrote them; a method whose day was
	// already stored is not in it.
	Usage []UserUsage
}

// UserUsage is what one usage write changed for one user.
type UserUsage struct {
	UserID  string              `json:"userId"`
	Changes []model.UsageChange `json:"changes"`
}

// usageLog writes usage to the store and keeps what changed in the run's
// result.
type usageLog struct {
	pipeline.UsageStore
	res *Result
}

func (l usageLog) RecordUsage(ctx context.Context, userID string, updates []model.MethodUsage) ([]model.UsageChange, error) {
	changes, err := l.UsageStore.RecordUsage(ctx, userID, updates)
	if err == nil && len(changes) > 0 {
		l.res.Usage = append(l.res.Usage, UserUsage{UserID: userID, Changes: changes})
	}
	return changes, err
}

// DeadLetter is a message that failed every attempt, with the last reason.
type DeadLetter struct {
	Stage   string `json:"stage"`
	Body    string `json:"body"`
	Reason  string `json:"reason"`
	Attempt int    `json:"attempts"`
}

// maxAttempts mirrors the queues' redrive count in the SAM template.
const maxAttempts = 3

// recorder forwards deliveries to the outbox and remembers them.
type recorder struct {
	out     *notify.Outbox
	nudges  []model.NudgeRecord
	tickets []model.TicketRecord
}

func (r *recorder) SendNudge(ctx context.Context, m model.DecisionMessage, rec model.NudgeRecord) error {
	if err := r.out.SendNudge(ctx, m, rec); err != nil {
		return err
	}
	r.nudges = append(r.nudges, rec)
	return nil
}

func (r *recorder) SendTicket(ctx context.Context, m model.DecisionMessage, rec model.TicketRecord) error {
	if err := r.out.SendTicket(ctx, m, rec); err != nil {
		return err
	}
	r.tickets = append(r.tickets, rec)
	return nil
}

// dryRecorder records intended messages in the outbox's dry-run file and
// remembers them for the run's report.
type dryRecorder struct {
	out *notify.Outbox
	rec *recorder
}

func (d *dryRecorder) RecordDryRun(ctx context.Context, kind string, record any) error {
	if err := d.out.RecordDryRun(ctx, kind, record); err != nil {
		return err
	}
	switch r := record.(type) {
	case model.NudgeRecord:
		d.rec.nudges = append(d.rec.nudges, r)
	case model.TicketRecord:
		d.rec.tickets = append(d.rec.tickets, r)
	}
	return nil
}

// deadFile keeps the dead letters a stage writes itself (malformed audit
// records, messages that can never succeed) in the state.
type deadFile struct{ path, stage string }

func (d deadFile) DeadLetter(_ context.Context, body []byte, reason string) error {
	line, err := json.Marshal(DeadLetter{Stage: d.stage, Body: string(body), Reason: reason, Attempt: 1})
	if err != nil {
		return err
	}
	return appendLine(d.path, line)
}

// redriver runs stages over their in-memory queues as SQS redrive would:
// failed messages come back up to maxAttempts times, then are dead-lettered.
type redriver struct {
	attempts map[string]int
	res      *Result
}

// drain runs one stage over its queue until the queue is empty.
func (r redriver) drain(stage string, q *queue.Memory, handle func([]pipeline.Message) []pipeline.Failure) {
	for q.Len() > 0 {
		batch := q.Receive(10)
		// The FIFO rule, as the Lambda functions apply it.
		failed := pipeline.HoldBack(batch, handle(batch))
		byID := map[string]pipeline.Message{}
		for _, m := range batch {
			byID[m.ID] = m
		}
		var again []pipeline.Message
		for _, f := range failed {
			key := stage + "/" + f.MessageID
			r.attempts[key]++
			if r.attempts[key] >= maxAttempts {
				r.res.Dead = append(r.res.Dead, DeadLetter{Stage: stage, Body: string(byID[f.MessageID].Body), Reason: f.Reason, Attempt: r.attempts[key]})
				continue
			}
			again = append(again, byID[f.MessageID])
		}
		q.Return(again)
	}
}

// drainHeld drains a stage as drain does, holding each batch's changes to
// users' state in the store and writing them once per user when the batch
// is done; when they cannot be written, every message of the batch fails.
func (r redriver) drainHeld(st *store.FileStore, stage string, q *queue.Memory, handle func([]pipeline.Message) []pipeline.Failure) {
	r.drain(stage, q, func(ms []pipeline.Message) []pipeline.Failure {
		st.Hold()
		failures := handle(ms)
		if err := st.Flush(); err != nil {
			failures = failures[:0]
			for _, m := range ms {
				failures = append(failures, pipeline.Failure{MessageID: m.ID, Reason: err.Error()})
			}
		}
		return failures
	})
}

// Run ingests, evaluates and delivers until every queue is empty.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	st, err := store.OpenFileStore(cfg.StateDir, cfg.Now)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	outDir := filepath.Join(cfg.StateDir, "outbox")
	out, err := notify.OpenOutbox(outDir)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	rec := &recorder{out: out}
	requests, nudges, tickets := queue.NewMemory(), queue.NewMemory(), queue.NewMemory()
	deadPath := filepath.Join(cfg.StateDir, "dead-letters.jsonl")
	dead := deadFile{deadPath, "ingest"}
	res := &Result{OutboxDir: outDir}

	if cfg.Events != nil {
		in := pipeline.Ingest{Queue: requests, Dead: dead, TenantID: cfg.Directory.Tenant.ID,
			Usage: usageLog{st, res}, ProofWindow: cfg.Engine.Policy().ShortestProofWindow(), PolicyChanges: st, Now: cfg.Now}
		stats, err := in.Drain(ctx, cfg.Events)
		res.Ingest = stats
		if err != nil {
			return res, err
		}
	}
	reader := &SnapshotReader{Dir: cfg.Directory}
	// Without Sweep, the sweep still runs for the tenant's policy changes,
	// as its frequent schedule does in the cloud.
	sw := pipeline.Sweep{Registrations: reader, Store: st, Queue: requests, MaxAge: cfg.MaxAge, Now: cfg.Now, PolicyChanges: st}
	stats, err := sw.Run(ctx, pipeline.SweepOptions{Baseline: cfg.Baseline, Campaign: cfg.Campaign, PolicyChangesOnly: !cfg.Sweep})
	if cfg.Sweep || stats.Users > 0 {
		res.Sweep = &stats
	}
	if err != nil {
		return res, err
	}
	eval := pipeline.Evaluate{
		Users: reader, Store: st, Engine: cfg.Engine, Tenant: cfg.Directory.Tenant,
		Nudges: nudges, Tickets: tickets, Dead: deadFile{deadPath, "evaluate"}, Now: cfg.Now, Usage: st,
		PolicyChanges: st,
	}
	nudge := pipeline.NudgeStage{Store: st, Sender: rec, Render: cfg.Render, Dead: deadFile{deadPath, "nudge"}, Now: cfg.Now}
	ticket := pipeline.TicketStage{Store: st, Sender: rec, Render: cfg.Render, Dead: deadFile{deadPath, "ticket"}, Now: cfg.Now, PolicyChanges: st}
	if cfg.DryRun {
		dry := &dryRecorder{out: out, rec: rec}
		nudge.DryRun, ticket.DryRun = dry, dry
	}

	redrive := redriver{attempts: map[string]int{}, res: res}
	// An outcome holds a whole assessment: room for one per queued request
	// (an upper bound until redrives) spares copying them all as the slice
	// grows, which at 100 000 users was a tenth of the evaluate stage.
	res.Outcomes = make([]pipeline.Outcome, 0, requests.Len())
	redrive.drainHeld(st, "evaluate", requests, func(ms []pipeline.Message) []pipeline.Failure {
		outcomes, failures := eval.Handle(ctx, ms)
		res.Outcomes = append(res.Outcomes, outcomes...)
		return failures
	})
	redrive.drainHeld(st, "nudge", nudges, func(ms []pipeline.Message) []pipeline.Failure { return nudge.Handle(ctx, ms) })
	redrive.drainHeld(st, "ticket", tickets, func(ms []pipeline.Message) []pipeline.Failure { return ticket.Handle(ctx, ms) })
	res.Nudges, res.Tickets = rec.nudges, rec.tickets
	for _, d := range res.Dead {
		line, _ := json.Marshal(d)
		if err := appendLine(deadPath, line); err != nil {
			return res, fmt.Errorf("local: dead letters: %w", err)
		}
	}
	return res, nil
}

func appendLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(line, '\n'))
	return err
}
