package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/model"
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

// inProcess carries a client's requests to the fake Graph's handler in
// the calling goroutine, with no socket: in a testing/synctest bubble, a
// request the server holds then counts as blocked.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	res := rec.Result()
	res.Request = r
	return res, nil
}

// bubbleClient returns a client of srv made in the calling synctest bubble:
// its pacer, back-off and flush goroutine run on the bubble's clock, and
// synctest.Wait returns once every caller waits for its read.
func bubbleClient(t *testing.T, srv *graphtest.Server, dir *model.Directory, configure func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: srv.URL(), Token: "t", TenantID: dir.Tenant.ID, Transport: inProcess{srv.Handler()}}
	if configure != nil {
		configure(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConcurrentReadsOfOneUserCoalesce(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(3, 5)
	// The server is made outside the bubble: its listener's goroutine is
	// not the bubble's.
	srv := graphtest.NewServer(t, dir, graphtest.WithToken("t"))
	synctest.Test(t, func(t *testing.T) {
		c := bubbleClient(t, srv, dir, func(c *Config) { c.SkipRegistrationDetails = true })
		release := srv.Hold()

		// A first read goes out and is held at the server ...
		first := make(chan error, 1)
		go func() { _, err := c.User(context.Background(), dir.Users[0].ID); first <- err }()
		synctest.Wait()
		// ... while ten handlers ask for another user, by id and by name.
		const n = 10
		var wg sync.WaitGroup
		got := make([]model.User, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				key := dir.Users[1].ID
				if i%2 == 1 {
					key = dir.Users[1].UserPrincipalName
				}
				got[i], errs[i] = c.User(context.Background(), key)
			})
		}
		synctest.Wait()
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
	})
	// Object id and principal name are different keys: two reads of user 1
	// at most, never ten.
	reads := 0
	for _, it := range srv.Items() {
		if it.Class == graphtest.ClassAuthReports && len(it.URL) > 7 && it.URL[:7] == "/users/" {
			reads++
		}
	}
	if reads != 3 {
		t.Errorf("%d method reads, want 3 (user 0 once, user 1 by id once and by name once)", reads)
	}
	// The read by name asks for the eligible roles once the profile gave
	// the object id they are filtered by: one more request.
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3: the held one, one batch for everyone else and the eligible roles of the user read by name", n)
	}
}

func TestCallerWhoGivesUpIsDroppedBeforeSending(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(3, 5)
	srv := graphtest.NewServer(t, dir, graphtest.WithToken("t"))
	synctest.Test(t, func(t *testing.T) {
		c := bubbleClient(t, srv, dir, nil)
		release := srv.Hold()
		done := make(chan error, 1)
		go func() { _, err := c.User(context.Background(), dir.Users[0].ID); done <- err }()
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		gaveUp := make(chan error, 1)
		go func() { _, err := c.User(ctx, dir.Users[2].ID); gaveUp <- err }()
		synctest.Wait()
		cancel()
		if err := <-gaveUp; !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	for _, it := range srv.Items() {
		if it.URL == "/users/"+dir.Users[2].ID+"/authentication/methods" {
			t.Errorf("the abandoned read was sent")
		}
	}
}
