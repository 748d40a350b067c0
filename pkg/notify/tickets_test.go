package notify_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/credres/credres/pkg/config"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
)

func TestNewTicketSenderPicksTheChannel(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  config.ChannelConfig
		want string // the sender's type; empty for an error
	}{
		{"servicenow", config.ChannelConfig{TicketChannel: config.TicketServiceNow, ServiceNowURL: "https://contoso.service-now.com", ServiceNowSecret: "sn-basic"}, "*notify.ServiceNow"},
		{"jira", config.ChannelConfig{TicketChannel: config.TicketJira, JiraURL: "https://contoso.atlassian.net", JiraProject: "CR", JiraDoneTransition: "31", JiraSecret: "jira"}, "*notify.Jira"},
		{"webhook", config.ChannelConfig{TicketChannel: config.TicketWebhook, WebhookURL: "https://hooks.contoso.example/credres?route=x", WebhookSecret: "hook"}, "*notify.Webhook"},
		{"sqs-is-the-queue-package", config.ChannelConfig{TicketChannel: config.TicketSQS}, ""},
		{"unknown", config.ChannelConfig{TicketChannel: "email"}, ""},
		{"servicenow-without-url", config.ChannelConfig{TicketChannel: config.TicketServiceNow, ServiceNowSecret: "sn-basic"}, ""},
	}
	for _, tc := range cases {
		s, err := notify.NewTicketSender(tc.cfg, testSecrets, nil)
		switch {
		case tc.want == "" && (!errors.Is(err, model.ErrInvalidInput) || s != nil):
			t.Errorf("%s: %T, %v; want an invalid-input error", tc.name, s, err)
		case tc.want != "" && (err != nil || fmt.Sprintf("%T", s) != tc.want):
			t.Errorf("%s: %T, %v; want %s", tc.name, s, err, tc.want)
		}
	}
}

func TestNewNudgeSender(t *testing.T) {
	t.Parallel()
	r, err := notify.NewNudgeSender(config.ChannelConfig{MailSender: "credres@contoso.example", Teams: true}, &fakeMailer{}, staticToken(graphToken), nil)
	if err != nil || r.Email == nil || r.Teams == nil {
		t.Fatalf("router %+v, %v", r, err)
	}
	r, err = notify.NewNudgeSender(config.ChannelConfig{MailSender: "credres@contoso.example"}, &fakeMailer{}, nil, nil)
	if err != nil || r.Teams != nil {
		t.Errorf("without Teams: router %+v, %v", r, err)
	}
	if _, err := notify.NewNudgeSender(config.ChannelConfig{MailSender: "credres@contoso.example", Teams: true}, &fakeMailer{}, nil, nil); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("Teams without tokens: err = %v", err)
	}
}
