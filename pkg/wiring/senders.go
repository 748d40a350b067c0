package wiring

import (
	"fmt"
	"net/http"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
)

// NewTicketSender builds the HTTP ticket channel cfg.TicketChannel names:
// ServiceNow, Jira or the webhook. Credentials are read through secrets
// when a request needs them; httpClient may be nil for a default client.
// The sqs channel is the helpdesk queue of pkg/queue, which the caller
// builds itself: asked for it, NewTicketSender returns an error wrapping
// model.ErrInvalidInput, as it does for an unknown channel.
func NewTicketSender(cfg ChannelConfig, secrets model.SecretSource, httpClient *http.Client) (pipeline.TicketSender, error) {
	var s pipeline.TicketSender
	var err error
	switch cfg.TicketChannel {
	case TicketServiceNow:
		s, err = notify.NewServiceNow(notify.ServiceNowConfig{
			URL: cfg.ServiceNowURL, Secrets: secrets, Secret: cfg.ServiceNowSecret,
			Category: cfg.ServiceNowCategory, AssignmentGroup: cfg.ServiceNowAssignmentGroup,
			Caller: cfg.ServiceNowCaller, CloseCode: cfg.ServiceNowCloseCode, HTTPClient: httpClient,
		})
	case TicketJira:
		s, err = notify.NewJira(notify.JiraConfig{
			URL: cfg.JiraURL, Project: cfg.JiraProject, IssueType: cfg.JiraIssueType,
			DoneTransition: cfg.JiraDoneTransition, Secrets: secrets, Secret: cfg.JiraSecret, HTTPClient: httpClient,
		})
	case TicketWebhook:
		s, err = notify.NewWebhook(notify.WebhookConfig{URL: cfg.WebhookURL, URLSecret: cfg.WebhookURLSecret, Secrets: secrets, Secret: cfg.WebhookSecret, HTTPClient: httpClient})
	case TicketSQS:
		return nil, fmt.Errorf("notify: ticket channel %q: %w: the helpdesk queue is built with queue.NewHelpdeskQueue", cfg.TicketChannel, model.ErrInvalidInput)
	default:
		return nil, fmt.Errorf("notify: ticket channel %q: %w: not servicenow, jira, webhook or sqs", cfg.TicketChannel, model.ErrInvalidInput)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// NewNudgeSender builds the nudge router: email through m (usually a
// *graph.Client) from cfg.MailSender, and, when cfg.Teams is set, the Teams
// activity feed with tokens from tokens.
func NewNudgeSender(cfg ChannelConfig, m notify.Mailer, tokens notify.TokenSource, httpClient *http.Client) (*notify.Router, error) {
	email, err := notify.NewMailSender(m, cfg.MailSender)
	if err != nil {
		return nil, err
	}
	r := &notify.Router{Email: email}
	if cfg.Teams {
		teams, err := notify.NewTeamsSender(notify.TeamsConfig{GraphURL: cfg.GraphURL, Tokens: tokens, WebURL: cfg.TeamsWebURL, HTTPClient: httpClient})
		if err != nil {
			return nil, err
		}
		r.Teams = teams
	}
	return r, nil
}
