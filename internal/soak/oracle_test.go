package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// feed is the Event Hubs partition of the storm: its messages in order,
// what the last checkpoint covered, and where reading stands.
type feed struct {
	mu                sync.Mutex
	msgs              []model.AuditMessage
	cursor, committed int
}

// auditRecord is one "User registered security info" record naming user.
func auditRecord(user, auditID string, at time.Time) map[string]any {
	return map[string]any{
		"time": at.Format(time.RFC3339), "operationName": "User registered security info", "category": "AuditLogs",
		"properties": map[string]any{
			"id": auditID, "category": "UserManagement",
			"activityDisplayName": "User registered security info", "activityDateTime": at.Format(time.RFC3339),
			"loggedByService": "Authentication Methods", "result": "success", "resultReason": "User registered Authenticator App with Notification",
			"initiatedBy":     map[string]any{"user": map[string]any{"id": user}},
			"targetResources": []any{map[string]any{"id": user, "type": "User"}},
		},
	}
}

// newFeed builds nEvents audit records: one per changed user, then
// duplicates of those (the same record id again), phantom changes (records
// for users whose methods did not change), a few poison records
// (malformed, or a user id no queue takes), all shuffled (out of order)
// into Event Hubs messages of up to 20 records.
func newFeed(w *world, nEvents int, rng *rand.Rand) *feed {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	var recs []any
	var ids []string
	for _, u := range w.s1.Users {
		if w.changed[u.ID] {
			id := fmt.Sprintf("Authentication Methods_%s_%d", u.ID, len(recs))
			recs = append(recs, auditRecord(u.ID, id, at))
			ids = append(ids, u.ID+"\x00"+id)
		}
	}
	poison := max(nEvents/1000, 2)
	for i := 0; i < poison; i++ {
		if i%2 == 0 {
			recs = append(recs, 42) // not a record at all
		} else {
			recs = append(recs, auditRecord(strings.Repeat("x", 200), fmt.Sprintf("poison-%d", i), at))
		}
	}
	w.fig.Poison = poison
	for len(recs) < nEvents {
		if rng.Float64() < 0.4 && len(ids) > 0 {
			parts := strings.SplitN(ids[rng.IntN(len(ids))], "\x00", 2)
			recs = append(recs, auditRecord(parts[0], parts[1], at))
			w.fig.Duplicates++
			continue
		}
		u := w.s1.Users[rng.IntN(len(w.s1.Users))]
		if w.changed[u.ID] {
			continue
		}
		recs = append(recs, auditRecord(u.ID, fmt.Sprintf("Authentication Methods_phantom_%d", len(recs)), at))
		w.fig.Phantom++
	}
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	w.fig.Events = len(recs)
	f := &feed{}
	for start := 0; start < len(recs); start += 20 {
		body, _ := json.Marshal(map[string]any{"records": recs[start:min(start+20, len(recs))]})
		f.msgs = append(f.msgs, model.AuditMessage{Body: body, Position: fmt.Sprintf("0/%d", len(f.msgs))})
	}
	w.fig.Messages = len(f.msgs)
	return f
}

// Next returns the next messages, a few at a time.
func (f *feed) Next(context.Context) ([]model.AuditMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := min(f.cursor+5, len(f.msgs))
	out := f.msgs[f.cursor:end]
	f.cursor = end
	return out, nil
}

// Commit checkpoints everything Next returned.
func (f *feed) Commit(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.committed = f.cursor
	return nil
}

// rewind starts reading again from the checkpoint, as the next ingest run
// does after a crash.
func (f *feed) rewind() { f.mu.Lock(); f.cursor = f.committed; f.mu.Unlock() }

func (f *feed) done() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.committed == len(f.msgs) }

// expected is the oracle's account of one user: what a fault-free run of
// the three phases decides, from the snapshots alone.
type expected struct {
	final     model.Assessment
	nudges    int // nudges the user gets
	reminders int
	ticket    string // the final ticket status: "", open or resolved
}

// oracleCampaign is what the campaign decides for each user of the first
// snapshot.
func (w *world) oracleCampaign() map[string]model.Decision {
	out := map[string]model.Decision{}
	for i := range w.s0.Users {
		u := w.s0.Users[i]
		a := w.engine.Evaluate(w.s0.Tenant, &u)
		out[u.ID] = w.engine.Decide(rules.DecisionInput{Current: a, Now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Campaign: true})
	}
	return out
}

