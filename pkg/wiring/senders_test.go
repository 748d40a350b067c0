package wiring

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
)

func TestNewTicketSenderPicksTheChannel(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  ChannelConfig
		want string // the sender's type; empty for an error
	}{
		{"servicenow", ChannelConfig{TicketChannel: TicketServiceNow, ServiceNowURL: "https://contoso.service-now.com", ServiceNowSecret: "sn-basic"}, "*notify.ServiceNow"},
		{"jira", ChannelConfig{TicketChannel: TicketJira, JiraURL: "https://contoso.atlassian.net", JiraProject: "CR", JiraDoneTransition: "31", JiraSecret: "jira"}, "*notify.Jira"},
		{"webhook", ChannelConfig{TicketChannel: TicketWebhook, WebhookURL: "https://hooks.contoso.example/credres?route=x", WebhookSecret: "hook"}, "*notify.Webhook"},
		{"sqs-is-the-queue-package", ChannelConfig{TicketChannel: TicketSQS}, ""},
		{"unknown", ChannelConfig{TicketChannel: "email"}, ""},
		{"servicenow-without-url", ChannelConfig{TicketChannel: TicketServiceNow, ServiceNowSecret: "sn-basic"}, ""},
	}
	for _, tc := range cases {
		s, err := NewTicketSender(tc.cfg, testSecrets, nil)
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
	r, err := NewNudgeSender(ChannelConfig{MailSender: "credres@contoso.example", Teams: true}, nopMailer{}, notify.TokenFunc(func(context.Context) (string, error) { return "graph-token", nil }), nil)
	if err != nil || r.Email == nil || r.Teams == nil {
		t.Fatalf("router %+v, %v", r, err)
	}
	r, err = NewNudgeSender(ChannelConfig{MailSender: "credres@contoso.example"}, nopMailer{}, nil, nil)
	if err != nil || r.Teams != nil {
		t.Errorf("without Teams: router %+v, %v", r, err)
	}
	if _, err := NewNudgeSender(ChannelConfig{MailSender: "credres@contoso.example", Teams: true}, nopMailer{}, nil, nil); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("Teams without tokens: err = %v", err)
	}
}

// nopMailer sends nothing: these tests only look at which senders are built.
type nopMailer struct{}

func (nopMailer) SendMail(context.Context, string, model.Mail) error { return nil }

// testSecrets answers every secret name with the same value.
var testSecrets = secretsFunc(func(context.Context, string) (string, error) { return `{"username":"u","password":"p"}`, nil })

type secretsFunc func(context.Context, string) (string, error)

func (f secretsFunc) Secret(ctx context.Context, name string) (string, error) { return f(ctx, name) }
