package pipeline_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/store"
)

// A decision redriven from a dead-letter queue, or delivered late, acts
// only while it is still the user's latest: a user who is compliant by now
// gets no nudge and no ticket, a user below policy again keeps the new
// episode's ticket and reminders.
func TestDeliveryChecksTheDecisionIsStillTheLatest(t *testing.T) {
	decided := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	later := decided.Add(48 * time.Hour)
	compliant := model.Assessment{UserID: adele, Compliant: true}
	below := model.Assessment{UserID: adele, Compliant: false, Violations: []model.Violation{model.ViolationBelowMinDiversity}}
	for _, tc := range []struct {
		name    string
		kind    model.DecisionKind
		stored  *model.Assessment // stored at `later` when set
		setup   func(ctx context.Context, st *store.FileStore)
		nudges  int // nudges sent
		tickets []string
		check   func(t *testing.T, s model.UserState)
	}{
		{name: "nudge-to-a-user-compliant-since", kind: model.DecisionNudge, stored: &compliant},
		{name: "ticket-for-a-user-compliant-since", kind: model.DecisionTicket, stored: &compliant,
			setup: func(ctx context.Context, st *store.FileStore) {
				st.SetTicket(ctx, adele, &model.Ticket{ID: "CR-OLD", Status: model.TicketResolved, Opened: decided, Updated: later})
			},
			check: func(t *testing.T, s model.UserState) {
				if s.Ticket.Status != model.TicketResolved {
					t.Errorf("the resolved ticket re-opened: %+v", s.Ticket)
				}
			}},
		{name: "nudge-after-a-later-nudge", kind: model.DecisionNudge, stored: &below,
			setup: func(ctx context.Context, st *store.FileStore) { st.RecordNudge(ctx, adele, later) },
			check: func(t *testing.T, s model.UserState) {
				if len(s.History.Nudges) != 1 {
					t.Errorf("history %v, want the later nudge alone", s.History.Nudges)
				}
			}},
		{name: "resolve-of-an-episode-that-began-again", kind: model.DecisionResolve, stored: &below,
			setup: func(ctx context.Context, st *store.FileStore) {
				st.SetTicket(ctx, adele, &model.Ticket{ID: "CR-NEW", Status: model.TicketOpen, Opened: later, Updated: later})
				st.RecordNudge(ctx, adele, later)
			},
			check: func(t *testing.T, s model.UserState) {
				if s.Ticket.Status != model.TicketOpen || len(s.History.Nudges) != 1 {
					t.Errorf("the new episode's ticket %+v or reminders %v were ended", s.Ticket, s.History.Nudges)
				}
			}},
		// Still the latest: delivered.
		{name: "nudge-while-a-later-evaluation-decided-nothing", kind: model.DecisionNudge, stored: &below, nudges: 1},
		{name: "nudge-before-the-assessment-is-stored", kind: model.DecisionNudge, nudges: 1},
		{name: "resolve-of-a-ticket-opened-before-it", kind: model.DecisionResolve, stored: &below,
			setup: func(ctx context.Context, st *store.FileStore) {
				st.SetTicket(ctx, adele, &model.Ticket{ID: "CR-OLD", Status: model.TicketOpen, Opened: decided.Add(-time.Hour), Updated: decided.Add(-time.Hour)})
			},
			tickets: []string{"resolved"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			now := later.Add(time.Hour)
			st, err := store.OpenFileStore(t.TempDir(), func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			if tc.stored != nil {
				if err := st.SaveAssessment(ctx, adele, *tc.stored, later, time.Time{}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				tc.setup(ctx, st)
			}
			a := below
			if tc.kind == model.DecisionResolve {
				a = compliant
			}
			body, _ := json.Marshal(model.DecisionMessage{ID: "d-old", Decision: model.Decision{Kind: tc.kind, UserID: adele},
				User: model.UserSummary{ID: adele}, Assessment: a, Time: decided})
			msg := []pipeline.Message{{ID: "m1", GroupID: adele, Body: body}}
			s := &flakySender{}
			nudge := &pipeline.NudgeStage{Store: st, Sender: s, Now: func() time.Time { return now }}
			ticket := &pipeline.TicketStage{Store: st, Sender: s, Now: func() time.Time { return now }}
			if tc.kind != model.DecisionTicket {
				if f := nudge.Handle(ctx, msg); len(f) != 0 {
					t.Fatalf("nudge stage: %v", f)
				}
			}
			if tc.kind != model.DecisionNudge {
				if f := ticket.Handle(ctx, msg); len(f) != 0 {
					t.Fatalf("ticket stage: %v", f)
				}
			}
			var actions []string
			for _, r := range s.tickets {
				actions = append(actions, r.Action)
			}
			if len(s.nudges) != tc.nudges || len(actions) != len(tc.tickets) || (len(actions) > 0 && actions[0] != tc.tickets[0]) {
				t.Errorf("sent %d nudges and tickets %v; want %d and %v", len(s.nudges), actions, tc.nudges, tc.tickets)
			}
			if tc.check != nil {
				state, _ := st.LoadUser(ctx, adele)
				tc.check(t, state)
			}
		})
	}
}
