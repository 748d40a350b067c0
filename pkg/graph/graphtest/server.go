// Package graphtest is a Microsoft Graph-compatible HTTP server on the
// loopback interface for tests of pkg/graph (like net/http/httptest). It
// serves a model.Directory in the response shapes Microsoft documents:
// users, /authentication/methods (each method exactly its Method.Raw),
// /transitiveMemberOf, the userRegistrationDetails report, the sign-in log
// (/auditLogs/signIns, the records given with WithSignIns), paging with
// @odata.nextLink, $batch with per-item statuses, and sendMail. It enforces
// Graph's 5 requests per 10 seconds for authentication methods and reports
// itself, answering 429 with Retry-After as Graph does, injects faults
// (429, 503, 504, 401), and records every request it received.
package graphtest

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

// Throttling classes, spelt as pkg/graph spells them.
const (
	ClassAuthReports = "auth-methods-reports"
	ClassDirectory   = "directory"
	ClassMail        = "mail"
)

// Limit is a budget the server enforces: at most Requests in any window
// of length Per.
type Limit struct {
	Requests int
	Per      time.Duration
}

// Item is one resource request the server handled: a $batch item or a
// request of its own.
type Item struct {
	ID     string // the $batch item id; "" outside a batch
	Method string
	URL    string // path and query below the service root, e.g. /users/x/authentication/methods
	Class  string
	Status int
	Time   time.Time
	// Over is true when the server refused the item because the class
	// budget was exceeded (not an injected fault).
	Over bool
}

// Request is one HTTP request that reached the server.
type Request struct {
	Method string
	Path   string // below the service root, e.g. /$batch
	Time   time.Time
	Status int
	// Items are the resource requests it carried: the $batch items, or the
	// request itself.
	Items []Item
}

// SentMail is a message received by sendMail.
type SentMail struct {
	From    string
	To      []string
	Subject string
	Body    string
	HTML    bool
}

// Option configures a Server.
type Option func(*Server)

// WithClock makes the server stamp requests and enforce budgets with clock
// (share the fake clock with the client's pacer); the wall clock otherwise.
func WithClock(clock interface{ Now() time.Time }) Option {
	return func(s *Server) { s.clock = clock }
}

// WithToken makes the server require "Authorization: Bearer token".
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithReportPageSize sets the rows per page of the registration report
// (default 1000).
func WithReportPageSize(n int) Option { return func(s *Server) { s.reportPage = n } }

// WithListPageSize sets the objects per page of method and membership
// lists (default 100; 0 or less: one page).
func WithListPageSize(n int) Option { return func(s *Server) { s.listPage = n } }

// WithLimit sets the budget of a class (default: 5 per 10 s for
// ClassAuthReports, none for the others).
func WithLimit(class string, l Limit) Option { return func(s *Server) { s.limits[class] = l } }

// WithLimitedRoleInfo serves directory roles as Graph does to an app
// without RoleManagement.Read.Directory: id and type only.
func WithLimitedRoleInfo() Option { return func(s *Server) { s.limitedRoles = true } }

// WithLastUpdated sets the initial lastUpdatedDateTime of every report row
// (default: the clock's time when the server starts).
func WithLastUpdated(t time.Time) Option { return func(s *Server) { s.initialUpdate = t } }

// WithSignIns sets the sign-in log the server answers /auditLogs/signIns
// with: Graph signIn objects, each with its createdDateTime, served
// verbatim, newest first.
func WithSignIns(records []json.RawMessage) Option {
	return func(s *Server) {
		s.signIns = nil
		for _, r := range records {
			var head struct {
				CreatedDateTime time.Time `json:"createdDateTime"`
				UserID          string    `json:"userId"`
			}
			if err := json.Unmarshal(r, &head); err != nil {
				s.t.Fatalf("graphtest: a sign-in without a createdDateTime: %v", err)
			}
			s.signIns = append(s.signIns, signIn{head.CreatedDateTime, head.UserID, r})
		}
		sort.SliceStable(s.signIns, func(i, j int) bool { return s.signIns[i].at.After(s.signIns[j].at) })
	}
}

