package pipeline_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
)

// budgetFigures is what evaluating every user of a tenant cost in Graph's
// reports budget.
type budgetFigures struct {
	users, units, requests int
	simulated              time.Duration
	passwordless           map[string]bool
}

// evaluateAll evaluates every user of dir, 10 requests a batch as the
// evaluate function's SQS source delivers them, with Graph paced at the
// evaluate function's share (2 per 10 s). With cache, the sweep first
// walks the report and keeps its rows, and evaluate takes them from there.
func evaluateAll(t *testing.T, dir *model.Directory, cache bool) budgetFigures {
	t.Helper()
	clk := graphtest.NewClock(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC))
	srv := graphtest.NewServer(t, dir, graphtest.WithClock(clk), graphtest.WithToken("t"))
	limits := map[graph.Class]graph.Limit{graph.ClassAuthReports: {Requests: 2, Per: 10 * time.Second}}
	c, err := graph.New(context.Background(), graph.Config{BaseURL: srv.URL(), TenantID: dir.Tenant.ID, Token: "t", Clock: clk,
		Pacer: graph.NewPacer(clk, limits), PasswordAuth: dir.Tenant.PasswordAuth})
	if err != nil {
		t.Fatal(err)
	}
	db := openState(t, clk.Now)
	ctx := zerolog.Nop().WithContext(context.Background())
	ev := &pipeline.Evaluate{Users: c, Store: db, Engine: rules.New(nil), Tenant: dir.Tenant,
		Nudges: queue.NewMemory(), Tickets: queue.NewMemory(), Now: clk.Now}
	if cache {
		sw := &pipeline.Sweep{Pages: c, Checkpoints: db, Store: db, Queue: queue.NewMemory(), Now: clk.Now, RegistrationCache: db}
		if stats, err := sw.Run(ctx, pipeline.SweepOptions{Baseline: true}); err != nil || !stats.Done {
			t.Fatalf("sweep: %+v, %v", stats, err)
		}
		ev.RegistrationCache = db
	}
	skip := len(srv.Requests())
	start := clk.Now()
	f := budgetFigures{users: len(dir.Users), passwordless: map[string]bool{}}
	for i := 0; i < len(dir.Users); i += 10 {
		var msgs []pipeline.Message
		for _, u := range dir.Users[i:min(i+10, len(dir.Users))] {
			body, _ := json.Marshal(model.EvaluationRequest{UserID: u.ID, Reason: model.ReasonAudit, AuditID: "a-" + u.ID, Time: clk.Now()})
			msgs = append(msgs, pipeline.Message{ID: u.ID, GroupID: u.ID, Body: body})
		}
		outcomes, failures := ev.Handle(ctx, msgs)
		if len(failures) > 0 {
			t.Fatalf("batch %d: %+v", i/10, failures)
		}
		for _, o := range outcomes {
			f.passwordless[o.UserID] = o.Assessment.Passwordless
		}
	}
	f.simulated = clk.Now().Sub(start)
	for _, r := range srv.Requests()[skip:] {
		f.requests++
		for _, it := range r.Items {
			if it.Class == graphtest.ClassAuthReports {
				f.units++
			}
			if it.Over {
				t.Errorf("refused as over budget: %s", it.URL)
			}
		}
	}
	return f
}

// The registration rows the sweep keeps halve what an evaluation costs in
// Graph's reports budget: one unit (the methods) instead of two (methods
// and the registration row), with the same assessments, passwordless
// phone sign-in included. The figures are logged (-v) for docs/DEPLOY.md.
func TestKeptRegistrationRowsHalveTheBudgetPerUser(t *testing.T) {
	dir := synth.Tenant(200, 1)
	before := evaluateAll(t, dir, false)
	after := evaluateAll(t, dir, true)
	pl := 0
	for id, p := range before.passwordless {
		if after.passwordless[id] != p {
			t.Errorf("user %s: passwordless %v with a per-user read, %v from the kept row", id, p, after.passwordless[id])
		}
		if p {
			pl++
		}
	}
	if pl == 0 {
		t.Fatalf("no user signs in passwordless: the comparison shows nothing")
	}
	perUser := func(n int, f budgetFigures) float64 { return float64(n) / float64(f.users) }
	if got := perUser(before.units, before); got != 2 {
		t.Errorf("before: %.3f units per user, want 2", got)
	}
	if got := perUser(after.units, after); got != 1 {
		t.Errorf("after: %.3f units per user, want 1", got)
	}
	for _, r := range []struct {
		name string
		f    budgetFigures
	}{{"per-user registration row", before}, {"registration rows kept by the sweep", after}} {
		t.Logf("| %s | %d users (%d passwordless) | %.3f units per user | %.3f HTTP requests per user | simulated %s (%.1f s per user) |",
			r.name, r.f.users, pl, perUser(r.f.units, r.f), perUser(r.f.requests, r.f), r.f.simulated, r.f.simulated.Seconds()/float64(r.f.users))
	}
}
