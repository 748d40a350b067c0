package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

const (
	adele  = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a01"
	alex   = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a02"
	bianca = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a03"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { c.t = c.t.Add(time.Millisecond); return c.t }

func tenant(t *testing.T) *model.Directory {
	t.Helper()
	d, err := graphjson.LoadDirectory("../../events/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func request(t *testing.T, id, user string) pipeline.Message {
	body, _ := json.Marshal(model.EvaluationRequest{UserID: user, Reason: model.ReasonAudit, AuditID: "a-" + id, Time: time.Unix(0, 0)})
	return pipeline.Message{ID: id, GroupID: user, Body: body}
}

// failingQueue fails its first n sends.
type failingQueue struct {
	*queue.Memory
	n int
}

func (q *failingQueue) SendDecisions(ctx context.Context, ds []model.DecisionMessage) error {
	if q.n > 0 {
		q.n--
		return errors.New("queue unavailable")
	}
	return q.Memory.SendDecisions(ctx, ds)
}

func (q *failingQueue) SendRequests(ctx context.Context, rs []model.EvaluationRequest) error {
	if q.n > 0 {
		q.n--
		return errors.New("queue unavailable")
	}
	return q.Memory.SendRequests(ctx, rs)
}

// flakyReader fails reads of the listed users.
type flakyReader struct {
	inner pipeline.UserReader
	fail  map[string]error
}

func (r flakyReader) ReadUsers(ctx context.Context, ids []string) []model.UserResult {
	out := r.inner.ReadUsers(ctx, ids)
	for i, id := range ids {
		if err := r.fail[id]; err != nil {
			out[i] = model.UserResult{Err: err}
		}
	}
	return out
}

func newEvaluate(t *testing.T, c *clock, reader pipeline.UserReader, nudges, tickets pipeline.DecisionQueue) (*pipeline.Evaluate, *store.FileStore) {
	t.Helper()
	st, err := store.OpenFileStore(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline.Evaluate{
		Users: reader, Store: st, Engine: rules.New(nil), Tenant: tenant(t).Tenant,
		Nudges: nudges, Tickets: tickets, Now: c.Now,
	}, st
}

func TestEvaluateRetriesOnlyTheFailedUser(t *testing.T) {
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	reader := flakyReader{&local.SnapshotReader{Dir: tenant(t)}, map[string]error{bianca: fmt.Errorf("%w: 429", model.ErrThrottled)}}
	nudges, tickets := queue.NewMemory(), queue.NewMemory()
	ev, _ := newEvaluate(t, c, reader, nudges, tickets)
	_, failures := ev.Handle(context.Background(), []pipeline.Message{
		request(t, "m1", adele), request(t, "m2", bianca), request(t, "m3", bianca), request(t, "m4", alex),
	})
	if len(failures) != 2 || failures[0].MessageID != "m2" || failures[1].MessageID != "m3" {
		t.Fatalf("failures = %+v; want both of bianca's messages", failures)
	}
	if nudges.Len() != 1 {
		t.Errorf("nudges = %d; adele's must still go out", nudges.Len())
	}
}

func TestEvaluatePublishFailureStoresNothingAndRepeatsTheSameDecision(t *testing.T) {
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	nudges := &failingQueue{queue.NewMemory(), 1}
	ev, st := newEvaluate(t, c, &local.SnapshotReader{Dir: tenant(t)}, nudges, queue.NewMemory())
	msgs := []pipeline.Message{request(t, "m1", adele)}
	_, failures := ev.Handle(context.Background(), msgs)
	if len(failures) != 1 {
		t.Fatalf("failures = %+v, want the publish failure", failures)
	}
	if s, _ := st.LoadUser(context.Background(), adele); s.Assessment != nil {
		t.Fatalf("assessment stored although the decision was not published")
	}
	outcomes, failures := ev.Handle(context.Background(), msgs)
	if len(failures) != 0 || outcomes[0].Decision.Kind != model.DecisionNudge || nudges.Len() != 1 {
		t.Fatalf("retry: failures %v, decision %s, published %d", failures, outcomes[0].Decision.Kind, nudges.Len())
	}
	// A third delivery (the message was redelivered after all) decides nothing.
	outcomes, _ = ev.Handle(context.Background(), msgs)
	if outcomes[0].Decision.Kind != model.DecisionNone {
		t.Errorf("redelivery decided %s", outcomes[0].Decision.Kind)
	}
}

func TestEvaluateDropsDeletedUsersAndMalformedMessagesAlone(t *testing.T) {
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	ev, _ := newEvaluate(t, c, &local.SnapshotReader{Dir: tenant(t)}, queue.NewMemory(), queue.NewMemory())
	bad := pipeline.Message{ID: "bad", Body: []byte(`{"userId":"","reason":"audit"}`)}
	outcomes, failures := ev.Handle(context.Background(), []pipeline.Message{request(t, "gone", "no-such-user"), bad, request(t, "ok", alex)})
	if len(failures) != 1 || failures[0].MessageID != "bad" {
		t.Fatalf("failures = %+v", failures)
	}
	if len(outcomes) != 2 || outcomes[0].Err != nil || outcomes[1].Err != nil {
		t.Fatalf("outcomes = %+v", outcomes)
	}
}

func TestEvaluateNeverOverwritesANewerAssessment(t *testing.T) {
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	ev, st := newEvaluate(t, c, &local.SnapshotReader{Dir: tenant(t)}, queue.NewMemory(), queue.NewMemory())
	future := c.t.Add(time.Hour)
	if err := st.SaveAssessment(context.Background(), alex, model.Assessment{UserID: alex, Diversity: 9}, future, time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, failures := ev.Handle(context.Background(), []pipeline.Message{request(t, "m", alex)})
	if len(failures) != 0 {
		t.Fatalf("a stale write is not a failure: %+v", failures)
	}
	s, _ := st.LoadUser(context.Background(), alex)
	if s.Assessment.Diversity != 9 || !s.ObservedAt.Equal(future) {
		t.Errorf("newer assessment overwritten: %+v", s.Assessment)
	}
}

// recordingReceiver remembers commits.
type recordingReceiver struct {
	batches [][]model.AuditMessage
	commits int
}

func (r *recordingReceiver) Next(context.Context) ([]model.AuditMessage, error) {
	if len(r.batches) == 0 {
		return nil, nil
	}
	b := r.batches[0]
	r.batches = r.batches[1:]
	return b, nil
}

func (r *recordingReceiver) Commit(context.Context) error { r.commits++; return nil }

type deadLetters struct{ reasons []string }

func (d *deadLetters) DeadLetter(_ context.Context, _ []byte, reason string) error {
	d.reasons = append(d.reasons, reason)
	return nil
}

func TestIngestCheckpointsOnlyAfterEnqueue(t *testing.T) {
	body, err := os.ReadFile("../../events/audit/eventhub-user-registered-fido2.json")
	if err != nil {
		t.Fatal(err)
	}
	q := &failingQueue{queue.NewMemory(), 1}
	r := &recordingReceiver{batches: [][]model.AuditMessage{{{Body: body, Position: "p0/0"}}}}
	in := pipeline.Ingest{Queue: q}
	if _, err := in.Drain(context.Background(), r); err == nil || r.commits != 0 {
		t.Fatalf("enqueue failed: err %v, commits %d; the checkpoint must not advance", err, r.commits)
	}
	// The same batch comes again (the checkpoint held) and now goes through.
	r.batches = [][]model.AuditMessage{{{Body: body, Position: "p0/0"}}}
	stats, err := in.Drain(context.Background(), r)
	if err != nil || r.commits != 1 || stats.Requests != 1 || q.Len() != 1 {
		t.Fatalf("second drain: %+v, %v, commits %d, queued %d", stats, err, r.commits, q.Len())
	}
}

func TestIngestDeadLettersMalformedRecordsAndGoesOn(t *testing.T) {
	good, _ := os.ReadFile("../../events/audit/eventhub-user-registered-fido2.json")
	dead := &deadLetters{}
	q := queue.NewMemory()
	r := &recordingReceiver{batches: [][]model.AuditMessage{{
		{Body: []byte(`{"records":[42]}`), Position: "p0/7"},
		{Body: good, Position: "p0/8"},
	}}}
	stats, err := (&pipeline.Ingest{Queue: q, Dead: dead}).Drain(context.Background(), r)
	if err != nil || stats.Malformed != 1 || len(dead.reasons) != 1 || q.Len() != 1 || r.commits != 1 {
		t.Fatalf("stats %+v err %v dead %v queued %d commits %d", stats, err, dead.reasons, q.Len(), r.commits)
	}
}

func TestIngestIgnoresOtherTenants(t *testing.T) {
	good, _ := os.ReadFile("../../events/audit/eventhub-user-registered-fido2.json")
	q := queue.NewMemory()
	r := &recordingReceiver{batches: [][]model.AuditMessage{{{Body: good}}}}
	stats, _ := (&pipeline.Ingest{Queue: q, TenantID: "another-tenant"}).Drain(context.Background(), r)
	if q.Len() != 0 || stats.Skipped["other-tenant"] != 1 {
		t.Errorf("queued %d, skipped %v", q.Len(), stats.Skipped)
	}
}

type registrations []model.Registration

func (rs registrations) Registrations(_ context.Context, fn func(model.Registration) error) error {
	for _, r := range rs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func TestSweep(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	st, _ := store.OpenFileStore(t.TempDir(), func() time.Time { return now })
	ctx := context.Background()
	st.SaveAssessment(ctx, "fresh", model.Assessment{}, now.Add(-time.Hour), time.Time{})
	st.SaveAssessment(ctx, "changed", model.Assessment{}, now.Add(-2*time.Hour), time.Time{})
	st.SaveAssessment(ctx, "stale", model.Assessment{}, now.Add(-10*24*time.Hour), time.Time{})
	regs := registrations{
		{UserID: "fresh", LastUpdated: now.Add(-3 * time.Hour)},
		{UserID: "changed", LastUpdated: now.Add(-time.Hour)},
		{UserID: "stale", LastUpdated: now.Add(-20 * 24 * time.Hour)},
		{UserID: "new"},
	}
	for _, tc := range []struct {
		name      string
		opt       pipeline.SweepOptions
		baselines map[string]bool
		reason    string
	}{
		{"default-baselines-only-new-users", pipeline.SweepOptions{}, map[string]bool{"new": true}, model.ReasonSweep},
		{"baseline-records-everything", pipeline.SweepOptions{Baseline: true}, map[string]bool{"new": true, "changed": true, "stale": true}, model.ReasonSweep},
		{"campaign-acts-on-everything", pipeline.SweepOptions{Campaign: true}, map[string]bool{}, model.ReasonCampaign},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := queue.NewMemory()
			sw := pipeline.Sweep{Registrations: regs, Store: st, Queue: q, MaxAge: 7 * 24 * time.Hour, Now: func() time.Time { return now }}
			stats, err := sw.Run(ctx, tc.opt)
			if err != nil || stats.Users != 4 || stats.Enqueued != 3 || stats.New != 1 || stats.Changed != 1 || stats.Stale != 1 {
				t.Fatalf("stats %+v err %v", stats, err)
			}
			for _, m := range q.Receive(0) {
				var r model.EvaluationRequest
				json.Unmarshal(m.Body, &r)
				if r.UserID == "fresh" {
					t.Errorf("fresh user enqueued")
				}
				if r.Baseline != tc.baselines[r.UserID] || r.Reason != tc.reason {
					t.Errorf("%s: baseline %v reason %s", r.UserID, r.Baseline, r.Reason)
				}
			}
		})
	}
}

// flakySender fails its first n deliveries, then records what it delivers.
type flakySender struct {
	n       int
	tickets []model.TicketRecord
	nudges  []model.NudgeRecord
}

func (s *flakySender) SendTicket(_ context.Context, _ model.DecisionMessage, rec model.TicketRecord) error {
	if s.n > 0 {
		s.n--
		return errors.New("helpdesk unavailable")
	}
	s.tickets = append(s.tickets, rec)
	return nil
}

func (s *flakySender) SendNudge(_ context.Context, _ model.DecisionMessage, rec model.NudgeRecord) error {
	if s.n > 0 {
		s.n--
		return errors.New("mail unavailable")
	}
	s.nudges = append(s.nudges, rec)
	return nil
}

func decisionMessage(t *testing.T, msgID, decisionID, user string, kind model.DecisionKind, at time.Time) pipeline.Message {
	t.Helper()
	body, err := json.Marshal(model.DecisionMessage{ID: decisionID, Decision: model.Decision{Kind: kind, UserID: user}, User: model.UserSummary{ID: user}, Time: at})
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.Message{ID: msgID, GroupID: user, Body: body}
}

func TestDeliveryKeepsAUsersOrderAfterAFailure(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		first  model.DecisionKind
		stage  func(st *store.FileStore, s *flakySender) func(context.Context, []pipeline.Message) []pipeline.Failure
		settle func(t *testing.T, st *store.FileStore, s *flakySender)
	}{
		{
			name: "ticket-stage-holds-a-resolve-behind-a-failed-ticket", first: model.DecisionTicket,
			stage: func(st *store.FileStore, s *flakySender) func(context.Context, []pipeline.Message) []pipeline.Failure {
				return (&pipeline.TicketStage{Store: st, Sender: s, Now: func() time.Time { return at }}).Handle
			},
			settle: func(t *testing.T, st *store.FileStore, s *flakySender) {
				state, _ := st.LoadUser(context.Background(), adele)
				if state.Ticket == nil || state.Ticket.Status != model.TicketResolved {
					t.Errorf("ticket %+v: the user is back within policy, the ticket must end resolved", state.Ticket)
				}
				var actions []string
				for _, rec := range s.tickets {
					if rec.UserID == adele {
						actions = append(actions, rec.Action)
					}
				}
				if fmt.Sprint(actions) != "[opened resolved]" {
					t.Errorf("helpdesk got %v; want opened, then resolved", actions)
				}
			},
		},
		{
			name: "nudge-stage-holds-a-resolve-behind-a-failed-nudge", first: model.DecisionNudge,
			stage: func(st *store.FileStore, s *flakySender) func(context.Context, []pipeline.Message) []pipeline.Failure {
				return (&pipeline.NudgeStage{Store: st, Sender: s, Now: func() time.Time { return at }}).Handle
			},
			settle: func(t *testing.T, st *store.FileStore, s *flakySender) {
				state, _ := st.LoadUser(context.Background(), adele)
				if len(state.History.Nudges) != 0 {
					t.Errorf("nudge history %v after the resolve: reminders must have stopped", state.History.Nudges)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := at
			st, err := store.OpenFileStore(t.TempDir(), func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			s := &flakySender{n: 1}
			handle := tc.stage(st, s)
			batch := []pipeline.Message{
				decisionMessage(t, "m1", "d-first", adele, tc.first, at),
				decisionMessage(t, "m2", "d-resolve", adele, model.DecisionResolve, at.Add(time.Hour)),
				decisionMessage(t, "m3", "d-other", alex, tc.first, at),
			}
			failures := handle(context.Background(), batch)
			if len(failures) != 2 || failures[0].MessageID != "m1" || failures[1].MessageID != "m2" {
				t.Fatalf("failures = %+v; want m1 and the later m2 of the same user", failures)
			}
			// SQS makes both visible again, in order, after the failed
			// delivery's claim has run out.
			now = now.Add(pipeline.DefaultClaimLease + time.Second)
			if failures := handle(context.Background(), batch[:2]); len(failures) != 0 {
				t.Fatalf("redelivery failed: %+v", failures)
			}
			tc.settle(t, st, s)
		})
	}
}

// historyFails is a store whose nudge history cannot be written.
type historyFails struct{ *store.FileStore }

func (h historyFails) RecordNudge(context.Context, string, time.Time) error {
	return errors.New("table unavailable")
}

// countingSender counts what reached people.
type countingSender struct{ n int }

func (c *countingSender) SendNudge(context.Context, model.DecisionMessage, model.NudgeRecord) error {
	c.n++
	return nil
}

// A nudge that went out is never sent again because its history entry
// could not be written; the decision is retried so that the entry is
// written once the store takes it (TestLostHistoryWriteDoesNotSilenceReminders).
func TestNudgeSentOnceWhenTheHistoryCannotBeWritten(t *testing.T) {
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	st, err := store.OpenFileStore(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	sender := &countingSender{}
	stage := pipeline.NudgeStage{Store: historyFails{st}, Sender: sender, Now: c.Now}
	body, _ := json.Marshal(model.DecisionMessage{ID: "d1", Decision: model.Decision{Kind: model.DecisionNudge, UserID: adele}})
	msg := pipeline.Message{ID: "m1", GroupID: adele, Body: body}
	for range 3 {
		if f := stage.Handle(context.Background(), []pipeline.Message{msg}); len(f) != 1 {
			t.Fatalf("failures %v: want the decision retried for its history entry", f)
		}
		c.t = c.t.Add(time.Hour) // past the claim's lease
	}
	if sender.n != 1 {
		t.Errorf("sent %d times, want 1", sender.n)
	}
}

// A campaign acts on every finding, yet never on a guest or a disabled
// account unless the policy includes them: one ticket per guest is what a
// real tenant would otherwise get.
func TestCampaignLeavesGuestsAndDisabledAccountsAlone(t *testing.T) {
	const isaiah = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a07" // password only: no MFA path, a ticket
	off := false
	for _, tc := range []struct {
		name    string
		set     func(*model.User)
		policy  string
		tickets int
	}{
		{"member-is-ticketed", func(*model.User) {}, "", 1},
		{"guest-is-not", func(u *model.User) { u.UserType = "Guest" }, "", 0},
		{"disabled-account-is-not", func(u *model.User) { u.AccountEnabled = &off }, "", 0},
		{"guest-opted-in-is", func(u *model.User) { u.UserType = "Guest" }, "guests: include\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
			dir := tenant(t)
			u, _ := dir.FindUser(isaiah)
			tc.set(u)
			nudges, tickets := queue.NewMemory(), queue.NewMemory()
			ev, _ := newEvaluate(t, c, &local.SnapshotReader{Dir: dir}, nudges, tickets)
			p, err := rules.ParsePolicy(append(rules.DefaultPolicyYAML(), tc.policy...))
			if err != nil {
				t.Fatal(err)
			}
			ev.Engine = rules.New(p)
			body, _ := json.Marshal(model.EvaluationRequest{UserID: isaiah, Reason: model.ReasonCampaign, Time: time.Unix(0, 0)})
			outcomes, failures := ev.Handle(context.Background(), []pipeline.Message{{ID: "m1", GroupID: isaiah, Body: body}})
			if len(failures) != 0 {
				t.Fatal(failures)
			}
			if tickets.Len() != tc.tickets || nudges.Len() != 0 {
				t.Errorf("tickets %d nudges %d (decision %s: %v), want %d tickets", tickets.Len(), nudges.Len(), outcomes[0].Decision.Kind, outcomes[0].Decision.Reasons, tc.tickets)
			}
		})
	}
}
