package notifytest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/credres/credres/internal/graphtest"
)

// Mail is a message the Graph fake accepted with sendMail.
type Mail = graphtest.SentMail

// Activity is a Teams activity-feed notification the Graph fake accepted.
type Activity = graphtest.Activity

// Graph is the one fake Microsoft Graph, graphtest's, for the calls
// credres sends on behalf of users: POST /users/{id}/sendMail (202) and
// POST /users/{id}/teamwork/sendActivityNotification (204), for any user
// (graphtest.WithAnyMailbox). graphtest checks the bearer token, the
// documented bodies (reporting a violation through the test) and Teams'
// chainId; this wrapper adds what every fake of the package has: the
// requests recorded and faults injected (Fail), including lost answers.
type Graph struct {
	recorder
	srv *graphtest.Server
	url string
}

// NewGraph starts a fake Graph accepting token; its service root is
// URL() (ending in /v1.0).
func NewGraph(tb testing.TB, token string) *Graph {
	g := &Graph{recorder: recorder{tb: tb, name: "graph"}, srv: graphtest.NewServer(tb, nil, graphtest.WithToken(token), graphtest.WithAnyMailbox())}
	g.url = start(tb, g.serve(g.handle, graphError)).URL + "/v1.0"
	return g
}

// URL is the service root.
func (g *Graph) URL() string { return g.url }

// Mail returns the messages accepted.
func (g *Graph) Mail() []Mail { return g.srv.Mail() }

// Activities returns the notifications in users' feeds.
func (g *Graph) Activities() []Activity { return g.srv.Activities() }

// handle passes the request to graphtest and keeps its answer.
func (g *Graph) handle(r *http.Request, body []byte) answer {
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	g.srv.Handler().ServeHTTP(rec, r)
	header := map[string]string{}
	for k := range rec.Header() {
		header[k] = rec.Header().Get(k)
	}
	return answer{status: rec.Code, header: header, body: rec.Body.Bytes()}
}

// graphError is Graph's error body for an injected fault.
func graphError(status int) []byte {
	codes := map[int]string{
		http.StatusUnauthorized: "InvalidAuthenticationToken", http.StatusForbidden: "Forbidden",
		http.StatusTooManyRequests: "TooManyRequests", http.StatusServiceUnavailable: "ServiceNotAvailable",
	}
	code := codes[status]
	if code == "" {
		code = "generalException"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": http.StatusText(status)}})
	return b
}
