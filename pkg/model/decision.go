package model

import "time"

// DecisionKind is what should happen after an evaluation (SPEC §6).
type DecisionKind string

// The decisions of SPEC §6.
const (
	DecisionNone    DecisionKind = "none"
	DecisionNudge   DecisionKind = "nudge"
	DecisionTicket  DecisionKind = "ticket"
	DecisionResolve DecisionKind = "resolve"
)

// NudgeHistory is what has already been said to a user about their current
// episode of non-compliance. An episode ends when the user is compliant again.
type NudgeHistory struct {
	// NudgesSent counts nudges (first and reminders) in the current episode
	// and escalation window.
	NudgesSent int       `json:"nudgesSent"`
	LastNudge  time.Time `json:"lastNudge,omitzero"`
	FirstNudge time.Time `json:"firstNudge,omitzero"`
	// TicketOpen is true while a ticket for this user is open.
	TicketOpen   bool      `json:"ticketOpen"`
	SnoozedUntil time.Time `json:"snoozedUntil,omitzero"`
}

// Decision is the outcome of comparing a user's previous and new assessment.
type Decision struct {
	Kind       DecisionKind `json:"decision"`
	UserID     string       `json:"userId"`
	Violations []string     `json:"violations"`
	Reasons    []string     `json:"reasons"`
	// Reminder is true when a nudge repeats an earlier one on the cooldown
	// schedule rather than reacting to a change.
	Reminder bool `json:"reminder,omitempty"`
	// Escalated is true when a ticket follows ignored nudges.
	Escalated bool `json:"escalated,omitempty"`
	// AdminOnly is true when a ticket is about tenant-side violations only
	// (administrators act, the user is not nudged).
	AdminOnly bool `json:"adminOnly,omitempty"`
}