type signIn struct {
	at   time.Time
	user string
	raw  json.RawMessage
}

// Server is the fake Graph. Its methods are safe for concurrent use.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	clock         interface{ Now() time.Time }
	token         string
	reportPage    int
	listPage      int
	limitedRoles  bool
	initialUpdate time.Time
	signIns       []signIn
	large         *largeTenant // WithLargeTenant (large.go)

	mu         sync.Mutex
	policy     model.TenantPolicy
	users      []model.User
	updated    map[string]time.Time
	limits     map[string]Limit
	accepted   map[string][]time.Time
	throttleN  int
	throttleRA time.Duration
	faults     []fault
	requests   []Request
	mail       []SentMail
	gate       chan struct{}
}

type fault struct {
	status     int
	retryAfter time.Duration
}

type wallClock struct{}

// Now is time.Now.
func (wallClock) Now() time.Time { return time.Now() }

// NewServer starts a server on 127.0.0.1 serving dir's users; it stops when
// the test ends.
func NewServer(t testing.TB, dir *model.Directory, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:          t,
		clock:      wallClock{},
		reportPage: 1000,
		listPage:   100,
		updated:    map[string]time.Time{},
		limits:     map[string]Limit{ClassAuthReports: {Requests: 5, Per: 10 * time.Second}},
		accepted:   map[string][]time.Time{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.initialUpdate.IsZero() {
		s.initialUpdate = s.clock.Now().UTC()
	}
	if dir != nil {
		s.policy = dir.Tenant.Policy()
		for _, u := range dir.Users {
			s.users = append(s.users, u)
			s.updated[u.ID] = s.initialUpdate
		}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the service root, http://127.0.0.1:PORT/v1.0.
func (s *Server) URL() string { return s.srv.URL + "/v1.0" }

// Throttle answers the next n resource requests (each $batch item counts)
// with 429 and the given Retry-After, as Graph does when throttling.
func (s *Server) Throttle(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleN, s.throttleRA = n, retryAfter
}

// Fail answers the next n HTTP requests ($batch envelopes included) with
// status (503, 504, 401, 429…); retryAfter, when positive, is sent as
// Retry-After.
func (s *Server) Fail(n int, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status, retryAfter: retryAfter})
	}
}

// Hold makes requests arriving from now on wait until release is called
// (at the latest when the test ends), so a test can let callers pile up
// behind a request in flight.
func (s *Server) Hold() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.gate = ch
	s.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			s.mu.Lock()
			if s.gate == ch {
				s.gate = nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
	s.t.Cleanup(release)
	return release
}

// SetUser adds or replaces a user (matched by id); its report row's
// lastUpdatedDateTime becomes the clock's time.
func (s *Server) SetUser(u model.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updated[u.ID] = s.clock.Now().UTC()
	for i := range s.users {
		if s.users[i].ID == u.ID {
			s.users[i] = u
			return
		}
	}
	s.users = append(s.users, u)
}

// DeleteUser removes a user.
func (s *Server) DeleteUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.users {
		if s.users[i].ID == id {
			s.users = append(s.users[:i], s.users[i+1:]...)
			return
		}
	}
}

// Requests returns the HTTP requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Items = append([]Item(nil), r.Items...)
		out[i] = r
	}
	return out
}

// Items returns every resource request received so far, in order.
func (s *Server) Items() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Item
	for _, r := range s.requests {
		out = append(out, r.Items...)
	}
	return out
}

// OverBudget returns the resource requests refused because their class
// budget was exceeded; a client that paces itself causes none.
func (s *Server) OverBudget() []Item {
	var out []Item
	for _, it := range s.Items() {
		if it.Over {
			out = append(out, it)
		}
	}
	return out
}

