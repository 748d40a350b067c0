// Package notifytest holds fakes of the systems package notify delivers to:
// a ServiceNow Table API, a Jira Cloud REST v3 site, Microsoft Graph's
// sendMail and sendActivityNotification (the one fake Graph,
// internal/graphtest, behind this package's recording and faults), and a
// webhook receiver that verifies signatures on its own. Each is an httptest.Server on 127.0.0.1
// that checks requests against the documented shapes (reporting a
// violation through the test and answering 400 as the system would),
// keeps what it was sent, and can be told to fail: answer an error (401,
// 429 with Retry-After, 5xx), or act on a request and then lose the answer
// by closing the connection. A fake Clock lets retries run without sleeping.
package notifytest

import (
	"bytes"
	"github.com/credres/credres/internal/clocktest"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Clock is the fake clock the channels under test wait on.
type Clock = clocktest.Clock

// NewClock returns a fake clock reading start (see clocktest.NewClock).
var NewClock = clocktest.NewClock

// Fault makes a fake answer matching requests with a failure.
type Fault struct {
	// Method and Path select requests: an empty Method matches any, and
	// Path is a prefix of the URL path (empty matches any).
	Method string
	Path   string
	// Status is the answer; Body its body (the system's own error format
	// when empty) and Header its headers, such as Retry-After.
	Status int
	Header map[string]string
	Body   string
	// Apply makes the fake act on the request before failing it: the
	// answer is lost, not the request.
	Apply bool
	// Drop closes the connection instead of answering.
	Drop bool
	// Times is how many matching requests fail; 1 when 0.
	Times int
}

// Request is a request a fake received, and what it answered (0 when it
// dropped the connection).
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	Status int
}

// recorder is what every fake shares: the requests it saw, pending faults,
// and the test to report shape violations to.
type recorder struct {
	tb     testing.TB
	name   string
	mu     sync.Mutex
	reqs   []Request
	faults []*Fault
}

// Fail adds a fault; faults are used in the order they were added.
func (r *recorder) Fail(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, &f)
}

// Requests returns the requests received so far.
func (r *recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Count returns how many requests had method and a path starting with path.
func (r *recorder) Count(method, path string) int {
	n := 0
	for _, q := range r.Requests() {
		if q.Method == method && strings.HasPrefix(q.Path, path) {
			n++
		}
	}
	return n
}

// take returns the first fault matching the request, using it up.
func (r *recorder) take(method, path string) *Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, f := range r.faults {
		if (f.Method == "" || f.Method == method) && strings.HasPrefix(path, f.Path) {
			f.Times--
			if f.Times == 0 {
				r.faults = append(r.faults[:i], r.faults[i+1:]...)
			}
			c := *f
			return &c
		}
	}
	return nil
}

func (r *recorder) record(q Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, q)
}

// violation reports a request that breaks the documented shape.
func (r *recorder) violation(format string, args ...any) {
	r.tb.Helper()
	r.tb.Errorf(r.name+" fake: "+format, args...)
}

// answer is a response a fake handler decided on.
type answer struct {
	status int
	header map[string]string
	body   []byte
}

// serve wraps a fake's handler with recording and fault injection.
// errorBody renders the system's error format for a fault without a body.
func (r *recorder) serve(handle func(*http.Request, []byte) answer, errorBody func(status int) []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		q := Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: body}
		f := r.take(req.Method, req.URL.Path)
		var a answer
		if f == nil || f.Apply {
			a = handle(req, body)
		}
		if f != nil {
			if f.Drop {
				r.record(q)
				drop(w)
				return
			}
			a = answer{status: f.Status, header: f.Header, body: []byte(f.Body)}
			if f.Body == "" {
				a.body = errorBody(f.Status)
			}
		}
		q.Status = a.status
		r.record(q)
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if len(a.body) > 0 && w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(a.status)
		_, _ = io.Copy(w, bytes.NewReader(a.body))
	})
}

// drop closes the connection without an answer. Should the connection not
// be hijackable, it answers 599, which no client takes for success either,
// so a test expecting a lost answer fails plainly instead of passing.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	http.Error(w, "notifytest: the connection could not be dropped", 599)
}

// start runs h on 127.0.0.1 until the test ends.
func start(tb testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

// bearer returns the token of an Authorization header, or "".
func bearer(h http.Header) string {
	v, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return v
}
