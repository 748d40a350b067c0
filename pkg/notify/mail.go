package notify

import (
	"context"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// Mailer sends one message with Graph's sendMail; *graph.Client is one.
type Mailer interface {
	SendMail(ctx context.Context, from string, m model.Mail) error
}

// MailSender emails nudges through Microsoft Graph's sendMail, from one
// sender mailbox to the user's mail address, with the rendered subject and
// HTML body (the plain text when there is no HTML).
//
// Graph's sendMail has no idempotency key: if Graph accepted a message but
// its answer was lost, a redelivery sends it again. The Graph client keeps
// that window small by never retrying a sendMail that timed out at the
// gateway; docs/CHANNELS.md says more.
type MailSender struct {
	mail Mailer
	from string
}

// NewMailSender returns a sender that sends from the mailbox from (a user
// principal name or object id; the app's Mail.Send permission should be
// restricted to it) through m, usually a *graph.Client.
func NewMailSender(m Mailer, from string) (*MailSender, error) {
	from = strings.TrimSpace(from)
	if m == nil {
		return nil, fmt.Errorf("mail: %w: no Graph client", model.ErrInvalidInput)
	}
	if from == "" {
		return nil, fmt.Errorf("mail: %w: no sender mailbox", model.ErrInvalidInput)
	}
	return &MailSender{mail: m, from: from}, nil
}

// SendNudge emails the rendered nudge to dm.User.Mail. A user without a
// mail address, or a nudge with no rendered body, is an error wrapping
// model.ErrInvalidInput.
func (s *MailSender) SendNudge(ctx context.Context, dm model.DecisionMessage, rec model.NudgeRecord) error {
	to := strings.TrimSpace(dm.User.Mail)
	if to == "" {
		return fmt.Errorf("mail: send nudge %s: %w: user has no mail address", rec.DecisionID, model.ErrInvalidInput)
	}
	if rec.HTML == "" && rec.Text == "" {
		return fmt.Errorf("mail: send nudge %s: %w: the nudge has no rendered body", rec.DecisionID, model.ErrInvalidInput)
	}
	m := model.Mail{To: []string{to}, Subject: rec.Subject, Text: rec.Text, HTML: rec.HTML}
	if err := s.mail.SendMail(ctx, s.from, m); err != nil {
		// The address stays out of the error: errors are logged.
		return fmt.Errorf("mail: send nudge %s to user %s: %w", rec.DecisionID, dm.User.ID, err)
	}
	zerolog.Ctx(ctx).Info().Str("channel", "email").Str("decisionId", rec.DecisionID).
		Str("userId", dm.User.ID).Msg("notify: nudge mailed")
	return nil
}
