package rules

import (
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
	// PolicyChangeAt, when set, is when the tenant changed its own policy,
	// for an evaluation that follows the change: the first nudge of a
	// user found below policy waits until PolicyChangeAt plus the
	// policy's grace period (docs/POLICY.md, "Policy changes").
	PolicyChangeAt time.Time
}

// Decide compares the new assessment with the previous one and says what to
// do, with reasons as codes and their parameters (model.Reason): the first
// row of the transition table whose condition holds decides.
func (e *Engine) Decide(in DecisionInput) model.Decision {
	s := e.situation(&in)
	d := model.Decision{Kind: model.DecisionNone, UserID: s.cur.UserID, Violations: s.cur.Violations}
	if d.Violations == nil {
		d.Violations = []model.Violation{}
	}
	if !s.cur.Compliant && s.cur.Excluded == "" && !s.cur.EmergencyAccess && !s.cur.Exempt {
		d.Channel = e.channelFor(s.cur.Tier)
	}
	for _, t := range transitions {
		if t.when(s) {
			d.Kind, d.Reasons = t.kind, t.reasons(s)
			// A first finding is a nudge or ticket decided because nobody
			// was told yet: past the rows of compliant users, s.first; for
			// them, the nudge to try unproven methods.
			d.First = (d.Kind == model.DecisionNudge || d.Kind == model.DecisionTicket) &&
				(t.flag == flagTry || (!s.cur.Compliant && s.first))
			switch t.flag {
			case flagAdminOnly:
				d.AdminOnly = true
			case flagEscalated:
				d.Escalated, d.NudgesIgnored = true, s.ignored
			case flagReminder:
				d.Reminder = true
			case flagTry:
				d.Try, d.Channel = tryIDs(s.cur), e.channelFor(s.cur.Tier)
			case flagHeld:
				d.HeldUntil = s.graceUntil
			}
			d.PolicyDrop = s.policyDrop && (d.Kind == model.DecisionTicket || t.flag == flagHeld)
			if d.Kind == model.DecisionNudge && !s.cur.Compliant && s.cur.RestsOnUnproven {
				// Below policy only because its tier leaves unproven
				// methods out (countUnproven: false): the remedy is to use
				// the methods the user has, not to register new ones.
				d.Try = tryIDs(s.cur)
			}
			return d
		}
	}
	return d
}

// situation is what a decision is taken from, worked out once.
type situation struct {
	cur, prev *model.Assessment
	h         model.NudgeHistory
	nudges    NudgePolicy
	now       time.Time
	baseline  bool
	// first: nobody has been told about this finding yet (the user was
	// compliant or never assessed, or a campaign reaches them).
	first    bool
	userSide []model.Violation
	// helpdesk: the tier sends violations to the helpdesk, or the user
	// has no path at all.
	helpdesk   bool
	noCA       bool
	noPath     bool
	worse      bool
	ignored    int       // nudges in the escalation window
	lastNudge  time.Time // zero when none was delivered in the episode
	cooling    bool      // the last nudge is within the cooldown
	ticketOpen bool
	// trying: a nudge to try unproven methods stands (the user rested on
	// them before and still does); provenNow: they no longer rest on them.
	trying    bool
	provenNow bool
	// newlyResting: the user rests on unproven methods and was not asked
	// about it yet.
	newlyResting bool
	// graceUntil: a first nudge waits until then, for a policy change's
	// grace period (zero when none applies); held: the previous
	// evaluation held the first nudge, and nothing was said since.
	graceUntil time.Time
	held       bool
	// policyDrop: the evaluation follows a policy change, and the user
	// was within policy before it.
	policyDrop bool
}

