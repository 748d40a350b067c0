package rules

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	e := New(nil) // cooldown 7d, escalate after 3 nudges in 30d
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	eval := func(roles []string, specs ...string) *model.Assessment {
		u := user(t, "u", specs...)
		u.Roles = roles
		a := e.Evaluate(cloud, u)
		return &a
	}
	var (
		good      = eval(nil, "password", "auth:a1", "fido2:k1")                  // compliant
		oneDevice = eval(nil, "password", "auth:a1", "mobile")                    // diversity 1, spof mobile-device
		phoneOnly = eval(nil, "password", "mobile")                               // worse: telephony-only too
		noPath    = eval(nil, "password")                                         // no MFA path
		adminBad  = eval([]string{"Global Administrator"}, "password", "auth:a1") // ticket tier
		nudged    = func(ago ...int) model.NudgeHistory {
			var h model.NudgeHistory
			for _, d := range ago {
				h.Nudges = append(h.Nudges, now.Add(-day(d)))
			}
			return h
		}
	)
	exempt := *oneDevice
	exempt.Exempt = true

	tests := []struct {
		name     string
		prev     *model.Assessment
		cur      *model.Assessment
		history  model.NudgeHistory
		baseline bool
		campaign bool
		want     model.DecisionKind
		flag     string           // "reminder", "escalated", "adminOnly", "first"
		reason   model.ReasonCode // one of the reasons
	}{
		// previous compliant or unknown → now non-compliant
		{name: "unknown-to-non-compliant-nudges", prev: nil, cur: oneDevice, flag: "first", want: model.DecisionNudge, reason: model.ReasonNewlyBelow},
		{name: "compliant-to-non-compliant-nudges", prev: good, cur: oneDevice, flag: "first", want: model.DecisionNudge},
		{name: "ticket-tier-gets-a-ticket", prev: nil, cur: adminBad, flag: "first", want: model.DecisionTicket, reason: model.ReasonTierTickets},
		{name: "no-mfa-path-gets-a-ticket", prev: good, cur: noPath, flag: "first", want: model.DecisionTicket, reason: model.ReasonNoMFAPath},
		{name: "snoozed-user-is-not-nudged", prev: good, cur: oneDevice, history: model.NudgeHistory{SnoozedUntil: now.Add(day(1))}, want: model.DecisionNone, reason: model.ReasonNewlyBelowSnoozed},
		{name: "baseline-sweep-records-only", prev: nil, cur: oneDevice, baseline: true, want: model.DecisionNone, reason: model.ReasonBaseline},
		{name: "exempt-tier-is-never-nudged", prev: nil, cur: &exempt, want: model.DecisionNone, reason: model.ReasonExempt},
		// non-compliant → non-compliant, worse
		{name: "worse-nudges-again", prev: oneDevice, cur: phoneOnly, history: nudged(10), want: model.DecisionNudge, reason: model.ReasonWorse},
		{name: "worse-within-cooldown-waits", prev: oneDevice, cur: phoneOnly, history: nudged(2), want: model.DecisionNone, reason: model.ReasonWorseCooling},
		{name: "worse-after-ignored-nudges-escalates", prev: oneDevice, cur: phoneOnly, history: nudged(21, 14, 7), want: model.DecisionTicket, flag: "escalated"},
		{name: "worse-with-ticket-open-updates-it", prev: oneDevice, cur: phoneOnly, history: model.NudgeHistory{TicketOpen: true}, want: model.DecisionTicket},
		{name: "worse-ticket-tier-updates-the-ticket", prev: adminBad, cur: eval([]string{"Global Administrator"}, "password", "mobile"), history: model.NudgeHistory{TicketOpen: true}, want: model.DecisionTicket},
		// non-compliant → non-compliant, same or better
		{name: "same-within-cooldown-does-nothing", prev: oneDevice, cur: oneDevice, history: nudged(3), want: model.DecisionNone, reason: model.ReasonCoolingDown},
		{name: "same-after-cooldown-reminds", prev: oneDevice, cur: oneDevice, history: nudged(8), want: model.DecisionNudge, flag: "reminder"},
		{name: "better-but-not-compliant-does-nothing", prev: phoneOnly, cur: oneDevice, history: nudged(1), want: model.DecisionNone},
		{name: "third-ignored-nudge-escalates", prev: oneDevice, cur: oneDevice, history: nudged(15, 8, 1), want: model.DecisionTicket, flag: "escalated"},
		{name: "old-nudges-outside-the-window-do-not-escalate", prev: oneDevice, cur: oneDevice, history: nudged(60, 45, 8), want: model.DecisionNudge, flag: "reminder"},
		{name: "ticket-open-stops-reminders", prev: oneDevice, cur: oneDevice, history: model.NudgeHistory{TicketOpen: true, Nudges: nudged(40, 30, 20).Nudges}, want: model.DecisionNone, reason: model.ReasonHelpdeskHasTicket},
		{name: "same-ticket-tier-with-open-ticket-does-nothing", prev: adminBad, cur: adminBad, history: model.NudgeHistory{TicketOpen: true}, want: model.DecisionNone},
		{name: "same-ticket-tier-never-reopens-a-ticket-in-flight", prev: adminBad, cur: adminBad, want: model.DecisionNone, reason: model.ReasonTicketRequested},
		{name: "same-never-nudged-waits-for-the-first-nudge", prev: oneDevice, cur: oneDevice, want: model.DecisionNone, reason: model.ReasonNoNudgeYet},
		{name: "campaign-nudges-a-baselined-user", prev: oneDevice, cur: oneDevice, campaign: true, flag: "first", want: model.DecisionNudge, reason: model.ReasonNewlyBelow},
		// non-compliant → compliant
		{name: "fixed-resolves", prev: oneDevice, cur: good, history: nudged(3), want: model.DecisionResolve, reason: model.ReasonRemindersStop},
		{name: "fixed-resolves-the-ticket", prev: adminBad, cur: good, history: model.NudgeHistory{TicketOpen: true}, want: model.DecisionResolve, reason: model.ReasonTicketResolved},
		// compliant → compliant
		{name: "compliant-stays-quiet", prev: good, cur: good, want: model.DecisionNone, reason: model.ReasonCompliant},
		{name: "first-compliant-assessment-is-quiet", prev: nil, cur: good, want: model.DecisionNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := e.Decide(DecisionInput{Previous: tc.prev, Current: *tc.cur, History: tc.history, Now: now, Baseline: tc.baseline, Campaign: tc.campaign})
			if d.Kind != tc.want {
				t.Errorf("decision = %s, want %s; reasons %v", d.Kind, tc.want, d.Reasons)
			}
			if len(d.Reasons) == 0 {
				t.Errorf("no reasons")
			}
			if tc.reason != "" && !slices.ContainsFunc(d.Reasons, func(r model.Reason) bool { return r.Code == tc.reason }) {
				t.Errorf("reasons %v lack %q", d.Reasons, tc.reason)
			}
			if d.First != (tc.flag == "first") {
				t.Errorf("first finding %v, want %v", d.First, tc.flag == "first")
			}
			switch tc.flag {
			case "reminder":
				if !d.Reminder {
					t.Errorf("not marked as a reminder")
				}
			case "escalated":
				if !d.Escalated {
					t.Errorf("not marked as escalated")
				}
			}
		})
	}
}

