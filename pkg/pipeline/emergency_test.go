package pipeline_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
)

// The sample tenant's emergency access group: breakglass01 and
// breakglass02, each with two FIDO2 keys of its own model.
const (
	breakGlassGroup = "5d0f3c2a-9e8b-4c7d-a6f5-e4d3c2b1a0f9"
	breakGlass02    = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a28"
	otherKeyModel   = "ee882879-721c-4913-9775-3dfcce97072a" // breakglass01's
)

// recordingTickets keeps the ticket events a destination received.
type recordingTickets struct{ recs []model.TicketRecord }

func (r *recordingTickets) SendTicket(_ context.Context, _ model.DecisionMessage, rec model.TicketRecord) error {
	r.recs = append(r.recs, rec)
	return nil
}

func (r *recordingTickets) actions() string {
	var out []string
	for _, rec := range r.recs {
		out = append(out, rec.Action)
	}
	return strings.Join(out, ",")
}

// emergencyRig is the deployment's emergency access path end to end: the
// fake Graph serving the sample tenant (its group, accounts and methods),
// a Graph client, DynamoDB Local for the state and claims, the ticket
// queue in memory, and the ticket stage routing to a helpdesk and a
// security team destination.
type emergencyRig struct {
	srv      *graphtest.Server
	sweep    *pipeline.Sweep
	tickets  *queue.Memory
	stage    *pipeline.TicketStage
	helpdesk *recordingTickets
	security *recordingTickets
	clk      *graphtest.Clock
	logs     *bytes.Buffer
	ctx      context.Context
	keys     []model.Method // breakglass02's keys as the sample has them
}

func newEmergencyRig(t *testing.T, security bool) *emergencyRig {
	t.Helper()
	dir := tenant(t)
	clk := graphtest.NewClock(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC))
	srv := graphtest.NewServer(t, dir, graphtest.WithClock(clk), graphtest.WithToken("t"), graphtest.WithListPageSize(1))
	c, err := graph.New(context.Background(), graph.Config{BaseURL: srv.URL(), TenantID: dir.Tenant.ID, Token: "t", Clock: clk,
		Pacer: graph.NewPacer(clk, nil), PasswordAuth: dir.Tenant.PasswordAuth, PHSFallback: dir.Tenant.PHSFallback})
	if err != nil {
		t.Fatal(err)
	}
	policy := rules.DefaultPolicy()
	policy.EmergencyAccessGroups = []string{breakGlassGroup}
	engine := rules.New(policy)
	db := openState(t, clk.Now)
	r := &emergencyRig{srv: srv, tickets: queue.NewMemory(), helpdesk: &recordingTickets{}, clk: clk, logs: &bytes.Buffer{}}
	r.ctx = zerolog.New(r.logs).WithContext(context.Background())
	router := &pipeline.TicketRouter{Helpdesk: r.helpdesk}
	if security {
		r.security = &recordingTickets{}
		router.Security = r.security
	}
	render, err := notify.NewRenderer(policy.Nudges, "")
	if err != nil {
		t.Fatal(err)
	}
	r.stage = &pipeline.TicketStage{Store: db, Sender: router, Render: render, Now: clk.Now}
	r.sweep = &pipeline.Sweep{Registrations: registrations{}, Store: db, Queue: queue.NewMemory(), Now: clk.Now,
		Emergency: &pipeline.EmergencyAccess{Groups: c, Users: c, Store: db, Engine: engine, Tenant: dir.Tenant,
			Tickets: r.tickets, Now: clk.Now}}
	for _, u := range dir.Users {
		if u.ID == breakGlass02 {
			for _, m := range u.Methods {
				if m.Kind == model.KindFIDO2 {
					r.keys = append(r.keys, m)
				}
			}
		}
	}
	return r
}

// keysOf gives breakglass02 keys of model aaguid.
func (r *emergencyRig) keysOf(t *testing.T, aaguid string) {
	t.Helper()
	u := tenant(t).Users
	for i := range u {
		if u[i].ID != breakGlass02 {
			continue
		}
		for j := range u[i].Methods {
			if u[i].Methods[j].Kind == model.KindFIDO2 {
				u[i].Methods[j].AAGUID = aaguid
				u[i].Methods[j].Raw = nil // written again from the fields
			}
		}
		r.srv.SetUser(u[i])
	}
}

