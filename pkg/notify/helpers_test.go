package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
)

// Test credentials. Tests check that none of them, and no full address,
// reaches an error or a log line.
const (
	snUser      = "svc-credres"
	snPassword  = "sn-Pa55word!"
	snToken     = "sn-oauth-token-0123"
	jiraEmail   = "credres-bot@contoso.example"
	jiraToken   = "jira-api-token-4567"
	hookSecret  = "whsec-89abcdef"
	graphToken  = "graph-token-cafe"
	userMail    = "pat.doe@contoso.example"
	userPhone   = "+1 2065550147"
	maskedPhone = "+1 ••• ••• 0147"
)

var secretValues = []string{snPassword, snToken, jiraToken, hookSecret, graphToken, userMail, jiraEmail, "2065550147"}

// secretMap is a model.SecretSource over a map.
type secretMap map[string]string

func (m secretMap) Secret(_ context.Context, name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf("secret %s: %w", name, model.ErrNotFound)
	}
	return v, nil
}

var testSecrets = secretMap{
	"sn-basic":   `{"username":"` + snUser + `","password":"` + snPassword + `"}`,
	"sn-token":   `{"token":"` + snToken + `"}`,
	"sn-wrong":   `{"username":"` + snUser + `","password":"not-it"}`,
	"sn-garbled": `username=` + snUser,
	"jira":       `{"email":"` + jiraEmail + `","apiToken":"` + jiraToken + `"}`,
	"hook":       hookSecret,
	"hook-wrong": "another-secret",
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logged returns a context whose zerolog logger writes to the returned
// buffer; the test fails at its end if the log holds a secret or address.
func logged(t *testing.T) (context.Context, *logBuffer) {
	t.Helper()
	buf := &logBuffer{}
	log := zerolog.New(buf).Level(zerolog.DebugLevel)
	t.Cleanup(func() { assertClean(t, "log", buf.String()) })
	return log.WithContext(context.Background()), buf
}

// assertClean fails when s holds a credential, a full address or a phone
// number.
func assertClean(t *testing.T, what, s string) {
	t.Helper()
	for _, v := range secretValues {
		if strings.Contains(s, v) {
			t.Errorf("%s holds %q:\n%s", what, v, s)
		}
	}
}

// errClean fails when err's message holds a credential or address.
func errClean(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		assertClean(t, "error", err.Error())
	}
}

// ticket is a rendered ticket event as TicketStage hands it to a sender.
func ticket(action, ticketID, decisionID string) model.TicketRecord {
	status := model.TicketOpen
	title := "Sign-in resilience below policy for pat.doe@contoso.example"
	desc := "Who: Pat Doe, object id u-1, tier \"standard\".\nAt risk:\n- It takes a single failure to lock the user out.\n- Every sign-in path depends on the user's primary phone.\nCurrent methods: password; mobile phone " + maskedPhone + ".\nRemedy: Set up Windows Hello for Business.\nTicket " + ticketID + ". Phone numbers and addresses are masked."
	if action == "resolved" {
		status = model.TicketResolved
		title = "Resolved: " + title
		desc = "Pat Doe is back within policy for tier \"standard\": it now takes 2 independent failures to lock them out. No action needed.\nTicket " + ticketID + "."
	}
	return model.TicketRecord{
		DecisionID: decisionID, TicketID: ticketID, Status: status, Action: action, UserID: "u-1",
		UserPrincipalName: "pat.doe@contoso.example", Decision: "ticket", Tier: "standard", Diversity: 1,
		Violations: []model.Violation{model.ViolationBelowMinDiversity}, Reasons: []string{"newly below policy"},
		Methods: []string{"password", "mobile phone " + maskedPhone}, Time: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		Title: title, Description: desc,
	}
}

// nudge is a rendered nudge as NudgeStage hands it to a sender.
func nudge(channel model.Channel) (model.DecisionMessage, model.NudgeRecord) {
	dm := model.DecisionMessage{
		ID:       "d-nudge-1",
		Decision: model.Decision{Kind: model.DecisionNudge, UserID: "u-1", Channel: channel},
		User:     model.UserSummary{ID: "u-1", UserPrincipalName: userMail, Mail: userMail, DisplayName: "Pat Doe"},
	}
	rec := model.NudgeRecord{
		DecisionID: dm.ID, UserID: "u-1", Decision: "nudge", Channel: channel, To: "p•••@contoso.example",
		Subject: "Add another way to sign in to your work account",
		Text: "Hello Pat,\n\nIf your phone is lost, broken or out of battery, you cannot sign in to your work account.\n\n" +
			"Best next step: set up Windows Hello on your Windows PC.\nIt takes about five minutes at https://mysignins.microsoft.com/security-info",
		HTML: "<p>Hello Pat,</p><p>If your phone is lost, you cannot sign in.</p>",
	}
	return dm, rec
}

// The channels implement the pipeline's sender interfaces.
var _ pipeline.TicketSender = (*notify.ServiceNow)(nil)
var _ pipeline.TicketSender = (*notify.Jira)(nil)
var _ pipeline.TicketSender = (*notify.Webhook)(nil)
var _ pipeline.NudgeSender = (*notify.Webhook)(nil)
var _ pipeline.NudgeSender = (*notify.TeamsSender)(nil)
var _ pipeline.NudgeSender = (*notify.MailSender)(nil)
var _ pipeline.NudgeSender = (*notify.Router)(nil)
