package notify

import (
	"fmt"
	"strings"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// emergencySet reports whether dm is about the emergency access set as a
// whole (pipeline.EmergencyAccess), not about one user.
func emergencySet(dm model.DecisionMessage) bool {
	return dm.Decision.UserID == rules.EmergencyAccessUser && dm.Assessment.EmergencyAccess
}

// renderEmergencyTicket writes the security team's ticket about the
// emergency access (break-glass) accounts as a set: how many failures lock
// them all out, what every path of every account depends on, and what to
// do; or, resolved, that the set is back.
func renderEmergencyTicket(dm model.DecisionMessage, rec model.TicketRecord) model.RenderedTicket {
	a := dm.Assessment
	if rec.Status == model.TicketResolved {
		return model.RenderedTicket{
			Title: "Resolved: the emergency access accounts are back within policy",
			Description: fmt.Sprintf("The emergency access accounts (tier %q) are back within policy as a set: it takes %d independent failures to lock all of them out (minimum %d). No action needed.\nTicket %s.",
				a.Tier, a.Diversity, a.MinDiversity, rec.TicketID),
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "For the security team. The emergency access (break-glass) accounts of tier %q are judged as one set: the tenant keeps a way in as long as one of them can sign in.\n", a.Tier)
	switch a.Diversity {
	case 0:
		b.WriteString("No account of the set has a sign-in path: the tenant has no working emergency access.\n")
	case 1:
		fmt.Fprintf(&b, "A single failure locks out all of them at once; the policy asks for at least %d.\n", a.MinDiversity)
	default:
		fmt.Fprintf(&b, "It takes %d independent failures to lock out all of them at once; the policy asks for at least %d.\n", a.Diversity, a.MinDiversity)
	}
	if len(a.SPOFs) > 0 {
		fmt.Fprintf(&b, "Every path of every account depends on: %s.\n", strings.Join(a.SPOFs, ", "))
	}
	if len(a.Paths) > 0 {
		b.WriteString("The set's sign-in paths (security-key-model/<AAGUID> is every key of one model; a phone is one account's):\n")
		for _, p := range a.Paths {
			fmt.Fprintf(&b, "- %s\n", strings.Join(p, " + "))
		}
	}
	b.WriteString("Remedy: give the accounts independent ways in: security keys of two different models (AAGUIDs), cloud-only accounts that no federation or on-premises service can lock out, and no dependency shared by all of them. The accounts are never mailed.\n")
	fmt.Fprintf(&b, "Why credres opened this: %s.\n", strings.Join(rec.Reasons, "; "))
	fmt.Fprintf(&b, "Violations: %s.\nTicket %s.", strings.Join(model.ViolationStrings(rec.Violations), ", "), rec.TicketID)
	return model.RenderedTicket{
		Title:       fmt.Sprintf("Emergency access accounts below policy as a set: diversity %d of %d", a.Diversity, a.MinDiversity),
		Description: b.String(),
	}
}