// run sweeps once and delivers what the ticket queue got.
func (r *emergencyRig) run(t *testing.T) pipeline.EmergencyStats {
	t.Helper()
	r.clk.Advance(24 * time.Hour)
	stats, err := r.sweep.Run(r.ctx, pipeline.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.EmergencyAccess == nil || stats.EmergencyAccess.Error != "" {
		t.Fatalf("the set was not judged: %+v", stats.EmergencyAccess)
	}
	if failures := r.stage.Handle(r.ctx, r.tickets.Receive(0)); len(failures) > 0 {
		t.Fatalf("delivery failures: %+v", failures)
	}
	return *stats.EmergencyAccess
}

// The running pipeline judges the emergency access accounts as a set: a
// set that falls below its tier's minimum (both accounts' keys of one
// model) opens one ticket at the security team's destination, which is not
// opened again while the set stays below and is resolved when the set is
// back; the helpdesk never hears of it.
func TestEmergencyAccessSetInThePipeline(t *testing.T) {
	r := newEmergencyRig(t, true)
	if st := r.run(t); st.Accounts != 2 || st.Diversity != 2 || !st.Compliant || st.Decision != string(model.DecisionNone) {
		t.Fatalf("the sample's set: %+v, want two accounts, diversity 2, compliant, no decision", st)
	}
	r.keysOf(t, otherKeyModel)
	if st := r.run(t); st.Diversity != 1 || st.Compliant || st.Decision != string(model.DecisionTicket) {
		t.Fatalf("keys of one model: %+v, want diversity 1 and a ticket", st)
	}
	if got := r.security.actions(); got != "opened" {
		t.Fatalf("security team's destination: %q, want one ticket opened", got)
	}
	rec := r.security.recs[0]
	if !rec.AdminOnly || rec.UserID != rules.EmergencyAccessUser || rec.Tier != "emergency-access" || rec.Diversity != 1 ||
		!strings.Contains(strings.Join(rec.Reasons, " "), "the 2 emergency access accounts") {
		t.Errorf("ticket %+v", rec)
	}
	t.Logf("the security team's ticket: %s\n%s", rec.Title, rec.Description)
	if rec.Title != "Emergency access accounts below policy as a set: diversity 1 of 2" ||
		!strings.Contains(rec.Description, "Every path of every account depends on: security-key-model/"+otherKeyModel) ||
		strings.Contains(rec.Description, "password hash") {
		t.Errorf("the security team's ticket reads:\n%s\n%s", rec.Title, rec.Description)
	}
	if st := r.run(t); st.Decision != string(model.DecisionNone) || len(r.security.recs) != 1 {
		t.Fatalf("still below: %+v, %d tickets; want no new ticket", st, len(r.security.recs))
	}
	r.keysOf(t, "cb69481e-8ff7-4039-93ec-0a2729a154a8")
	if st := r.run(t); !st.Compliant || st.Decision != string(model.DecisionResolve) {
		t.Fatalf("back: %+v, want a resolve", st)
	}
	if got := r.security.actions(); got != "opened,resolved" || r.security.recs[1].TicketID != rec.TicketID {
		t.Errorf("security team's destination: %q, want the same ticket resolved", got)
	} else if title := r.security.recs[1].Title; title != "Resolved: the emergency access accounts are back within policy" {
		t.Errorf("resolved as %q", title)
	}
	if len(r.helpdesk.recs) != 0 {
		t.Errorf("the helpdesk got %d ticket events", len(r.helpdesk.recs))
	}
	// Each run read the group one page per member (page size 1, two
	// members, and the page that says there is no more is the second).
	pages := 0
	for _, it := range r.srv.Items() {
		if strings.HasPrefix(it.URL, "/groups/"+breakGlassGroup+"/transitiveMembers/microsoft.graph.user") {
			pages++
			if it.Class != string(graph.ClassDirectory) {
				t.Errorf("%s in class %s", it.URL, it.Class)
			}
		}
	}
	if pages != 4*2 {
		t.Errorf("%d group pages read in 4 runs, want 8", pages)
	}
}

// Without a security team's destination the set's ticket goes to the
// helpdesk, adminOnly, and the deployment says so once.
func TestEmergencyAccessTicketFallsBackToTheHelpdesk(t *testing.T) {
	r := newEmergencyRig(t, false)
	r.keysOf(t, otherKeyModel)
	r.run(t)
	r.keysOf(t, "cb69481e-8ff7-4039-93ec-0a2729a154a8")
	r.run(t)
	if got := r.helpdesk.actions(); got != "opened,resolved" || !r.helpdesk.recs[0].AdminOnly {
		t.Fatalf("helpdesk: %q (%+v), want the set's ticket opened and resolved, adminOnly", got, r.helpdesk.recs)
	}
	if n := strings.Count(r.logs.String(), "no security team's ticket destination is configured"); n != 1 {
		t.Errorf("said %d times that there is no security team's destination, want once:\n%s", n, r.logs)
	}
}

// A set that cannot be read whole is not judged (an account left out
// would open a false ticket), and the sweep goes on; a policy without an
// emergency access group judges nothing.
func TestEmergencyAccessSetUnreadableIsNotJudged(t *testing.T) {
	r := newEmergencyRig(t, true)
	r.srv.Fail(50, 500, 0)
	r.clk.Advance(time.Hour)
	stats, err := r.sweep.Run(r.ctx, pipeline.SweepOptions{})
	if err != nil {
		t.Fatalf("the sweep failed with the set: %v", err)
	}
	if ea := stats.EmergencyAccess; ea == nil || ea.Error == "" || ea.Decision != "" || r.tickets.Len() != 0 {
		t.Fatalf("unreadable set: %+v, %d decisions", ea, r.tickets.Len())
	}
	if _, at, _ := r.sweep.Emergency.Store.LoadEmergencySet(r.ctx); !at.IsZero() {
		t.Errorf("an unjudged set was stored")
	}
	r.sweep.Emergency.Engine = rules.New(nil)
	st, err := r.sweep.Emergency.Run(r.ctx)
	if err != nil || st.Skipped == "" {
		t.Errorf("no group: %+v %v, want skipped", st, err)
	}
	if stats, _ := r.sweep.Run(r.ctx, pipeline.SweepOptions{PolicyChangesOnly: true}); stats.EmergencyAccess == nil || stats.EmergencyAccess.Skipped == "" {
		t.Errorf("a policy-changes run without a group: %+v, want the set skipped", stats.EmergencyAccess)
	}
}

// The 15-minute policy-change runs judge the set too: when a break-glass
// account's key is replaced by one of the other account's model, the set
// is ticketed at the next of them, not at the next daily sweep, and the
// ticket is not opened again at the runs after.
func TestEmergencyAccessSetJudgedAtPolicyChangeRuns(t *testing.T) {
	r := newEmergencyRig(t, true)
	if st := r.run(t); !st.Compliant {
		t.Fatalf("the sample's set: %+v, want compliant", st)
	}
	r.keysOf(t, otherKeyModel)
	for range 2 {
		r.clk.Advance(15 * time.Minute)
		stats, err := r.sweep.Run(r.ctx, pipeline.SweepOptions{PolicyChangesOnly: true})
		if err != nil || stats.EmergencyAccess == nil || stats.EmergencyAccess.Error != "" || stats.Users != 0 {
			t.Fatalf("policy-change run: %+v %v, want the set judged and no user walked", stats, err)
		}
		if failures := r.stage.Handle(r.ctx, r.tickets.Receive(0)); len(failures) > 0 {
			t.Fatalf("delivery failures: %+v", failures)
		}
	}
	if got := r.security.actions(); got != "opened" {
		t.Fatalf("security team: %q, want the set's ticket opened once by the policy-change runs", got)
	}
}

// emptyGroups answers every group with no users, as Graph does for an
// empty group.
type emptyGroups struct{}

func (emptyGroups) GroupUsers(context.Context, string) ([]string, error) { return []string{}, nil }

// Groups that hold no account of the emergency access tier leave the
// tenant without emergency access: a set of none, diversity 0, ticketed;
// an account deleted since the group was read is left out of the set.
func TestEmergencyAccessSetOfNone(t *testing.T) {
	r := newEmergencyRig(t, true)
	r.srv.DeleteUser(breakGlass02)
	if st := r.run(t); st.Accounts != 1 || st.Diversity != 1 || st.Decision != string(model.DecisionTicket) {
		t.Fatalf("one account left: %+v, want a set of one, diversity 1, ticketed", st)
	}
	groups := r.sweep.Emergency.Groups
	r.sweep.Emergency.Groups = emptyGroups{}
	if st := r.run(t); st.Accounts != 0 || st.Diversity != 0 || st.Compliant || st.Decision != string(model.DecisionTicket) {
		t.Fatalf("empty groups: %+v, want a set of none, diversity 0, ticketed again (worse)", st)
	}
	if n := len(r.security.recs); n != 2 || !strings.Contains(r.security.recs[1].Description, "No account of the set has a sign-in path") {
		t.Errorf("%d tickets; the last reads:\n%s", n, r.security.recs[n-1].Description)
	}
	r.sweep.Emergency.Groups = groups
	r.srv.DeleteUser("0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a27")
	r.sweep.Emergency.Engine.Policy().EmergencyAccessGroups = []string{"5e1f0000-0000-4000-8000-00000000ea01"}
	// No user is in the new group: Graph answers 404, and the set is
	// not judged rather than judged empty.
	r.clk.Advance(time.Hour)
	stats, _ := r.sweep.Run(r.ctx, pipeline.SweepOptions{})
	if ea := stats.EmergencyAccess; ea == nil || !strings.Contains(ea.Error, "5e1f0000-0000-4000-8000-00000000ea01") {
		t.Fatalf("an unknown group: %+v, want an error naming it", ea)
	}
}
