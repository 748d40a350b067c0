package local

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/explain"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/rules"
)

func graphMethod(t *testing.T, obj string) model.Method {
	t.Helper()
	m, err := graphjson.DecodeMethod([]byte(obj))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// eventFor is an Event Hubs body saying the user registered something.
func eventFor(userID string, at time.Time) []byte {
	rec := map[string]any{"records": []any{map[string]any{
		"time": at.Format(time.RFC3339), "operationName": "User registered security info", "category": "AuditLogs",
		"tenantId": "t1", "level": "Informational",
		"properties": map[string]any{
			"id": "Authentication Methods_" + at.Format("20060102T150405"), "category": "UserManagement",
			"activityDisplayName": "User registered security info", "activityDateTime": at.Format(time.RFC3339),
			"loggedByService": "Authentication Methods", "result": "success", "resultReason": "User registered Authenticator App with Notification",
			"initiatedBy":     map[string]any{"user": map[string]any{"id": userID, "userPrincipalName": "pat@contoso.example"}},
			"targetResources": []any{map[string]any{"id": userID, "type": "User", "userPrincipalName": "pat@contoso.example"}},
		},
	}}}
	b, _ := json.Marshal(rec)
	return b
}

type oneShot struct{ body []byte }

func (o *oneShot) Next(context.Context) ([]model.AuditMessage, error) {
	if o.body == nil {
		return nil, nil
	}
	b := o.body
	o.body = nil
	return []model.AuditMessage{{Body: b, Position: "scenario"}}, nil
}
func (o *oneShot) Commit(context.Context) error { return nil }

// Weeks of simulated time: a user drops below policy, is nudged, reminded on
// the cooldown schedule, escalated to the helpdesk after three ignored
// nudges, then fixes their methods: the ticket resolves and reminders stop.
func TestScenarioOverWeeks(t *testing.T) {
	const user = "0c0ffee0-0000-4000-8000-000000000001"
	password := graphMethod(t, `{"@odata.type":"#microsoft.graph.passwordAuthenticationMethod","id":"28c10230-6103-485e-b985-444c60001490"}`)
	phone := graphMethod(t, `{"@odata.type":"#microsoft.graph.phoneAuthenticationMethod","id":"3179e48a-750b-4051-897c-87b9720928f7","phoneNumber":"+1 2065550199","phoneType":"mobile"}`)
	app := graphMethod(t, `{"@odata.type":"#microsoft.graph.microsoftAuthenticatorAuthenticationMethod","id":"6a1b2c3d-0000-4000-8000-00000000a001","displayName":"Pixel","createdDateTime":"2026-01-05T10:00:00Z"}`)
	key := graphMethod(t, `{"@odata.type":"#microsoft.graph.fido2AuthenticationMethod","id":"k-blue","displayName":"Blue key","aaGuid":"cb69481e-8ff7-4039-93ec-0a2729a154a8"}`)
	dir := func(ms ...model.Method) *model.Directory {
		return &model.Directory{Tenant: model.Tenant{ID: "t1", PasswordAuth: model.PasswordCloud},
			Users: []model.User{{ID: user, UserPrincipalName: "pat@contoso.example", DisplayName: "Pat Lee", Mail: "pat@contoso.example", Methods: ms}}}
	}
	engine := rules.New(nil)
	renderer, err := notify.NewRenderer(engine.Policy().Nudges, "")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	step := func(day int, d *model.Directory, event, sweep bool) *Result {
		t.Helper()
		at := start.Add(time.Duration(day) * 24 * time.Hour)
		var tick time.Duration
		cfg := Config{Directory: d, StateDir: state, Engine: engine, Render: renderer,
			Now: func() time.Time { tick += time.Millisecond; return at.Add(tick) }, Sweep: sweep, MaxAge: 7 * 24 * time.Hour}
		if event {
			cfg.Events = &oneShot{eventFor(user, at)}
		}
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("day %d: %v", day, err)
		}
		return res
	}
	summary := func(res *Result) string {
		s := fmt.Sprintf("nudges=%d tickets=%d", len(res.Nudges), len(res.Tickets))
		for _, n := range res.Nudges {
			if n.Reminder {
				s += " reminder"
			}
		}
		for _, tk := range res.Tickets {
			s += " ticket-" + tk.Action
		}
		return s
	}
	compliant := dir(password, app, phone, key)
	dropped := dir(password, app, phone) // lost the key: the phone is a single point of failure

	steps := []struct {
		day    int
		d      *model.Directory
		event  bool
		sweep  bool
		want   string
		reason string
	}{
		{0, compliant, true, false, "nudges=0 tickets=0", "compliant"},
		{1, dropped, true, false, "nudges=1 tickets=0", "newly below policy"},
		{3, dropped, false, true, "nudges=0 tickets=0", ""}, // assessed 2 days ago: not due
		{9, dropped, false, true, "nudges=1 tickets=0 reminder", "reminder"},
		{17, dropped, false, true, "nudges=1 tickets=0 reminder", "reminder"},
		{25, dropped, false, true, "nudges=0 tickets=1 ticket-opened", "escalated"},
		{33, dropped, false, true, "nudges=0 tickets=0", "no more reminders"},
		{34, compliant, true, false, "nudges=0 tickets=1 ticket-resolved", "back within policy"},
		{45, compliant, false, true, "nudges=0 tickets=0", "compliant"},
	}
	for _, s := range steps {
		res := step(s.day, s.d, s.event, s.sweep)
		if got := summary(res); got != s.want {
			t.Fatalf("day %d: %s, want %s", s.day, got, s.want)
		}
		if s.reason != "" {
			if len(res.Outcomes) != 1 || !containsReason(explain.Reasons(res.Outcomes[0].Decision.Reasons), s.reason) {
				t.Fatalf("day %d: outcomes %+v lack %q", s.day, res.Outcomes, s.reason)
			}
		}
		for _, n := range res.Nudges {
			if n.Subject == "" || n.Text == "" || n.HTML == "" || n.Channel != "email" {
				t.Errorf("day %d: nudge without rendered content: %+v", s.day, n)
			}
		}
		for _, tk := range res.Tickets {
			if tk.Title == "" || tk.Description == "" {
				t.Errorf("day %d: ticket without rendered content", s.day)
			}
		}
	}
}

func containsReason(reasons []string, s string) bool {
	for _, r := range reasons {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}
