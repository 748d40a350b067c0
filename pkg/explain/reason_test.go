package explain

import (
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

// TestReasonWordsEveryCode pins the words of each reason code: tickets,
// outboxes and the demo print them, and administrators read them.
func TestReasonWordsEveryCode(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 12, 24, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	day := 24 * time.Hour
	cases := []struct {
		r    model.Reason
		want string
	}{
		{model.Reason{Code: model.ReasonBackWithinPolicy, Tier: "standard", Diversity: 2, MinDiversity: 2}, `back within policy for tier "standard": diversity 2 (minimum 2)`},
		{model.Reason{Code: model.ReasonTicketResolved}, "the open ticket is resolved"},
		{model.Reason{Code: model.ReasonRemindersStop}, "reminders stop"},
		{model.Reason{Code: model.ReasonCompliant, Tier: "privileged", Diversity: 3, MinDiversity: 2}, `compliant with tier "privileged": diversity 3 (minimum 2)`},
		{model.Reason{Code: model.ReasonGuest}, "a guest: evaluated and reported, never nudged or ticketed unless the policy includes guests (guests: include)"},
		{model.Reason{Code: model.ReasonDisabledAccount}, "a disabled account: evaluated and reported, never nudged or ticketed unless the policy includes disabled accounts (disabledAccounts: include)"},
		{model.Reason{Code: model.ReasonEmergencyAccess}, "an emergency access account: never mailed, and judged with the other emergency access accounts as a set (a ticket to the security team when the set falls below policy)"},
		{model.Reason{Code: model.ReasonExempt, Tier: "break-glass"}, `exempt (tier "break-glass" or the policy's exemption list): evaluated and reported, never nudged or ticketed`},
		{model.Reason{Code: model.ReasonBaseline}, "baseline sweep: the assessment is recorded without messaging anyone"},
		{model.Reason{Code: model.ReasonTenantSideOnly, Violations: []model.Violation{model.ViolationBelowMinDiversity, model.ViolationSPOFOnPremises}},
			"tenant-side only: below-min-diversity, single-point-of-failure:on-premises; enabling password hash sync as a fallback would remedy it"},
		{model.Reason{Code: model.ReasonTenantSideTicketOpen}, "tenant-side only and a ticket is already open"},
		{model.Reason{Code: model.ReasonLockedOut}, "no sign-in path satisfies the authentication strength Conditional Access requires: the user is locked out today"},
		{model.Reason{Code: model.ReasonNoMFAPath}, "no multifactor sign-in path at all: the helpdesk must help the user register"},
		{model.Reason{Code: model.ReasonTierTickets, Tier: "privileged"}, `tier "privileged" sends violations to the helpdesk`},
		{model.Reason{Code: model.ReasonNewlyBelow, Violations: []model.Violation{model.ViolationNoMFAPath, model.ViolationBelowMinDiversity}},
			"newly below policy: no-mfa-path, below-min-diversity"},
		{model.Reason{Code: model.ReasonNewlyBelow, Tier: "standard", Violations: []model.Violation{model.ViolationTelephonyOnly}},
			`newly below policy for tier "standard": telephony-only`},
		{model.Reason{Code: model.ReasonNewlyBelowSnoozed, Until: until}, "newly below policy, but nudges are snoozed until 2026-12-23T23:00:00Z"},
		{model.Reason{Code: model.ReasonWorseTicketUpdated, PreviousDiversity: 2, Diversity: 1}, "worse while below policy (diversity fell from 2 to 1): the ticket is updated"},
		{model.Reason{Code: model.ReasonStillBelowTicketOpen}, "still below policy; the open ticket already says so"},
		{model.Reason{Code: model.ReasonTicketRequested}, "still below policy; a ticket was requested when the user fell below it"},
		{model.Reason{Code: model.ReasonWorseTicketOpen}, "worse while a ticket is open: the ticket is updated"},
		{model.Reason{Code: model.ReasonHelpdeskHasTicket}, "the helpdesk has the open ticket; no more reminders"},
		{model.Reason{Code: model.ReasonEscalated, Nudges: 3, Window: 30 * day}, "3 nudges in the last 30d went unanswered: escalated to the helpdesk"},
		{model.Reason{Code: model.ReasonSnoozed, Until: until}, "nudges are snoozed until 2026-12-23T23:00:00Z"},
		{model.Reason{Code: model.ReasonWorseCooling, Violations: []model.Violation{model.ViolationTelephonyOnly}, Age: 2*day + time.Hour, Cooldown: 7 * day},
			"worse (new telephony-only), but the last nudge was 2d ago, within the 7d cooldown"},
		{model.Reason{Code: model.ReasonWorse, Violations: []model.Violation{model.ViolationTelephonyOnly}}, "worse than before: new telephony-only"},
		{model.Reason{Code: model.ReasonCoolingDown, Cooldown: 36 * time.Hour}, "still below policy; next reminder after the 36h0m0s cooldown"},
		{model.Reason{Code: model.ReasonNoNudgeYet}, "still below policy; no nudge delivered yet in this episode, so no reminder is due"},
		{model.Reason{Code: model.ReasonReminder, Age: 5*time.Hour + 30*time.Second}, "still below policy 5h1m0s after the last nudge: reminder"},
		{model.Reason{Code: model.ReasonUserGone}, "the user no longer exists"},
		{model.Reason{Code: model.ReasonRestsOnUnproven, Tier: "standard", Methods: []string{"key-1"}}, `compliant with tier "standard" only through methods the sign-in logs do not prove (key-1): below policy if they no longer work`},
		{model.Reason{Code: model.ReasonTryAsked}, "nudge: the user is asked to sign in once with them"},
		{model.Reason{Code: model.ReasonTryAlreadyAsked}, "the user was already asked to try them"},
		{model.Reason{Code: model.ReasonPolicyChangeGrace, Until: time.Date(2026, 12, 4, 9, 14, 0, 0, time.UTC)}, `the tenant changed its own policy: the first nudge waits until 2026-12-04 09:14 UTC, the end of the grace period, and is sent only if the user is still below policy then`},
		{model.Reason{Code: model.ReasonPolicyChangeDrops}, `a change of the tenant's own policy dropped many users below policy at once: their nudges wait for the grace period`},
		{model.Reason{Code: model.ReasonUnprovenProven, Tier: "standard"}, `compliant with tier "standard" through proven paths now: the methods the user was asked to try are used or no longer needed`},
		{model.Reason{Code: "3 nudges ignored"}, "3 nudges ignored"},
		{model.Reason{Code: model.ReasonEmergencySetBack, Diversity: 2, MinDiversity: 2}, "the emergency access accounts are back within policy as a set: diversity 2 (minimum 2)"},
		{model.Reason{Code: model.ReasonEmergencySetWithin, Diversity: 3, MinDiversity: 2}, "the emergency access accounts are within policy as a set: diversity 3 (minimum 2)"},
		{model.Reason{Code: model.ReasonEmergencySetBelow, Diversity: 1, Accounts: 2, MinDiversity: 2}, "for the security team: a single failure locks out all of the 2 emergency access accounts all at once (minimum 2)"},
		{model.Reason{Code: model.ReasonEmergencySetBelow, Diversity: 0, Accounts: 2, MinDiversity: 2}, "for the security team: no account has a sign-in path: nothing is needed to lock out all of the 2 emergency access accounts all at once (minimum 2)"},
		{model.Reason{Code: model.ReasonEmergencySetSPOF, Dependencies: []model.Dependency{"on-premises", "entra-mfa"}}, "every path of every account depends on on-premises, entra-mfa"},
		{model.Reason{Code: model.ReasonEmergencySetStillBelow}, "the emergency access accounts are still below policy as a set; the security team's ticket says so"},
	}
	seen := map[model.ReasonCode]bool{}
	for _, tc := range cases {
		seen[tc.r.Code] = true
		if got := Reason(tc.r); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.r.Code, got, tc.want)
		}
	}
	for code := range reasonWords {
		if !seen[code] {
			t.Errorf("reason %s has no case here", code)
		}
	}
}