func (e *Engine) situation(in *DecisionInput) *situation {
	s := &situation{cur: &in.Current, prev: in.Previous, h: in.History, nudges: e.policy.Nudges, now: in.Now, baseline: in.Baseline}
	if until := e.policy.snoozedUntil(s.cur.UserID, s.cur.UserPrincipalName); until.After(s.h.SnoozedUntil) {
		s.h.SnoozedUntil = until
	}
	s.ticketOpen = s.h.TicketOpen
	if !in.PolicyChangeAt.IsZero() {
		s.graceUntil = in.PolicyChangeAt.Add(time.Duration(e.policy.PolicyChanges.Grace))
		s.policyDrop = s.prev != nil && s.prev.Compliant
	}
	// A held first nudge stays the first: nobody has told the user yet.
	s.held = s.prev != nil && !s.prev.Compliant && !s.prev.HeldUntil.IsZero() && len(s.h.Nudges) == 0 && !s.ticketOpen
	if s.held && s.prev.HeldUntil.After(s.graceUntil) {
		s.graceUntil = s.prev.HeldUntil
	}
	s.first = s.prev == nil || s.prev.Compliant || s.held || (in.Campaign && len(s.h.Nudges) == 0 && !s.ticketOpen)
	s.userSide = s.cur.UserViolations()
	s.noCA = s.cur.HasViolation(model.ViolationNoCAPath)
	s.noPath = s.noCA || s.cur.HasViolation(model.ViolationNoMFAPath)
	s.helpdesk = s.cur.OnViolation == model.DecisionTicket || s.noPath
	s.worse = worse(s.prev, s.cur)
	s.ignored = s.h.NudgesSince(in.Now.Add(-time.Duration(s.nudges.Window)))
	s.lastNudge = s.h.LastNudge()
	s.cooling = !s.lastNudge.IsZero() && in.Now.Sub(s.lastNudge) < time.Duration(s.nudges.Cooldown)
	restedBefore := s.prev != nil && s.prev.Compliant && s.prev.RestsOnUnproven
	s.trying = restedBefore && s.cur.RestsOnUnproven
	s.provenNow = restedBefore && !s.cur.RestsOnUnproven
	s.newlyResting = s.cur.RestsOnUnproven && (!restedBefore || (in.Campaign && len(s.h.Nudges) == 0))
	return s
}

func (s *situation) snoozed() bool {
	return !s.h.SnoozedUntil.IsZero() && s.now.Before(s.h.SnoozedUntil)
}

// A mark flags a decision beyond its kind.
type mark int

const (
	flagNone      mark = iota
	flagAdminOnly      // a ticket about tenant-side violations only
	flagEscalated      // a ticket after ignored nudges
	flagReminder       // a nudge on the cooldown schedule
	flagTry            // a nudge to try unproven methods
	flagHeld           // a first nudge held for a policy change's grace period
)

// transition is one row of the decision table: when its condition holds
// (and no earlier row's did), the decision is kind, marked by flag, with reasons.
type transition struct {
	when    func(*situation) bool
	kind    model.DecisionKind
	flag    mark
	reasons func(*situation) []model.Reason
}

