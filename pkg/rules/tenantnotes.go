package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// NotIncluded is what assess, explain and report say when a snapshot
// carries none of the tenant's own policy.
const NotIncluded = "The tenant's policy was not included (authentication methods policy, authentication strengths, Conditional Access): every registered method is assumed usable and no authentication strength is required."

// TenantPolicyNotes says, for administrators, how much of the tenant's own
// policy the snapshot carries and what credres assumes where it carries or
// models less than the tenant does: parts not included, method
// configurations of types credres does not know, a migration still in
// progress, and, per Conditional Access policy with an authentication
// strength, whether it is applied and which of its conditions are not
// modelled (treated as applying).
func TenantPolicyNotes(t model.Tenant) []string {
	if !t.HasTenantPolicy() {
		return []string{NotIncluded}
	}
	var out []string
	amp := t.AuthMethodsPolicy
	switch {
	case amp == nil:
		out = append(out, "The tenant's authentication methods policy was not included: every registered method is assumed enabled for its user.")
	default:
		if len(amp.Unknown) > 0 {
			out = append(out, fmt.Sprintf("The authentication methods policy has method configurations credres does not model, kept as read and not applied: %s.", strings.Join(amp.Unknown, ", ")))
		}
		if amp.MigrationState != "" && amp.MigrationState != model.MigrationComplete {
			out = append(out, fmt.Sprintf("The authentication methods policy's migration state is %q: the legacy MFA and self-service password reset policies, which Graph does not expose, may still enable methods this policy leaves off; credres applies this policy alone.", amp.MigrationState))
		}
	}
	if t.CAPolicies == nil {
		out = append(out, "The tenant's Conditional Access policies were not included: no authentication strength is required of anyone.")
	}
	if t.StrengthPolicies == nil && t.CAPolicies != nil {
		out = append(out, "The tenant's authentication strength policies were not included: a Conditional Access policy is applied with the combinations it carries itself, or not at all.")
	}
	for _, s := range ConditionalAccessSummary(t) {
		out = append(out, s.Sentence())
	}
	return out
}

// Sentence describes the policy and how credres applies it, in one
// sentence an administrator can check against the Entra admin center.
func (s CAPolicySummary) Sentence() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Conditional Access policy %q requires the authentication strength %q", s.DisplayName, s.Strength)
	switch s.Scope {
	case scopeAll:
		b.WriteString(" for all resources")
	case scopeAdmin:
		b.WriteString(" for the Microsoft admin portals (applied to users who hold a directory role)")
	}
	switch {
	case s.State == model.StateReportOnly:
		b.WriteString("; it is report-only: reported, not applied")
	case !s.Constrains:
		b.WriteString("; " + s.Note)
	default:
		b.WriteString("; only sign-in paths it allows count for the users it applies to")
	}
	if len(s.NotModelled) > 0 {
		fmt.Fprintf(&b, ". Its conditions on %s are not modelled: treated as applying", strings.Join(s.NotModelled, ", "))
	}
	b.WriteString(".")
	return b.String()
}

// TenantChange is a tenant-side recommendation counted over users: the
// method configurations to enable, and the users it would bring within
// policy when nothing they may register can.
type TenantChange struct {
	Enable []string `json:"enable"`
	Action string   `json:"action"`
	Users  []string `json:"users"`
}

// TenantChanges counts the assessments' tenant-side recommendations:
// users who need the same configurations enabled share one change.
type TenantChanges struct {
	byKey map[string]int
	list  []TenantChange
}

// Add counts one user's tenant-side recommendations.
func (c *TenantChanges) Add(userID string, recs []model.TenantRecommendation) {
	if len(recs) == 0 {
		return
	}
	enable := make([]string, 0, len(recs))
	for _, r := range recs {
		enable = append(enable, r.Enable)
	}
	key := strings.Join(enable, ",")
	if c.byKey == nil {
		c.byKey = map[string]int{}
	}
	i, ok := c.byKey[key]
	if !ok {
		names := make([]string, len(enable))
		for j, id := range enable {
			names[j] = model.ConfigNames[id]
		}
		i = len(c.list)
		c.byKey[key] = i
		c.list = append(c.list, TenantChange{Enable: enable, Users: []string{},
			Action: "Enable " + strings.Join(names, " and ") + " in the authentication methods policy for these users (a group that holds them)"})
	}
	c.list[i].Users = append(c.list[i].Users, userID)
}

// Count returns how many users the change of these recommendations would
// bring within policy.
func (c *TenantChanges) Count(recs []model.TenantRecommendation) int {
	enable := make([]string, 0, len(recs))
	for _, r := range recs {
		enable = append(enable, r.Enable)
	}
	if i, ok := c.byKey[strings.Join(enable, ",")]; ok {
		return len(c.list[i].Users)
	}
	return 0
}

// List returns the changes, those that help the most users first.
func (c *TenantChanges) List() []TenantChange {
	out := append([]TenantChange{}, c.list...)
	slices.SortStableFunc(out, func(a, b TenantChange) int { return len(b.Users) - len(a.Users) })
	return out
}
