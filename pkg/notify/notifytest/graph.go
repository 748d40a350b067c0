package notifytest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Mail is a message a Graph fake accepted with sendMail.
type Mail struct {
	From        string
	To          []string
	Subject     string
	ContentType string // "HTML" or "Text", as sent
	Content     string
	// SaveToSentItems is the request's saveToSentItems, nil when absent
	// (Graph then saves the message).
	SaveToSentItems *bool
}

// Activity is a Teams activity-feed notification a Graph fake accepted.
type Activity struct {
	UserID       string
	TopicSource  string
	TopicValue   string
	TopicWebURL  string
	ActivityType string
	ChainID      int64
	Preview      string
	Parameters   map[string]string
}

// Graph is a fake of the Microsoft Graph calls credres sends on behalf of
// users: POST /users/{id}/sendMail (202 Accepted) and
// POST /users/{id}/teamwork/sendActivityNotification (204 No Content). It
// requires a bearer token, checks the documented bodies (a message with a
// subject, a body of contentType Text or HTML and recipients; a topic of
// source text with a webUrl, an activity type, preview text and, for
// systemDefault, the systemDefaultText parameter), and replaces a
// notification that has the chainId of an earlier one, as Teams does.
type Graph struct {
	recorder
	token string
	url   string

	mu         sync.Mutex
	mail       []Mail
	activities []Activity
}

// NewGraph starts a fake Graph accepting token; its service root is
// URL() (ending in /v1.0).
func NewGraph(tb testing.TB, token string) *Graph {
	g := &Graph{recorder: recorder{tb: tb, name: "graph"}, token: token}
	g.url = start(tb, g.serve(g.handle, graphError)).URL + "/v1.0"
	return g
}

// URL is the service root.
func (g *Graph) URL() string { return g.url }

// Mail returns the messages accepted.
func (g *Graph) Mail() []Mail {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Mail(nil), g.mail...)
}

// Activities returns the notifications in users' feeds.
func (g *Graph) Activities() []Activity {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Activity(nil), g.activities...)
}

func graphError(status int) []byte {
	codes := map[int]string{
		http.StatusUnauthorized: "InvalidAuthenticationToken", http.StatusForbidden: "Forbidden",
		http.StatusTooManyRequests: "TooManyRequests", http.StatusServiceUnavailable: "ServiceNotAvailable",
	}
	code := codes[status]
	if code == "" {
		code = "generalException"
	}
	return graphErrorBody(code, http.StatusText(status))
}

func graphErrorBody(code, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	return b
}

func (g *Graph) handle(r *http.Request, body []byte) answer {
	if bearer(r.Header) != g.token {
		return answer{status: http.StatusUnauthorized, body: graphErrorBody("InvalidAuthenticationToken", "Access token validation failure.")}
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/v1.0/users/")
	if !ok || r.Method != http.MethodPost {
		return answer{status: http.StatusNotFound, body: graphErrorBody("UnknownError", "no such resource")}
	}
	user, action, _ := strings.Cut(rest, "/")
	user, _ = url.PathUnescape(user)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		g.violation("POST %s: Content-Type %q, want application/json", r.URL.Path, r.Header.Get("Content-Type"))
	}
	switch action {
	case "sendMail":
		return g.sendMail(user, body)
	case "teamwork/sendActivityNotification":
		return g.sendActivity(user, body)
	}
	return answer{status: http.StatusNotFound, body: graphErrorBody("UnknownError", "no such resource")}
}

func (g *Graph) sendMail(from string, body []byte) answer {
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
		SaveToSentItems *bool `json:"saveToSentItems"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		g.violation("sendMail: body: %v", err)
		return answer{status: http.StatusBadRequest, body: graphErrorBody("RequestBodyRead", "The request body is not valid JSON.")}
	}
	m := Mail{From: from, Subject: req.Message.Subject, ContentType: req.Message.Body.ContentType,
		Content: req.Message.Body.Content, SaveToSentItems: req.SaveToSentItems}
	for _, r := range req.Message.ToRecipients {
		m.To = append(m.To, r.EmailAddress.Address)
	}
	ct := strings.ToLower(m.ContentType)
	switch {
	case len(m.To) == 0 || m.To[0] == "":
		g.violation("sendMail: no recipient")
		return answer{status: http.StatusBadRequest, body: graphErrorBody("ErrorInvalidRecipients", "At least one recipient isn't valid.")}
	case ct != "html" && ct != "text":
		g.violation("sendMail: body.contentType %q is not Text or HTML", m.ContentType)
		return answer{status: http.StatusBadRequest, body: graphErrorBody("RequestBodyRead", "Invalid body.contentType.")}
	case m.Subject == "" || m.Content == "":
		g.violation("sendMail: empty subject or body")
	}
	g.mu.Lock()
	g.mail = append(g.mail, m)
	g.mu.Unlock()
	return answer{status: http.StatusAccepted}
}

func (g *Graph) sendActivity(user string, body []byte) answer {
	var req struct {
		Topic struct {
			Source string `json:"source"`
			Value  string `json:"value"`
			WebURL string `json:"webUrl"`
		} `json:"topic"`
		ActivityType string `json:"activityType"`
		ChainID      int64  `json:"chainId"`
		PreviewText  struct {
			Content string `json:"content"`
		} `json:"previewText"`
		TemplateParameters []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"templateParameters"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		g.violation("sendActivityNotification: body: %v", err)
		return answer{status: http.StatusBadRequest, body: graphErrorBody("BadRequest", "The request body is not valid JSON.")}
	}
	a := Activity{UserID: user, TopicSource: req.Topic.Source, TopicValue: req.Topic.Value, TopicWebURL: req.Topic.WebURL,
		ActivityType: req.ActivityType, ChainID: req.ChainID, Preview: req.PreviewText.Content, Parameters: map[string]string{}}
	for _, p := range req.TemplateParameters {
		a.Parameters[p.Name] = p.Value
	}
	var problem string
	switch {
	case a.TopicSource != "text" && a.TopicSource != "entityUrl":
		problem = "topic.source must be text or entityUrl"
	case a.TopicSource == "text" && (a.TopicValue == "" || !strings.HasPrefix(a.TopicWebURL, "https://")):
		problem = "a text topic needs a value and an https webUrl"
	case a.ActivityType == "":
		problem = "activityType is required"
	case a.ActivityType == "systemDefault" && a.Parameters["systemDefaultText"] == "":
		problem = "systemDefault needs the systemDefaultText template parameter"
	case a.Preview == "":
		problem = "previewText.content is required"
	}
	if problem != "" {
		g.violation("sendActivityNotification: %s", problem)
		return answer{status: http.StatusBadRequest, body: graphErrorBody("BadRequest", problem)}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, old := range g.activities {
		if a.ChainID != 0 && old.UserID == user && old.ChainID == a.ChainID {
			g.activities[i] = a
			return answer{status: http.StatusNoContent}
		}
	}
	g.activities = append(g.activities, a)
	return answer{status: http.StatusNoContent}
}
