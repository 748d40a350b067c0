package wiring

import (
	"errors"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/model"
)

func TestTicketChannels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		env      map[string]string
		want     func(ChannelConfig) bool
		problems []string // settings the error must name; none for success
	}{
		{
			name: "sqs-is-the-default-and-needs-the-queue",
			env:  map[string]string{EnvHelpdeskQueue: "https://sqs.eu-west-1.amazonaws.com/1/helpdesk"},
			want: func(c ChannelConfig) bool { return c.TicketChannel == TicketSQS && c.HelpdeskQueue != "" },
		},
		{
			name:     "sqs-without-the-queue",
			env:      map[string]string{},
			problems: []string{EnvHelpdeskQueue},
		},
		{
			name: "servicenow-reads-its-settings",
			env: map[string]string{EnvTicketChannel: "ServiceNow", EnvServiceNowURL: "https://contoso.service-now.com",
				EnvServiceNowSecret: "arn:aws:secretsmanager:eu-west-1:1:secret:sn", EnvServiceNowAssignmentGroup: "Service Desk",
				EnvServiceNowCloseCode: "Solved (Permanently)"},
			want: func(c ChannelConfig) bool {
				return c.TicketChannel == TicketServiceNow && c.ServiceNowURL == "https://contoso.service-now.com" &&
					c.ServiceNowSecret != "" && c.ServiceNowAssignmentGroup == "Service Desk" && c.ServiceNowCloseCode == "Solved (Permanently)"
			},
		},
		{
			name:     "servicenow-needs-url-and-secret",
			env:      map[string]string{EnvTicketChannel: TicketServiceNow},
			problems: []string{EnvServiceNowURL, EnvServiceNowSecret},
		},
		{
			name: "jira-reads-its-settings",
			env: map[string]string{EnvTicketChannel: TicketJira, EnvJiraURL: "https://contoso.atlassian.net", EnvJiraProject: "CR",
				EnvJiraDoneTransition: "31", EnvJiraSecret: "CREDRES_JIRA_CREDENTIAL", EnvJiraIssueType: "Bug"},
			want: func(c ChannelConfig) bool {
				return c.JiraProject == "CR" && c.JiraDoneTransition == "31" && c.JiraIssueType == "Bug" && c.JiraSecret != ""
			},
		},
		{
			name:     "jira-needs-project-transition-and-secret",
			env:      map[string]string{EnvTicketChannel: TicketJira, EnvJiraURL: "https://contoso.atlassian.net"},
			problems: []string{EnvJiraProject, EnvJiraDoneTransition, EnvJiraSecret},
		},
		{
			name: "webhook-url-may-have-a-query",
			env:  map[string]string{EnvTicketChannel: TicketWebhook, EnvWebhookURL: "https://hooks.contoso.example/in?token=abc", EnvWebhookSecret: "S"},
			want: func(c ChannelConfig) bool { return c.WebhookURL == "https://hooks.contoso.example/in?token=abc" },
		},
		{
			name:     "plain-http-is-refused-without-quoting-the-url",
			env:      map[string]string{EnvTicketChannel: TicketWebhook, EnvWebhookURL: "http://hooks.contoso.example/in?token=abc", EnvWebhookSecret: "S"},
			problems: []string{EnvWebhookURL},
		},
		{
			name: "webhook-url-from-a-secret",
			env:  map[string]string{EnvTicketChannel: TicketWebhook, EnvWebhookURLSecret: "arn:aws:secretsmanager:eu-west-1:1:secret:hook-url", EnvWebhookSecret: "S"},
			want: func(c ChannelConfig) bool {
				return c.WebhookURL == "" && c.WebhookURLSecret == "arn:aws:secretsmanager:eu-west-1:1:secret:hook-url"
			},
		},
		{
			name:     "webhook-needs-its-url-or-the-secret-that-holds-it",
			env:      map[string]string{EnvTicketChannel: TicketWebhook, EnvWebhookSecret: "S"},
			problems: []string{EnvWebhookURLSecret},
		},
		{
			name: "webhook-url-and-url-secret-exclude-each-other",
			env: map[string]string{EnvTicketChannel: TicketWebhook, EnvWebhookURL: "https://hooks.contoso.example/in?token=abc",
				EnvWebhookURLSecret: "arn:aws:secretsmanager:eu-west-1:1:secret:hook-url", EnvWebhookSecret: "S"},
			problems: []string{EnvWebhookURL, EnvWebhookURLSecret},
		},
		{
			name: "loopback-http-is-allowed",
			env:  map[string]string{EnvTicketChannel: TicketJira, EnvJiraURL: "http://127.0.0.1:8080", EnvJiraProject: "CR", EnvJiraDoneTransition: "31", EnvJiraSecret: "J"},
			want: func(c ChannelConfig) bool { return c.JiraURL == "http://127.0.0.1:8080" },
		},
		{
			name:     "credentials-in-a-url-are-refused",
			env:      map[string]string{EnvTicketChannel: TicketServiceNow, EnvServiceNowURL: "https://admin:hunter2@contoso.service-now.com", EnvServiceNowSecret: "S"},
			problems: []string{EnvServiceNowURL},
		},
		{
			name:     "unknown-channel",
			env:      map[string]string{EnvTicketChannel: "email"},
			problems: []string{EnvTicketChannel},
		},
		{
			name: "dry-run-needs-no-credentials",
			env:  map[string]string{EnvTicketChannel: TicketServiceNow, EnvDryRun: "true"},
			want: func(c ChannelConfig) bool { return c.DryRun && c.TicketChannel == TicketServiceNow },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := NewSettings(env(tc.env))
			c := e.TicketChannels()
			err := e.Err()
			if len(tc.problems) == 0 {
				if err != nil || !tc.want(c) {
					t.Errorf("config %+v, err %v", c, err)
				}
				return
			}
			if !errors.Is(err, model.ErrInvalidInput) {
				t.Fatalf("err = %v, want invalid input", err)
			}
			for _, name := range tc.problems {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error does not name %s: %v", name, err)
				}
			}
			if strings.Contains(err.Error(), "token=abc") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes a secret: %v", err)
			}
		})
	}
}

func TestNudgeChannels(t *testing.T) {
	t.Parallel()
	e := NewSettings(env(map[string]string{EnvMailSender: "credres@contoso.example", EnvTeams: "yes", EnvGraphURL: "https://graph.microsoft.us/v1.0"}))
	c := e.NudgeChannels()
	if err := e.Err(); err != nil || c.MailSender != "credres@contoso.example" || !c.Teams || c.GraphURL != "https://graph.microsoft.us/v1.0" {
		t.Errorf("config %+v, err %v", c, err)
	}
	e = NewSettings(env(nil))
	e.NudgeChannels()
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), EnvMailSender) {
		t.Errorf("no sender mailbox: err = %v", err)
	}
	e = NewSettings(env(map[string]string{EnvDryRun: "1"}))
	if c := e.NudgeChannels(); e.Err() != nil || !c.DryRun || c.Teams {
		t.Errorf("dry run: %+v, %v", c, e.Err())
	}
}
