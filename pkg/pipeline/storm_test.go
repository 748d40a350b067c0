package pipeline_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

// The storm: 2 000 users and 10 000 events by default; the figures of
// docs/DEPLOY.md come from
//
//	go test -run TestEventStormDrainsAtTheBudget -v ./pkg/pipeline/ -args -storm.users=20000 -storm.events=100000
var (
	stormUsers  = flag.Int("storm.users", 2000, "users of the event storm's tenant")
	stormEvents = flag.Int("storm.events", 10000, "audit events of the storm")
)

// A storm of audit events (a bulk registration push: every user registers
// and changes methods several times) drains at the budget's pace: no
// request is throttled, each user is read once however many events name
// them and however the queue batches them, and the time it takes is
// compared with the budget's floor (one unit per user, the registration
// rows kept by the sweep, at the evaluators' 4 units per 10 s).
func TestEventStormDrainsAtTheBudget(t *testing.T) {
	users, events := *stormUsers, *stormEvents
	clk := graphtest.NewClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	srv := graphtest.NewServer(t, nil, graphtest.WithClock(clk), graphtest.WithToken("t"), graphtest.WithLargeTenant(users, scaleUser))
	// The evaluators' share of the budget (2 processes at 2/10s), as one
	// process; the sweep's share is its own.
	newClient := func(per int) *graph.Client {
		limits := map[graph.Class]graph.Limit{graph.ClassAuthReports: {Requests: per, Per: 10 * time.Second}}
		c, err := graph.New(context.Background(), graph.Config{BaseURL: srv.URL(), TenantID: "storm", Token: "t", Clock: clk, Pacer: graph.NewPacer(clk, limits)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	db := openState(t, clk.Now)
	ctx := zerolog.Nop().WithContext(context.Background())
	sw := &pipeline.Sweep{Pages: newClient(1), Checkpoints: db, Store: db, Queue: queue.NewMemory(), Now: clk.Now, RegistrationCache: db}
	if stats, err := sw.Run(ctx, pipeline.SweepOptions{Baseline: true}); err != nil || !stats.Done {
		t.Fatalf("the daily sweep: %+v, %v", stats, err)
	}

	// The storm: events for random users, each user named at least once,
	// logged in the hour before the evaluators get to them and at least 2
	// minutes before (audit records reach Event Hubs minutes after the
	// change). An event within CoverLag of a user's read would have that
	// user read once more.
	rng := rand.New(rand.NewPCG(13, 1))
	msgs := make([]pipeline.Message, events)
	for i := range msgs {
		u := i % users
		if i >= users {
			u = rng.IntN(users)
		}
		at := clk.Now().Add(-2*time.Minute - time.Duration(rng.IntN(3480))*time.Second)
		body, _ := json.Marshal(model.EvaluationRequest{UserID: graphtest.LargeUserID(u), Reason: model.ReasonAudit,
			AuditID: fmt.Sprint("storm-", i), Activity: "User registered security info", Time: at})
		msgs[i] = pipeline.Message{ID: fmt.Sprint("m", i), GroupID: graphtest.LargeUserID(u), Body: body}
	}
	rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })

	ev := &pipeline.Evaluate{Users: newClient(4), Store: db, Engine: rules.New(nil), Tenant: model.Tenant{PasswordAuth: model.PasswordCloud},
		Nudges: queue.NewMemory(), Tickets: queue.NewMemory(), Now: clk.Now, RegistrationCache: db, Observed: db}
	left := &remaining{n: len(msgs)}
	ev.Drain = &pipeline.DrainGauge{Queue: left, UnitsPerHour: 1440}
	skip := len(srv.Requests())
	start, wall := clk.Now(), time.Now()
	covered := 0
	var marks []time.Time
	var estimates []float64
	for i := 0; i < len(msgs); i += 10 {
		if q := len(msgs) / 4; i%q < 10 && i < len(msgs)-10 {
			_, h, _ := ev.Drain.Estimate(ctx)
			marks, estimates = append(marks, clk.Now()), append(estimates, h)
		}
		left.n = len(msgs) - i
		outcomes, failures := ev.Handle(ctx, msgs[i:min(i+10, len(msgs))])
		if len(failures) > 0 {
			t.Fatalf("batch at %d: %+v", i, failures[0])
		}
		for _, o := range outcomes {
			if o.Covered {
				covered++
			}
		}
	}
	took := clk.Now().Sub(start)

	reads := map[string]int{}
	throttled, units := 0, 0
	for _, r := range srv.Requests()[skip:] {
		for _, it := range r.Items {
			if it.Status == 429 {
				throttled++
			}
			if it.Class == graphtest.ClassAuthReports {
				units++
			}
			if p := strings.SplitN(it.URL, "?", 2)[0]; strings.HasSuffix(p, "/authentication/methods") {
				reads[strings.Split(p, "/")[2]]++
			}
		}
	}
	if throttled > 0 {
		t.Errorf("%d requests throttled, want none", throttled)
	}
	if len(reads) != users {
		t.Errorf("%d users read, want all %d", len(reads), users)
	}
	for id, n := range reads {
		if n > 1 {
			t.Fatalf("user %s read %d times in the storm, want once", id, n)
		}
	}
	for i, at := range marks {
		t.Logf("| after %d%% of the messages | estimated drain %.2f h | actual %.2f h |", 25*i, estimates[i], clk.Now().Sub(at).Hours())
	}
	floor := time.Duration(users) * 10 * time.Second / 4
	t.Logf("| %d events over %d users | %d deep reads (%d user batches covered by an earlier read) | %d budget units | %d throttled | drained in %s (%.2f h) | floor %s (%.2f h) | ratio %.3f | wall %s |",
		events, users, len(reads), covered, units, throttled, took, took.Hours(), floor, floor.Hours(), took.Hours()/floor.Hours(), time.Since(wall).Round(time.Second))
}

// remaining is the storm's queue depth: the messages not yet handled.
type remaining struct{ n int }

func (r *remaining) Depth(context.Context) (int, error) { return r.n, nil }

// countingReader counts the users read.
type countingReader struct {
	methodsReader
	reads int
}

func (r *countingReader) ReadUsers(ctx context.Context, ids []string) []model.UserResult {
	r.reads += len(ids)
	return r.methodsReader.ReadUsers(ctx, ids)
}

// Only audit events that happened before the user's last read (by
// CoverLag) are covered by it; a later event, or a request of another
// reason (a sweep, a policy change), is read.
func TestEvaluateSkipsOnlyAuditEventsCoveredByAnEarlierRead(t *testing.T) {
	read := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	fs, err := store.OpenFileStore(t.TempDir(), func() time.Time { return read })
	if err != nil {
		t.Fatal(err)
	}
	u := &model.User{ID: "u-1", UserPrincipalName: "u1@contoso.example"}
	r := &countingReader{methodsReader: methodsReader{u}}
	ev := &pipeline.Evaluate{Users: r, Store: fs, Engine: rules.New(nil), Tenant: model.Tenant{PasswordAuth: model.PasswordCloud},
		Nudges: queue.NewMemory(), Tickets: queue.NewMemory(), Now: func() time.Time { return read }, Observed: fs}
	handle := func(reqs ...model.EvaluationRequest) []pipeline.Outcome {
		var msgs []pipeline.Message
		for i, req := range reqs {
			body, _ := json.Marshal(req)
			msgs = append(msgs, pipeline.Message{ID: fmt.Sprint("m", i), GroupID: req.UserID, Body: body})
		}
		out, failures := ev.Handle(context.Background(), msgs)
		if len(failures) > 0 {
			t.Fatal(failures)
		}
		return out
	}
	audit := func(at time.Time) model.EvaluationRequest {
		return model.EvaluationRequest{UserID: "u-1", Reason: model.ReasonAudit, AuditID: at.String(), Time: at}
	}
	handle(audit(read.Add(-time.Hour))) // the first read, at read
	for _, c := range []struct {
		name    string
		reqs    []model.EvaluationRequest
		covered bool
	}{
		{"events before the read", []model.EvaluationRequest{audit(read.Add(-time.Hour)), audit(read.Add(-pipeline.CoverLag))}, true},
		{"an event within CoverLag of the read", []model.EvaluationRequest{audit(read.Add(-time.Hour)), audit(read.Add(-time.Second))}, false},
		{"a sweep", []model.EvaluationRequest{audit(read.Add(-time.Hour)), {UserID: "u-1", Reason: model.ReasonSweep, Time: read.Add(-time.Hour)}}, false},
	} {
		before := r.reads
		out := handle(c.reqs...)
		if got := len(out) == 1 && out[0].Covered; got != c.covered || (r.reads == before) != c.covered {
			t.Errorf("%s: covered %v with %d reads, want covered %v", c.name, got, r.reads-before, c.covered)
		}
	}
}
