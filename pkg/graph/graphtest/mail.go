package graphtest

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// Mail returns the messages sent so far.
func (s *Server) Mail() []SentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMail(nil), s.mail...)
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
