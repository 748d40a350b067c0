package wiring

import (
	"net/url"
	"strings"
)

// Environment variable names of the delivery channels (docs/CHANNELS.md).
// The *_SECRET settings name a secret: a Secrets Manager ARN in Lambda, an
// environment variable locally; they never hold the secret itself.
const (
	EnvMailSender                = "CREDRES_MAIL_SENDER"
	EnvTeams                     = "CREDRES_TEAMS"
	EnvTeamsWebURL               = "CREDRES_TEAMS_WEB_URL"
	EnvGraphURL                  = "CREDRES_GRAPH_URL"
	EnvTicketChannel             = "CREDRES_TICKET_CHANNEL"
	EnvServiceNowURL             = "CREDRES_SERVICENOW_URL"
	EnvServiceNowSecret          = "CREDRES_SERVICENOW_SECRET"
	EnvServiceNowCategory        = "CREDRES_SERVICENOW_CATEGORY"
	EnvServiceNowAssignmentGroup = "CREDRES_SERVICENOW_ASSIGNMENT_GROUP"
	EnvServiceNowCaller          = "CREDRES_SERVICENOW_CALLER"
	EnvServiceNowCloseCode       = "CREDRES_SERVICENOW_CLOSE_CODE"
	EnvJiraURL                   = "CREDRES_JIRA_URL"
	EnvJiraProject               = "CREDRES_JIRA_PROJECT"
	EnvJiraIssueType             = "CREDRES_JIRA_ISSUE_TYPE"
	EnvJiraDoneTransition        = "CREDRES_JIRA_DONE_TRANSITION"
	EnvJiraSecret                = "CREDRES_JIRA_SECRET"
	EnvWebhookURL                = "CREDRES_WEBHOOK_URL"
	EnvWebhookURLSecret          = "CREDRES_WEBHOOK_URL_SECRET"
	EnvWebhookSecret             = "CREDRES_WEBHOOK_SECRET"
	EnvDryRun                    = "CREDRES_DRY_RUN"
)

// Ticket channels (CREDRES_TICKET_CHANNEL).
const (
	// TicketSQS sends ticket events to the helpdesk queue (the default).
	TicketSQS = "sqs"
	// TicketServiceNow opens ServiceNow incidents.
	TicketServiceNow = "servicenow"
	// TicketJira opens Jira Cloud issues.
	TicketJira = "jira"
	// TicketWebhook posts signed JSON to a URL.
	TicketWebhook = "webhook"
)

// ChannelConfig is how nudges and tickets leave credres. NudgeChannels and
// TicketChannels each fill in the part their function needs.
type ChannelConfig struct {
	// DryRun records every intended message with its full content and
	// sends nothing; channel settings are then optional.
	DryRun bool

	// MailSender is the mailbox nudges are mailed from.
	MailSender string
	// Teams enables the Teams activity-feed channel for tiers that choose it.
	Teams bool
	// TeamsWebURL is where a Teams notification leads; the security-info
	// page when empty.
	TeamsWebURL string
	// GraphURL is the Graph service root; the global cloud's when empty.
	GraphURL string

	// TicketChannel is sqs, servicenow, jira or webhook.
	TicketChannel string
	// HelpdeskQueue is the queue of the sqs channel.
	HelpdeskQueue string

	ServiceNowURL             string
	ServiceNowSecret          string
	ServiceNowCategory        string
	ServiceNowAssignmentGroup string
	ServiceNowCaller          string
	ServiceNowCloseCode       string

	JiraURL            string
	JiraProject        string
	JiraIssueType      string
	JiraDoneTransition string
	JiraSecret         string

	// WebhookURL is the webhook's URL, or WebhookURLSecret names the
	// secret that holds it (a URL that carries a token is a credential).
	WebhookURL       string
	WebhookURLSecret string
	WebhookSecret    string
}

// NudgeChannels reads the nudge function's channels: the sender mailbox
// (required unless dry run) and the optional Teams channel.
func (e *Settings) NudgeChannels() ChannelConfig {
	c := ChannelConfig{DryRun: e.Bool(EnvDryRun, false)}
	c.MailSender = e.setting(EnvMailSender, !c.DryRun)
	c.Teams = e.Bool(EnvTeams, false)
	c.TeamsWebURL = e.url(EnvTeamsWebURL, false, false)
	c.GraphURL = e.url(EnvGraphURL, false, false)
	return c
}