// MaxInWindow returns the largest number of accepted (2xx) requests of a
// class within any window of length per, by the server's clock.
func (s *Server) MaxInWindow(class string, per time.Duration) int {
	var ts []time.Time
	for _, it := range s.Items() {
		if it.Class == class && it.Status >= 200 && it.Status < 300 {
			ts = append(ts, it.Time)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	best := 0
	for i := range ts {
		j := i
		for j < len(ts) && ts[j].Sub(ts[i]) < per {
			j++
		}
		best = max(best, j-i)
	}
	return best
}

// Mail returns the messages sent so far.
func (s *Server) Mail() []SentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMail(nil), s.mail...)
}

// graphError writes Graph's error body.
func graphError(code, message string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]string{"date": "2020-08-18T12:51:51", "request-id": "94fb3b52-452a-4535-a601-69e0a90e3aa2"},
	}})
	return b
}

// response is one answer, to a request or to a $batch item.
type response struct {
	status  int
	headers map[string]string
	body    []byte
}

func jsonResponse(status int, body []byte) response {
	return response{status: status, headers: map[string]string{"Content-Type": "application/json"}, body: body}
}

func errorResponse(status int, code, message string) response {
	return jsonResponse(status, graphError(code, message))
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	now := s.clock.Now()
	path, ok := strings.CutPrefix(r.URL.EscapedPath(), "/v1.0")
	body, _ := io.ReadAll(r.Body)
	rec := Request{Method: r.Method, Path: path, Time: now}
	var resp response
	switch {
	case !ok:
		resp = errorResponse(http.StatusNotFound, "BadRequest", "Invalid version.")
	case s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token:
		resp = errorResponse(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
	default:
		s.mu.Lock()
		if len(s.faults) > 0 {
			f := s.faults[0]
			s.faults = s.faults[1:]
			s.mu.Unlock()
			resp = faultResponse(f)
			break
		}
		s.mu.Unlock()
		if r.Method == http.MethodPost && path == "/$batch" {
			resp, rec.Items = s.batch(now, body)
		} else {
			target := path
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			var it Item
			resp, it = s.resource(now, "", r.Method, target, body)
			rec.Items = []Item{it}
		}
	}
	rec.Status = resp.status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	for k, v := range resp.headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.status)
	w.Write(resp.body)
}

