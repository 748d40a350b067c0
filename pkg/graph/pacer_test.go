package graph

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/model"
)

func one(c Class) map[Class]int { return map[Class]int{c: 1} }

func mustAcquire(t *testing.T, p *Pacer, need map[Class]int) *Grant {
	t.Helper()
	g, err := p.Acquire(context.Background(), need)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestPacerWaitsOneWindowAfterTheFifthResponse(t *testing.T) {
	t.Parallel()
	clk := graphtest.NewClock(time.Time{})
	p := NewPacer(clk, nil)
	t0 := clk.Now()
	for i := range 5 {
		g := mustAcquire(t, p, one(ClassAuthReports))
		clk.Advance(time.Second) // each response takes a second
		g.Done()
		if i == 0 && p.Available(ClassAuthReports) != 4 {
			t.Errorf("available %d after one request, want 4", p.Available(ClassAuthReports))
		}
	}
	if n := p.Available(ClassAuthReports); n != 0 {
		t.Fatalf("available %d, want 0", n)
	}
	mustAcquire(t, p, one(ClassAuthReports)).Done()
	// The first response arrived at t0+1s; it stops counting at t0+11s.
	if got := clk.Now().Sub(t0); got != 11*time.Second {
		t.Errorf("sixth request granted at +%s, want +11s", got)
	}
}

func TestPacerCountsRequestsInFlightUntilTheirResponse(t *testing.T) {
	t.Parallel()
	clk := graphtest.NewClock(time.Time{})
	p := NewPacer(clk, nil)
	t0 := clk.Now()
	grants := make([]*Grant, 5)
	for i := range grants {
		grants[i] = mustAcquire(t, p, one(ClassAuthReports))
	}
	granted := make(chan time.Time)
	go func() {
		g, err := p.Acquire(context.Background(), one(ClassAuthReports))
		if err != nil {
			t.Error(err)
		}
		g.Done()
		granted <- clk.Now()
	}()
	clk.Advance(3 * time.Second)
	grants[0].Done() // a response after 3 s: Graph may have counted it at +3s
	if got := (<-granted).Sub(t0); got != 13*time.Second {
		t.Errorf("granted at +%s, want +13s (response + window)", got)
	}
	for _, g := range grants[1:] {
		g.Done()
	}
}

func TestPacerPauseHoldsTheClassOnly(t *testing.T) {
	t.Parallel()
	clk := graphtest.NewClock(time.Time{})
	p := NewPacer(clk, nil)
	t0 := clk.Now()
	p.Pause(ClassAuthReports, t0.Add(2128*time.Millisecond))
	mustAcquire(t, p, one(ClassDirectory)).Done()
	if clk.Now() != t0 {
		t.Error("a pause of one class held another")
	}
	mustAcquire(t, p, one(ClassAuthReports)).Done()
	if got := clk.Now().Sub(t0); got != 2128*time.Millisecond {
		t.Errorf("granted after %s, want the 2.128 s pause", got)
	}
}

func TestPacerFailsFastWhenTheDeadlineIsTooClose(t *testing.T) {
	t.Parallel()
	clk := graphtest.NewClock(time.Time{})
	p := NewPacer(clk, map[Class]Limit{ClassAuthReports: {Requests: 1, Per: 10 * time.Second}})
	mustAcquire(t, p, one(ClassAuthReports)).Done()
	ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(time.Second))
	defer cancel()
	before := clk.Now()
	_, err := p.Acquire(ctx, one(ClassAuthReports))
	if !errors.Is(err, model.ErrThrottled) {
		t.Fatalf("err = %v, want ErrThrottled", err)
	}
	if clk.Now() != before {
		t.Error("waited although the wait could not end before the deadline")
	}
}

func TestPacerRejectsMoreThanTheBudget(t *testing.T) {
	t.Parallel()
	p := NewPacer(graphtest.NewClock(time.Time{}), nil)
	if _, err := p.Acquire(context.Background(), map[Class]int{ClassAuthReports: 6}); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("err = %v, want ErrInvalidInput", err)
	}
}

func TestPacerLimitsConcurrency(t *testing.T) {
	t.Parallel()
	clk := graphtest.NewClock(time.Time{})
	p := NewPacer(clk, nil)
	var grants []*Grant
	for range 4 {
		grants = append(grants, mustAcquire(t, p, one(ClassMail)))
	}
	if n := p.Available(ClassMail); n != 0 {
		t.Fatalf("available %d with 4 mails in flight, want 0", n)
	}
	done := make(chan struct{})
	go func() {
		mustAcquire(t, p, one(ClassMail)).Done()
		close(done)
	}()
	grants[0].Done()
	<-done
	for _, g := range grants[1:] {
		g.Done()
	}
}

func TestPacerWaitEndsWithTheContext(t *testing.T) {
	t.Parallel()
	clk := graphtest.NewClock(time.Time{})
	p := NewPacer(clk, nil)
	var grants []*Grant
	for range 5 {
		grants = append(grants, mustAcquire(t, p, one(ClassAuthReports)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := p.Acquire(ctx, one(ClassAuthReports))
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	for _, g := range grants {
		g.Done()
	}
}