func TestDecideTenantSideGoesToAdministrators(t *testing.T) {
	t.Parallel()
	e := New(nil)
	u := user(t, "u", "password", "auth:a1", "hw:h1")
	u.OnPremisesSyncEnabled = true
	a := e.Evaluate(federated, u)
	d := e.Decide(DecisionInput{Current: a, Now: time.Unix(0, 0)})
	if d.Kind != model.DecisionTicket || !d.AdminOnly {
		t.Fatalf("decision %s adminOnly %v; want an administrators' ticket", d.Kind, d.AdminOnly)
	}
	again := e.Decide(DecisionInput{Previous: &a, Current: a, History: model.NudgeHistory{TicketOpen: true}, Now: time.Unix(0, 0)})
	if again.Kind != model.DecisionNone {
		t.Errorf("repeat: %s, want none while the ticket is open", again.Kind)
	}
}

func TestPolicyExemptionsSnoozesAndChannels(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte(`
tiers:
  - name: admins
    match: {roles: [Global Administrator]}
    minDiversity: 2
    nudgeChannel: teams
  - name: everyone
    match: {all: true}
    minDiversity: 2
exempt: [breakglass@contoso.example]
snoozed:
  snoozer@contoso.example: 2026-12-24
`))
	if err != nil {
		t.Fatal(err)
	}
	e := New(p)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	decide := func(upn string, roles ...string) model.Decision {
		u := user(t, upn, "password", "mobile")
		u.UserPrincipalName, u.Roles = upn, roles
		return e.Decide(DecisionInput{Current: e.Evaluate(cloud, u), Now: now})
	}
	if d := decide("breakglass@contoso.example"); d.Kind != model.DecisionNone || d.Reasons[0].Code != model.ReasonExempt {
		t.Errorf("exempt user: %s %v", d.Kind, d.Reasons)
	}
	snoozedUntil := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	if d := decide("SNOOZER@contoso.example"); d.Kind != model.DecisionNone || d.Reasons[0].Code != model.ReasonNewlyBelowSnoozed || !d.Reasons[0].Until.Equal(snoozedUntil) {
		t.Errorf("snoozed user: %s %v", d.Kind, d.Reasons)
	}
	if d := decide("admin@contoso.example", "Global Administrator"); d.Kind != model.DecisionNudge || d.Channel != model.ChannelTeams {
		t.Errorf("admin: %s via %q, want a teams nudge", d.Kind, d.Channel)
	}
	if d := decide("someone@contoso.example"); d.Channel != model.ChannelEmail {
		t.Errorf("default channel %q", d.Channel)
	}
	if _, err := ParsePolicy([]byte("tiers:\n  - name: a\n    match: {all: true}\n    nudgeChannel: pigeon\n")); err == nil {
		t.Errorf("unknown channel accepted")
	}
	if _, err := ParsePolicy([]byte("tiers:\n  - name: a\n    match: {all: true}\nsnoozed: {x: tomorrow}\n")); err == nil {
		t.Errorf("bad snooze date accepted")
	}
}

