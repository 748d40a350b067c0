package model

import "time"

// DecisionKind is what should happen after an evaluation (docs/DESIGN.md, Decisions).
type DecisionKind string

// The decisions of docs/DESIGN.md, Decisions.
const (
	DecisionNone    DecisionKind = "none"
	DecisionNudge   DecisionKind = "nudge"
	DecisionTicket  DecisionKind = "ticket"
	DecisionResolve DecisionKind = "resolve"
)

// NudgeHistory is what has already been said to a user about their current
// episode of non-compliance. An episode ends when the user is compliant again.
type NudgeHistory struct {
	// Nudges holds the times of the nudges sent in the current episode,
	// oldest first (first nudges and reminders alike).
	Nudges []time.Time `json:"nudges,omitempty"`
	// TicketOpen is true while a ticket for this user is open.
	TicketOpen bool `json:"ticketOpen,omitempty"`
	// SnoozedUntil suppresses nudges (not tickets) until then.
	SnoozedUntil time.Time `json:"snoozedUntil,omitzero"`
}

// LastNudge returns when the user was last nudged, or the zero time.
func (h NudgeHistory) LastNudge() time.Time {
	if len(h.Nudges) == 0 {
		return time.Time{}
	}
	return h.Nudges[len(h.Nudges)-1]
}

// NudgesSince counts the nudges sent at or after t.
func (h NudgeHistory) NudgesSince(t time.Time) int {
	n := 0
	for _, at := range h.Nudges {
		if !at.Before(t) {
			n++
		}
	}
	return n
}

// Decision is the outcome of comparing a user's previous and new assessment.
type Decision struct {
	Kind       DecisionKind `json:"decision"`
	UserID     string       `json:"userId"`
	Violations []Violation  `json:"violations"`
	// Reasons say why, as codes with their parameters; explain.Reasons
	// words them for people.
	Reasons []Reason `json:"reasons"`
	// First is true for a first finding: a nudge or ticket about a user
	// nobody has told about this episode yet (newly below policy, reached
	// by a campaign, or newly resting on unproven methods).
	First bool `json:"first,omitempty"`
	// Reminder is true when a nudge repeats an earlier one on the cooldown
	// schedule rather than reacting to a change.
	Reminder bool `json:"reminder,omitempty"`
	// Escalated is true when a ticket follows ignored nudges.
	Escalated bool `json:"escalated,omitempty"`
	// NudgesIgnored is how many nudges went unanswered before an escalation.
	NudgesIgnored int `json:"nudgesIgnored,omitempty"`
	// AdminOnly is true when a ticket is about tenant-side violations only
	// (administrators act, the user is not nudged).
	AdminOnly bool `json:"adminOnly,omitempty"`
	// Channel is how a nudge reaches the user, chosen by the user's tier.
	Channel Channel `json:"channel,omitempty"`
	// Try lists the unproven methods (ids) a compliant user relies on: the
	// nudge asks the user to check that they still work (docs/USAGE.md).
	Try []string `json:"try,omitempty"`
	// HeldUntil is when a first nudge held for a policy change's grace
	// period is due (docs/POLICY.md, "Policy changes").
	HeldUntil time.Time `json:"heldUntil,omitzero"`
	// PolicyDrop is true when the tenant's policy change this evaluation
	// follows dropped the user below policy: they were within policy
	// before it.
	PolicyDrop bool `json:"policyDrop,omitempty"`
}
