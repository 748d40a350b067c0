package graph

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/credres/credres/pkg/graph/graphtest"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/synth"
)

// fixture is a client and the fake Graph it talks to, sharing a fake clock.
type fixture struct {
	clk *graphtest.Clock
	srv *graphtest.Server
	c   *Client
}

func newFixture(t testing.TB, dir *model.Directory, configure func(*Config), opts ...graphtest.Option) *fixture {
	t.Helper()
	clk := graphtest.NewClock(time.Time{})
	srv := graphtest.NewServer(t, dir, append([]graphtest.Option{graphtest.WithClock(clk), graphtest.WithToken("t")}, opts...)...)
	cfg := Config{BaseURL: srv.URL(), Token: "t", TenantID: dir.Tenant.ID, Clock: clk, Pacer: NewPacer(clk, nil)}
	if configure != nil {
		configure(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{clk: clk, srv: srv, c: c}
}

// waitForCallers yields until n callers wait for reads. It polls without
// sleeping: the callers are goroutines about to block.
func (f *fixture) waitForCallers(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for f.c.waiting.Load() < int64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers waiting, want %d", f.c.waiting.Load(), n)
		}
		runtime.Gosched()
	}
}

func TestConcurrentReadsOfOneUserCoalesce(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(3, 5)
	f := newFixture(t, dir, func(c *Config) { c.SkipRegistrationDetails = true })
	release := f.srv.Hold()

	// A first read goes out and is held at the server ...
	first := make(chan error, 1)
	go func() { _, err := f.c.User(context.Background(), dir.Users[0].ID); first <- err }()
	f.waitForCallers(t, 1)
	// ... while ten handlers ask for another user, by id and by name.
	const n = 10
	var wg sync.WaitGroup
	got := make([]model.User, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := dir.Users[1].ID
			if i%2 == 1 {
				key = dir.Users[1].UserPrincipalName
			}
			got[i], errs[i] = f.c.User(context.Background(), key)
		}()
	}
	f.waitForCallers(t, 1+n)
	release()
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil || got[i].ID != dir.Users[1].ID {
			t.Fatalf("caller %d: %v %s", i, errs[i], got[i].ID)
		}
	}
	// Object id and principal name are different keys: two reads of user 1
	// at most, never ten.
	reads := 0
	for _, it := range f.srv.Items() {
		if it.Class == graphtest.ClassAuthReports && len(it.URL) > 7 && it.URL[:7] == "/users/" {
			reads++
		}
	}
	if reads != 3 {
		t.Errorf("%d method reads, want 3 (user 0 once, user 1 by id once and by name once)", reads)
	}
	if n := len(f.srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2: the held one and one batch for everyone else", n)
	}
}

func TestCallerWhoGivesUpIsDroppedBeforeSending(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(3, 5)
	f := newFixture(t, dir, nil)
	release := f.srv.Hold()
	done := make(chan error, 1)
	go func() { _, err := f.c.User(context.Background(), dir.Users[0].ID); done <- err }()
	f.waitForCallers(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := f.c.User(ctx, dir.Users[2].ID); gaveUp <- err }()
	f.waitForCallers(t, 2)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, it := range f.srv.Items() {
		if it.URL == "/users/"+dir.Users[2].ID+"/authentication/methods" {
			t.Errorf("the abandoned read was sent")
		}
	}
}
