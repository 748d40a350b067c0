package notifytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// JiraSite is what a Jira fake is: its project, the done transition and
// the account it accepts (basic authentication with email and API token).
type JiraSite struct {
	Project        string
	DoneTransition string
	Email          string
	APIToken       string
	// SearchLag is how long a change takes to show in search results
	// (Jira's search is eventually consistent); it runs on Clock.
	SearchLag time.Duration
	// Clock stamps changes; the wall clock when nil.
	Clock interface{ Now() time.Time }
}

// Issue is an issue a Jira fake holds.
type Issue struct {
	ID      string
	Key     string
	Summary string
	Type    string
	Labels  []string
	// Status is "To Do" or "Done".
	Status string
	// Description and Comments are the plain text of their ADF documents,
	// paragraphs separated by blank lines, hard breaks by newlines and
	// list items by "- ".
	Description string
	Comments    []string
	changed     time.Time // when search started to see the current state
	indexed     snapshot  // what search sees until the lag has passed
}

type snapshot struct {
	labels []string
	status string
}

// Jira is a fake Jira Cloud site with REST API v3: create an issue, search
// with JQL (GET /rest/api/3/search/jql: clauses project =, labels =,
// statusCategory = or != joined by AND, and ORDER BY created), read an
// issue, edit its labels, list and add comments, and transition it. It
// checks that descriptions and comments are valid Atlassian Document
// Format, that summaries are one line of at most 255 characters, and that
// labels have no spaces.
type Jira struct {
	recorder
	site JiraSite
	url  string

	mu     sync.Mutex
	issues []*Issue
}

// NewJira starts a fake site.
func NewJira(tb testing.TB, site JiraSite) *Jira {
	if site.Clock == nil {
		site.Clock = NewClock(time.Time{})
	}
	j := &Jira{recorder: recorder{tb: tb, name: "jira"}, site: site}
	j.url = start(tb, j.serve(j.handle, jiraError)).URL
	return j
}

// URL is the site URL.
func (j *Jira) URL() string { return j.url }

// Issues returns copies of the issues, in creation order.
func (j *Jira) Issues() []Issue {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Issue, len(j.issues))
	for i, is := range j.issues {
		out[i] = *is
		out[i].Labels = slices.Clone(is.Labels)
		out[i].Comments = slices.Clone(is.Comments)
	}
	return out
}

func jiraError(status int) []byte { return jiraErrorBody(http.StatusText(status)) }

func jiraErrorBody(msg string) []byte {
	b, _ := json.Marshal(map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}})
	return b
}

