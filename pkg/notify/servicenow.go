package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// ServiceNow defaults.
const (
	// DefaultServiceNowCategory is the base system's "Inquiry / Help".
	DefaultServiceNowCategory = "inquiry"
	// DefaultServiceNowCloseCode is a resolution code of current releases;
	// older instances use "Solved (Permanently)".
	DefaultServiceNowCloseCode = "Resolved by caller"
)

// ServiceNow incident states credres reads and writes.
const (
	snResolved = "6"
	snClosed   = "7"
	snCanceled = "8"
)

// snFields are the incident fields credres reads back.
const snFields = "sys_id,number,state,correlation_id,correlation_display"

// snTable is the Table API path of the incident table.
var snTable = []string{"api", "now", "table", "incident"}

// ServiceNowConfig configures a ServiceNow ticket channel.
type ServiceNowConfig struct {
	// URL is the instance, e.g. https://contoso.service-now.com.
	URL string
	// Secrets and Secret name the credential: a JSON object with
	// "username" and "password" (basic authentication) or with "token"
	// (an OAuth bearer token) of a user with the itil role.
	Secrets model.SecretSource
	Secret  string
	// Category of new incidents; DefaultServiceNowCategory when empty.
	Category string
	// AssignmentGroup (a sys_user_group sys_id or name), when set, routes
	// new incidents to a group.
	AssignmentGroup string
	// Caller (a sys_user sys_id), when set, is the incidents' caller, such
	// as a credres service user. The Entra user is named in the description.
	Caller string
	// CloseCode resolves incidents; DefaultServiceNowCloseCode when empty.
	CloseCode  string
	HTTPClient *http.Client
	// Clock is the time source of retry waits; the wall clock when nil.
	Clock Clock
}

// ServiceNow opens, updates and resolves incidents with the Table API.
//
// An incident carries the credres ticket id in correlation_id and, in
// correlation_display, "credres:<decision id>" of the last ticket event it
// received. Every event looks the incident up before it writes, so that a
// retry never acts twice: an opening finds an incident an earlier attempt
// created (by ticket id, or by decision id when the pipeline issued a new
// ticket id on redelivery, which it then moves to the incident); an update
// or a resolution already applied is recognised by its decision id.
type ServiceNow struct {
	ep        *endpoint
	category  string
	group     string
	caller    string
	closeCode string
}

// NewServiceNow checks cfg and returns a channel.
func NewServiceNow(cfg ServiceNowConfig) (*ServiceNow, error) {
	base, err := parseBase("servicenow", cfg.URL, false)
	if err != nil {
		return nil, err
	}
	if cfg.Secret == "" || cfg.Secrets == nil {
		return nil, fmt.Errorf("servicenow: %w: no credential configured", model.ErrInvalidInput)
	}
	s := &ServiceNow{category: cfg.Category, group: cfg.AssignmentGroup, caller: cfg.Caller, closeCode: cfg.CloseCode}
	if s.category == "" {
		s.category = DefaultServiceNowCategory
	}
	if s.closeCode == "" {
		s.closeCode = DefaultServiceNowCloseCode
	}
	s.ep = newEndpoint("servicenow", base, cfg.HTTPClient, cfg.Clock)
	s.ep.message = serviceNowMessage
	s.ep.auth = secretAuth("servicenow", cfg.Secrets, cfg.Secret, func(v string) (string, error) {
		var c struct {
			Username string `json:"username"`
			Password string `json:"password"`
			Token    string `json:"token"`
		}
		switch {
		case json.Unmarshal([]byte(v), &c) != nil:
		case c.Token != "":
			return "Bearer " + c.Token, nil
		case c.Username != "" && c.Password != "":
			return basicAuth(c.Username, c.Password), nil
		}
		return "", fmt.Errorf("servicenow: credentials: %w: secret %s is not a JSON object with username and password, or token", model.ErrInvalidInput, cfg.Secret)
	})
	return s, nil
}

// incident is what credres reads of an incident.
type incident struct {
	SysID              string `json:"sys_id"`
	Number             string `json:"number"`
	State              string `json:"state"`
	CorrelationID      string `json:"correlation_id"`
	CorrelationDisplay string `json:"correlation_display"`
}

// incidentFields are the fields credres writes.
type incidentFields struct {
	ShortDescription   string `json:"short_description,omitempty"`
	Description        string `json:"description,omitempty"`
	CorrelationID      string `json:"correlation_id,omitempty"`
	CorrelationDisplay string `json:"correlation_display,omitempty"`
	Category           string `json:"category,omitempty"`
	AssignmentGroup    string `json:"assignment_group,omitempty"`
	CallerID           string `json:"caller_id,omitempty"`
	WorkNotes          string `json:"work_notes,omitempty"`
	State              string `json:"state,omitempty"`
	CloseCode          string `json:"close_code,omitempty"`
	CloseNotes         string `json:"close_notes,omitempty"`
}

// maxShortDescription is the length of incident.short_description.
const maxShortDescription = 160

// SendTicket applies one ticket event to the user's incident.
func (s *ServiceNow) SendTicket(ctx context.Context, _ model.DecisionMessage, rec model.TicketRecord) error {
	if !safeID(rec.TicketID) || !safeID(rec.DecisionID) {
		return fmt.Errorf("servicenow: ticket %q: %w: ticket and decision ids must be letters, digits, '-', '_' or '.'", rec.TicketID, model.ErrInvalidInput)
	}
	return ticketActions{open: s.open, update: s.update, resolve: s.resolve}.apply(ctx, s.ep, "servicenow", "incident", rec)
}

func marker(decisionID string) string { return "credres:" + decisionID }