func TestMethodNoteIsWordedAndMasked(t *testing.T) {
	t.Parallel()
	got := MethodNotes([]model.MethodNote{
		{Kind: model.KindPassword},
		{Kind: model.KindMobilePhone, PhoneNumber: "+1 2065550147"},
		{Kind: model.KindHardwareOath, SerialNumber: "SN-1"},
		{Words: "office phone +1 ••• ••• 0100"}, // queued before methods were data
	})
	want := []string{"password", "mobile phone +1 ••• ••• 0147", "hardware OATH token serial SN-1", "office phone +1 ••• ••• 0100"}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func TestReasonInNamesMethodsByKindAndName(t *testing.T) {
	a := &model.Assessment{Proof: []model.MethodProof{
		{ID: "key1", Kind: model.KindFIDO2, Name: "Work key"},
		{ID: "phone", Kind: model.KindMobilePhone},
	}}
	r := model.Reason{Code: model.ReasonRestsOnUnproven, Tier: "standard", Methods: []string{"key1", "phone", "gone"}}
	got := ReasonIn(r, a)
	want := `compliant with tier "standard" only through methods the sign-in logs do not prove (fido2 "Work key", mobile-phone, gone): below policy if they no longer work`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if Reason(r) == got || ReasonsIn([]model.Reason{r}, a)[0] != got {
		t.Error("Reason keeps the ids; ReasonsIn names them as ReasonIn does")
	}
}
