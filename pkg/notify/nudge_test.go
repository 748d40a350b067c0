package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/credres/credres/internal/notifytest"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/rules"
)

// fakeMailer records messages, or fails.
type fakeMailer struct {
	sent []graph.Mail
	from []string
	err  error
}

func (f *fakeMailer) SendMail(_ context.Context, from string, m graph.Mail) error {
	if f.err != nil {
		return f.err
	}
	f.from, f.sent = append(f.from, from), append(f.sent, m)
	return nil
}

// fakeNudges records nudges.
type fakeNudges struct{ got []model.Channel }

func (f *fakeNudges) SendNudge(_ context.Context, _ model.DecisionMessage, rec model.NudgeRecord) error {
	f.got = append(f.got, rec.Channel)
	return nil
}

func TestRouterSendsOnTheTiersChannel(t *testing.T) {
	t.Parallel()
	email, teams := &fakeNudges{}, &fakeNudges{}
	cases := []struct {
		name    string
		router  *notify.Router
		channel model.Channel
		want    string // the error's channel name; empty for success
	}{
		{"email-goes-to-mail", &notify.Router{Email: email, Teams: teams}, "email", ""},
		{"teams-goes-to-teams", &notify.Router{Email: email, Teams: teams}, "teams", ""},
		{"teams-unconfigured-is-named", &notify.Router{Email: email}, "teams", `channel "teams" is not configured`},
		{"unknown-channel-is-named", &notify.Router{Email: email, Teams: teams}, "sms", `unknown channel "sms"`},
	}
	for _, tc := range cases {
		dm, rec := nudge(tc.channel)
		err := tc.router.SendNudge(context.Background(), dm, rec)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (!errors.Is(err, model.ErrInvalidInput) || !strings.Contains(fmt.Sprint(err), tc.want)):
			t.Errorf("%s: err = %v, want invalid input naming %s", tc.name, err, tc.want)
		}
	}
	if !slices.Equal(email.got, []model.Channel{model.ChannelEmail}) || !slices.Equal(teams.got, []model.Channel{model.ChannelTeams}) {
		t.Errorf("email got %v, teams got %v", email.got, teams.got)
	}
}

func TestMailSenderAddressesTheUser(t *testing.T) {
	t.Parallel()
	m := &fakeMailer{}
	s, err := notify.NewMailSender(m, "credres@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ := logged(t)
	dm, rec := nudge("email")
	if err := s.SendNudge(ctx, dm, rec); err != nil {
		t.Fatal(err)
	}
	if len(m.sent) != 1 || m.from[0] != "credres@contoso.example" || m.sent[0].To[0] != userMail ||
		m.sent[0].Subject != rec.Subject || m.sent[0].HTML != rec.HTML || m.sent[0].Text != rec.Text {
		t.Errorf("sent %+v from %v", m.sent, m.from)
	}

	noMail := dm
	noMail.User.Mail = ""
	if err := s.SendNudge(ctx, noMail, rec); !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), "user has no mail address") {
		t.Errorf("no address: err = %v", err)
	}
	empty := rec
	empty.Text, empty.HTML = "", ""
	if err := s.SendNudge(ctx, dm, empty); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("no body: err = %v", err)
	}

	m.err = fmt.Errorf("graph: send mail: %w", model.ErrThrottled)
	err = s.SendNudge(ctx, dm, rec)
	if !errors.Is(err, model.ErrThrottled) || !strings.Contains(err.Error(), "to user u-1") || strings.Contains(err.Error(), "@") {
		t.Errorf("failing Graph: err = %v", err)
	}
	errClean(t, err)
	if _, err := notify.NewMailSender(m, " "); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("no sender mailbox: err = %v", err)
	}
}

