// Package graphtest is a Microsoft Graph-compatible HTTP server on the
// loopback interface for tests of pkg/graph (like net/http/httptest). It
// serves a model.Directory in the response shapes Microsoft documents:
// users (authorizationInfo on $select), /authentication/methods (each
// method exactly its Method.Raw), /transitiveMemberOf, the user's role
// eligibility schedule instances, registered and owned devices, the
// userRegistrationDetails report, the sign-in log (/auditLogs/signIns, the
// records given with WithSignIns), paging with @odata.nextLink, $batch with
// per-item statuses, and sendMail. It enforces the application permissions
// of Microsoft's permission tables from the token's roles (403
// Authorization_RequestDenied; see AppToken), Graph's 5 requests per 10
// seconds for authentication methods and reports itself, answering 429
// with Retry-After as Graph does, injects faults (429, 503, 504, 401), and
// records every request it received.
//
// Files: server.go (options, state, the test's view), serve.go (HTTP,
// $batch, faults and budgets), auth.go (tokens and permissions), routes.go
// (users, memberships, policies), directory.go (eligible roles and
// devices), reports.go (the registration report and the sign-in log),
// mail.go (sendMail).
package graphtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
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
	From        string // the mailbox of the request's path
	To          []string
	Subject     string
	ContentType string // "HTML" or "Text", as sent
	Content     string
	// SaveToSentItems is the request's saveToSentItems, nil when absent
	// (Graph then saves the message).
	SaveToSentItems *bool
}

// HTML reports whether the message's body is HTML.
func (m SentMail) HTML() bool { return strings.EqualFold(m.ContentType, "html") }

// WithAnyMailbox makes sendMail and sendActivityNotification accept any
// user id or principal name in the path, as a tenant where every user has
// a mailbox and Teams, for tests of senders without a directory.
func WithAnyMailbox() Option { return func(s *Server) { s.anyMailbox = true } }

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

// WithDeviceListsRefused answers /registeredDevices and /ownedDevices with
// 403 whatever the token carries, as Graph would if it kept these lists
// from applications (the rendered v1.0 pages say "Application: Not
// supported", the permission tables User.Read.All).
func WithDeviceListsRefused() Option { return func(s *Server) { s.refuseDevices = true } }

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
	refuseDevices bool
	anyMailbox    bool
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
	activities []Activity
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