// TicketChannels reads the ticket function's channel and its settings; the
// chosen channel's URL, secret and (for Jira) project and done transition
// are required unless dry run.
func (e *Settings) TicketChannels() ChannelConfig {
	return e.ticketChannel(strings.ToLower(e.Optional(EnvTicketChannel, TicketSQS)), helpdeskNames)
}

// channelNames are the settings a ticket destination reads beside the
// ServiceNow and Jira instance settings, which every destination shares:
// the helpdesk's, or the security team's (emergency.go).
type channelNames struct {
	channel, queue, assignmentGroup, jiraProject, webhookURL, webhookURLSecret string
}

var helpdeskNames = channelNames{EnvTicketChannel, EnvHelpdeskQueue, EnvServiceNowAssignmentGroup, EnvJiraProject, EnvWebhookURL, EnvWebhookURLSecret}

// ticketChannel reads one ticket destination's settings by names.
func (e *Settings) ticketChannel(channel string, n channelNames) ChannelConfig {
	c := ChannelConfig{DryRun: e.Bool(EnvDryRun, false), TicketChannel: channel}
	need := !c.DryRun
	switch c.TicketChannel {
	case TicketSQS:
		c.HelpdeskQueue = e.setting(n.queue, need)
	case TicketServiceNow:
		c.ServiceNowURL = e.url(EnvServiceNowURL, need, false)
		c.ServiceNowSecret = e.setting(EnvServiceNowSecret, need)
		c.ServiceNowCategory = e.Optional(EnvServiceNowCategory, "")
		c.ServiceNowAssignmentGroup = e.setting(n.assignmentGroup, need && n != helpdeskNames)
		c.ServiceNowCaller = e.Optional(EnvServiceNowCaller, "")
		c.ServiceNowCloseCode = e.Optional(EnvServiceNowCloseCode, "")
	case TicketJira:
		c.JiraURL = e.url(EnvJiraURL, need, false)
		c.JiraProject = e.setting(n.jiraProject, need)
		c.JiraIssueType = e.Optional(EnvJiraIssueType, "")
		c.JiraDoneTransition = e.setting(EnvJiraDoneTransition, need)
		c.JiraSecret = e.setting(EnvJiraSecret, need)
	case TicketWebhook:
		// The URL, or the secret that holds it: a deployment gives the
		// secret, a local run may give either.
		c.WebhookURLSecret = e.Optional(n.webhookURLSecret, "")
		c.WebhookURL = e.url(n.webhookURL, false, true)
		switch {
		case c.WebhookURL != "" && c.WebhookURLSecret != "":
			e.fail(n.webhookURL, "give %s or %s, not both", n.webhookURL, n.webhookURLSecret)
		case need && c.WebhookURL == "" && c.WebhookURLSecret == "":
			e.fail(n.webhookURLSecret, "required but not set (a local run may give %s instead)", n.webhookURL)
		}
		c.WebhookSecret = e.setting(EnvWebhookSecret, need)
	default:
		e.fail(n.channel, "%q is not sqs, servicenow, jira or webhook", c.TicketChannel)
	}
	return c
}

// setting reads a value that is required when need is set.
func (e *Settings) setting(name string, need bool) string {
	if need {
		return e.Required(name)
	}
	return e.Optional(name, "")
}

// url reads an https URL (http only to a loopback address). A URL that
// may hold a token (allowQuery) is never quoted in the problem.
func (e *Settings) url(name string, need, allowQuery bool) string {
	v := e.setting(name, need)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Host == "":
		e.fail(name, "not an absolute URL")
	case u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())):
		e.fail(name, "must use https")
	case u.User != nil:
		e.fail(name, "must not hold credentials; use the secret setting")
	case u.RawQuery != "" && !allowQuery:
		e.fail(name, "must not have a query")
	}
	return v
}

func isLoopbackHost(h string) bool {
	return h == "127.0.0.1" || h == "::1" || h == "localhost"
}