// TestMailThroughGraphClient sends a rendered nudge through the real Graph
// adapter to a fake Graph that checks the sendMail request.
func TestMailThroughGraphClient(t *testing.T) {
	t.Parallel()
	fake := notifytest.NewGraph(t, graphToken)
	clock := notifytest.NewClock(time.Time{})
	ctx, _ := logged(t)
	client, err := graph.New(ctx, graph.Config{BaseURL: fake.URL(), Token: graphToken, Clock: clock, Pacer: graph.NewPacer(clock, nil)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := notify.NewMailSender(client, "credres@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	dm, rec := nudge("email")
	if err := s.SendNudge(ctx, dm, rec); err != nil {
		t.Fatal(err)
	}
	mail := fake.Mail()
	if len(mail) != 1 {
		t.Fatalf("%d messages, want 1", len(mail))
	}
	if m := mail[0]; m.From != "credres@contoso.example" || len(m.To) != 1 || m.To[0] != userMail ||
		m.Subject != rec.Subject || m.ContentType != "html" && m.ContentType != "HTML" || m.Content != rec.HTML {
		t.Errorf("message = %+v", m)
	}

	fake.Fail(notifytest.Fault{Status: http.StatusForbidden, Body: `{"error":{"code":"ErrorAccessDenied","message":"Access is denied."}}`})
	err = s.SendNudge(ctx, dm, rec)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("403: err = %v", err)
	}
	errClean(t, err)
}

func TestTeamsActivityNotification(t *testing.T) {
	t.Parallel()
	fake := notifytest.NewGraph(t, graphToken)
	clock := notifytest.NewClock(time.Time{})
	ts, err := notify.NewTeamsSender(notify.TeamsConfig{GraphURL: fake.URL(), Tokens: staticToken(graphToken), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ := logged(t)
	dm, rec := nudge("teams")
	rec.Text = "Hello Pat,\n\n" + strings.Repeat("If your phone is lost, broken or out of battery, you cannot sign in. ", 4) + "\n\nBest next step: …"
	// Accepted, answer lost: like sendMail, the send is not repeated within
	// the delivery; the queue's redelivery repeats it, and the chain keeps
	// one notification.
	fake.Fail(notifytest.Fault{Apply: true, Drop: true})
	if err := ts.SendNudge(ctx, dm, rec); err == nil || !strings.Contains(err.Error(), "outcome unknown") {
		t.Fatalf("lost answer: err = %v, want a failure left to the queue", err)
	}
	if len(fake.Requests()) != 1 {
		t.Fatalf("%d requests after a lost answer, want 1", len(fake.Requests()))
	}
	if err := ts.SendNudge(ctx, dm, rec); err != nil {
		t.Fatal(err)
	}
	acts := fake.Activities()
	if len(acts) != 1 || len(fake.Requests()) != 2 {
		t.Fatalf("%d notifications from %d requests, want 1 from 2", len(acts), len(fake.Requests()))
	}
	a := acts[0]
	if a.UserID != "u-1" || a.TopicSource != "text" || a.TopicWebURL != rules.DefaultSecurityInfoURL ||
		a.TopicValue != "mysignins.microsoft.com" || a.ActivityType != "systemDefault" ||
		a.Parameters["systemDefaultText"] != rec.Subject || a.ChainID <= 0 {
		t.Errorf("activity = %+v", a)
	}
	if !strings.HasPrefix(a.Preview, "If your phone is lost") || utf8.RuneCountInString(a.Preview) > 150 || strings.Contains(a.Preview, "\n") {
		t.Errorf("preview = %q: want the risk paragraph on one line, at most 150 characters", a.Preview)
	}

	failing := notify.TokenFunc(func(context.Context) (string, error) { return "", errors.New("token endpoint unreachable") })
	ts2, _ := notify.NewTeamsSender(notify.TeamsConfig{GraphURL: fake.URL(), Tokens: failing, Clock: clock})
	if err := ts2.SendNudge(ctx, dm, rec); err == nil || !strings.Contains(err.Error(), "graph token") {
		t.Errorf("token failure: err = %v", err)
	}
	if _, err := notify.NewTeamsSender(notify.TeamsConfig{Tokens: failing, WebURL: "http://intranet/security"}); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("plain http web URL: err = %v", err)
	}
}

// Teams follows sendMail's rule: 429 and 503 say Graph did not act and are
// retried within the delivery; a lost answer and any other 5xx may hide a
// sent notification and are left to the queue's redelivery.
func TestTeamsRetriesAsSendMailDoes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		fault    notifytest.Fault
		requests int
		ok       bool
	}{
		{"429-is-retried", notifytest.Fault{Status: 429, Header: map[string]string{"Retry-After": "2"}}, 2, true},
		{"503-is-retried", notifytest.Fault{Status: 503}, 2, true},
		{"504-is-not", notifytest.Fault{Status: 504, Apply: true}, 1, false},
		{"500-is-not", notifytest.Fault{Status: 500}, 1, false},
		{"502-is-not", notifytest.Fault{Status: 502}, 1, false},
		{"lost-answer-is-not", notifytest.Fault{Drop: true, Apply: true}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := notifytest.NewGraph(t, graphToken)
			ts, err := notify.NewTeamsSender(notify.TeamsConfig{GraphURL: fake.URL(), Tokens: staticToken(graphToken), Clock: notifytest.NewClock(time.Time{})})
			if err != nil {
				t.Fatal(err)
			}
			ctx, _ := logged(t)
			dm, rec := nudge("teams")
			fake.Fail(tc.fault)
			err = ts.SendNudge(ctx, dm, rec)
			if (err == nil) != tc.ok || len(fake.Requests()) != tc.requests {
				t.Errorf("err = %v after %d requests; want ok %v after %d", err, len(fake.Requests()), tc.ok, tc.requests)
			}
		})
	}
}
