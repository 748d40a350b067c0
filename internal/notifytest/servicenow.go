package notifytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// ServiceNowCredential is what a ServiceNow fake accepts: basic
// authentication with User and Password, or a bearer Token.
type ServiceNowCredential struct {
	User, Password, Token string
}

// Incident is an incident a ServiceNow fake holds.
type Incident struct {
	SysID              string
	Number             string
	State              string
	ShortDescription   string
	Description        string
	CorrelationID      string
	CorrelationDisplay string
	Category           string
	AssignmentGroup    string
	CallerID           string
	CloseCode          string
	CloseNotes         string
	// WorkNotes are the work notes added, oldest first.
	WorkNotes []string
}

// ServiceNow is a fake of the Table API's incident table
// (/api/now/table/incident): GET with sysparm_query, POST, PATCH and GET
// by sys_id. It checks that bodies are JSON objects of string values
// naming incident fields, that a new incident has a short description (at
// most 160 characters) and a correlation id, and that a resolution
// (state 6) has a close code and close notes. Like ServiceNow, it ignores
// query terms naming fields it does not know.
type ServiceNow struct {
	recorder
	url  string
	cred ServiceNowCredential

	mu        sync.Mutex
	incidents []*Incident
}

// NewServiceNow starts a fake instance accepting cred.
func NewServiceNow(tb testing.TB, cred ServiceNowCredential) *ServiceNow {
	s := &ServiceNow{recorder: recorder{tb: tb, name: "servicenow"}, cred: cred}
	s.url = start(tb, s.serve(s.handle, serviceNowError)).URL
	return s
}

// URL is the instance URL.
func (s *ServiceNow) URL() string { return s.url }

// Incidents returns copies of the incidents, in creation order.
func (s *ServiceNow) Incidents() []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Incident, len(s.incidents))
	for i, inc := range s.incidents {
		out[i] = *inc
		out[i].WorkNotes = append([]string(nil), inc.WorkNotes...)
	}
	return out
}

const snTablePath = "/api/now/table/incident"

// snWritable are the fields the fake lets a client set.
var snWritable = map[string]bool{
	"short_description": true, "description": true, "correlation_id": true, "correlation_display": true,
	"category": true, "assignment_group": true, "caller_id": true, "work_notes": true, "state": true,
	"close_code": true, "close_notes": true,
}

// snQueryable are the fields a query may name; others are ignored.
var snQueryable = map[string]bool{
	"sys_id": true, "number": true, "state": true, "correlation_id": true, "correlation_display": true,
	"category": true, "short_description": true,
}

func serviceNowError(status int) []byte {
	return snErrorBody(http.StatusText(status), "")
}

func snErrorBody(message, detail string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"message": message, "detail": detail}, "status": "failure"})
	return b
}

func (s *ServiceNow) authorised(r *http.Request) bool {
	if s.cred.Token != "" && bearer(r.Header) == s.cred.Token {
		return true
	}
	u, p, ok := r.BasicAuth()
	return ok && s.cred.User != "" && u == s.cred.User && p == s.cred.Password
}

func (s *ServiceNow) handle(r *http.Request, body []byte) answer {
	if !s.authorised(r) {
		return answer{status: http.StatusUnauthorized, body: snErrorBody("User Not Authenticated", "Required to provide Auth information")}
	}
	if a := r.Header.Get("Accept"); a != "application/json" {
		s.violation("%s %s: Accept %q, want application/json", r.Method, r.URL.Path, a)
	}
	rest, ok := strings.CutPrefix(r.URL.Path, snTablePath)
	if !ok {
		return answer{status: http.StatusBadRequest, body: snErrorBody("Invalid table", r.URL.Path)}
	}
	sysID := strings.TrimPrefix(rest, "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && sysID == "":
		return s.list(q)
	case r.Method == http.MethodGet:
		inc := s.byID(sysID)
		if inc == nil {
			return answer{status: http.StatusNotFound, body: snErrorBody("No Record found", "Record doesn't exist or ACL restricts the record retrieval")}
		}
		return s.result(http.StatusOK, inc, q)
	case r.Method == http.MethodPost && sysID == "":
		f, bad := s.fields(r, body)
		if bad != nil {
			return *bad
		}
		if f["short_description"] == "" || utf8.RuneCountInString(f["short_description"]) > 160 {
			s.violation("POST incident: short_description %q must be 1 to 160 characters", f["short_description"])
			return answer{status: http.StatusBadRequest, body: snErrorBody("Data Policy Exception", "Short description is mandatory")}
		}
		if f["correlation_id"] == "" {
			s.violation("POST incident without correlation_id")
		}
		s.mu.Lock()
		n := len(s.incidents) + 1
		inc := &Incident{SysID: fmt.Sprintf("%032x", 0x5e7000+n), Number: fmt.Sprintf("INC%07d", 10000+n), State: "1"}
		apply(inc, f)
		s.incidents = append(s.incidents, inc)
		s.mu.Unlock()
		a := s.result(http.StatusCreated, inc, q)
		a.header = map[string]string{"Location": s.url + snTablePath + "/" + inc.SysID}
		return a
	case r.Method == http.MethodPatch && sysID != "":
		f, bad := s.fields(r, body)
		if bad != nil {
			return *bad
		}
		inc := s.byID(sysID)
		if inc == nil {
			return answer{status: http.StatusNotFound, body: snErrorBody("No Record found", "Record doesn't exist or ACL restricts the record retrieval")}
		}
		if f["state"] == "6" && (f["close_code"] == "" || f["close_notes"] == "") {
			s.violation("PATCH incident %s: resolving needs close_code and close_notes", sysID)
			return answer{status: http.StatusForbidden, body: snErrorBody("Operation Failed", "Data Policy Exception: Resolution code, Resolution notes are mandatory")}
		}
		s.mu.Lock()
		apply(inc, f)
		s.mu.Unlock()
		return s.result(http.StatusOK, inc, q)
	}
	return answer{status: http.StatusMethodNotAllowed, body: snErrorBody("Method not Supported", r.Method)}
}

