package graphtest

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// Activity is a Teams activity-feed notification the server accepted.
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

// Mail returns the messages sent so far.
func (s *Server) Mail() []SentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMail(nil), s.mail...)
}

// Activities returns the notifications in users' feeds.
func (s *Server) Activities() []Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Activity(nil), s.activities...)
}

// violation reports a request that breaks the documented shape: the test
// fails, and the server answers 400 as Graph would.
func (s *Server) violation(code, format string, args ...any) response {
	s.t.Helper()
	s.t.Errorf("graphtest: "+format, args...)
	return errorResponse(http.StatusBadRequest, code, "Invalid request.")
}

// sendMail takes a JSON sendMail request (a message with a subject, a body
// of contentType Text or HTML and recipients) and answers 202 with no body.
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
		SaveToSentItems *bool `json:"saveToSentItems"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return s.violation("RequestBodyRead", "sendMail: body: %v", err)
	}
	m := SentMail{From: u.UserPrincipalName, Subject: req.Message.Subject, ContentType: req.Message.Body.ContentType,
		Content: req.Message.Body.Content, SaveToSentItems: req.SaveToSentItems}
	for _, r := range req.Message.ToRecipients {
		m.To = append(m.To, r.EmailAddress.Address)
	}
	ct := strings.ToLower(m.ContentType)
	switch {
	case len(m.To) == 0 || m.To[0] == "":
		return s.violation("ErrorInvalidRecipients", "sendMail: no recipient")
	case ct != "html" && ct != "text":
		return s.violation("RequestBodyRead", "sendMail: body.contentType %q is not Text or HTML", m.ContentType)
	case m.Subject == "" || m.Content == "":
		s.t.Errorf("graphtest: sendMail: empty subject or body")
	}
	s.mail = append(s.mail, m)
	return response{status: http.StatusAccepted, headers: map[string]string{}}
}

// sendActivity takes a sendActivityNotification request (a topic of source
// text with an https webUrl, or entityUrl; an activity type; preview text;
// for systemDefault the systemDefaultText parameter) and answers 204. A
// notification with the chainId of an earlier one for the same user
// replaces it, as Teams does.
func (s *Server) sendActivity(u *model.User, body []byte) response {
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
		return s.violation("BadRequest", "sendActivityNotification: body: %v", err)
	}
	a := Activity{UserID: u.ID, TopicSource: req.Topic.Source, TopicValue: req.Topic.Value, TopicWebURL: req.Topic.WebURL,
		ActivityType: req.ActivityType, ChainID: req.ChainID, Preview: req.PreviewText.Content, Parameters: map[string]string{}}
	for _, p := range req.TemplateParameters {
		a.Parameters[p.Name] = p.Value
	}
	if problem := activityProblem(a); problem != "" {
		return s.violation("BadRequest", "sendActivityNotification: %s", problem)
	}
	for i, old := range s.activities {
		if a.ChainID != 0 && old.UserID == a.UserID && old.ChainID == a.ChainID {
			s.activities[i] = a
			return response{status: http.StatusNoContent, headers: map[string]string{}}
		}
	}
	s.activities = append(s.activities, a)
	return response{status: http.StatusNoContent, headers: map[string]string{}}
}

// activityProblem names what a notification lacks, "" when nothing.
func activityProblem(a Activity) string {
	switch {
	case a.TopicSource != "text" && a.TopicSource != "entityUrl":
		return "topic.source must be text or entityUrl"
	case a.TopicSource == "text" && (a.TopicValue == "" || !strings.HasPrefix(a.TopicWebURL, "https://")):
		return "a text topic needs a value and an https webUrl"
	case a.ActivityType == "":
		return "activityType is required"
	case a.ActivityType == "systemDefault" && a.Parameters["systemDefaultText"] == "":
		return "systemDefault needs the systemDefaultText template parameter"
	case a.Preview == "":
		return "previewText.content is required"
	}
	return ""
}
