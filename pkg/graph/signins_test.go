package graph_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/entralog"
)

// signInRecords are n Graph signIn objects, one an hour back from end, of
// 40 users in turn.
func signInRecords(n int, end time.Time) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		at := end.Add(-time.Duration(i) * time.Hour).UTC().Format(time.RFC3339)
		out[i] = json.RawMessage(fmt.Sprintf(`{"id":"si-%d","createdDateTime":%q,"userId":"0b8a1d6e-3c1f-4a5e-9a77-%012d","appId":"00000006-0000-0ff1-ce00-000000000000","isInteractive":true,`+
			`"authenticationDetails":[{"authenticationStepDateTime":%q,"authenticationMethod":"Password","succeeded":true},`+
			`{"authenticationStepDateTime":%q,"authenticationMethod":"Mobile app notification","authenticationMethodDetail":"iPhone 15","succeeded":true}]}`,
			i, at, i%40, at, at))
	}
	return out
}

// SignIns reads every sign-in since the time given, once, page by page,
// within the reports budget, and goes on after a throttled page.
func TestSignInsArePagedWithinTheReportsBudget(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, nil, nil, graphtest.WithSignIns(signInRecords(2000, end)))
	e.srv.Throttle(1, 3*time.Second)
	since := end.Add(-1499 * time.Hour) // the 1 500 newest
	seen := map[string]bool{}
	pages := 0
	last := end.Add(time.Hour)
	err := e.c.SignIns(e.ctx, since, nil, func(body []byte) error {
		pages++
		b, err := entralog.Parse(body)
		if err != nil {
			return err
		}
		for _, si := range b.SignIns {
			if seen[si.ID] {
				t.Errorf("%s read twice", si.ID)
			}
			seen[si.ID] = true
			if si.Time.Before(since) || si.Time.After(last) {
				t.Errorf("%s at %s: before the time asked or out of order", si.ID, si.Time)
			}
			last = si.Time
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1500 || pages != 15 {
		t.Errorf("%d sign-ins in %d pages, want 1 500 in 15 (pages of 100)", len(seen), pages)
	}
	if over := e.srv.OverBudget(); len(over) > 0 {
		t.Errorf("server refused %d requests over budget", len(over))
	}
	if m := e.srv.MaxInWindow(graphtest.ClassAuthReports, 10*time.Second); m > 5 {
		t.Errorf("%d reports-budget requests within 10 s, budget is 5", m)
	}
	reqs := e.srv.Requests()
	if len(reqs) != 16 { // 15 pages and the throttled first try
		t.Errorf("%d requests, want 16", len(reqs))
	}
	if !strings.Contains(reqs[0].Items[0].URL, "createdDateTime+ge+2026-") && !strings.Contains(reqs[0].Items[0].URL, "createdDateTime%20ge%202026-") {
		t.Errorf("first request %s has no createdDateTime filter", reqs[0].Items[0].URL)
	}
}

// An error of the page function ends the read.
func TestSignInsStopAtThePagesError(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, nil, nil, graphtest.WithSignIns(signInRecords(300, end)))
	stop := fmt.Errorf("stop")
	pages := 0
	err := e.c.SignIns(e.ctx, end.Add(-1000*time.Hour), nil, func([]byte) error { pages++; return stop })
	if err != stop || pages != 1 || len(e.srv.Requests()) != 1 {
		t.Errorf("err %v after %d pages and %d requests", err, pages, len(e.srv.Requests()))
	}
}

// With user ids, each user's sign-ins are read with a query of their own.
func TestSignInsOfSomeUsers(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, nil, nil, graphtest.WithSignIns(signInRecords(400, end)))
	users := []string{"0b8a1d6e-3c1f-4a5e-9a77-000000000003", "0b8a1d6e-3c1f-4a5e-9a77-000000000017"}
	n := 0
	err := e.c.SignIns(e.ctx, end.Add(-200*time.Hour), users, func(body []byte) error {
		b, err := entralog.Parse(body)
		for _, si := range b.SignIns {
			if si.UserID != users[0] && si.UserID != users[1] {
				t.Errorf("a sign-in of %s", si.UserID)
			}
		}
		n += len(b.SignIns)
		return err
	})
	// Users 3 and 17 of 40 sign in every 40 hours: 5 times each in 200 hours.
	if err != nil || n != 10 {
		t.Errorf("%d sign-ins, err %v; want 10", n, err)
	}
	if err := e.c.SignIns(e.ctx, end, []string{"x' or true or '"}, func([]byte) error { return nil }); err == nil {
		t.Error("a user id that is not an object id reached the filter")
	}
}
