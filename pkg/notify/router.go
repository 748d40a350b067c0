package notify

import (
	"context"
	"fmt"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// Router delivers each nudge on the channel its policy tier chose
// (NudgeRecord.Channel): email or Teams. A channel that is unknown or not
// configured is an error wrapping model.ErrInvalidInput that names it, so
// that the decision is dead-lettered with that reason rather than dropped.
type Router struct {
	// Email sends "email" nudges (a MailSender).
	Email pipeline.NudgeSender
	// Teams sends "teams" nudges (a TeamsSender); nil when Teams is not
	// configured.
	Teams pipeline.NudgeSender
}

// SendNudge hands the nudge to the sender of its channel.
func (r *Router) SendNudge(ctx context.Context, dm model.DecisionMessage, rec model.NudgeRecord) error {
	var s pipeline.NudgeSender
	switch rec.Channel {
	case model.ChannelEmail:
		s = r.Email
	case model.ChannelTeams:
		s = r.Teams
	default:
		return fmt.Errorf("notify: route nudge %s: %w: unknown channel %q", rec.DecisionID, model.ErrInvalidInput, rec.Channel)
	}
	if s == nil {
		return fmt.Errorf("notify: route nudge %s: %w: channel %q is not configured", rec.DecisionID, model.ErrInvalidInput, rec.Channel)
	}
	return s.SendNudge(ctx, dm, rec)
}