func (j *Jira) handle(r *http.Request, body []byte) answer {
	if u, p, ok := r.BasicAuth(); !ok || u != j.site.Email || p != j.site.APIToken {
		return answer{status: http.StatusUnauthorized, body: jiraErrorBody("Client must be authenticated to access this resource.")}
	}
	if (r.Method == http.MethodPost || r.Method == http.MethodPut) && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		j.violation("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	p := strings.Split(strings.TrimPrefix(r.URL.Path, "/rest/api/3/"), "/")
	switch {
	case r.Method == http.MethodPost && len(p) == 1 && p[0] == "issue":
		return j.create(body)
	case r.Method == http.MethodGet && len(p) == 2 && p[0] == "search" && p[1] == "jql":
		return j.search(r.URL.Query())
	case len(p) >= 2 && p[0] == "issue":
		is := j.issue(p[1])
		if is == nil {
			return answer{status: http.StatusNotFound, body: jiraErrorBody("Issue does not exist or you do not have permission to see it.")}
		}
		switch {
		case r.Method == http.MethodGet && len(p) == 2:
			return j.show(is)
		case r.Method == http.MethodPut && len(p) == 2:
			return j.edit(is, body)
		case r.Method == http.MethodGet && len(p) == 3 && p[2] == "comment":
			return j.comments(is, r.URL.Query())
		case r.Method == http.MethodPost && len(p) == 3 && p[2] == "comment":
			return j.addComment(is, body)
		case r.Method == http.MethodPost && len(p) == 3 && p[2] == "transitions":
			return j.transition(is, body)
		}
	}
	return answer{status: http.StatusNotFound, body: jiraErrorBody("No resource at " + r.Method + " " + r.URL.Path)}
}

func (j *Jira) create(body []byte) answer {
	var req struct {
		Fields struct {
			Project struct {
				Key string `json:"key"`
			} `json:"project"`
			IssueType struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"issuetype"`
			Summary     string          `json:"summary"`
			Description json.RawMessage `json:"description"`
			Labels      []string        `json:"labels"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		j.violation("create issue: body: %v", err)
		return answer{status: http.StatusBadRequest, body: jiraErrorBody("Invalid request payload.")}
	}
	f := req.Fields
	errs := map[string]string{}
	if f.Project.Key != j.site.Project {
		errs["project"] = "valid project is required"
	}
	if f.IssueType.ID == "" && f.IssueType.Name == "" {
		errs["issuetype"] = "valid issue type is required"
	}
	if f.Summary == "" || strings.ContainsAny(f.Summary, "\r\n") || utf8.RuneCountInString(f.Summary) > 255 {
		errs["summary"] = "Summary must be one line of less than 255 characters."
	}
	text, err := adfText(f.Description)
	if err != nil {
		errs["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format): " + err.Error()
	}
	for _, l := range f.Labels {
		if l == "" || strings.ContainsAny(l, " \t") {
			errs["labels"] = fmt.Sprintf("The label '%s' contains spaces which is invalid.", l)
		}
	}
	if len(errs) > 0 {
		j.violation("create issue: %v", errs)
		b, _ := json.Marshal(map[string]any{"errorMessages": []string{}, "errors": errs})
		return answer{status: http.StatusBadRequest, body: b}
	}
	j.mu.Lock()
	n := len(j.issues) + 1
	is := &Issue{
		ID: fmt.Sprint(10000 + n), Key: fmt.Sprintf("%s-%d", j.site.Project, n), Summary: f.Summary,
		Type: f.IssueType.Name + f.IssueType.ID, Labels: f.Labels, Status: "To Do", Description: text,
		changed: j.site.Clock.Now(), indexed: snapshot{status: "absent"},
	}
	j.issues = append(j.issues, is)
	j.mu.Unlock()
	b, _ := json.Marshal(map[string]string{"id": is.ID, "key": is.Key, "self": j.url + "/rest/api/3/issue/" + is.ID})
	return answer{status: http.StatusCreated, body: b}
}

// changedLocked starts the search lag of a change to is.
func (j *Jira) changedLocked(is *Issue, before snapshot) {
	if j.site.Clock.Now().Sub(is.changed) >= j.site.SearchLag {
		is.indexed = before
	}
	is.changed = j.site.Clock.Now()
}

// seen is what search sees of is.
func (j *Jira) seen(is *Issue) snapshot {
	if j.site.Clock.Now().Sub(is.changed) >= j.site.SearchLag {
		return snapshot{labels: is.Labels, status: is.Status}
	}
	return is.indexed
}

func (j *Jira) issue(key string) *Issue {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, is := range j.issues {
		if is.Key == key || is.ID == key {
			return is
		}
	}
	return nil
}

type jql struct {
	clauses []clause
	order   string
}

type clause struct{ field, op, value string }

// parseJQL reads the subset of JQL the fake understands.
func parseJQL(s string) (jql, error) {
	var q jql
	where, order, _ := strings.Cut(s, " ORDER BY ")
	q.order = strings.TrimSpace(order)
	if q.order != "" && q.order != "created ASC" && q.order != "created DESC" {
		return q, fmt.Errorf("unsupported ORDER BY %q", q.order)
	}
	for _, c := range strings.Split(where, " AND ") {
		c = strings.TrimSpace(c)
		var cl clause
		for _, op := range []string{" != ", " = "} {
			if f, v, ok := strings.Cut(c, op); ok {
				cl = clause{field: strings.TrimSpace(f), op: strings.TrimSpace(op), value: strings.Trim(strings.TrimSpace(v), `"`)}
				break
			}
		}
		switch cl.field {
		case "project", "labels", "statusCategory":
		default:
			return q, fmt.Errorf("unsupported clause %q", c)
		}
		q.clauses = append(q.clauses, cl)
	}
	return q, nil
}

func (j *Jira) search(v url.Values) answer {
	q, err := parseJQL(v.Get("jql"))
	if err != nil {
		j.violation("search: %v", err)
		return answer{status: http.StatusBadRequest, body: jiraErrorBody("Error in the JQL Query: " + err.Error())}
	}
	j.mu.Lock()
	var found []map[string]any
	for _, is := range j.issues {
		s := j.seen(is)
		if s.status == "absent" {
			continue
		}
		ok := true
		for _, c := range q.clauses {
			var m bool
			switch c.field {
			case "project":
				m = strings.HasPrefix(is.Key, c.value+"-")
			case "labels":
				m = slices.Contains(s.labels, c.value)
			case "statusCategory":
				m = strings.EqualFold(categoryName(s.status), c.value)
			}
			if m != (c.op == "=") {
				ok = false
			}
		}
		if ok {
			found = append(found, issueJSON(is.ID, is.Key, s))
		}
	}
	j.mu.Unlock()
	if q.order == "created DESC" {
		slices.Reverse(found)
	}
	if found == nil {
		found = []map[string]any{}
	}
	b, _ := json.Marshal(map[string]any{"issues": found, "isLast": true})
	return answer{status: http.StatusOK, body: b}
}

func categoryName(status string) string {
	if status == "Done" {
		return "Done"
	}
	return "To Do"
}

func issueJSON(id, key string, s snapshot) map[string]any {
	cat := "new"
	if s.status == "Done" {
		cat = "done"
	}
	return map[string]any{"id": id, "key": key, "fields": map[string]any{
		"labels": s.labels,
		"status": map[string]any{"name": s.status, "statusCategory": map[string]string{"key": cat, "name": categoryName(s.status)}},
	}}
}

func (j *Jira) show(is *Issue) answer {
	j.mu.Lock()
	b, _ := json.Marshal(issueJSON(is.ID, is.Key, snapshot{labels: is.Labels, status: is.Status}))
	j.mu.Unlock()
	return answer{status: http.StatusOK, body: b}
}

func (j *Jira) edit(is *Issue, body []byte) answer {
	var req struct {
		Update struct {
			Labels []map[string]string `json:"labels"`
		} `json:"update"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Update.Labels) == 0 {
		j.violation("edit issue %s: want an update of labels: %s", is.Key, body)
		return answer{status: http.StatusBadRequest, body: jiraErrorBody("Invalid request payload.")}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	before := snapshot{labels: slices.Clone(is.Labels), status: is.Status}
	for _, op := range req.Update.Labels {
		if l, ok := op["add"]; ok && !slices.Contains(is.Labels, l) {
			is.Labels = append(is.Labels, l)
		}
		if l, ok := op["remove"]; ok {
			is.Labels = slices.DeleteFunc(is.Labels, func(x string) bool { return x == l })
		}
	}
	j.changedLocked(is, before)
	return answer{status: http.StatusNoContent}
}

func (j *Jira) comments(is *Issue, v url.Values) answer {
	j.mu.Lock()
	var cs []map[string]any
	for i, c := range is.Comments {
		cs = append(cs, map[string]any{"id": fmt.Sprint(20000 + i), "body": textADF(c)})
	}
	j.mu.Unlock()
	if v.Get("orderBy") == "-created" {
		slices.Reverse(cs)
	}
	if cs == nil {
		cs = []map[string]any{}
	}
	b, _ := json.Marshal(map[string]any{"startAt": 0, "maxResults": 100, "total": len(cs), "comments": cs})
	return answer{status: http.StatusOK, body: b}
}

func (j *Jira) addComment(is *Issue, body []byte) answer {
	var req struct {
		Body json.RawMessage `json:"body"`
	}
	_ = json.Unmarshal(body, &req)
	text, err := adfText(req.Body)
	if err != nil {
		j.violation("comment on %s: %v", is.Key, err)
		return answer{status: http.StatusBadRequest, body: jiraErrorBody("Comment body is not valid ADF: " + err.Error())}
	}
	j.mu.Lock()
	is.Comments = append(is.Comments, text)
	id := 20000 + len(is.Comments) - 1
	j.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"id": fmt.Sprint(id), "body": json.RawMessage(req.Body)})
	return answer{status: http.StatusCreated, body: b}
}

func (j *Jira) transition(is *Issue, body []byte) answer {
	var req struct {
		Transition struct {
			ID string `json:"id"`
		} `json:"transition"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Transition.ID == "" {
		j.violation("transition %s: want {\"transition\":{\"id\":…}}: %s", is.Key, body)
		return answer{status: http.StatusBadRequest, body: jiraErrorBody("Invalid request payload.")}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if req.Transition.ID != j.site.DoneTransition || is.Status == "Done" {
		return answer{status: http.StatusBadRequest, body: jiraErrorBody(fmt.Sprintf("Transition id '%s' is not valid for this issue.", req.Transition.ID))}
	}
	before := snapshot{labels: slices.Clone(is.Labels), status: is.Status}
	is.Status = "Done"
	j.changedLocked(is, before)
	return answer{status: http.StatusNoContent}
}

// adfNode is a node of an Atlassian Document Format document.
type adfNode struct {
	Type    string          `json:"type"`
	Version int             `json:"version"`
	Text    string          `json:"text"`
	Content []adfNode       `json:"content"`
	Attrs   json.RawMessage `json:"attrs"`
	Marks   json.RawMessage `json:"marks"`
}

// adfText validates an ADF document (the subset credres writes: paragraphs
// of text and hard breaks, bullet lists) and returns its plain text.
func adfText(raw json.RawMessage) (string, error) {
	var doc adfNode
	if len(raw) == 0 {
		return "", fmt.Errorf("no document")
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", err
	}
	if doc.Type != "doc" || doc.Version != 1 {
		return "", fmt.Errorf("root must be {\"type\":\"doc\",\"version\":1}, got type %q version %d", doc.Type, doc.Version)
	}
	if len(doc.Content) == 0 {
		return "", fmt.Errorf("doc has no content")
	}
	var blocks []string
	for _, b := range doc.Content {
		t, err := adfBlock(b)
		if err != nil {
			return "", err
		}
		blocks = append(blocks, t)
	}
	return strings.Join(blocks, "\n\n"), nil
}

func adfBlock(n adfNode) (string, error) {
	switch n.Type {
	case "paragraph":
		var b strings.Builder
		for _, in := range n.Content {
			switch in.Type {
			case "text":
				if in.Text == "" {
					return "", fmt.Errorf("empty text node")
				}
				if len(in.Content) > 0 {
					return "", fmt.Errorf("text node with content")
				}
				b.WriteString(in.Text)
			case "hardBreak":
				b.WriteString("\n")
			default:
				return "", fmt.Errorf("inline node %q not expected in a paragraph", in.Type)
			}
		}
		return b.String(), nil
	case "bulletList":
		if len(n.Content) == 0 {
			return "", fmt.Errorf("empty bulletList")
		}
		var items []string
		for _, li := range n.Content {
			if li.Type != "listItem" || len(li.Content) == 0 {
				return "", fmt.Errorf("bulletList holds %q, want non-empty listItem", li.Type)
			}
			var parts []string
			for _, c := range li.Content {
				t, err := adfBlock(c)
				if err != nil {
					return "", err
				}
				parts = append(parts, t)
			}
			items = append(items, "- "+strings.Join(parts, "\n"))
		}
		return strings.Join(items, "\n"), nil
	}
	return "", fmt.Errorf("block node %q not expected", n.Type)
}

// textADF turns stored comment text back into an ADF document.
func textADF(text string) map[string]any {
	var content []map[string]any
	for _, p := range strings.Split(text, "\n\n") {
		var inline []map[string]any
		for i, line := range strings.Split(p, "\n") {
			if i > 0 {
				inline = append(inline, map[string]any{"type": "hardBreak"})
			}
			if line != "" {
				inline = append(inline, map[string]any{"type": "text", "text": line})
			}
		}
		content = append(content, map[string]any{"type": "paragraph", "content": inline})
	}
	return map[string]any{"type": "doc", "version": 1, "content": content}
}
