package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

// Guests and disabled accounts are assessed like anyone, and never nudged
// or ticketed unless the policy opts in (guests: include, disabledAccounts:
// include).
func TestGuestsAndDisabledAccountsAreNotActedOn(t *testing.T) {
	t.Parallel()
	off := false
	guest := func(u *model.User) { u.UserType = "Guest" }
	guestLower := func(u *model.User) { u.UserType = "guest" }
	disabled := func(u *model.User) { u.AccountEnabled = &off }
	disabledGuest := func(u *model.User) { guest(u); disabled(u) }
	optIn := func(t *testing.T, extra string) *Policy {
		p, err := ParsePolicy(append(DefaultPolicyYAML(), []byte(extra)...))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		policy   string // appended to the default policy
		set      func(*model.User)
		excluded string
		want     model.DecisionKind
	}{
		{"guest-without-a-path-gets-no-ticket", "", guest, model.ExcludedGuest, model.DecisionNone},
		{"user-type-compares-without-case", "", guestLower, model.ExcludedGuest, model.DecisionNone},
		{"disabled-account-gets-no-ticket", "", disabled, model.ExcludedDisabled, model.DecisionNone},
		{"disabled-guest-is-a-disabled-account", "guests: include\n", disabledGuest, model.ExcludedDisabled, model.DecisionNone},
		{"guests-opted-in-get-a-ticket", "guests: include\n", guest, "", model.DecisionTicket},
		{"disabled-opted-in-get-a-ticket", "disabledAccounts: include\n", disabled, "", model.DecisionTicket},
		{"explicit-exclude-is-the-default", "guests: exclude\ndisabledAccounts: exclude\n", guest, model.ExcludedGuest, model.DecisionNone},
		{"member-is-acted-on", "", func(u *model.User) { u.UserType = "Member" }, "", model.DecisionTicket},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := New(optIn(t, tc.policy))
			u := user(t, "u", "password") // no MFA path: a ticket for anyone acted on
			tc.set(u)
			a := e.Evaluate(cloud, u)
			if a.Excluded != tc.excluded {
				t.Errorf("excluded = %q, want %q", a.Excluded, tc.excluded)
			}
			if a.Compliant || !a.HasViolation(model.ViolationNoMFAPath) {
				t.Errorf("not assessed like anyone: %+v", a)
			}
			// A campaign acts on every finding: still nothing for those excluded.
			d := e.Decide(DecisionInput{Current: a, Now: time.Unix(0, 0), Campaign: true})
			if d.Kind != tc.want {
				t.Errorf("decision %s (%v), want %s", d.Kind, d.Reasons, tc.want)
			}
			why := map[string]model.ReasonCode{model.ExcludedGuest: model.ReasonGuest, model.ExcludedDisabled: model.ReasonDisabledAccount}[tc.excluded]
			if tc.excluded != "" && (len(d.Reasons) != 1 || d.Reasons[0].Code != why) {
				t.Errorf("reasons %v, want %s: the policy excludes them", d.Reasons, why)
			}
		})
	}
}

func TestAccountPolicyKeys(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"guests: yes\n", "disabledAccounts: true\n", "guests: Include\n"} {
		if _, err := ParsePolicy(append(DefaultPolicyYAML(), []byte(bad)...)); err == nil || !strings.Contains(err.Error(), "include or exclude") {
			t.Errorf("%q: err %v, want include or exclude", bad, err)
		}
	}
}

// A PIM-eligible administrator is an administrator: tiers match on active
// and eligible directory roles alike.
func TestEligibleRolesMatchTiers(t *testing.T) {
	t.Parallel()
	e := New(nil)
	for _, tc := range []struct {
		name     string
		eligible []string
		want     string
	}{
		{"eligible-global-admin-is-privileged", []string{"Global Administrator"}, "privileged"},
		{"eligible-by-template-id", []string{"62e90394-69f5-4237-9190-012177145e10"}, "privileged"},
		{"eligible-for-another-role-is-standard", []string{"Reports Reader"}, "standard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := user(t, "u", "password", "auth:a1")
			u.EligibleRoles = tc.eligible
			if a := e.Evaluate(cloud, u); a.Tier != tc.want {
				t.Errorf("tier %q, want %q", a.Tier, tc.want)
			}
			if got := e.Policy().TierFor(u).Name; got != tc.want {
				t.Errorf("TierFor %q, want %q", got, tc.want)
			}
		})
	}
}