// TestDecidePolicyChangeGrace: a user a change of the tenant's own policy
// drops is not nudged before the change's time plus the grace period (3
// days by default), is nudged after it if still below policy, and hears
// nothing if fixed meanwhile; tickets are not held.
func TestDecidePolicyChangeGrace(t *testing.T) {
	t.Parallel()
	e := New(nil)
	changed := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	eval := func(roles []string, specs ...string) *model.Assessment {
		u := user(t, "u", specs...)
		u.Roles = roles
		a := e.Evaluate(cloud, u)
		return &a
	}
	good := eval(nil, "password", "auth:a1", "fido2:k1")
	oneDevice := eval(nil, "password", "auth:a1", "mobile")
	noPath := eval(nil, "password")
	until := changed.Add(DefaultPolicyChangeGrace)

	// The change's re-evaluation: held, counted as a drop.
	d := e.Decide(DecisionInput{Previous: good, Current: *oneDevice, Now: changed.Add(time.Hour), PolicyChangeAt: changed})
	if d.Kind != model.DecisionNone || !d.HeldUntil.Equal(until) || !d.PolicyDrop ||
		!slices.ContainsFunc(d.Reasons, func(r model.Reason) bool { return r.Code == model.ReasonPolicyChangeGrace && r.Until.Equal(until) }) {
		t.Fatalf("drop by a policy change: %+v", d)
	}
	held := *oneDevice
	held.HeldUntil = d.HeldUntil
	// Any evaluation within the grace period keeps holding it, even a campaign.
	for _, in := range []DecisionInput{
		{Previous: &held, Current: *oneDevice, Now: changed.Add(48 * time.Hour)},
		{Previous: &held, Current: *oneDevice, Now: changed.Add(48 * time.Hour), Campaign: true},
	} {
		if d := e.Decide(in); d.Kind != model.DecisionNone || !d.HeldUntil.Equal(until) || d.PolicyDrop {
			t.Errorf("within the grace period: %+v", d)
		}
	}
	// After it: the first nudge.
	if d := e.Decide(DecisionInput{Previous: &held, Current: *oneDevice, Now: until.Add(time.Minute)}); d.Kind != model.DecisionNudge || !d.HeldUntil.IsZero() ||
		!slices.ContainsFunc(d.Reasons, func(r model.Reason) bool { return r.Code == model.ReasonNewlyBelow }) {
		t.Errorf("after the grace period: %+v", d)
	}
	// Fixed within it: resolved, which sends nobody anything (no nudge
	// was delivered, no ticket is open).
	if d := e.Decide(DecisionInput{Previous: &held, Current: *good, Now: changed.Add(24 * time.Hour)}); d.Kind != model.DecisionResolve {
		t.Errorf("fixed within the grace period: %+v", d)
	}
	// A lockout is a ticket at once, counted as a drop.
	if d := e.Decide(DecisionInput{Previous: good, Current: *noPath, Now: changed.Add(time.Hour), PolicyChangeAt: changed}); d.Kind != model.DecisionTicket || !d.PolicyDrop || !d.HeldUntil.IsZero() {
		t.Errorf("no MFA path after a policy change: %+v", d)
	}
	// A user below policy before the change is no drop: the usual rules.
	if d := e.Decide(DecisionInput{Previous: oneDevice, Current: *oneDevice, Now: changed.Add(time.Hour), PolicyChangeAt: changed}); d.PolicyDrop || !d.HeldUntil.IsZero() {
		t.Errorf("already below policy: %+v", d)
	}
	// A re-evaluation after the grace period of a late change nudges at once.
	if d := e.Decide(DecisionInput{Previous: good, Current: *oneDevice, Now: until.Add(time.Hour), PolicyChangeAt: changed}); d.Kind != model.DecisionNudge {
		t.Errorf("re-evaluated after the grace period: %+v", d)
	}
}

func TestPolicyChangesSettings(t *testing.T) {
	t.Parallel()
	with := func(grace, ticketAt string) []byte {
		y := strings.Replace(string(DefaultPolicyYAML()), "grace: 3d", "grace: "+grace, 1)
		return []byte(strings.Replace(y, "ticketAt: 10", "ticketAt: "+ticketAt, 1))
	}
	p, err := ParsePolicy(with("5d", "25"))
	if err != nil || time.Duration(p.PolicyChanges.Grace) != 5*24*time.Hour || p.PolicyChanges.TicketAt != 25 {
		t.Fatalf("%+v, %v", p, err)
	}
	for _, bad := range [][2]string{{"31d", "10"}, {"-1h", "10"}, {"3d", "-2"}} {
		if _, err := ParsePolicy(with(bad[0], bad[1])); err == nil || !strings.Contains(err.Error(), "policyChanges") {
			t.Errorf("grace %s, ticketAt %s: %v", bad[0], bad[1], err)
		}
	}
}
