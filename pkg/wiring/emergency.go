package wiring

import (
	"net/http"
	"strings"

	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
)

// The security team's ticket destination, for the emergency access set's
// tickets (docs/DEPLOY.md, "Emergency access accounts"). The channel is
// one of the helpdesk's; ServiceNow and Jira are the helpdesk's instance
// and credential, with the security team's own assignment group or
// project; sqs and the webhook have their own queue or URL.
const (
	EnvSecurityTicketChannel           = "CREDRES_SECURITY_TICKET_CHANNEL"
	EnvSecurityQueue                   = "CREDRES_SECURITY_QUEUE_URL"
	EnvSecurityServiceNowAssignmentGrp = "CREDRES_SECURITY_SERVICENOW_ASSIGNMENT_GROUP"
	EnvSecurityJiraProject             = "CREDRES_SECURITY_JIRA_PROJECT"
	EnvSecurityWebhookURL              = "CREDRES_SECURITY_WEBHOOK_URL"
	EnvSecurityWebhookURLSecret        = "CREDRES_SECURITY_WEBHOOK_URL_SECRET"
)

var securityNames = channelNames{EnvSecurityTicketChannel, EnvSecurityQueue, EnvSecurityServiceNowAssignmentGrp,
	EnvSecurityJiraProject, EnvSecurityWebhookURL, EnvSecurityWebhookURLSecret}

// SecurityTicketChannels reads the security team's destination; ok is
// false when none is configured (CREDRES_SECURITY_TICKET_CHANNEL unset):
// the set's tickets then go to the helpdesk, adminOnly.
func (e *Settings) SecurityTicketChannels() (c ChannelConfig, ok bool) {
	channel := strings.ToLower(e.Optional(EnvSecurityTicketChannel, ""))
	if channel == "" {
		return ChannelConfig{}, false
	}
	return e.ticketChannel(channel, securityNames), true
}

// securitySender builds the security team's ticket sender, nil when none
// is configured.
func (e *Env) securitySender() (pipeline.TicketSender, error) {
	cfg, ok := e.SecurityTicketChannels()
	if err := e.Err(); err != nil || !ok {
		return nil, err
	}
	if cfg.TicketChannel == TicketSQS {
		return queue.NewHelpdeskQueue(e.SQS, cfg.HelpdeskQueue), nil
	}
	s, err := NewTicketSender(cfg, e.Secrets, http.DefaultClient)
	if err != nil && cfg.DryRun {
		return unsentTickets{channel: cfg.TicketChannel, err: err}, nil
	}
	return s, err
}

// emergencyConfigured reports whether the policy names emergency access
// accounts the running pipeline can read: an emergency access tier, and
// groups (emergencyAccessGroups, or the tier's own match groups) or users.
func emergencyConfigured(p *rules.Policy) bool {
	for _, t := range p.Tiers {
		if t.EmergencyAccess {
			return len(p.EmergencyAccessGroups)+len(t.Match.Groups)+len(t.Match.Users) > 0
		}
	}
	return false
}

// emergency builds the sweep's judge of the emergency access set over
// Graph (groups, users and their methods, the tenant's policy), when the
// policy names emergency access accounts; its decisions go onto the
// ticket queue.
func (e *Env) emergency(regs pipeline.RegistrationReader, state pipeline.EmergencySetStore) *pipeline.EmergencyAccess {
	groups, okG := regs.(pipeline.GroupReader)
	users, okU := regs.(pipeline.UserReader)
	if !okG || !okU || !emergencyConfigured(e.Engine.Policy()) {
		return nil
	}
	ea := &pipeline.EmergencyAccess{Groups: groups, Users: users, Store: state, Engine: e.Engine, Tenant: e.Tenant,
		Tickets: e.queue(EnvTicketQueue), Now: e.Now}
	if p, ok := regs.(pipeline.TenantPolicyReader); ok {
		ea.Policy = p
	}
	return ea
}
