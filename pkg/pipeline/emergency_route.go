package pipeline

import (
	"context"
	"sync"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// TicketRouter is the ticket stage's sender when the deployment has a
// security team's destination: the emergency access set's tickets
// (rules.EmergencyAccessUser) go to Security, every other ticket to
// Helpdesk. Without Security the set's tickets go to the helpdesk, marked
// adminOnly as every set ticket is, and the first of them logs that no
// security team's destination is configured.
type TicketRouter struct {
	Helpdesk TicketSender
	Security TicketSender
	once     sync.Once
}

// SendTicket sends one ticket event to its destination.
func (r *TicketRouter) SendTicket(ctx context.Context, msg model.DecisionMessage, rec model.TicketRecord) error {
	if msg.Decision.UserID != rules.EmergencyAccessUser {
		return r.Helpdesk.SendTicket(ctx, msg, rec)
	}
	if r.Security == nil {
		r.once.Do(func() {
			zerolog.Ctx(ctx).Warn().Str("decisionId", msg.ID).
				Msg("emergency access: no security team's ticket destination is configured; the set's tickets go to the helpdesk as adminOnly (docs/DEPLOY.md)")
		})
		return r.Helpdesk.SendTicket(ctx, msg, rec)
	}
	return r.Security.SendTicket(ctx, msg, rec)
}
