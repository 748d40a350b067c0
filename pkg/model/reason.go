package model

import (
	"encoding/json"
	"time"
)

// ReasonCode names one reason for a decision (docs/DESIGN.md, Decisions).
// The rules return codes with their parameters, as a policy engine returns
// diagnostics; the edges (explain.Reason) word them for people.
type ReasonCode string

// The reasons of a decision. The comment of each says which parameters of
// Reason it carries.
const (
	// ReasonBackWithinPolicy: Tier, Diversity, MinDiversity.
	ReasonBackWithinPolicy ReasonCode = "back-within-policy"
	// ReasonTicketResolved: the open ticket is resolved with it.
	ReasonTicketResolved ReasonCode = "ticket-resolved"
	// ReasonRemindersStop: the episode's reminders end.
	ReasonRemindersStop ReasonCode = "reminders-stop"
	// ReasonCompliant: Tier, Diversity, MinDiversity.
	ReasonCompliant ReasonCode = "compliant"
	// ReasonGuest: a guest, whom the policy does not include.
	ReasonGuest ReasonCode = "guest"
	// ReasonDisabledAccount: a disabled account, which the policy does not
	// include.
	ReasonDisabledAccount ReasonCode = "disabled-account"
	// ReasonEmergencyAccess: an emergency access account, judged with the
	// others as a set.
	ReasonEmergencyAccess ReasonCode = "emergency-access"
	// ReasonExempt: Tier.
	ReasonExempt ReasonCode = "exempt"
	// ReasonBaseline: a baseline sweep records without messaging.
	ReasonBaseline ReasonCode = "baseline"
	// ReasonTenantSideOnly: Violations (the tenant-side ones).
	ReasonTenantSideOnly ReasonCode = "tenant-side-only"
	// ReasonTenantSideTicketOpen: tenant-side only, and the ticket is open.
	ReasonTenantSideTicketOpen ReasonCode = "tenant-side-ticket-open"
	// ReasonLockedOut: no path satisfies Conditional Access.
	ReasonLockedOut ReasonCode = "locked-out"
	// ReasonNoMFAPath: no multifactor path at all.
	ReasonNoMFAPath ReasonCode = "no-mfa-path"
	// ReasonTierTickets: Tier, whose violations go to the helpdesk.
	ReasonTierTickets ReasonCode = "tier-tickets"
	// ReasonNewlyBelow: Violations (the user's), and Tier when a nudge
	// follows.
	ReasonNewlyBelow ReasonCode = "newly-below-policy"
	// ReasonNewlyBelowSnoozed: Until.
	ReasonNewlyBelowSnoozed ReasonCode = "newly-below-policy-snoozed"
	// ReasonWorseTicketUpdated: the worsening (PreviousDiversity and
	// Diversity, or the new Violations) of a user the helpdesk handles.
	ReasonWorseTicketUpdated ReasonCode = "worse-ticket-updated"
	// ReasonStillBelowTicketOpen: the open ticket already says so.
	ReasonStillBelowTicketOpen ReasonCode = "still-below-ticket-open"
	// ReasonTicketRequested: a ticket was requested and may be on its way.
	ReasonTicketRequested ReasonCode = "ticket-requested"
	// ReasonWorseTicketOpen: worse while a ticket is open.
	ReasonWorseTicketOpen ReasonCode = "worse-ticket-open"
	// ReasonHelpdeskHasTicket: no more reminders while a ticket is open.
	ReasonHelpdeskHasTicket ReasonCode = "helpdesk-has-ticket"
	// ReasonEscalated: Nudges went unanswered in Window.
	ReasonEscalated ReasonCode = "escalated"
	// ReasonSnoozed: Until.
	ReasonSnoozed ReasonCode = "snoozed"
	// ReasonWorseCooling: the worsening, Age of the last nudge, Cooldown.
	ReasonWorseCooling ReasonCode = "worse-cooling-down"
	// ReasonWorse: the worsening.
	ReasonWorse ReasonCode = "worse"
	// ReasonCoolingDown: Cooldown before the next reminder.
	ReasonCoolingDown ReasonCode = "cooling-down"
	// ReasonNoNudgeYet: no nudge delivered in the episode, so no reminder.
	ReasonNoNudgeYet ReasonCode = "no-nudge-yet"
	// ReasonReminder: Age of the last nudge.
	ReasonReminder ReasonCode = "reminder"
	// ReasonEmergencySetBack: the emergency access set is back within
	// policy; Diversity, MinDiversity.
	ReasonEmergencySetBack ReasonCode = "emergency-access-set-back-within-policy"
	// ReasonEmergencySetWithin: Diversity, MinDiversity of the set.
	ReasonEmergencySetWithin ReasonCode = "emergency-access-set-within-policy"
	// ReasonEmergencySetBelow: Diversity of the set of Accounts accounts,
	// below MinDiversity: a ticket for the security team.
	ReasonEmergencySetBelow ReasonCode = "emergency-access-set-below-policy"
	// ReasonEmergencySetSPOF: Dependencies every path of every account
	// depends on.
	ReasonEmergencySetSPOF ReasonCode = "emergency-access-set-single-points-of-failure"
	// ReasonEmergencySetStillBelow: the security team's ticket says so.
	ReasonEmergencySetStillBelow ReasonCode = "emergency-access-set-still-below-policy"
	// ReasonUserGone: the user no longer exists.
	ReasonUserGone ReasonCode = "user-gone"
	// ReasonRestsOnUnproven: Tier, and the Methods (ids) the sign-in logs
	// do not prove that the user's compliance rests on.
	ReasonRestsOnUnproven ReasonCode = "rests-on-unproven-methods"
	// ReasonTryAsked: the user is asked once to sign in with them.
	ReasonTryAsked ReasonCode = "try-unproven-methods"
	// ReasonTryAlreadyAsked: the user was already asked to try them.
	ReasonTryAlreadyAsked ReasonCode = "try-already-asked"
	// ReasonUnprovenProven: Tier; the methods the user was asked to try are
	// used (or no longer needed).
	ReasonUnprovenProven ReasonCode = "unproven-methods-proven"
	// ReasonPolicyChangeGrace: Until; the tenant changed its own policy
	// and the user's first nudge waits until then (docs/POLICY.md, "Policy
	// changes").
	ReasonPolicyChangeGrace ReasonCode = "policy-change-grace"
	// ReasonPolicyChangeDrops: the one tenant-side ticket about a change of
	// the tenant's own policy that dropped many users below policy.
	ReasonPolicyChangeDrops ReasonCode = "policy-change-drops"
)

