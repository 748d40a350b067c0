package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/store"
)

// injector decides, from its seed, which calls fail and where handlers
// die, and counts both by kind.
type injector struct {
	mu     sync.Mutex
	rng    *rand.Rand
	rate   float64
	counts map[string]int
	seq    int
}

func newInjector(seed int64, rate float64) *injector {
	return &injector{rng: rand.New(rand.NewPCG(uint64(seed), 1)), rate: rate, counts: map[string]int{}}
}

// roll reports whether this call of kind fails, at share×rate.
func (in *injector) roll(kind string, share float64) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.rng.Float64() >= in.rate*share {
		return false
	}
	in.counts[kind]++
	return true
}

func (in *injector) next() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.seq++
	return in.seq
}

// killed is the panic that stands for a handler dying between two steps.
type killed struct{ step string }

// kill dies between two steps, now and then.
func (in *injector) kill(step string) {
	if in.roll("kill "+step, 0.5) {
		panic(killed{step})
	}
}

// survive runs f and reports whether it ran to its end.
func (in *injector) survive(f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, isKill := r.(killed); !isKill {
				panic(r)
			}
			ok = false
		}
	}()
	f()
	return true
}

// faultyStore fails DynamoDB calls (throttled, or lost answers on writes
// that landed) and dies between the stages' steps.
type faultyStore struct {
	st  *store.DynamoDB
	inj *injector
}

func (f *faultyStore) fail(op string) error {
	if f.inj.roll("dynamodb throttled", 1) {
		return fmt.Errorf("store: %s: %w: %w", op, model.ErrThrottled, errInjected)
	}
	return nil
}

// lost fails a write after it landed: the answer was lost.
func (f *faultyStore) lost(op string) error {
	if f.inj.roll("dynamodb lost answer", 0.3) {
		return fmt.Errorf("store: %s: %w (the write landed)", op, errInjected)
	}
	return nil
}

func (f *faultyStore) LoadUser(ctx context.Context, id string) (model.UserState, error) {
	if err := f.fail("load user"); err != nil {
		return model.UserState{}, err
	}
	return f.st.LoadUser(ctx, id)
}

func (f *faultyStore) SaveAssessment(ctx context.Context, id string, a model.Assessment, at, since time.Time) error {
	f.inj.kill("between publish and save")
	if err := f.fail("save assessment"); err != nil {
		return err
	}
	if err := f.st.SaveAssessment(ctx, id, a, at, since); err != nil {
		return err
	}
	return f.lost("save assessment")
}

func (f *faultyStore) ObservedAt(ctx context.Context, ids []string) (map[string]time.Time, error) {
	if err := f.fail("observed at"); err != nil {
		return nil, err
	}
	return f.st.ObservedAt(ctx, ids)
}

func (f *faultyStore) Claim(ctx context.Context, key string, lease time.Duration) (model.ClaimResult, error) {
	if err := f.fail("claim"); err != nil {
		return 0, err
	}
	return f.st.Claim(ctx, key, lease)
}

func (f *faultyStore) Complete(ctx context.Context, key string, retention time.Duration) error {
	f.inj.kill("between delivery and completion")
	if err := f.fail("complete"); err != nil {
		return err
	}
	return f.st.Complete(ctx, key, retention)
}

func (f *faultyStore) RecordNudge(ctx context.Context, id string, at time.Time) error {
	f.inj.kill("between send and record")
	if err := f.fail("record nudge"); err != nil {
		return err
	}
	if err := f.st.RecordNudge(ctx, id, at); err != nil {
		return err
	}
	return nil
}

func (f *faultyStore) ClearNudges(ctx context.Context, id string) error {
	if err := f.fail("clear nudges"); err != nil {
		return err
	}
	return f.st.ClearNudges(ctx, id)
}

func (f *faultyStore) SetTicket(ctx context.Context, id string, tk *model.Ticket) error {
	f.inj.kill("between ticket and record")
	if err := f.fail("set ticket"); err != nil {
		return err
	}
	return f.st.SetTicket(ctx, id, tk)
}

// faultyQueue fails SQS sends, and dies after a send that went through
// (between enqueue and checkpoint, between publish and save).
type faultyQueue struct {
	q    *queue.SQS
	inj  *injector
	name string
}

func (f *faultyQueue) SendRequests(ctx context.Context, rs []model.EvaluationRequest) error {
	if f.inj.roll("sqs unavailable", 1) {
		return fmt.Errorf("queue: send: %w", errInjected)
	}
	if err := f.q.SendRequests(ctx, rs); err != nil {
		return err
	}
	f.inj.kill("between enqueue and checkpoint")
	return nil
}