func faultResponse(f fault) response {
	var r response
	switch f.status {
	case http.StatusTooManyRequests:
		r = errorResponse(f.status, "TooManyRequests", "Please retry again later.")
	case http.StatusUnauthorized:
		r = errorResponse(f.status, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	case http.StatusServiceUnavailable:
		r = errorResponse(f.status, "serviceNotAvailable", "Service unavailable.")
	case http.StatusGatewayTimeout:
		r = errorResponse(f.status, "UnknownError", "Gateway timeout.")
	default:
		r = errorResponse(f.status, "UnknownError", http.StatusText(f.status))
	}
	if f.retryAfter > 0 {
		r.headers["Retry-After"] = formatSeconds(f.retryAfter)
	}
	return r
}

// formatSeconds writes a Retry-After the way Graph does: seconds, with
// fractions when needed ("2.128").
func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// batch serves a JSON $batch: at most 20 items, each answered on its own,
// in an order different from the request (Graph promises no order).
func (s *Server) batch(now time.Time, body []byte) (response, []Item) {
	var req struct {
		Requests []struct {
			ID     string          `json:"id"`
			Method string          `json:"method"`
			URL    string          `json:"url"`
			Body   json.RawMessage `json:"body"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errorResponse(http.StatusBadRequest, "BadRequest", "Invalid batch payload format."), nil
	}
	if len(req.Requests) == 0 || len(req.Requests) > 20 {
		return errorResponse(http.StatusBadRequest, "BadRequest", "Number of requests in batch must be between 1 and 20."), nil
	}
	// Items run in request order; the answers go back reversed.
	items := make([]Item, len(req.Requests))
	resps := make([]response, len(req.Requests))
	for i, q := range req.Requests {
		u := q.URL
		if !strings.HasPrefix(u, "/") {
			u = "/" + u
		}
		resps[i], items[i] = s.resource(now, q.ID, strings.ToUpper(q.Method), u, q.Body)
	}
	var out bytes.Buffer
	out.WriteString(`{"responses":[`)
	for i := len(req.Requests) - 1; i >= 0; i-- {
		resp := resps[i]
		if i != len(req.Requests)-1 {
			out.WriteByte(',')
		}
		idJSON, _ := json.Marshal(req.Requests[i].ID)
		hdr, _ := json.Marshal(resp.headers)
		fmt.Fprintf(&out, `{"id":%s,"status":%d,"headers":%s`, idJSON, resp.status, hdr)
		if len(resp.body) > 0 {
			out.WriteString(`,"body":`)
			out.Write(resp.body)
		}
		out.WriteByte('}')
	}
	out.WriteString(`]}`)
	return jsonResponse(http.StatusOK, out.Bytes()), items
}

// classOf names the throttling class Graph meters a request in.
func classOf(path string) string {
	switch {
	case strings.Contains(path, "/authentication/"), strings.HasPrefix(path, "/reports/"), strings.HasPrefix(path, "/auditLogs/"):
		return ClassAuthReports
	case strings.HasSuffix(path, "/sendMail"):
		return ClassMail
	}
	return ClassDirectory
}

// resource answers one resource request, after the injected throttling and
// the class budget.
func (s *Server) resource(now time.Time, id, method, target string, body []byte) (response, Item) {
	path, rawQuery, _ := strings.Cut(target, "?")
	it := Item{ID: id, Method: method, URL: target, Class: classOf(path), Time: now}
	s.mu.Lock()
	var resp response
	switch {
	case s.throttleN > 0:
		s.throttleN--
		resp = errorResponse(http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
		resp.headers["Retry-After"] = formatSeconds(s.throttleRA)
	default:
		if wait, over := s.overLocked(it.Class, now); over {
			it.Over = true
			resp = errorResponse(http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
			resp.headers["Retry-After"] = formatSeconds(wait)
		}
	}
	if resp.status == 0 {
		query, _ := url.ParseQuery(rawQuery)
		resp = s.routeLocked(method, path, query, body)
		if _, limited := s.limits[it.Class]; limited && resp.status >= 200 && resp.status < 300 {
			s.accepted[it.Class] = append(s.accepted[it.Class], now)
		}
	}
	s.mu.Unlock()
	it.Status = resp.status
	return resp, it
}

// overLocked reports whether one more request of class at now would exceed
// its budget, and how long until it would not.
func (s *Server) overLocked(class string, now time.Time) (time.Duration, bool) {
	l, ok := s.limits[class]
	if !ok || l.Requests <= 0 {
		return 0, false
	}
	var in []time.Time
	for _, t := range s.accepted[class] {
		if t.After(now.Add(-l.Per)) {
			in = append(in, t)
		}
	}
	s.accepted[class] = in
	if len(in) < l.Requests {
		return 0, false
	}
	return in[len(in)-l.Requests].Add(l.Per).Sub(now), true
}

func (s *Server) findLocked(key string) (*model.User, bool) {
	if s.large != nil {
		return s.large.find(key)
	}
	for i := range s.users {
		u := &s.users[i]
		if strings.EqualFold(u.ID, key) || strings.EqualFold(u.UserPrincipalName, key) {
			return u, true
		}
	}
	return nil, false
}

func notFound(key string) response {
	return errorResponse(http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key))
}

func (s *Server) routeLocked(method, path string, query url.Values, body []byte) response {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		if v, err := url.PathUnescape(seg); err == nil {
			segs[i] = v
		}
	}
	switch {
	case len(segs) >= 2 && segs[0] == "users":
		u, ok := s.findLocked(segs[1])
		if !ok {
			return notFound(segs[1])
		}
		rest := strings.Join(segs[2:], "/")
		switch {
		case method == http.MethodGet && rest == "":
			return s.profile(u, query)
		case method == http.MethodGet && rest == "authentication/methods":
			return s.methods(u, path, query)
		case method == http.MethodGet && rest == "transitiveMemberOf":
			return s.memberships(u, path, query)
		case method == http.MethodPost && rest == "sendMail":
			return s.sendMail(u, body)
		}
	case len(segs) >= 2 && segs[0] == "groups":
		return s.groupUsersLocked(method, segs, path, query)
	case method == http.MethodGet && path == "/policies/authenticationMethodsPolicy":
		return s.policyLocked(s.policy.AuthMethodsPolicy != nil, s.policy.AuthMethodsPolicy, false)
	case method == http.MethodGet && path == "/policies/authenticationStrengthPolicies":
		return s.policyLocked(s.policy.StrengthPolicies != nil, s.policy.StrengthPolicies, true)
	case method == http.MethodGet && path == "/identity/conditionalAccess/policies":
		return s.policyLocked(s.policy.CAPolicies != nil, s.policy.CAPolicies, true)
	case method == http.MethodGet && path == "/auditLogs/signIns":
		return s.signInPage(query)
	case len(segs) >= 3 && segs[0] == "reports" && segs[1] == "authenticationMethods" && segs[2] == "userRegistrationDetails" && method == http.MethodGet:
		if len(segs) == 4 {
			u, ok := s.findLocked(segs[3])
			if !ok {
				return notFound(segs[3])
			}
			b, _ := json.Marshal(s.reportRow(u, true))
			return jsonResponse(http.StatusOK, b)
		}
		if len(segs) == 3 {
			return s.report(query)
		}
	}
	return errorResponse(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+segs[len(segs)-1]+"'.")
}

// SetTenantPolicy replaces the tenant's own policy the server answers
// with, as an administrator's change would.
func (s *Server) SetTenantPolicy(p model.TenantPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policy = p
}

// policyLocked answers a read of one part of the tenant's policy with the
// snapshot's JSON, verbatim (a list wrapped in "value"). A part the
// snapshot does not carry is answered 404, so that a client reads what the
// snapshot holds and no more; a real tenant always has all three.
func (s *Server) policyLocked(present bool, v any, list bool) response {
	if !present {
		return errorResponse(http.StatusNotFound, "Request_ResourceNotFound", "Resource not found.")
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.t.Errorf("graphtest: encode the tenant's policy: %v", err)
		return errorResponse(http.StatusInternalServerError, "UnknownError", "")
	}
	if list {
		b = append(append([]byte(`{"value":`), b...), '}')
	}
	return jsonResponse(http.StatusOK, b)
}

func (s *Server) profile(u *model.User, query url.Values) response {
	all := map[string]any{
		"id":                    u.ID,
		"userPrincipalName":     u.UserPrincipalName,
		"displayName":           nullIfEmpty(u.DisplayName),
		"mail":                  nullIfEmpty(u.Mail),
		"preferredLanguage":     nullIfEmpty(u.PreferredLanguage),
		"onPremisesSyncEnabled": nil,
		"accountEnabled":        true,
		"userType":              "Member",
		"givenName":             nil,
		"jobTitle":              nil,
	}
	if u.OnPremisesSyncEnabled {
		all["onPremisesSyncEnabled"] = true
	}
	if u.AccountEnabled != nil {
		all["accountEnabled"] = *u.AccountEnabled
	}
	if u.UserType != "" {
		all["userType"] = u.UserType
	}
	out := map[string]any{"@odata.context": s.URL() + "/$metadata#users/$entity"}
	if sel := query.Get("$select"); sel != "" {
		out["@odata.context"] = s.URL() + "/$metadata#users(" + sel + ")/$entity"
		out["id"] = u.ID
		for _, f := range strings.Split(sel, ",") {
			if v, ok := all[strings.TrimSpace(f)]; ok {
				out[strings.TrimSpace(f)] = v
			}
		}
	} else {
		for k, v := range all {
			out[k] = v
		}
	}
	b, _ := json.Marshal(out)
	return jsonResponse(http.StatusOK, b)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// page cuts a list by $skiptoken and returns the nextLink of what remains.
func (s *Server) page(n int, size int, path string, query url.Values) (from, to int, next string) {
	from, _ = strconv.Atoi(query.Get("$skiptoken"))
	from = min(max(from, 0), n)
	to = n
	if size > 0 && from+size < n {
		to = from + size
		next = s.URL() + path + "?$skiptoken=" + strconv.Itoa(to)
	}
	return from, to, next
}

// methods serves /authentication/methods: every method is written exactly
// as its Method.Raw (Graph's own object), unchanged.
func (s *Server) methods(u *model.User, path string, query url.Values) response {
	from, to, next := s.page(len(u.Methods), s.listPage, path, query)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"@odata.context":%q,`, s.URL()+"/$metadata#users('"+u.ID+"')/authentication/methods")
	if next != "" {
		nl, _ := json.Marshal(next)
		fmt.Fprintf(&b, `"@odata.nextLink":%s,`, nl)
	}
	b.WriteString(`"value":[`)
	for i, m := range u.Methods[from:to] {
		if i > 0 {
			b.WriteByte(',')
		}
		raw := []byte(m.Raw)
		if len(raw) == 0 {
			raw, _ = json.Marshal(m)
		}
		b.Write(raw)
	}
	b.WriteString(`]}`)
	return jsonResponse(http.StatusOK, b.Bytes())
}

// builtinRoles are template ids of built-in roles, the same in every tenant.
var builtinRoles = map[string]string{
	"global administrator":                    "62e90394-69f5-4237-9190-012177145e10",
	"privileged role administrator":           "e8611ab8-c189-46e8-94e1-60213ab1f814",
	"privileged authentication administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
	"security administrator":                  "194ae4cb-b126-40b2-bd5b-6091b380977d",
	"authentication administrator":            "c4e39bd9-1100-46d3-8c65-fb160da0071f",
	"conditional access administrator":        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
	"user administrator":                      "fe930be7-5e62-47db-91af-98c3a49a38b1",
	"helpdesk administrator":                  "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	"exchange administrator":                  "29232cdf-9323-42fd-ade2-1d097af3e4de",
}

// fakeID derives a stable GUID-shaped id from a name.
func fakeID(kind, name string) string {
	h := sha1.Sum([]byte(kind + "/" + name))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// memberships serves /transitiveMemberOf: the user's roles as activated
// directoryRole objects and their groups, in Graph's directoryObject shape.
func (s *Server) memberships(u *model.User, path string, query url.Values) response {
	var objs []any
	for _, r := range u.Roles {
		tmpl, ok := builtinRoles[strings.ToLower(r)]
		if !ok {
			tmpl = fakeID("roleTemplate", r)
		}
		o := map[string]any{"@odata.type": "#microsoft.graph.directoryRole", "id": fakeID("role", r),
			"deletedDateTime": nil, "description": nil, "displayName": r, "roleTemplateId": tmpl}
		if s.limitedRoles {
			o = map[string]any{"@odata.type": "#microsoft.graph.directoryRole", "id": fakeID("role", r),
				"deletedDateTime": nil, "description": nil, "displayName": nil, "roleTemplateId": nil}
		}
		objs = append(objs, o)
	}
	for _, g := range u.Groups {
		objs = append(objs, map[string]any{"@odata.type": "#microsoft.graph.group", "id": g,
			"deletedDateTime": nil, "displayName": "Group " + g[:min(8, len(g))], "securityEnabled": true, "mailEnabled": false, "groupTypes": []string{}})
	}
	from, to, next := s.page(len(objs), s.listPage, path, query)
	out := map[string]any{"@odata.context": s.URL() + "/$metadata#directoryObjects", "value": append([]any{}, objs[from:to]...)}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	b, _ := json.Marshal(out)
	return jsonResponse(http.StatusOK, b)
}

// registeredNames are the report's names for the method kinds.
var registeredNames = map[model.MethodKind]string{
	model.KindMobilePhone:          "mobilePhone",
	model.KindAlternateMobilePhone: "alternateMobilePhone",
	model.KindOfficePhone:          "officePhone",
	model.KindEmail:                "email",
	model.KindAuthenticator:        "microsoftAuthenticatorPush",
	model.KindSoftwareOath:         "softwareOneTimePasscode",
	model.KindHardwareOath:         "hardwareOneTimePasscode",
	model.KindFIDO2:                "fido2SecurityKey",
	model.KindPasskeyAuthenticator: "passKeyDeviceBoundAuthenticator",
	model.KindWindowsHello:         "windowsHelloForBusiness",
	model.KindPlatformCredential:   "macOsSecureEnclaveKey",
	model.KindTemporaryAccessPass:  "temporaryAccessPass",
}

// reportRow is a user's userRegistrationDetails row, in the v1.0 shape.
// methodsRegistered is the user's MethodsRegistered when set, else derived
// from the methods.
func (s *Server) reportRow(u *model.User, single bool) map[string]any {
	regs := u.MethodsRegistered
	if regs == nil {
		regs = []string{}
		seen := map[string]bool{}
		for _, m := range u.Methods {
			if n, ok := registeredNames[m.Kind]; ok && !seen[n] {
				seen[n] = true
				regs = append(regs, n)
			}
		}
	}
	mfa := false
	for _, r := range regs {
		if r != "email" && r != "temporaryAccessPass" {
			mfa = true
		}
	}
	row := map[string]any{
		"id": u.ID, "userPrincipalName": u.UserPrincipalName, "userDisplayName": u.DisplayName,
		"isAdmin": len(u.Roles) > 0, "isSsprRegistered": false, "isSsprEnabled": false, "isSsprCapable": false,
		"isMfaRegistered": mfa, "isMfaCapable": mfa, "isPasswordlessCapable": false,
		"lastUpdatedDateTime":                           s.updated[u.ID].UTC().Format("2006-01-02T15:04:05.0000000Z"),
		"methodsRegistered":                             regs,
		"isSystemPreferredAuthenticationMethodEnabled":  true,
		"systemPreferredAuthenticationMethods":          []string{},
		"userPreferredMethodForSecondaryAuthentication": "",
		"userType": "member",
	}
	if strings.EqualFold(u.UserType, "guest") {
		row["userType"] = "guest"
	}
	if single {
		row["@odata.context"] = s.URL() + "/$metadata#reports/authenticationMethods/userRegistrationDetails/$entity"
	}
	return row
}

// report serves a page of the registration report, or the rows matching
// $filter=userPrincipalName eq '…' (or id eq '…').
func (s *Server) report(query url.Values) response {
	if s.large != nil && query.Get("$filter") == "" {
		return s.largePage(query)
	}
	if f := query.Get("$filter"); f != "" {
		field, value, ok := parseEqFilter(f)
		if !ok {
			return errorResponse(http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
		}
		rows := []any{}
		for i := range s.users {
			u := &s.users[i]
			if (field == "id" && strings.EqualFold(u.ID, value)) || (field == "userPrincipalName" && strings.EqualFold(u.UserPrincipalName, value)) {
				rows = append(rows, s.reportRow(u, false))
			}
		}
		b, _ := json.Marshal(map[string]any{"@odata.context": s.URL() + "/$metadata#reports/authenticationMethods/userRegistrationDetails", "value": rows})
		return jsonResponse(http.StatusOK, b)
	}
	from, to, next := s.page(len(s.users), s.reportPage, "/reports/authenticationMethods/userRegistrationDetails", query)
	rows := make([]any, 0, to-from)
	for i := from; i < to; i++ {
		rows = append(rows, s.reportRow(&s.users[i], false))
	}
	out := map[string]any{"@odata.context": s.URL() + "/$metadata#reports/authenticationMethods/userRegistrationDetails", "value": rows}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	b, _ := json.Marshal(out)
	return jsonResponse(http.StatusOK, b)
}

// signInPage serves a page of the sign-in log: the records created at or
// after the time of $filter=createdDateTime ge <RFC 3339 time>, optionally
// preceded by "userId eq '<id>' and " (all without a filter), newest
// first, $top at a time (at most 1 000, the list page size without $top),
// with a nextLink that keeps the filter.
func (s *Server) signInPage(query url.Values) response {
	var since time.Time
	var user string
	if f := strings.TrimSpace(query.Get("$filter")); f != "" {
		if rest, ok := strings.CutPrefix(f, "userId eq '"); ok {
			id, tail, ok := strings.Cut(rest, "' and ")
			if !ok {
				return errorResponse(http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
			}
			user, f = id, tail
		}
		field, value, ok := strings.Cut(f, " ge ")
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(value))
		if !ok || field != "createdDateTime" || err != nil {
			return errorResponse(http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
		}
		since = t
	}
	size := s.listPage
	if top := query.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 || n > 1000 {
			return errorResponse(http.StatusBadRequest, "BadRequest", "Invalid $top.")
		}
		size = min(n, s.listPage)
	}
	var match []json.RawMessage
	for _, si := range s.signIns {
		if !si.at.Before(since) && (user == "" || strings.EqualFold(si.user, user)) {
			match = append(match, si.raw)
		}
	}
	from, _ := strconv.Atoi(query.Get("$skiptoken"))
	from = min(max(from, 0), len(match))
	to := min(from+size, len(match))
	var out bytes.Buffer
	out.WriteString(`{"@odata.context":"` + s.URL() + `/$metadata#auditLogs/signIns","value":[`)
	for i, r := range match[from:to] {
		if i > 0 {
			out.WriteByte(',')
		}
		out.Write(r)
	}
	out.WriteByte(']')
	if to < len(match) {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("$skiptoken", strconv.Itoa(to))
		next, _ := json.Marshal(s.URL() + "/auditLogs/signIns?" + q.Encode())
		out.WriteString(`,"@odata.nextLink":`)
		out.Write(next)
	}
	out.WriteByte('}')
	return jsonResponse(http.StatusOK, out.Bytes())
}

// parseEqFilter reads "field eq 'value'", where a doubled quote stands for
// one quote.
func parseEqFilter(f string) (field, value string, ok bool) {
	field, rest, ok := strings.Cut(strings.TrimSpace(f), " eq ")
	if !ok || (field != "userPrincipalName" && field != "id") {
		return "", "", false
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' {
		return "", "", false
	}
	return field, strings.ReplaceAll(rest[1:len(rest)-1], "''", "'"), true
}

// sendMail takes a JSON sendMail request and answers 202 with no body.
func (s *Server) sendMail(u *model.User, body []byte) response {
	var req struct {
		Message struct {
			Subject string `json:"subject"`
			Body    struct {
				ContentType string `json:"contentType"`
				Content     string `json:"content"`
			} `json:"body"`
			ToRecipients []struct {
				EmailAddress struct {
					Address string `json:"address"`
				} `json:"emailAddress"`
			} `json:"toRecipients"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Message.ToRecipients) == 0 {
		return errorResponse(http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
	}
	m := SentMail{From: u.UserPrincipalName, Subject: req.Message.Subject, Body: req.Message.Body.Content,
		HTML: strings.EqualFold(req.Message.Body.ContentType, "html")}
	for _, r := range req.Message.ToRecipients {
		m.To = append(m.To, r.EmailAddress.Address)
	}
	s.mail = append(s.mail, m)
	return response{status: http.StatusAccepted, headers: map[string]string{}}
}
