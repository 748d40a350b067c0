package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// DefaultJiraIssueType is the issue type of new issues when none is set.
const DefaultJiraIssueType = "Task"

// jiraLabel marks every issue credres opens.
const jiraLabel = "credres"

// maxSummary is the length of a Jira summary.
const maxSummary = 255

// JiraConfig configures a Jira Cloud ticket channel.
type JiraConfig struct {
	// URL is the site, e.g. https://contoso.atlassian.net.
	URL string
	// Project is the key of the project issues are created in.
	Project string
	// IssueType is the name, or the numeric id, of the issue type of new
	// issues; DefaultJiraIssueType when empty.
	IssueType string
	// DoneTransition is the id of the workflow transition that resolves an
	// issue (GET /rest/api/3/issue/{key}/transitions lists them).
	DoneTransition string
	// Secrets and Secret name the credential: a JSON object with "email"
	// and "apiToken" of the Atlassian account credres acts as.
	Secrets    model.SecretSource
	Secret     string
	HTTPClient *http.Client
	// Clock is the time source of retry waits; the wall clock when nil.
	Clock Clock
}

// Jira opens, comments on and resolves issues with Jira Cloud's REST API
// v3. Descriptions and comments are Atlassian Document Format.
//
// An issue carries the labels "credres", "credres-user-<user object id>"
// and "credres-<ticket id>". Every event first searches for the user's open
// credres issue, so that one user has one open issue however often an
// event is delivered; a comment carries "credres event <decision id>" and
// is not posted again when a retry finds it. Jira's search is eventually
// consistent (an issue may take seconds to appear), so a create whose
// answer was lost is not retried within the call: the queue delivers it
// again minutes later, when the search finds the issue.
type Jira struct {
	ep        *endpoint
	project   string
	issueType string
	done      string
}

// NewJira checks cfg and returns a channel.
func NewJira(cfg JiraConfig) (*Jira, error) {
	base, err := parseBase("jira", cfg.URL, false)
	if err != nil {
		return nil, err
	}
	if !safeID(cfg.Project) {
		return nil, fmt.Errorf("jira: %w: project key %q is not a project key", model.ErrInvalidInput, cfg.Project)
	}
	if strings.TrimSpace(cfg.DoneTransition) == "" {
		return nil, fmt.Errorf("jira: %w: no done transition id", model.ErrInvalidInput)
	}
	if cfg.Secret == "" || cfg.Secrets == nil {
		return nil, fmt.Errorf("jira: %w: no credential configured", model.ErrInvalidInput)
	}
	j := &Jira{project: cfg.Project, issueType: cfg.IssueType, done: strings.TrimSpace(cfg.DoneTransition)}
	if j.issueType == "" {
		j.issueType = DefaultJiraIssueType
	}
	j.ep = newEndpoint("jira", base, cfg.HTTPClient, cfg.Clock)
	j.ep.message = jiraMessage
	j.ep.auth = secretAuth("jira", cfg.Secrets, cfg.Secret, func(v string) (string, error) {
		var c struct {
			Email    string `json:"email"`
			APIToken string `json:"apiToken"`
		}
		if json.Unmarshal([]byte(v), &c) != nil || c.Email == "" || c.APIToken == "" {
			return "", fmt.Errorf("jira: credentials: %w: secret %s is not a JSON object with email and apiToken", model.ErrInvalidInput, cfg.Secret)
		}
		return basicAuth(c.Email, c.APIToken), nil
	})
	return j, nil
}

// jiraIssue is what credres reads of an issue.
type jiraIssue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Labels []string `json:"labels"`
		Status struct {
			Name           string `json:"name"`
			StatusCategory struct {
				Key string `json:"key"`
			} `json:"statusCategory"`
		} `json:"status"`
	} `json:"fields"`
}

func (i *jiraIssue) done() bool { return i.Fields.Status.StatusCategory.Key == "done" }

func userLabel(userID string) string     { return "credres-user-" + userID }
func ticketLabel(ticketID string) string { return "credres-" + ticketID }
func eventMarker(decisionID string) string {
	return "credres event " + decisionID
}

// SendTicket applies one ticket event to the user's issue.
func (j *Jira) SendTicket(ctx context.Context, _ model.DecisionMessage, rec model.TicketRecord) error {
	if !safeID(rec.TicketID) || !safeID(rec.DecisionID) || !safeID(rec.UserID) {
		return fmt.Errorf("jira: ticket %q: %w: ticket, decision and user ids must be letters, digits, '-', '_' or '.'", rec.TicketID, model.ErrInvalidInput)
	}
	return ticketActions{open: j.open, update: j.update, resolve: j.resolve}.apply(ctx, j.ep, "jira", "issue", rec)
}

// open creates the user's issue unless one is open.
func (j *Jira) open(ctx context.Context, rec model.TicketRecord) error {
	is, err := j.search(ctx, rec.UserID)
	if err != nil {
		return err
	}
	if is == nil {
		return j.create(ctx, rec)
	}
	if !slices.Contains(is.Fields.Labels, ticketLabel(rec.TicketID)) {
		// Opened by an earlier delivery under another ticket id: label it
		// with this one too, so people find it by the id credres reports.
		_, err := j.ep.send(ctx, request{
			method: http.MethodPut,
			path:   []string{"rest", "api", "3", "issue", is.Key},
			body:   jsonBody(map[string]any{"update": map[string]any{"labels": []map[string]string{{"add": ticketLabel(rec.TicketID)}}}}),
		})
		if err != nil {
			return err
		}
	}
	zerolog.Ctx(ctx).Info().Str("channel", "jira").Str("ticketId", rec.TicketID).Str("issue", is.Key).Msg("notify: issue already open")
	return nil
}

