package notify

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/credres/credres/pkg/config"
	"github.com/credres/credres/pkg/mask"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// NewTicketSender builds the HTTP ticket channel cfg.TicketChannel names:
// ServiceNow, Jira or the webhook. Credentials are read through secrets
// when a request needs them; httpClient may be nil for a default client.
// The sqs channel is the helpdesk queue of pkg/queue, which the caller
// builds itself: asked for it, NewTicketSender returns an error wrapping
// model.ErrInvalidInput, as it does for an unknown channel.
func NewTicketSender(cfg config.ChannelConfig, secrets SecretSource, httpClient *http.Client) (pipeline.TicketSender, error) {
	var s pipeline.TicketSender
	var err error
	switch cfg.TicketChannel {
	case config.TicketServiceNow:
		s, err = NewServiceNow(ServiceNowConfig{
			URL: cfg.ServiceNowURL, Secrets: secrets, Secret: cfg.ServiceNowSecret,
			Category: cfg.ServiceNowCategory, AssignmentGroup: cfg.ServiceNowAssignmentGroup,
			Caller: cfg.ServiceNowCaller, CloseCode: cfg.ServiceNowCloseCode, HTTPClient: httpClient,
		})
	case config.TicketJira:
		s, err = NewJira(JiraConfig{
			URL: cfg.JiraURL, Project: cfg.JiraProject, IssueType: cfg.JiraIssueType,
			DoneTransition: cfg.JiraDoneTransition, Secrets: secrets, Secret: cfg.JiraSecret, HTTPClient: httpClient,
		})
	case config.TicketWebhook:
		s, err = NewWebhook(WebhookConfig{URL: cfg.WebhookURL, Secrets: secrets, Secret: cfg.WebhookSecret, HTTPClient: httpClient})
	case config.TicketSQS:
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
func NewNudgeSender(cfg config.ChannelConfig, m Mailer, tokens TokenSource, httpClient *http.Client) (*Router, error) {
	email, err := NewMailSender(m, cfg.MailSender)
	if err != nil {
		return nil, err
	}
	r := &Router{Email: email}
	if cfg.Teams {
		teams, err := NewTeamsSender(TeamsConfig{GraphURL: cfg.GraphURL, Tokens: tokens, WebURL: cfg.TeamsWebURL, HTTPClient: httpClient})
		if err != nil {
			return nil, err
		}
		r.Teams = teams
	}
	return r, nil
}

// ticketText returns the ticket's rendered title and description, or plain
// ones built from the record when nothing was rendered.
func ticketText(rec model.TicketRecord) (title, description string) {
	// Ticket fields are the edge to the helpdesk: the title is one line
	// (ServiceNow's short_description, Jira's summary), and neither keeps a
	// control character from a display name.
	title, description = mask.Line(rec.Title), strings.TrimSpace(mask.Text(rec.Description))
	if title == "" {
		title = fmt.Sprintf("credres ticket %s (%s): user %s", rec.TicketID, rec.Action, rec.UserID)
	}
	if description == "" {
		description = fmt.Sprintf("User object id %s, ticket %s.\nReasons: %s.\nViolations: %s.",
			rec.UserID, rec.TicketID, strings.Join(rec.Reasons, "; "), strings.Join(rec.Violations, ", "))
	}
	return title, description
}

// basicAuth is an Authorization header value for HTTP basic authentication.
func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}
