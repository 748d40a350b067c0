package graphtest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
)

// largeTenant is a tenant whose users are made on demand, one at a time,
// by a function of their position in the report: a million users cost the
// server only the page it is writing.
type largeTenant struct {
	n    int
	user func(i int) model.User
	// updated holds the lastUpdatedDateTime of the users whose
	// registration changed since the server started (Touch).
	updated map[int]time.Time
}

// WithLargeTenant serves n users made by user(i), i in [0, n), in report
// order, instead of a directory's: user(i) must return the same user for
// the same i, with the id LargeUserID(i). The directory given to NewServer
// then only gives the tenant's policy. The report pages, user reads and the
// budget work as for a directory; SetUser and DeleteUser do not apply
// (Touch changes a user's registration time).
func WithLargeTenant(n int, user func(i int) model.User) Option {
	return func(s *Server) { s.large = &largeTenant{n: n, user: user, updated: map[int]time.Time{}} }
}

// LargeUserID is the object id of the i-th user of a large tenant.
func LargeUserID(i int) string { return fmt.Sprintf("1a46e000-0000-4000-8000-%012d", i) }

// LargeUserIndex returns the position of a large tenant's user from their
// object id.
func LargeUserIndex(id string) (int, bool) {
	digits, ok := strings.CutPrefix(strings.ToLower(id), "1a46e000-0000-4000-8000-")
	if !ok || len(digits) != 12 {
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	return i, err == nil
}

// Touch sets the lastUpdatedDateTime of the large tenant's i-th user to
// the clock's time, as registering a method does.
func (s *Server) Touch(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.large.updated[i] = s.clock.Now().UTC()
}

// find returns the large tenant's user with the object id key.
func (l *largeTenant) find(key string) (*model.User, bool) {
	i, ok := LargeUserIndex(key)
	if !ok || i >= l.n {
		return nil, false
	}
	u := l.user(i)
	return &u, true
}

// page serves a page of the large tenant's registration report.
func (s *Server) largePage(query url.Values) response {
	const path = "/reports/authenticationMethods/userRegistrationDetails"
	from, to, next := s.page(s.large.n, s.reportPage, path, query)
	rows := make([]any, 0, to-from)
	for i := from; i < to; i++ {
		u := s.large.user(i)
		row := s.reportRow(&u, false)
		at, ok := s.large.updated[i]
		if !ok {
			at = s.initialUpdate
		}
		row["lastUpdatedDateTime"] = at.UTC().Format("2006-01-02T15:04:05.0000000Z")
		rows = append(rows, row)
	}
	out := map[string]any{"@odata.context": s.URL() + "/$metadata#" + strings.TrimPrefix(path, "/"), "value": rows}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	b, _ := json.Marshal(out)
	return jsonResponse(200, b)
}
