package notify

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/credres/credres/pkg/mask"
	"github.com/credres/credres/pkg/model"
)

// ticketText returns the ticket's rendered title and description, or plain
// ones built from the record when nothing was rendered.
func ticketText(rec model.TicketRecord) (title, description string) {
	// Ticket fields are the edge to the helpdesk: the title is one line
	// (ServiceNow's short_description, Jira's summary), and neither keeps a
	// control character from a display name.
	title, description = mask.Line(rec.Title), strings.TrimSpace(mask.Text(rec.Description))
	if title == "" {
		title = fmt.Sprintf("credres ticket %s (%s): user %s", rec.TicketID, rec.Action, rec.UserID)
	}
	if description == "" {
		description = fmt.Sprintf("User object id %s, ticket %s.\nReasons: %s.\nViolations: %s.",
			rec.UserID, rec.TicketID, strings.Join(rec.Reasons, "; "), strings.Join(model.ViolationStrings(rec.Violations), ", "))
	}
	return title, description
}

// basicAuth is an Authorization header value for HTTP basic authentication.
func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}