// update comments on the user's open issue, or opens one when there is none.
func (j *Jira) update(ctx context.Context, rec model.TicketRecord) error {
	is, err := j.search(ctx, rec.UserID)
	if err != nil {
		return err
	}
	if is == nil {
		zerolog.Ctx(ctx).Warn().Str("channel", "jira").Str("ticketId", rec.TicketID).Msg("notify: no open issue to update; opening one")
		return j.create(ctx, rec)
	}
	title, desc := ticketText(rec)
	return j.comment(ctx, is.Key, rec, title+"\n\n"+desc)
}

// resolve comments on the user's open issue and moves it to done.
func (j *Jira) resolve(ctx context.Context, rec model.TicketRecord) error {
	is, err := j.search(ctx, rec.UserID)
	if err != nil {
		return err
	}
	if is == nil {
		zerolog.Ctx(ctx).Info().Str("channel", "jira").Str("ticketId", rec.TicketID).Msg("notify: no open issue to resolve")
		return nil
	}
	_, desc := ticketText(rec)
	if err := j.comment(ctx, is.Key, rec, desc); err != nil {
		return err
	}
	// The search may lag behind a transition an earlier attempt made; the
	// issue itself does not.
	resp, err := j.ep.send(ctx, request{
		method: http.MethodGet,
		path:   []string{"rest", "api", "3", "issue", is.Key},
		query:  url.Values{"fields": {"status"}},
	})
	if err != nil {
		return err
	}
	var cur jiraIssue
	if err := decodeJSON(resp.body, &cur); err != nil {
		return err
	}
	if cur.done() {
		return nil
	}
	_, err = j.ep.send(ctx, request{
		method: http.MethodPost,
		path:   []string{"rest", "api", "3", "issue", is.Key, "transitions"},
		body:   jsonBody(map[string]any{"transition": map[string]string{"id": j.done}}),
	})
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Str("channel", "jira").Str("ticketId", rec.TicketID).Str("issue", is.Key).Msg("notify: issue resolved")
	return nil
}

// search finds the user's open credres issue, the oldest when there are
// several.
func (j *Jira) search(ctx context.Context, userID string) (*jiraIssue, error) {
	jql := fmt.Sprintf(`project = "%s" AND labels = "%s" AND statusCategory != Done ORDER BY created ASC`, j.project, userLabel(userID))
	resp, err := j.ep.send(ctx, request{
		method: http.MethodGet,
		path:   []string{"rest", "api", "3", "search", "jql"},
		query:  url.Values{"jql": {jql}, "fields": {"labels,status"}, "maxResults": {"10"}},
	})
	if err != nil {
		return nil, err
	}
	var out struct {
		Issues []jiraIssue `json:"issues"`
	}
	if err := decodeJSON(resp.body, &out); err != nil {
		return nil, err
	}
	for i := range out.Issues {
		is := &out.Issues[i]
		if is.Key != "" && slices.Contains(is.Fields.Labels, userLabel(userID)) && !is.done() {
			return is, nil
		}
	}
	return nil, nil
}

// create opens an issue. A create whose outcome is unknown is final for
// this call: the search could not yet see the issue if it was created.
func (j *Jira) create(ctx context.Context, rec model.TicketRecord) error {
	title, desc := ticketText(rec)
	issueType := map[string]string{"name": j.issueType}
	if isDigits(j.issueType) {
		issueType = map[string]string{"id": j.issueType}
	}
	resp, err := j.ep.send(ctx, request{
		method: http.MethodPost,
		path:   []string{"rest", "api", "3", "issue"},
		body: jsonBody(map[string]any{"fields": map[string]any{
			"project":     map[string]string{"key": j.project},
			"issuetype":   issueType,
			"summary":     truncate(strings.Join(strings.Fields(title), " "), maxSummary),
			"description": adfDocument(desc),
			"labels":      []string{jiraLabel, userLabel(rec.UserID), ticketLabel(rec.TicketID)},
		}}),
	})
	if err != nil {
		if ambiguous(err) {
			return final(err)
		}
		return err
	}
	var out struct {
		Key string `json:"key"`
	}
	if err := decodeJSON(resp.body, &out); err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Str("channel", "jira").Str("ticketId", rec.TicketID).Str("issue", out.Key).Msg("notify: issue opened")
	return nil
}

// comment adds text to the issue with the event's marker, unless a comment
// with that marker is there already.
func (j *Jira) comment(ctx context.Context, key string, rec model.TicketRecord, text string) error {
	mark := eventMarker(rec.DecisionID)
	resp, err := j.ep.send(ctx, request{
		method: http.MethodGet,
		path:   []string{"rest", "api", "3", "issue", key, "comment"},
		query:  url.Values{"orderBy": {"-created"}, "maxResults": {"100"}},
	})
	if err != nil {
		return err
	}
	if bytes.Contains(resp.body, []byte(mark)) {
		return nil // posted by an earlier attempt
	}
	_, err = j.ep.send(ctx, request{
		method: http.MethodPost,
		path:   []string{"rest", "api", "3", "issue", key, "comment"},
		body:   jsonBody(map[string]any{"body": adfDocument(text + "\n\n" + mark)}),
	})
	return err
}

// jiraMessage reads Jira's error body: {"errorMessages":[…],"errors":{…}}.
func jiraMessage(body []byte) string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || (len(e.ErrorMessages) == 0 && len(e.Errors) == 0) {
		return plainMessage(body)
	}
	parts := append([]string(nil), e.ErrorMessages...)
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+e.Errors[k])
	}
	return strings.Join(parts, "; ")
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
