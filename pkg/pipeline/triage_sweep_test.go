package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/pipeline"
)

// In a storm (the backlog's drain estimate over an hour) a scheduled run
// with nothing else to do walks the registration report and keeps its rows,
// enqueueing nobody; walks are an hour apart; a sweep that falls due
// replaces a walk, kept or in progress; without a storm nothing is walked.
func TestStormTriageWalksTheReportWithoutEnqueueing(t *testing.T) {
	const users, page = 2000, 250
	c, srv, clk := scaleGraph(t, users, page)
	db := openState(t, clk.Now)
	q := &countingQueue{counts: make([]uint8, users)}
	backlog := &remaining{n: 10 * 1440}
	sw := &pipeline.Sweep{Pages: c, Checkpoints: db, Store: db, Queue: q, Now: clk.Now, RegistrationCache: db,
		Budget: 13 * time.Minute, Backlog: &pipeline.DrainGauge{Queue: backlog, UnitsPerHour: 1440}}
	ctx := zerolog.Nop().WithContext(context.Background())
	run := func(opt pipeline.SweepOptions) pipeline.SweepStats {
		t.Helper()
		stats, err := sw.Run(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		return stats
	}
	frequent := pipeline.SweepOptions{PolicyChangesOnly: true}

	walk := run(frequent)
	if !walk.Triage || !walk.Done || walk.Users != users || walk.Pages != users/page || q.sends != 0 {
		t.Fatalf("the storm's walk: %+v, %d enqueue calls; want every page read, nobody enqueued", walk, q.sends)
	}
	kept, err := db.FreshRegistrations(ctx, []string{graphtest.LargeUserID(0), graphtest.LargeUserID(users - 1)}, clk.Now().Add(-time.Hour))
	if err != nil || len(kept) != 2 {
		t.Fatalf("kept rows %v, %v; want the first and last user's", kept, err)
	}
	clk.Advance(15 * time.Minute)
	if again := run(frequent); again.Pages != 0 {
		t.Errorf("a run 15 minutes after the walk: %+v; want nothing before an hour", again)
	}
	clk.Advance(time.Hour)
	sw.Budget = 30 * time.Second // a walk in progress when the daily sweep comes
	if next := run(frequent); !next.Triage || next.Done || next.Pages == 0 {
		t.Fatalf("a run an hour after the walk: %+v; want a new walk, unfinished", next)
	}
	sw.Budget = 13 * time.Minute
	daily := run(pipeline.SweepOptions{Baseline: true})
	if daily.Triage || !daily.Done || daily.Enqueued != users {
		t.Errorf("the daily sweep during a walk: %+v; want it to replace the walk and enqueue everyone", daily)
	}
	backlog.n = 1440
	clk.Advance(2 * time.Hour)
	before := len(srv.Requests())
	if calm := run(frequent); calm.Pages != 0 || len(srv.Requests()) != before {
		t.Errorf("a run with an hour's backlog: %+v; want nothing read", calm)
	}
}
