package graphtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
)

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
	if ct := r.Header.Get("Content-Type"); r.Method == http.MethodPost && !strings.HasPrefix(ct, "application/json") {
		s.t.Errorf("graphtest: POST %s: Content-Type %q, want application/json", path, ct)
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	rl := rolesOf(bearer)
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
			resp, rec.Items = s.batch(now, rl, body)
		} else {
			target := path
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			var it Item
			resp, it = s.resource(now, rl, "", r.Method, target, body)
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
func (s *Server) batch(now time.Time, rl roles, body []byte) (response, []Item) {
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
		resps[i], items[i] = s.resource(now, rl, q.ID, strings.ToUpper(q.Method), u, q.Body)
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

// resource answers one resource request, after the token's permissions,
// the injected throttling and the class budget.
func (s *Server) resource(now time.Time, rl roles, id, method, target string, body []byte) (response, Item) {
	path, rawQuery, _ := strings.Cut(target, "?")
	it := Item{ID: id, Method: method, URL: target, Class: classOf(path), Time: now}
	q := request{method: method, path: path, segs: segments(path), body: body, roles: rl}
	s.mu.Lock()
	var resp response
	switch {
	case !q.permitted():
		resp = denied()
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
		q.query, _ = url.ParseQuery(rawQuery)
		resp = s.routeLocked(q)
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
