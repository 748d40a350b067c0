package rules

import (
	"fmt"
	"slices"
	"time"

	"github.com/credres/credres/pkg/model"
)

// DecisionInput is everything a decision depends on (docs/DESIGN.md, Decisions). The engine
// reads no clock and no store: the caller passes them in.
type DecisionInput struct {
	// Previous is the stored assessment, nil when the user was never assessed.
	Previous *model.Assessment
	Current  model.Assessment
	History  model.NudgeHistory
	Now      time.Time
	// Baseline records assessments without acting on a first finding: a
	// tenant-wide sweep that is not a campaign (docs/DESIGN.md, Decisions, last paragraph).
	Baseline bool
	// Campaign acts on findings nobody has been told about yet, such as
	// those a baseline recorded.
	Campaign bool
}

// Decide compares the new assessment with the previous one and says what to
// do, with reasons an administrator can read.
func (e *Engine) Decide(in DecisionInput) model.Decision {
	cur, prev, h := &in.Current, in.Previous, &in.History
	d := model.Decision{Kind: model.DecisionNone, UserID: cur.UserID, Violations: cur.Violations}
	if d.Violations == nil {
		d.Violations = []string{}
	}
	say := func(format string, args ...any) { d.Reasons = append(d.Reasons, fmt.Sprintf(format, args...)) }
	np := e.policy.Nudges

	if cur.Compliant {
		if (prev != nil && !prev.Compliant) || h.TicketOpen || len(h.Nudges) > 0 {
			d.Kind = model.DecisionResolve
			say("back within policy for tier %q: diversity %d (minimum %d)", cur.Tier, cur.Diversity, cur.MinDiversity)
			if h.TicketOpen {
				say("the open ticket is resolved")
			}
			if len(h.Nudges) > 0 {
				say("reminders stop")
			}
			return d
		}
		say("compliant with tier %q: diversity %d (minimum %d)", cur.Tier, cur.Diversity, cur.MinDiversity)
		return d
	}

	switch cur.Excluded {
	case model.ExcludedGuest:
		say("a guest: evaluated and reported, never nudged or ticketed unless the policy includes guests (guests: include)")
		return d
	case model.ExcludedDisabled:
		say("a disabled account: evaluated and reported, never nudged or ticketed unless the policy includes disabled accounts (disabledAccounts: include)")
		return d
	}
	if cur.EmergencyAccess {
		say("an emergency access account: never mailed, and judged with the other emergency access accounts as a set (a ticket to the security team when the set falls below policy)")
		return d
	}
	if cur.Exempt {
		say("exempt (tier %q or the policy's exemption list): evaluated and reported, never nudged or ticketed", cur.Tier)
		return d
	}
	if until := e.policy.snoozedUntil(cur.UserID, cur.UserPrincipalName); until.After(h.SnoozedUntil) {
		h.SnoozedUntil = until
	}
	d.Channel = e.channelFor(cur.Tier)
	firstFinding := prev == nil || prev.Compliant
	if in.Campaign && len(h.Nudges) == 0 && !h.TicketOpen {
		firstFinding = true
	}
	if firstFinding && in.Baseline {
		say("baseline sweep: the assessment is recorded without messaging anyone")
		return d
	}
	userSide := cur.UserViolations()
	if len(userSide) == 0 {
		// Only the tenant can fix this (password hash sync): administrators.
		if firstFinding || worse(prev, cur) || !h.TicketOpen {
			d.Kind, d.AdminOnly = model.DecisionTicket, true
			say("tenant-side only: %s; enabling password hash sync as a fallback would remedy it", joinCodes(cur.TenantSide))
			return d
		}
		say("tenant-side only and a ticket is already open")
		return d
	}

	ticketTier := cur.OnViolation == string(model.DecisionTicket)
	noCA := cur.HasViolation(model.ViolationNoCAPath)
	noPath := cur.HasViolation(model.ViolationNoMFAPath) || noCA
	if firstFinding {
		if ticketTier || noPath {
			d.Kind = model.DecisionTicket
			switch {
			case noCA:
				say("no sign-in path satisfies the authentication strength Conditional Access requires: the user is locked out today")
			case noPath:
				say("no multifactor sign-in path at all: the helpdesk must help the user register")
			default:
				say("tier %q sends violations to the helpdesk", cur.Tier)
			}
			say("newly below policy: %s", joinCodes(userSide))
			return d
		}
		if snoozed(h, in.Now) {
			say("newly below policy, but nudges are snoozed until %s", h.SnoozedUntil.UTC().Format(time.RFC3339))
			return d
		}
		d.Kind = model.DecisionNudge
		say("newly below policy for tier %q: %s", cur.Tier, joinCodes(userSide))
		return d
	}

	// Non-compliant before and now.
	got := worse(prev, cur)
	if ticketTier || noPath {
		if got {
			d.Kind = model.DecisionTicket
			say("worse while below policy (%s): the ticket is updated", worseWhat(prev, cur))
			return d
		}
		if h.TicketOpen {
			say("still below policy; the open ticket already says so")
		} else {
			// The ticket decided earlier may still be on its way; deciding it
			// again on every evaluation would open it twice.
			say("still below policy; a ticket was requested when the user fell below it")
		}
		return d
	}
	if h.TicketOpen {
		if got {
			d.Kind = model.DecisionTicket
			say("worse while a ticket is open: the ticket is updated")
			return d
		}
		say("the helpdesk has the open ticket; no more reminders")
		return d
	}
	window := time.Duration(np.Window)
	ignored := h.NudgesSince(in.Now.Add(-window))
	if np.EscalateAfter > 0 && ignored >= np.EscalateAfter {
		d.Kind, d.Escalated, d.NudgesIgnored = model.DecisionTicket, true, ignored
		say("%d nudges in the last %s went unanswered: escalated to the helpdesk", ignored, np.Window)
		return d
	}
	if snoozed(h, in.Now) {
		say("nudges are snoozed until %s", h.SnoozedUntil.UTC().Format(time.RFC3339))
		return d
	}
	last := h.LastNudge()
	cooling := !last.IsZero() && in.Now.Sub(last) < time.Duration(np.Cooldown)
	switch {
	case got && cooling:
		say("worse (%s), but the last nudge was %s ago, within the %s cooldown", worseWhat(prev, cur), roundAge(in.Now.Sub(last)), np.Cooldown)
	case got:
		d.Kind = model.DecisionNudge
		say("worse than before: %s", worseWhat(prev, cur))
	case cooling:
		say("still below policy; next reminder after the %s cooldown", np.Cooldown)
	case last.IsZero():
		// The first nudge may still be on its way, or a baseline or snooze
		// held it back; reminders follow a nudge that was delivered.
		say("still below policy; no nudge delivered yet in this episode, so no reminder is due")
	default:
		d.Kind, d.Reminder = model.DecisionNudge, true
		say("still below policy %s after the last nudge: reminder", roundAge(in.Now.Sub(last)))
	}
	return d
}