// Reason is one reason for a decision: a code and the parameters that code
// speaks of (the others are zero).
type Reason struct {
	Code         ReasonCode `json:"code"`
	Tier         string     `json:"tier,omitempty"`
	Diversity    int        `json:"diversity,omitempty"`
	MinDiversity int        `json:"minDiversity,omitempty"`
	// PreviousDiversity is set, above Diversity, when diversity fell.
	PreviousDiversity int `json:"previousDiversity,omitempty"`
	// Violations are the violations the reason is about: all of them, the
	// tenant-side ones or, for a worsening, the new ones.
	Violations []Violation `json:"violations,omitempty"`
	// Until is the end of a snooze.
	Until time.Time `json:"until,omitzero"`
	// Dependencies are the dependencies the reason is about.
	Dependencies []Dependency `json:"dependencies,omitempty"`
	// Methods are the method ids the reason is about.
	Methods []string `json:"methods,omitempty"`
	// Accounts counts the accounts of a set.
	Accounts int `json:"accounts,omitempty"`
	// Nudges counts unanswered nudges.
	Nudges int `json:"nudges,omitempty"`
	// Window, Cooldown and Age (since the last nudge) are durations.
	Window   time.Duration `json:"window,omitempty"`
	Cooldown time.Duration `json:"cooldown,omitempty"`
	Age      time.Duration `json:"age,omitempty"`
}

// UnmarshalJSON also reads a reason written as words, as decisions queued
// before reasons had codes carry them: the words become the code, which
// explain.Reason prints as it is.
func (r *Reason) UnmarshalJSON(b []byte) error {
	var words string
	if json.Unmarshal(b, &words) == nil {
		*r = Reason{Code: ReasonCode(words)}
		return nil
	}
	type plain Reason
	return json.Unmarshal(b, (*plain)(r))
}