// fields decodes a POST or PATCH body: a JSON object of strings.
func (s *ServiceNow) fields(r *http.Request, body []byte) (map[string]string, *answer) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.violation("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
	}
	var f map[string]string
	if err := json.Unmarshal(body, &f); err != nil {
		s.violation("%s %s: body is not a JSON object of strings: %v", r.Method, r.URL.Path, err)
		return nil, &answer{status: http.StatusBadRequest, body: snErrorBody("Exception while reading request", "The payload is not valid JSON.")}
	}
	for k := range f {
		if !snWritable[k] {
			s.violation("%s %s: unexpected field %q", r.Method, r.URL.Path, k)
		}
	}
	return f, nil
}

func apply(inc *Incident, f map[string]string) {
	set := func(dst *string, k string) {
		if v, ok := f[k]; ok {
			*dst = v
		}
	}
	set(&inc.ShortDescription, "short_description")
	set(&inc.Description, "description")
	set(&inc.CorrelationID, "correlation_id")
	set(&inc.CorrelationDisplay, "correlation_display")
	set(&inc.Category, "category")
	set(&inc.AssignmentGroup, "assignment_group")
	set(&inc.CallerID, "caller_id")
	set(&inc.State, "state")
	set(&inc.CloseCode, "close_code")
	set(&inc.CloseNotes, "close_notes")
	if v := f["work_notes"]; v != "" {
		inc.WorkNotes = append(inc.WorkNotes, v)
	}
}

func (s *ServiceNow) byID(sysID string) *Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inc := range s.incidents {
		if inc.SysID == sysID {
			return inc
		}
	}
	return nil
}

// list answers a query: terms joined by ^ (and) and ^OR (or, binding
// tighter), each field=value or field!=value.
func (s *ServiceNow) list(q url.Values) answer {
	var groups [][]string // AND of ORs
	for _, term := range strings.Split(q.Get("sysparm_query"), "^") {
		if or, ok := strings.CutPrefix(term, "OR"); ok && len(groups) > 0 {
			groups[len(groups)-1] = append(groups[len(groups)-1], or)
			continue
		}
		groups = append(groups, []string{term})
	}
	s.mu.Lock()
	var out []map[string]string
	for _, inc := range s.incidents {
		if matchAll(inc, groups) {
			out = append(out, view(inc, q.Get("sysparm_fields")))
		}
	}
	s.mu.Unlock()
	if out == nil {
		out = []map[string]string{}
	}
	b, _ := json.Marshal(map[string]any{"result": out})
	return answer{status: http.StatusOK, body: b}
}

func matchAll(inc *Incident, groups [][]string) bool {
	for _, g := range groups {
		matched, known := false, false
		for _, term := range g {
			m, ok := matchTerm(inc, term)
			known = known || ok
			matched = matched || (ok && m)
		}
		if known && !matched {
			return false
		}
	}
	return true
}

// matchTerm evaluates one term; ok is false for a term ServiceNow would
// ignore (an unknown field or no operator).
func matchTerm(inc *Incident, term string) (match, ok bool) {
	field, value, negated := "", "", false
	if f, v, found := strings.Cut(term, "!="); found {
		field, value, negated = f, v, true
	} else if f, v, found := strings.Cut(term, "="); found {
		field, value = f, v
	}
	if !snQueryable[field] {
		return false, false
	}
	return (view(inc, "")[field] == value) != negated, true
}

// view renders an incident as the Table API does, limited to fields.
func view(inc *Incident, fields string) map[string]string {
	all := map[string]string{
		"sys_id": inc.SysID, "number": inc.Number, "state": inc.State,
		"short_description": inc.ShortDescription, "description": inc.Description,
		"correlation_id": inc.CorrelationID, "correlation_display": inc.CorrelationDisplay,
		"category": inc.Category, "assignment_group": inc.AssignmentGroup, "caller_id": inc.CallerID,
		"close_code": inc.CloseCode, "close_notes": inc.CloseNotes,
		"work_notes": "", // journal fields read back empty without display values
	}
	if fields == "" {
		return all
	}
	out := map[string]string{}
	for _, f := range strings.Split(fields, ",") {
		if v, ok := all[strings.TrimSpace(f)]; ok {
			out[strings.TrimSpace(f)] = v
		}
	}
	return out
}

func (s *ServiceNow) result(status int, inc *Incident, q url.Values) answer {
	s.mu.Lock()
	v := view(inc, q.Get("sysparm_fields"))
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"result": v})
	return answer{status: status, body: b}
}
