package explain

import (
	"fmt"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// Reason words one reason of a decision for an administrator. A code it
// does not know (the words of a decision queued before reasons had codes)
// is printed as it is.
func Reason(r model.Reason) string {
	if say, ok := reasonWords[r.Code]; ok {
		return say(r)
	}
	return string(r.Code)
}

// ReasonIn words r as Reason does, naming the methods it speaks of by kind
// and name as the assessment a knows them (fido2 "Work key"), rather than
// by their Graph ids; a method a does not know keeps its id.
func ReasonIn(r model.Reason, a *model.Assessment) string {
	if a != nil && len(r.Methods) > 0 {
		named := make([]string, len(r.Methods))
		for i, id := range r.Methods {
			named[i] = proofLabel(id, a)
		}
		r.Methods = named
	}
	return Reason(r)
}

// proofLabel names method id by its kind and display name, as the proof knows it.
func proofLabel(id string, a *model.Assessment) string {
	for _, p := range a.Proof {
		if p.ID == id {
			if p.Name != "" {
				return fmt.Sprintf("%s %q", p.Kind, p.Name)
			}
			return string(p.Kind)
		}
	}
	return id
}

// Reasons words each reason.
func Reasons(rs []model.Reason) []string { return ReasonsIn(rs, nil) }

// ReasonsIn words each reason as ReasonIn does.
func ReasonsIn(rs []model.Reason, a *model.Assessment) []string {
	if rs == nil {
		return nil
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = ReasonIn(r, a)
	}
	return out
}

var reasonWords = map[model.ReasonCode]func(model.Reason) string{
	model.ReasonBackWithinPolicy: func(r model.Reason) string {
		return fmt.Sprintf("back within policy for tier %q: diversity %d (minimum %d)", r.Tier, r.Diversity, r.MinDiversity)
	},
	model.ReasonTicketResolved: fixed("the open ticket is resolved"),
	model.ReasonRemindersStop:  fixed("reminders stop"),
	model.ReasonCompliant: func(r model.Reason) string {
		return fmt.Sprintf("compliant with tier %q: diversity %d (minimum %d)", r.Tier, r.Diversity, r.MinDiversity)
	},
	model.ReasonGuest:           fixed("a guest: evaluated and reported, never nudged or ticketed unless the policy includes guests (guests: include)"),
	model.ReasonDisabledAccount: fixed("a disabled account: evaluated and reported, never nudged or ticketed unless the policy includes disabled accounts (disabledAccounts: include)"),
	model.ReasonEmergencyAccess: fixed("an emergency access account: never mailed, and judged with the other emergency access accounts as a set (a ticket to the security team when the set falls below policy)"),
	model.ReasonExempt: func(r model.Reason) string {
		return fmt.Sprintf("exempt (tier %q or the policy's exemption list): evaluated and reported, never nudged or ticketed", r.Tier)
	},
	model.ReasonBaseline: fixed("baseline sweep: the assessment is recorded without messaging anyone"),
	model.ReasonTenantSideOnly: func(r model.Reason) string {
		return fmt.Sprintf("tenant-side only: %s; enabling password hash sync as a fallback would remedy it", codes(r.Violations))
	},
	model.ReasonTenantSideTicketOpen: fixed("tenant-side only and a ticket is already open"),
	model.ReasonLockedOut:            fixed("no sign-in path satisfies the authentication strength Conditional Access requires: the user is locked out today"),
	model.ReasonNoMFAPath:            fixed("no multifactor sign-in path at all: the helpdesk must help the user register"),
	model.ReasonTierTickets: func(r model.Reason) string {
		return fmt.Sprintf("tier %q sends violations to the helpdesk", r.Tier)
	},
	model.ReasonNewlyBelow: func(r model.Reason) string {
		if r.Tier == "" {
			return "newly below policy: " + codes(r.Violations)
		}
		return fmt.Sprintf("newly below policy for tier %q: %s", r.Tier, codes(r.Violations))
	},
	model.ReasonNewlyBelowSnoozed: func(r model.Reason) string {
		return "newly below policy, but nudges are snoozed until " + r.Until.UTC().Format(time.RFC3339)
	},
	model.ReasonWorseTicketUpdated: func(r model.Reason) string {
		return fmt.Sprintf("worse while below policy (%s): the ticket is updated", worsening(r))
	},
	model.ReasonStillBelowTicketOpen: fixed("still below policy; the open ticket already says so"),
	model.ReasonTicketRequested:      fixed("still below policy; a ticket was requested when the user fell below it"),
	model.ReasonWorseTicketOpen:      fixed("worse while a ticket is open: the ticket is updated"),
	model.ReasonHelpdeskHasTicket:    fixed("the helpdesk has the open ticket; no more reminders"),
	model.ReasonEscalated: func(r model.Reason) string {
		return fmt.Sprintf("%d nudges in the last %s went unanswered: escalated to the helpdesk", r.Nudges, rules.Duration(r.Window))
	},
	model.ReasonSnoozed: func(r model.Reason) string {
		return "nudges are snoozed until " + r.Until.UTC().Format(time.RFC3339)
	},
	model.ReasonWorseCooling: func(r model.Reason) string {
		return fmt.Sprintf("worse (%s), but the last nudge was %s ago, within the %s cooldown", worsening(r), age(r.Age), rules.Duration(r.Cooldown))
	},
	model.ReasonWorse: func(r model.Reason) string { return "worse than before: " + worsening(r) },
	model.ReasonCoolingDown: func(r model.Reason) string {
		return fmt.Sprintf("still below policy; next reminder after the %s cooldown", rules.Duration(r.Cooldown))
	},
	model.ReasonNoNudgeYet: fixed("still below policy; no nudge delivered yet in this episode, so no reminder is due"),
	model.ReasonReminder: func(r model.Reason) string {
		return fmt.Sprintf("still below policy %s after the last nudge: reminder", age(r.Age))
	},
	model.ReasonUserGone: fixed("the user no longer exists"),
	model.ReasonRestsOnUnproven: func(r model.Reason) string {
		return fmt.Sprintf("compliant with tier %q only through methods the sign-in logs do not prove (%s): below policy if they no longer work", r.Tier, strings.Join(r.Methods, ", "))
	},
	model.ReasonTryAsked:        fixed("nudge: the user is asked to sign in once with them"),
	model.ReasonTryAlreadyAsked: fixed("the user was already asked to try them"),
	model.ReasonUnprovenProven: func(r model.Reason) string {
		return fmt.Sprintf("compliant with tier %q through proven paths now: the methods the user was asked to try are used or no longer needed", r.Tier)
	},
	model.ReasonPolicyChangeGrace: func(r model.Reason) string {
		return fmt.Sprintf("the tenant changed its own policy: the first nudge waits until %s, the end of the grace period, and is sent only if the user is still below policy then", r.Until.UTC().Format("2006-01-02 15:04 UTC"))
	},
	model.ReasonPolicyChangeDrops: fixed("a change of the tenant's own policy dropped many users below policy at once: their nudges wait for the grace period"),
	model.ReasonEmergencySetBack: func(r model.Reason) string {
		return fmt.Sprintf("the emergency access accounts are back within policy as a set: diversity %d (minimum %d)", r.Diversity, r.MinDiversity)
	},
	model.ReasonEmergencySetWithin: func(r model.Reason) string {
		return fmt.Sprintf("the emergency access accounts are within policy as a set: diversity %d (minimum %d)", r.Diversity, r.MinDiversity)
	},
	model.ReasonEmergencySetBelow: func(r model.Reason) string {
		return fmt.Sprintf("for the security team: %s of the %d emergency access accounts all at once (minimum %d)", lockOut(r.Diversity), r.Accounts, r.MinDiversity)
	},
	model.ReasonEmergencySetSPOF: func(r model.Reason) string {
		return "every path of every account depends on " + strings.Join(r.Dependencies, ", ")
	},
	model.ReasonEmergencySetStillBelow: fixed("the emergency access accounts are still below policy as a set; the security team's ticket says so"),
}

func fixed(words string) func(model.Reason) string {
	return func(model.Reason) string { return words }
}

// worsening says how an assessment got worse: diversity fell, or else
// which violations are new.
func worsening(r model.Reason) string {
	if r.PreviousDiversity > r.Diversity {
		return fmt.Sprintf("diversity fell from %d to %d", r.PreviousDiversity, r.Diversity)
	}
	return "new " + codes(r.Violations)
}

// codes lists violation codes as they are, comma-separated.
func codes(vs []model.Violation) string {
	if len(vs) == 0 {
		return "no violations"
	}
	return strings.Join(model.ViolationStrings(vs), ", ")
}

func lockOut(n int) string {
	switch n {
	case 0:
		return "no account has a sign-in path: nothing is needed to lock out all"
	case 1:
		return "a single failure locks out all"
	}
	return fmt.Sprintf("%d independent failures lock out all", n)
}

// age prints an age in whole days, or hours below a day.
func age(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return d.Round(time.Minute).String()
}