// open creates the incident unless an earlier attempt did.
func (s *ServiceNow) open(ctx context.Context, rec model.TicketRecord) error {
	inc, err := s.find(ctx, rec, true)
	if err != nil {
		return err
	}
	if inc == nil {
		return s.create(ctx, rec)
	}
	log := zerolog.Ctx(ctx).Info().Str("channel", "servicenow").Str("ticketId", rec.TicketID).Str("incident", inc.Number)
	if inc.CorrelationID != rec.TicketID {
		// An earlier delivery of this decision created it under the ticket
		// id of that delivery; later events look it up by this one.
		if err := s.patch(ctx, inc.SysID, incidentFields{CorrelationID: rec.TicketID}); err != nil {
			return err
		}
		log.Str("previousTicketId", inc.CorrelationID).Msg("notify: incident of an earlier delivery found; ticket id moved to it")
		return nil
	}
	log.Msg("notify: incident already open")
	return nil
}

// update adds the event's text as a work note, once.
func (s *ServiceNow) update(ctx context.Context, rec model.TicketRecord) error {
	inc, err := s.find(ctx, rec, false)
	if err != nil {
		return err
	}
	if inc == nil {
		// The incident is gone (deleted, or never reached ServiceNow while
		// credres recorded it): the user still needs the helpdesk.
		zerolog.Ctx(ctx).Warn().Str("channel", "servicenow").Str("ticketId", rec.TicketID).Msg("notify: no incident to update; opening one")
		return s.create(ctx, rec)
	}
	if inc.CorrelationDisplay == marker(rec.DecisionID) {
		return nil // this update was applied by an earlier attempt
	}
	title, desc := ticketText(rec)
	return s.patch(ctx, inc.SysID, incidentFields{WorkNotes: title + "\n\n" + desc, CorrelationDisplay: marker(rec.DecisionID)})
}

// resolve resolves the incident unless it is resolved, closed or gone.
func (s *ServiceNow) resolve(ctx context.Context, rec model.TicketRecord) error {
	inc, err := s.find(ctx, rec, false)
	if err != nil {
		return err
	}
	log := zerolog.Ctx(ctx).Info().Str("channel", "servicenow").Str("ticketId", rec.TicketID)
	if inc == nil {
		log.Msg("notify: no incident to resolve")
		return nil
	}
	switch inc.State {
	case snResolved, snClosed, snCanceled:
		log.Str("incident", inc.Number).Msg("notify: incident already resolved or closed")
		return nil
	}
	_, desc := ticketText(rec)
	return s.patch(ctx, inc.SysID, incidentFields{
		State: snResolved, CloseCode: s.closeCode, CloseNotes: desc, CorrelationDisplay: marker(rec.DecisionID),
	})
}

// find looks the ticket's incident up by ticket id and, for an opening, by
// the decision id an earlier attempt left on it.
func (s *ServiceNow) find(ctx context.Context, rec model.TicketRecord, byDecision bool) (*incident, error) {
	q := "correlation_id=" + rec.TicketID
	if byDecision {
		q += "^ORcorrelation_display=" + marker(rec.DecisionID)
	}
	resp, err := s.ep.send(ctx, request{
		method: http.MethodGet,
		path:   snTable,
		query:  url.Values{"sysparm_query": {q}, "sysparm_fields": {snFields}, "sysparm_limit": {"10"}},
	})
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound && strings.Contains(se.Message, "No Record found") {
			return nil, nil // Table API v1 answers an empty result with 404
		}
		return nil, err
	}
	var out struct {
		Result []incident `json:"result"`
	}
	if err := decodeJSON(resp.body, &out); err != nil {
		return nil, err
	}
	// ServiceNow ignores a query term it cannot parse and returns more than
	// was asked for; only incidents that really match count.
	var byMarker *incident
	for i := range out.Result {
		inc := &out.Result[i]
		if inc.SysID == "" {
			continue
		}
		if inc.CorrelationID == rec.TicketID {
			return inc, nil
		}
		if byDecision && byMarker == nil && inc.CorrelationDisplay == marker(rec.DecisionID) {
			byMarker = inc
		}
	}
	return byMarker, nil
}

// create opens a new incident for the ticket.
func (s *ServiceNow) create(ctx context.Context, rec model.TicketRecord) error {
	title, desc := ticketText(rec)
	resp, err := s.ep.send(ctx, request{
		method: http.MethodPost,
		path:   snTable,
		query:  url.Values{"sysparm_fields": {snFields}},
		body: jsonBody(incidentFields{
			ShortDescription: truncate(title, maxShortDescription), Description: desc,
			CorrelationID: rec.TicketID, CorrelationDisplay: marker(rec.DecisionID),
			Category: s.category, AssignmentGroup: s.group, CallerID: s.caller,
		}),
	})
	if err != nil {
		return err
	}
	var out struct {
		Result incident `json:"result"`
	}
	if err := decodeJSON(resp.body, &out); err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Str("channel", "servicenow").Str("ticketId", rec.TicketID).Str("incident", out.Result.Number).Msg("notify: incident opened")
	return nil
}

// patch updates fields of an incident.
func (s *ServiceNow) patch(ctx context.Context, sysID string, f incidentFields) error {
	_, err := s.ep.send(ctx, request{
		method: http.MethodPatch,
		path:   append(append([]string(nil), snTable...), sysID),
		query:  url.Values{"sysparm_fields": {snFields}},
		body:   jsonBody(f),
	})
	return err
}

// serviceNowMessage reads the Table API's error body:
// {"error":{"message","detail"},"status":"failure"}.
func serviceNowMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Detail  string `json:"detail"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return plainMessage(body)
	}
	if e.Error.Detail == "" {
		return e.Error.Message
	}
	return e.Error.Message + ": " + e.Error.Detail
}