// oracle plays the three phases for every user, fault-free and in order.
func (w *world) oracle(named map[string]bool) map[string]expected {
	out := map[string]expected{}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range w.s1.Users {
		u0, u1 := w.s0.Users[i], w.s1.Users[i]
		a0, a1 := w.engine.Evaluate(w.s0.Tenant, &u0), w.engine.Evaluate(w.s1.Tenant, &u1)
		var h model.NudgeHistory
		e := expected{final: a1}
		apply := func(d model.Decision, at time.Time) {
			switch d.Kind {
			case model.DecisionNudge:
				e.nudges++
				if d.Reminder {
					e.reminders++
				}
				h.Nudges = append(h.Nudges, at)
			case model.DecisionTicket:
				h.TicketOpen, e.ticket = true, model.TicketOpen
			case model.DecisionResolve:
				h.Nudges = nil
				if h.TicketOpen {
					e.ticket = model.TicketResolved
				}
				h.TicketOpen = false
			}
		}
		apply(w.campaign[u0.ID], t0)
		if named[u1.ID] {
			apply(w.engine.Decide(rules.DecisionInput{Previous: &a0, Current: a1, History: h, Now: t0.Add(time.Hour)}), t0.Add(time.Hour))
		} else {
			a1 = a0
		}
		apply(w.engine.Decide(rules.DecisionInput{Previous: &a1, Current: a1, History: h, Now: t0.Add(8*24*time.Hour + time.Hour)}), t0.Add(8*24*time.Hour))
		out[u1.ID] = e
	}
	return out
}

// check compares the final state with the oracle and returns the figures,
// with every invariant's violations counted.
func (w *world) check(t *testing.T) figures {
	ctx := context.Background()
	named := map[string]bool{}
	for _, m := range w.feed.msgs {
		var body struct {
			Records []json.RawMessage `json:"records"`
		}
		json.Unmarshal(m.Body, &body)
		for _, r := range body.Records {
			var rec struct {
				Properties struct {
					TargetResources []struct{ ID string } `json:"targetResources"`
				} `json:"properties"`
			}
			if json.Unmarshal(r, &rec) == nil && len(rec.Properties.TargetResources) > 0 {
				named[rec.Properties.TargetResources[0].ID] = true
			}
		}
	}
	want := w.oracle(named)
	fig := w.fig
	fig.Faults = w.inj.counts
	v := fig.Violations
	for _, k := range []string{"assessment differs", "nudges not as due", "open ticket of a compliant user", "ticket not as due", "event lost", "undocumented dead letter"} {
		v[k] += 0
	}
	v["event lost"] = w.lost
	for _, n := range w.sink.nudges {
		fig.Absorbed += n - 1
	}
	for _, n := range w.sink.tickets {
		fig.Absorbed += n - 1
	}
	for _, u := range w.s1.Users {
		e := want[u.ID]
		s, err := w.st.LoadUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Assessment == nil || s.Assessment.Compliant != e.final.Compliant || s.Assessment.Diversity != e.final.Diversity ||
			!slices.Equal(s.Assessment.Violations, e.final.Violations) {
			v["assessment differs"]++
			t.Errorf("user %s: stored %+v, oracle compliant %v diversity %d", u.ID, s.Assessment, e.final.Compliant, e.final.Diversity)
		}
		got := w.sink.byUser[u.ID]
		reminders := 0
		for _, r := range got {
			if r.Reminder {
				reminders++
			}
		}
		fig.Nudges += len(got)
		fig.Reminders += reminders
		if len(got) != e.nudges || reminders != e.reminders {
			v["nudges not as due"]++
			t.Errorf("user %s: %d nudges (%d reminders), oracle %d (%d)", u.ID, len(got), reminders, e.nudges, e.reminders)
			for _, p := range published.m[u.ID] {
				t.Logf("  published %s", p)
			}
			for _, r := range got {
				t.Logf("  nudge %s %v %v", r.DecisionID, r.Reasons, r.Time)
			}
			t.Logf("  history %v", s.History.Nudges)
		}
		status := ""
		if s.Ticket != nil {
			status = s.Ticket.Status
		}
		if e.final.Compliant && status == model.TicketOpen {
			v["open ticket of a compliant user"]++
			t.Errorf("user %s: compliant with an open ticket", u.ID)
		}
		if status != e.ticket {
			v["ticket not as due"]++
			t.Errorf("user %s: ticket %q, oracle %q", u.ID, status, e.ticket)
			for _, r := range w.sink.ticketRec {
				if r.UserID == u.ID {
					t.Logf("  %s %s %v %v", r.Action, r.Decision, r.Reasons, r.Time)
				}
			}
			for _, r := range w.sink.byUser[u.ID] {
				t.Logf("  nudge %s %v %v", r.DecisionID, r.Reasons, r.Time)
			}
			t.Logf("  history %v", s.History.Nudges)
		}
	}
	for _, r := range w.sink.ticketRec {
		switch r.Action {
		case "opened":
			fig.TicketsOpened++
		case "resolved":
			fig.TicketsResolved++
		}
	}
	for reason := range w.deadIn.reasons {
		fig.DeadLetters["ingest: poison"]++
		if !strings.Contains(reason, "userId") && !strings.Contains(reason, "record") {
			v["undocumented dead letter"]++
			t.Errorf("ingest dead letter: %s", reason)
		}
	}
	if fig.DeadLetters["ingest: poison"] == 0 {
		v["undocumented dead letter"]++
		t.Errorf("no poison record was dead-lettered")
	}
	for k, n := range fig.DeadLetters {
		if strings.HasPrefix(k, "ingest") || strings.HasSuffix(k, "redriven after faults") {
			continue
		}
		v["undocumented dead letter"] += n
		t.Errorf("dead letters %q: %d", k, n)
	}
	return fig
}
