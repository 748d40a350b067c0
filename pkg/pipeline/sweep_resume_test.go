package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// failingPages reads the report through pages, failing every read after
// the first ok ones until healed.
type failingPages struct {
	pipeline.RegistrationPager
	ok, reads int
	healed    bool
}

func (f *failingPages) RegistrationPage(ctx context.Context, link string) ([]model.Registration, string, error) {
	if f.reads++; !f.healed && f.reads > f.ok {
		return nil, "", errors.New("graph: list registration details: 503 serviceNotAvailable")
	}
	return f.RegistrationPager.RegistrationPage(ctx, link)
}

// A sweep whose invocation fails keeps its cursor; the next invocation
// continues it where it stopped, whatever it was started for, and nobody is
// enqueued twice. While an invocation holds the lease, another does
// nothing; the lease of one that crashed expires.
func TestResumableSweepContinuesAfterFailureAndHoldsOneAtATime(t *testing.T) {
	const users, page = 1000, 100
	c, srv, clk := scaleGraph(t, users, page)
	db := openState(t, clk.Now)
	q := &countingQueue{counts: make([]uint8, users)}
	pages := &failingPages{RegistrationPager: c, ok: 3}
	sw := &pipeline.Sweep{Pages: pages, Checkpoints: db, Store: db, Queue: q, Now: clk.Now, PolicyChanges: db, Budget: 13 * time.Minute}
	ctx := zerolog.Nop().WithContext(context.Background())

	stats, err := sw.Run(ctx, pipeline.SweepOptions{Campaign: true})
	if err == nil || stats.Done || stats.Users != 3*page {
		t.Fatalf("failing run: %+v, %v; want an error after 3 pages", stats, err)
	}
	// Another holds the lease (a run in progress): this one does nothing.
	if _, ok, err := db.AcquireSweep(ctx, "other", clk.Now(), 16*time.Minute); err != nil || !ok {
		t.Fatalf("take the lease: %v %v", ok, err)
	}
	pages.healed = true
	if stats, err := sw.Run(ctx, pipeline.SweepOptions{PolicyChangesOnly: true}); err != nil || !stats.Busy || stats.Users != 0 {
		t.Fatalf("run under another's lease: %+v, %v; want busy", stats, err)
	}
	// The other run crashed: once its lease expires, the sweep goes on.
	clk.Advance(16 * time.Minute)
	stats, err = sw.Run(ctx, pipeline.SweepOptions{PolicyChangesOnly: true})
	if err != nil || !stats.Done || stats.Users != users || stats.Enqueued != users || stats.Invocations != 2 {
		t.Fatalf("continued run: %+v, %v; want every user, in 2 invocations", stats, err)
	}
	for i, n := range q.counts {
		if n != 1 {
			t.Fatalf("user %d enqueued %d times", i, n)
		}
	}
	if over := srv.OverBudget(); len(over) > 0 {
		t.Errorf("%d requests over budget", len(over))
	}
}