// channelFor returns the nudge channel of the named tier.
func (e *Engine) channelFor(tier string) string {
	for i := range e.policy.Tiers {
		if e.policy.Tiers[i].Name == tier {
			return e.policy.Tiers[i].NudgeChannel
		}
	}
	return ChannelEmail
}

// worse is true when diversity dropped or a violation appeared.
func worse(prev *model.Assessment, cur *model.Assessment) bool {
	if prev == nil {
		return true
	}
	if cur.Diversity < prev.Diversity {
		return true
	}
	for _, v := range cur.Violations {
		if !slices.Contains(prev.Violations, v) {
			return true
		}
	}
	return false
}

func worseWhat(prev *model.Assessment, cur *model.Assessment) string {
	if cur.Diversity < prev.Diversity {
		return fmt.Sprintf("diversity fell from %d to %d", prev.Diversity, cur.Diversity)
	}
	var added []string
	for _, v := range cur.Violations {
		if !slices.Contains(prev.Violations, v) {
			added = append(added, v)
		}
	}
	return "new " + joinCodes(added)
}

func snoozed(h *model.NudgeHistory, now time.Time) bool {
	return !h.SnoozedUntil.IsZero() && now.Before(h.SnoozedUntil)
}

func joinCodes(codes []string) string {
	switch len(codes) {
	case 0:
		return "no violations"
	case 1:
		return codes[0]
	}
	out := codes[0]
	for _, c := range codes[1:] {
		out += ", " + c
	}
	return out
}

// roundAge prints an age in whole days, or hours below a day.
func roundAge(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return d.Round(time.Minute).String()
}