// transitions is docs/DESIGN.md, Decisions, as a table read top down.
// Each row may assume that no row above it matched.
var transitions = []transition{
	// Compliant now: resolve what an episode left open, else stay quiet. A
	// nudge to try unproven methods stands, unrepeated, while the user
	// still rests on them, and is resolved once they no longer do.
	{func(s *situation) bool {
		return s.cur.Compliant && s.provenNow && len(s.h.Nudges) > 0 && !s.ticketOpen
	}, model.DecisionResolve, flagNone, unprovenProven},
	{func(s *situation) bool {
		return s.cur.Compliant && ((s.prev != nil && !s.prev.Compliant) || s.ticketOpen || (len(s.h.Nudges) > 0 && !s.trying))
	}, model.DecisionResolve, flagNone, resolved},
	// Compliant only through unproven methods: ask once to try them.
	{func(s *situation) bool { return s.cur.Compliant && s.cur.RestsOnUnproven && !s.newlyResting },
		model.DecisionNone, flagNone, resting(model.ReasonTryAlreadyAsked)},
	{func(s *situation) bool {
		return s.cur.Compliant && s.cur.RestsOnUnproven && (s.cur.Excluded != "" || s.cur.EmergencyAccess || s.cur.Exempt)
	}, model.DecisionNone, flagNone, resting(model.ReasonExempt)},
	{func(s *situation) bool { return s.cur.Compliant && s.cur.RestsOnUnproven && s.baseline },
		model.DecisionNone, flagNone, resting(model.ReasonBaseline)},
	{func(s *situation) bool { return s.cur.Compliant && s.cur.RestsOnUnproven && s.snoozed() },
		model.DecisionNone, flagNone, resting(model.ReasonSnoozed)},
	{func(s *situation) bool { return s.cur.Compliant && s.cur.RestsOnUnproven },
		model.DecisionNudge, flagTry, resting(model.ReasonTryAsked)},
	{func(s *situation) bool { return s.cur.Compliant }, model.DecisionNone, flagNone, tiered(model.ReasonCompliant)},
	{func(s *situation) bool { return s.cur.Excluded == model.ExcludedGuest }, model.DecisionNone, flagNone, just(model.ReasonGuest)},
	{func(s *situation) bool { return s.cur.Excluded == model.ExcludedDisabled }, model.DecisionNone, flagNone, just(model.ReasonDisabledAccount)},
	{func(s *situation) bool { return s.cur.EmergencyAccess }, model.DecisionNone, flagNone, just(model.ReasonEmergencyAccess)},
	{func(s *situation) bool { return s.cur.Exempt }, model.DecisionNone, flagNone, exempt},
	{func(s *situation) bool { return s.first && s.baseline }, model.DecisionNone, flagNone, just(model.ReasonBaseline)},
	// Only the tenant can fix this (password hash sync): administrators.
	{func(s *situation) bool { return len(s.userSide) == 0 && (s.first || s.worse || !s.ticketOpen) },
		model.DecisionTicket, flagAdminOnly, tenantSideOnly},
	{func(s *situation) bool { return len(s.userSide) == 0 }, model.DecisionNone, flagNone, just(model.ReasonTenantSideTicketOpen)},
	// A first finding.
	{func(s *situation) bool { return s.first && s.helpdesk }, model.DecisionTicket, flagNone, firstTicket},
	// The tenant changed its own policy: the user's first nudge waits for
	// the grace period (tickets above do not).
	{func(s *situation) bool { return s.first && (s.policyDrop || s.held) && s.now.Before(s.graceUntil) }, model.DecisionNone, flagHeld, graceHeld},
	{func(s *situation) bool { return s.first && s.snoozed() }, model.DecisionNone, flagNone, snoozed(model.ReasonNewlyBelowSnoozed)},
	{func(s *situation) bool { return s.first }, model.DecisionNudge, flagNone, newlyBelow},
	// Below policy before and now, the helpdesk's case.
	{func(s *situation) bool { return s.helpdesk && s.worse }, model.DecisionTicket, flagNone, worsening(model.ReasonWorseTicketUpdated)},
	{func(s *situation) bool { return s.helpdesk && s.ticketOpen }, model.DecisionNone, flagNone, just(model.ReasonStillBelowTicketOpen)},
	// The ticket decided earlier may still be on its way; deciding it again
	// on every evaluation would open it twice.
	{func(s *situation) bool { return s.helpdesk }, model.DecisionNone, flagNone, just(model.ReasonTicketRequested)},
	{func(s *situation) bool { return s.ticketOpen && s.worse }, model.DecisionTicket, flagNone, just(model.ReasonWorseTicketOpen)},
	{func(s *situation) bool { return s.ticketOpen }, model.DecisionNone, flagNone, just(model.ReasonHelpdeskHasTicket)},
	// Below policy before and now, the user's case: escalate, wait or remind.
	{func(s *situation) bool { return s.nudges.EscalateAfter > 0 && s.ignored >= s.nudges.EscalateAfter },
		model.DecisionTicket, flagEscalated, escalated},
	{func(s *situation) bool { return s.snoozed() }, model.DecisionNone, flagNone, snoozed(model.ReasonSnoozed)},
	{func(s *situation) bool { return s.worse && s.cooling }, model.DecisionNone, flagNone, worseCooling},
	{func(s *situation) bool { return s.worse }, model.DecisionNudge, flagNone, worsening(model.ReasonWorse)},
	{func(s *situation) bool { return s.cooling }, model.DecisionNone, flagNone, cooldown},
	// The first nudge may still be on its way, or a baseline or snooze held
	// it back; reminders follow a nudge that was delivered.
	{func(s *situation) bool { return s.lastNudge.IsZero() }, model.DecisionNone, flagNone, just(model.ReasonNoNudgeYet)},
	{func(*situation) bool { return true }, model.DecisionNudge, flagReminder, reminder},
}

func just(code model.ReasonCode) func(*situation) []model.Reason {
	return func(*situation) []model.Reason { return []model.Reason{{Code: code}} }
}

func tiered(code model.ReasonCode) func(*situation) []model.Reason {
	return func(s *situation) []model.Reason {
		return []model.Reason{{Code: code, Tier: s.cur.Tier, Diversity: s.cur.Diversity, MinDiversity: s.cur.MinDiversity}}
	}
}

func exempt(s *situation) []model.Reason {
	return []model.Reason{{Code: model.ReasonExempt, Tier: s.cur.Tier}}
}