func (f *faultyQueue) SendDecisions(ctx context.Context, ds []model.DecisionMessage) error {
	if f.inj.roll("sqs throttled", 1) {
		return fmt.Errorf("queue: send: %w: %w", model.ErrThrottled, errInjected)
	}
	if err := f.q.SendDecisions(ctx, ds); err != nil {
		return err
	}
	published.mu.Lock()
	for _, d := range ds {
		published.m[d.Decision.UserID] = append(published.m[d.Decision.UserID], fmt.Sprintf("%s %s %s %v", f.name, d.ID, d.Decision.Kind, d.Time))
	}
	published.mu.Unlock()
	f.inj.kill("between publish and save")
	return nil
}

// faultyReader stands for Graph: 429 with Retry-After (throttled after
// the client's retries), 503 and timeouts, per user.
type faultyReader struct {
	r   *switchReader
	inj *injector
}

func (f *faultyReader) ReadUsers(ctx context.Context, ids []string) []model.UserResult {
	out := f.r.ReadUsers(ctx, ids)
	for i := range out {
		switch {
		case f.inj.roll("graph 429", 1):
			out[i] = model.UserResult{Err: fmt.Errorf("graph: 429 Retry-After 3: %w: %w", model.ErrThrottled, errInjected)}
		case f.inj.roll("graph 503", 0.5):
			out[i] = model.UserResult{Err: fmt.Errorf("graph: 503 service unavailable: %w", errInjected)}
		case f.inj.roll("graph timeout", 0.5):
			out[i] = model.UserResult{Err: fmt.Errorf("graph: %w: %w", context.DeadlineExceeded, errInjected)}
		}
	}
	return out
}

// switchReader reads the current snapshot.
type switchReader struct {
	mu  sync.Mutex
	dir *model.Directory
}

func (s *switchReader) set(d *model.Directory) { s.mu.Lock(); s.dir = d; s.mu.Unlock() }

func (s *switchReader) current() *model.Directory { s.mu.Lock(); defer s.mu.Unlock(); return s.dir }

func (s *switchReader) ReadUsers(ctx context.Context, ids []string) []model.UserResult {
	return (&local.SnapshotReader{Dir: s.current()}).ReadUsers(ctx, ids)
}

// registrations is the registration report of the current snapshot.
type registrations struct{ r *switchReader }

func (r registrations) Registrations(ctx context.Context, fn func(model.Registration) error) error {
	return (&local.SnapshotReader{Dir: r.r.current()}).Registrations(ctx, fn)
}

// sink is the people and the helpdesk: nudges go through the nudge outbox
// queue, which deduplicates by decision id, and ticket events to a helpdesk
// that deduplicates on decision id and action (docs/STATE.md). It counts
// the repeats they absorb.
type sink struct {
	mu        sync.Mutex
	nudges    map[string]int // decision id -> sends
	byUser    map[string][]model.NudgeRecord
	tickets   map[string]int // decision id/action -> events
	ticketRec []model.TicketRecord
}

// faultySender fails sends (Graph sendMail 429/503; the helpdesk down) and
// loses the helpdesk's answer after it acted.
type faultySender struct {
	s   *sink
	inj *injector
}

func (f *faultySender) SendNudge(_ context.Context, dm model.DecisionMessage, rec model.NudgeRecord) error {
	if f.inj.roll("sendMail 429", 1) {
		return fmt.Errorf("sendMail: %w: %w", model.ErrThrottled, errInjected)
	}
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	// The nudge outbox queue deduplicates by decision id: a repeat (a
	// deliverer killed between the send and marking it done) reaches nobody.
	f.s.nudges[rec.DecisionID]++
	if f.s.nudges[rec.DecisionID] > 1 {
		return nil
	}
	if f.s.byUser == nil {
		f.s.byUser = map[string][]model.NudgeRecord{}
	}
	f.s.byUser[rec.UserID] = append(f.s.byUser[rec.UserID], rec)
	return nil
}

func (f *faultySender) SendTicket(_ context.Context, dm model.DecisionMessage, rec model.TicketRecord) error {
	if f.inj.roll("helpdesk unavailable", 1) {
		return fmt.Errorf("helpdesk: 503: %w", errInjected)
	}
	f.s.mu.Lock()
	key := rec.DecisionID + "/" + rec.Action
	f.s.tickets[key]++
	if f.s.tickets[key] == 1 {
		f.s.ticketRec = append(f.s.ticketRec, rec)
	}
	f.s.mu.Unlock()
	if f.inj.roll("helpdesk lost answer", 0.5) {
		return fmt.Errorf("helpdesk: answer lost after it acted: %w", errInjected)
	}
	return nil
}

// memDead keeps ingest's dead letters by reason (a batch read again after
// a kill dead-letters its poison again, with the same reason).
type memDead struct {
	mu      sync.Mutex
	reasons map[string]int
}

func (d *memDead) DeadLetter(_ context.Context, _ []byte, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.reasons == nil {
		d.reasons = map[string]int{}
	}
	d.reasons[reason]++
	return nil
}

var published = struct {
	mu sync.Mutex
	m  map[string][]string
}{m: map[string][]string{}}
