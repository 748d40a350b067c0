package notify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/notifytest"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
)

// faulty is a fake that can be told to fail.
type faulty interface {
	Fail(notifytest.Fault)
	Requests() []notifytest.Request
}

// channelUnderTest is one HTTP channel wired to its fake.
type channelUnderTest struct {
	send      func(ctx context.Context) error
	fake      faulty
	delivered func() int
}

// channels builds every HTTP channel against its fake, sharing clock.
var channels = map[string]func(t *testing.T, clock *notifytest.Clock) channelUnderTest{
	"servicenow": func(t *testing.T, clock *notifytest.Clock) channelUnderTest {
		fake := notifytest.NewServiceNow(t, notifytest.ServiceNowCredential{User: snUser, Password: snPassword})
		sn, err := notify.NewServiceNow(notify.ServiceNowConfig{URL: fake.URL(), Secrets: testSecrets, Secret: "sn-basic", Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return channelUnderTest{
			send: func(ctx context.Context) error {
				return sn.SendTicket(ctx, model.DecisionMessage{}, ticket("opened", "CR-0000000001", "d1"))
			},
			fake: fake, delivered: func() int { return len(fake.Incidents()) },
		}
	},
	"jira": func(t *testing.T, clock *notifytest.Clock) channelUnderTest {
		fake := notifytest.NewJira(t, notifytest.JiraSite{Project: "CR", DoneTransition: "31", Email: jiraEmail, APIToken: jiraToken, Clock: clock})
		j, err := notify.NewJira(notify.JiraConfig{URL: fake.URL(), Project: "CR", DoneTransition: "31", Secrets: testSecrets, Secret: "jira", Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return channelUnderTest{
			send: func(ctx context.Context) error {
				return j.SendTicket(ctx, model.DecisionMessage{}, ticket("opened", "CR-0000000001", "d1"))
			},
			fake: fake, delivered: func() int { return len(fake.Issues()) },
		}
	},
	"webhook": func(t *testing.T, clock *notifytest.Clock) channelUnderTest {
		recv := notifytest.NewWebhookReceiver(t, hookSecret)
		w, err := notify.NewWebhook(notify.WebhookConfig{URL: recv.URL(), Secrets: testSecrets, Secret: "hook", Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return channelUnderTest{
			send: func(ctx context.Context) error {
				return w.SendTicket(ctx, model.DecisionMessage{}, ticket("opened", "CR-0000000001", "d1"))
			},
			fake: recv, delivered: func() int { return len(recv.Deliveries()) },
		}
	},
	"teams": func(t *testing.T, clock *notifytest.Clock) channelUnderTest {
		g := notifytest.NewGraph(t, graphToken)
		ts, err := notify.NewTeamsSender(notify.TeamsConfig{GraphURL: g.URL(), Tokens: staticToken(graphToken), Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return channelUnderTest{
			send: func(ctx context.Context) error {
				dm, rec := nudge("teams")
				return ts.SendNudge(ctx, dm, rec)
			},
			fake: g, delivered: func() int { return len(g.Activities()) },
		}
	},
}

func staticToken(tok string) notify.TokenFunc {
	return func(context.Context) (string, error) { return tok, nil }
}

// TestChannelFailures runs every HTTP channel through the failures its
// system documents: each either delivers once after waiting as told, or
// returns an error the stage reports for redelivery (and, after the
// queue's redrive count, dead-letters with its reason).
func TestChannelFailures(t *testing.T) {
	t.Parallel()
	type outcome struct {
		err       error // sentinel the error wraps; nil for success
		contains  string
		requests  int // 0: not checked
		waits     []time.Duration
		delivered int
	}
	cases := []struct {
		name     string
		faults   func(now time.Time) []notifytest.Fault
		deadline time.Duration
		want     outcome
	}{
		{
			name:   "429-waits-retry-after-seconds-then-delivers",
			faults: one(notifytest.Fault{Status: 429, Header: map[string]string{"Retry-After": "7"}}),
			want:   outcome{waits: []time.Duration{7 * time.Second}, delivered: 1},
		},
		{
			name: "429-waits-retry-after-date-then-delivers",
			faults: func(now time.Time) []notifytest.Fault {
				return []notifytest.Fault{{Status: 429, Header: map[string]string{"Retry-After": now.Add(30 * time.Second).UTC().Format(http.TimeFormat)}}}
			},
			want: outcome{waits: []time.Duration{30 * time.Second}, delivered: 1},
		},
		{
			name:   "429-every-time-is-throttled-after-three-attempts",
			faults: one(notifytest.Fault{Status: 429, Header: map[string]string{"Retry-After": "1"}, Times: 3}),
			want: outcome{err: model.ErrThrottled, contains: "429 Too Many Requests", requests: 3,
				waits: []time.Duration{time.Second, time.Second}},
		},
		{
			name:     "429-past-the-deadline-is-left-to-the-queue",
			faults:   one(notifytest.Fault{Status: 429, Header: map[string]string{"Retry-After": "60"}}),
			deadline: 5 * time.Second,
			want:     outcome{err: model.ErrThrottled, contains: "would pass the deadline", requests: 1},
		},
		{
			name:   "429-longer-than-two-minutes-is-left-to-the-queue",
			faults: one(notifytest.Fault{Status: 429, Header: map[string]string{"Retry-After": "3600"}}),
			want:   outcome{err: model.ErrThrottled, contains: "left to the queue", requests: 1},
		},
		{
			name:   "503-backs-off-then-delivers",
			faults: one(notifytest.Fault{Status: 503, Times: 2}),
			want:   outcome{delivered: 1, waits: []time.Duration{-1, -1}},
		},
		{
			name:   "5xx-every-time-fails-after-three-attempts",
			faults: one(notifytest.Fault{Status: 500, Times: 3}),
			want:   outcome{contains: "500 Internal Server Error", requests: 3, waits: []time.Duration{-1, -1}},
		},
		{
			name:   "401-is-credentials-rejected-and-not-retried",
			faults: one(notifytest.Fault{Status: 401}),
			want:   outcome{err: model.ErrInvalidInput, contains: "401 Unauthorized: credentials rejected", requests: 1},
		},
		{
			name:   "403-is-credentials-rejected-and-not-retried",
			faults: one(notifytest.Fault{Status: 403}),
			want:   outcome{err: model.ErrInvalidInput, contains: "403 Forbidden: credentials rejected", requests: 1},
		},
		{
			name:   "400-says-why-and-is-not-retried",
			faults: one(notifytest.Fault{Status: 400}),
			want:   outcome{err: model.ErrInvalidInput, contains: "400 Bad Request: ", requests: 1},
		},
	}
	for chName, build := range channels {
		for _, tc := range cases {
			t.Run(chName+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ctx, logs := logged(t)
				clock := notifytest.NewClock(time.Time{})
				ch := build(t, clock)
				for _, f := range tc.faults(clock.Now()) {
					ch.fake.Fail(f)
				}
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithDeadline(ctx, clock.Now().Add(tc.deadline))
					defer cancel()
				}
				err := ch.send(ctx)
				errClean(t, err)
				w := tc.want
				if chName == "teams" && strings.HasPrefix(tc.name, "5xx-") {
					// Teams retries as sendMail does: a 500 may hide a
					// notification already shown, so it is left to the queue.
					w = outcome{contains: "(outcome unknown: not retried before the queue redelivers)", requests: 1}
				}
				switch {
				case w.err == nil && w.contains == "" && err != nil:
					t.Fatalf("err = %v, want delivery", err)
				case (w.err != nil || w.contains != "") && err == nil:
					t.Fatalf("delivered, want an error")
				case w.err != nil && !errors.Is(err, w.err):
					t.Errorf("err = %v, want it to wrap %v", err, w.err)
				case w.err == nil && err != nil && (errors.Is(err, model.ErrThrottled) || errors.Is(err, model.ErrInvalidInput)):
					t.Errorf("err = %v: a server error is neither throttling nor invalid input", err)
				}
				if err != nil && !strings.Contains(err.Error(), w.contains) {
					t.Errorf("err = %q, want it to say %q", err, w.contains)
				}
				if w.requests > 0 && len(ch.fake.Requests()) != w.requests {
					t.Errorf("%d requests, want %d", len(ch.fake.Requests()), w.requests)
				}
				if got := ch.delivered(); got != w.delivered {
					t.Errorf("delivered %d times, want %d", got, w.delivered)
				}
				waits := clock.Waits()
				if n := strings.Count(logs.String(), "notify: retrying"); n != len(w.waits) {
					t.Errorf("%d retries logged, want %d", n, len(w.waits))
				}
				if len(waits) != len(w.waits) {
					t.Fatalf("waits = %v, want %v", waits, w.waits)
				}
				for i, d := range w.waits {
					if d >= 0 && waits[i] != d {
						t.Errorf("wait %d = %v, want %v", i, waits[i], d)
					}
					if d < 0 && (waits[i] < 500*time.Millisecond || waits[i] > 2*time.Second) {
						t.Errorf("back-off %d = %v, want between 0.5 s and 2 s", i, waits[i])
					}
				}
			})
		}
	}
}

func one(f notifytest.Fault) func(time.Time) []notifytest.Fault {
	return func(time.Time) []notifytest.Fault { return []notifytest.Fault{f} }
}
