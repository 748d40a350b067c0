package wiring

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
)

func TestSecurityTicketChannels(t *testing.T) {
	t.Parallel()
	sn := map[string]string{EnvServiceNowURL: "https://contoso.service-now.com", EnvServiceNowSecret: "arn:aws:secretsmanager:eu-west-1:1:secret:sn",
		EnvServiceNowAssignmentGroup: "Service Desk"}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		name     string
		env      map[string]string
		ok       bool
		want     func(ChannelConfig) bool
		problems []string
	}{
		{name: "none", env: map[string]string{}, ok: false},
		{name: "its-own-queue", env: map[string]string{EnvSecurityTicketChannel: "sqs", EnvSecurityQueue: "https://sqs.eu-west-1.amazonaws.com/1/security",
			EnvHelpdeskQueue: "https://sqs.eu-west-1.amazonaws.com/1/helpdesk"}, ok: true,
			want: func(c ChannelConfig) bool { return c.HelpdeskQueue == "https://sqs.eu-west-1.amazonaws.com/1/security" }},
		{name: "sqs-needs-its-queue", env: map[string]string{EnvSecurityTicketChannel: "sqs", EnvHelpdeskQueue: "https://sqs.eu-west-1.amazonaws.com/1/helpdesk"},
			ok: true, problems: []string{EnvSecurityQueue}},
		{name: "servicenow-its-own-group", env: with(sn, EnvSecurityTicketChannel, "servicenow", EnvSecurityServiceNowAssignmentGrp, "Security Operations"), ok: true,
			want: func(c ChannelConfig) bool {
				return c.ServiceNowAssignmentGroup == "Security Operations" && c.ServiceNowURL == "https://contoso.service-now.com"
			}},
		{name: "servicenow-needs-its-group", env: with(sn, EnvSecurityTicketChannel, "servicenow"), ok: true, problems: []string{EnvSecurityServiceNowAssignmentGrp}},
		{name: "jira-its-own-project", env: map[string]string{EnvSecurityTicketChannel: "jira", EnvJiraURL: "https://contoso.atlassian.net",
			EnvJiraProject: "HD", EnvSecurityJiraProject: "SEC", EnvJiraDoneTransition: "31", EnvJiraSecret: "j"}, ok: true,
			want: func(c ChannelConfig) bool { return c.JiraProject == "SEC" }},
		{name: "webhook-its-own-url", env: map[string]string{EnvSecurityTicketChannel: "webhook", EnvSecurityWebhookURL: "https://soc.contoso.example/in",
			EnvWebhookURL: "https://hooks.contoso.example/in", EnvWebhookSecret: "S"}, ok: true,
			want: func(c ChannelConfig) bool { return c.WebhookURL == "https://soc.contoso.example/in" }},
		{name: "unknown", env: map[string]string{EnvSecurityTicketChannel: "pager"}, ok: true, problems: []string{EnvSecurityTicketChannel}},
	}
	for _, tc := range cases {
		s := NewSettings(env(tc.env))
		c, ok := s.SecurityTicketChannels()
		err := s.Err()
		switch {
		case ok != tc.ok:
			t.Errorf("%s: configured %v, want %v", tc.name, ok, tc.ok)
		case tc.problems == nil && (err != nil || (tc.want != nil && !tc.want(c))):
			t.Errorf("%s: %+v, %v", tc.name, c, err)
		case tc.problems != nil:
			for _, p := range tc.problems {
				if !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), p) {
					t.Errorf("%s: %v; want a problem naming %s", tc.name, err, p)
				}
			}
		}
	}
}

// The ticket function routes the set's tickets to the security team's
// destination; the sweep judges the set only when the policy names its
// accounts, and needs the ticket queue then.
func TestEmergencyWiring(t *testing.T) {
	t.Parallel()
	base := map[string]string{EnvTenantID: "t", EnvStateTable: "state", EnvClaimsTable: "claims", EnvEvaluateQueue: "https://sqs.local/evaluate",
		EnvHelpdeskQueue: "https://sqs.local/helpdesk"}
	load := func(kv ...string) *Env {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		e, err := Load(context.Background(), env(m))
		if err != nil {
			t.Fatal(err)
		}
		e.Now = func() time.Time { return time.Unix(0, 0) }
		return e
	}
	s, err := load(EnvSecurityTicketChannel, "sqs", EnvSecurityQueue, "https://sqs.local/security").TicketSender()
	r, ok := s.(*pipeline.TicketRouter)
	if err != nil || !ok || r.Security == nil {
		t.Fatalf("ticket sender %T %+v, %v; want a router with the security team's queue", s, s, err)
	}
	if _, ok := r.Security.(*queue.HelpdeskQueue); !ok {
		t.Errorf("security destination %T", r.Security)
	}
	if s, err := load().TicketSender(); err != nil || s.(*pipeline.TicketRouter).Security != nil {
		t.Errorf("without a security destination: %+v, %v", s, err)
	}

	const policy = "tiers:\n  - name: emergency-access\n    emergencyAccess: true\n    minDiversity: 2\n  - name: everyone\n    match: {all: true}\n    minDiversity: 2\nemergencyAccessGroups: [5d0f3c2a-9e8b-4c7d-a6f5-e4d3c2b1a0f9]\n"
	regs := graphLike{}
	sw, err := load().Sweep(regs)
	if err != nil || sw.Emergency != nil {
		t.Errorf("the default policy names no emergency access group: %+v, %v", sw.Emergency, err)
	}
	if _, err := load(EnvPolicy, policy).Sweep(regs); err == nil || !strings.Contains(err.Error(), EnvTicketQueue) {
		t.Errorf("emergency access groups without the ticket queue: %v", err)
	}
	sw, err = load(EnvPolicy, policy, EnvTicketQueue, "https://sqs.local/ticket").Sweep(regs)
	if err != nil || sw.Emergency == nil || sw.Emergency.Policy == nil || sw.Emergency.Groups == nil {
		t.Errorf("the sweep's emergency access judge: %+v, %v", sw.Emergency, err)
	}
}

// graphLike reads as the Graph client does, for what the wiring checks.
type graphLike struct{}

func (graphLike) Registrations(context.Context, func(model.Registration) error) error { return nil }
func (graphLike) GroupUsers(context.Context, string) ([]string, error)                { return nil, nil }
func (graphLike) ReadUsers(context.Context, []string) []model.UserResult              { return nil }
func (graphLike) TenantPolicy(context.Context) (model.TenantPolicy, error) {
	return model.TenantPolicy{}, nil
}
