package notify_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/notifytest"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

// TestRedeliveredDecisionMakesOneTicket runs ticket decisions through the
// ticket stage and the file store to each helpdesk channel. The first
// delivery creates the ticket but loses the answer and fails; the queue
// redelivers it after the claim's lease (when the stage issues a new ticket
// id), and again as a duplicate; then the user is fixed. The helpdesk must
// end with exactly one ticket, resolved.
func TestRedeliveredDecisionMakesOneTicket(t *testing.T) {
	t.Parallel()
	type helpdesk struct {
		sender pipeline.TicketSender
		// breakCreate makes the next ticket creation succeed but fail.
		breakCreate func()
		// tickets returns how many tickets exist and whether all are resolved.
		tickets func() (int, bool)
		// known reports whether the helpdesk's ticket answers to a credres
		// ticket id.
		known func(ticketID string) bool
	}
	cases := map[string]func(t *testing.T, clock *notifytest.Clock) helpdesk{
		"servicenow": func(t *testing.T, clock *notifytest.Clock) helpdesk {
			fake := notifytest.NewServiceNow(t, notifytest.ServiceNowCredential{User: snUser, Password: snPassword})
			sn, err := notify.NewServiceNow(notify.ServiceNowConfig{URL: fake.URL(), Secrets: testSecrets, Secret: "sn-basic", Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			return helpdesk{
				sender: sn,
				breakCreate: func() {
					// Created, answer lost; then ServiceNow is unavailable for
					// the rest of the call's attempts.
					fake.Fail(notifytest.Fault{Method: http.MethodGet, Status: 503, Times: 2})
					fake.Fail(notifytest.Fault{Method: http.MethodPost, Apply: true, Drop: true})
				},
				tickets: func() (int, bool) {
					incs := fake.Incidents()
					return len(incs), len(incs) > 0 && incs[0].State == "6"
				},
				known: func(id string) bool { return fake.Incidents()[0].CorrelationID == id },
			}
		},
		"jira": func(t *testing.T, clock *notifytest.Clock) helpdesk {
			fake := notifytest.NewJira(t, notifytest.JiraSite{Project: "CR", DoneTransition: "31", Email: jiraEmail, APIToken: jiraToken, SearchLag: 30 * time.Second, Clock: clock})
			j, err := notify.NewJira(notify.JiraConfig{URL: fake.URL(), Project: "CR", DoneTransition: "31", Secrets: testSecrets, Secret: "jira", Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			return helpdesk{
				sender: j,
				breakCreate: func() {
					fake.Fail(notifytest.Fault{Method: http.MethodPost, Path: "/rest/api/3/issue", Apply: true, Drop: true})
				},
				tickets: func() (int, bool) {
					is := fake.Issues()
					return len(is), len(is) > 0 && is[0].Status == "Done"
				},
				known: func(id string) bool { return slices.Contains(fake.Issues()[0].Labels, "credres-"+id) },
			}
		},
		"webhook": func(t *testing.T, clock *notifytest.Clock) helpdesk {
			recv := notifytest.NewWebhookReceiver(t, hookSecret)
			w, err := notify.NewWebhook(notify.WebhookConfig{URL: recv.URL(), Secrets: testSecrets, Secret: "hook", Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			return helpdesk{
				sender: w,
				breakCreate: func() {
					recv.Fail(notifytest.Fault{Apply: true, Drop: true, Times: 3})
				},
				tickets: func() (int, bool) {
					opened, resolved := 0, false
					for _, d := range recv.Deliveries() {
						switch d.Ticket.Action {
						case "opened":
							opened++
						case "resolved":
							resolved = true
						}
					}
					return opened, resolved
				},
				known: func(id string) bool {
					ds := recv.Deliveries()
					return len(ds) > 0 && ds[0].Ticket.TicketID == id
				},
			}
		},
	}
	renderer, err := notify.NewRenderer(rules.NudgePolicy{}, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, _ := logged(t)
			clock := notifytest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			st, err := store.OpenFileStore(t.TempDir(), clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			hd := build(t, clock)
			stage := &pipeline.TicketStage{Store: st, Sender: hd.sender, Render: renderer, Now: clock.Now}

			open := decisionMessage(t, "d-escalate", model.DecisionTicket)
			first := model.TicketID("u-1", decisionTime) // the id comes from the decision, whichever delivery opens it
			hd.breakCreate()
			if f := stage.Handle(ctx, []pipeline.Message{open}); len(f) != 1 {
				t.Fatalf("first delivery: failures %v, want the lost answer reported", f)
			}
			if n, _ := hd.tickets(); n != 1 {
				t.Fatalf("%d tickets after the first delivery, want the 1 created", n)
			}
			if !hd.known(first) {
				t.Fatalf("the ticket does not carry the first delivery's ticket id %s", first)
			}
			if f := stage.Handle(ctx, []pipeline.Message{open}); len(f) != 1 || !strings.Contains(f[0].Reason, "in progress") {
				t.Fatalf("redelivery within the lease: %v", f)
			}
			clock.Advance(pipeline.DefaultClaimLease + time.Minute)
			if f := stage.Handle(ctx, []pipeline.Message{open}); len(f) != 0 {
				t.Fatalf("redelivery after the lease: %v", f)
			}
			if f := stage.Handle(ctx, []pipeline.Message{open}); len(f) != 0 { // a duplicate from the queue
				t.Fatalf("duplicate: %v", f)
			}
			state, err := st.LoadUser(ctx, "u-1")
			if err != nil || state.Ticket == nil || state.Ticket.Status != model.TicketOpen {
				t.Fatalf("stored ticket %+v, %v", state.Ticket, err)
			}
			// The redelivery opens the same ticket: its id comes from the
			// decision, not from the delivery.
			if state.Ticket.ID != first {
				t.Fatalf("stored ticket id %s, want %s", state.Ticket.ID, first)
			}
			if !hd.known(state.Ticket.ID) {
				t.Errorf("the ticket does not answer to the stored ticket id %s", state.Ticket.ID)
			}

			clock.Advance(time.Hour)
			if f := stage.Handle(ctx, []pipeline.Message{decisionMessage(t, "d-fixed", model.DecisionResolve)}); len(f) != 0 {
				t.Fatalf("resolve: %v", f)
			}
			n, resolved := hd.tickets()
			if n != 1 || !resolved {
				t.Errorf("%d tickets, resolved %v; want exactly one, resolved", n, resolved)
			}
		})
	}
}

// decisionMessage is a queue message carrying a decision for user u-1.
// decisionTime is when the decisions of these tests were made.
var decisionTime = time.Date(2026, 3, 2, 8, 59, 0, 0, time.UTC)

func decisionMessage(t *testing.T, id string, kind model.DecisionKind) pipeline.Message {
	t.Helper()
	dm := model.DecisionMessage{
		ID: id,
		Decision: model.Decision{Kind: kind, UserID: "u-1", Escalated: kind == model.DecisionTicket, NudgesIgnored: 3,
			Violations: []model.Violation{model.ViolationBelowMinDiversity},
			Reasons:    []model.Reason{{Code: model.ReasonEscalated, Nudges: 3, Window: 30 * 24 * time.Hour}}},
		User: model.UserSummary{ID: "u-1", UserPrincipalName: userMail, DisplayName: "Pat Doe", Mail: userMail,
			Methods: []model.MethodNote{{Kind: model.KindPassword}, {Kind: model.KindMobilePhone, PhoneNumber: userPhone}}},
		Assessment: model.Assessment{UserID: "u-1", UserPrincipalName: userMail, Tier: "standard", Diversity: 1, MinDiversity: 2,
			Violations: []model.Violation{model.ViolationBelowMinDiversity}},
		Time: decisionTime,
	}
	body, err := json.Marshal(dm)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.Message{ID: "m-" + id, GroupID: "u-1", Body: body}
}