func resolved(s *situation) []model.Reason {
	rs := tiered(model.ReasonBackWithinPolicy)(s)
	if s.ticketOpen {
		rs = append(rs, model.Reason{Code: model.ReasonTicketResolved})
	}
	if len(s.h.Nudges) > 0 {
		rs = append(rs, model.Reason{Code: model.ReasonRemindersStop})
	}
	return rs
}

// resting says the user rests on unproven methods, and then code (with
// what it speaks of).
func resting(code model.ReasonCode) func(*situation) []model.Reason {
	return func(s *situation) []model.Reason {
		rs := []model.Reason{{Code: model.ReasonRestsOnUnproven, Tier: s.cur.Tier, Methods: tryIDs(s.cur)}}
		switch code {
		case model.ReasonExempt:
			return append(rs, model.Reason{Code: code, Tier: s.cur.Tier})
		case model.ReasonSnoozed:
			return append(rs, model.Reason{Code: code, Until: s.h.SnoozedUntil})
		}
		return append(rs, model.Reason{Code: code})
	}
}

func unprovenProven(s *situation) []model.Reason {
	return []model.Reason{{Code: model.ReasonUnprovenProven, Tier: s.cur.Tier}, {Code: model.ReasonRemindersStop}}
}

func tenantSideOnly(s *situation) []model.Reason {
	return []model.Reason{{Code: model.ReasonTenantSideOnly, Violations: s.cur.TenantSide}}
}

func firstTicket(s *situation) []model.Reason {
	why := model.Reason{Code: model.ReasonTierTickets, Tier: s.cur.Tier}
	switch {
	case s.noCA:
		why = model.Reason{Code: model.ReasonLockedOut}
	case s.noPath:
		why = model.Reason{Code: model.ReasonNoMFAPath}
	}
	return []model.Reason{why, {Code: model.ReasonNewlyBelow, Violations: s.userSide}}
}

func graceHeld(s *situation) []model.Reason {
	return []model.Reason{{Code: model.ReasonPolicyChangeGrace, Until: s.graceUntil}, {Code: model.ReasonNewlyBelow, Tier: s.cur.Tier, Violations: s.userSide}}
}

func newlyBelow(s *situation) []model.Reason {
	return []model.Reason{{Code: model.ReasonNewlyBelow, Tier: s.cur.Tier, Violations: s.userSide}}
}

func snoozed(code model.ReasonCode) func(*situation) []model.Reason {
	return func(s *situation) []model.Reason { return []model.Reason{{Code: code, Until: s.h.SnoozedUntil}} }
}

func escalated(s *situation) []model.Reason {
	return []model.Reason{{Code: model.ReasonEscalated, Nudges: s.ignored, Window: time.Duration(s.nudges.Window)}}
}

func cooldown(s *situation) []model.Reason {
	return []model.Reason{{Code: model.ReasonCoolingDown, Cooldown: time.Duration(s.nudges.Cooldown)}}
}

func reminder(s *situation) []model.Reason {
	return []model.Reason{{Code: model.ReasonReminder, Age: s.now.Sub(s.lastNudge)}}
}

func worseCooling(s *situation) []model.Reason {
	r := worsening(model.ReasonWorseCooling)(s)
	r[0].Age, r[0].Cooldown = s.now.Sub(s.lastNudge), time.Duration(s.nudges.Cooldown)
	return r
}

// worsening says how the assessment got worse: diversity fell
// (PreviousDiversity above Diversity), or else which violations are new.
func worsening(code model.ReasonCode) func(*situation) []model.Reason {
	return func(s *situation) []model.Reason {
		r := model.Reason{Code: code}
		if s.cur.Diversity < s.prev.Diversity {
			r.PreviousDiversity, r.Diversity = s.prev.Diversity, s.cur.Diversity
			return []model.Reason{r}
		}
		for _, v := range s.cur.Violations {
			if !slices.Contains(s.prev.Violations, v) {
				r.Violations = append(r.Violations, v)
			}
		}
		return []model.Reason{r}
	}
}

// channelFor returns the nudge channel of the named tier.
func (e *Engine) channelFor(tier string) model.Channel {
	for i := range e.policy.Tiers {
		if e.policy.Tiers[i].Name == tier {
			return e.policy.Tiers[i].NudgeChannel
		}
	}
	return model.ChannelEmail
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
