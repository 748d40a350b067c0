package report

import (
	"fmt"
	"strings"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// TenantPolicy is the report's view of the tenant's own policy: whether
// the snapshot carries it, and what credres assumed where it carries or
// models less than the tenant does (docs/POLICY.md).
type TenantPolicy struct {
	// Included is false when the snapshot carries none of the
	// authentication methods policy, the authentication strengths and the
	// Conditional Access policies: every registered method was then
	// assumed usable.
	Included bool `json:"included"`
	// Notes are sentences for administrators (rules.TenantPolicyNotes).
	Notes []string `json:"notes"`
	// Changes are the tenant-side recommendations, counted over the users
	// that nothing they may register brings within policy: what to enable,
	// and for whom; most users first.
	Changes []rules.TenantChange `json:"changes"`
	// Methods are the method configurations the tenant's policy lists,
	// in the order of model.KnownConfigs; empty without the policy.
	Methods []MethodFigures `json:"methods"`
	// Strengths are the Conditional Access policies with an
	// authentication strength, in the tenant's order.
	Strengths []StrengthFigures `json:"strengths"`
}

// MethodFigures is one method configuration across the tenant.
type MethodFigures struct {
	Config string `json:"config"`
	// EnabledFor says for whom: "disabled", "all users", or the number
	// of groups included (and excluded).
	EnabledFor string `json:"enabledFor"`
	// Unusable counts users who registered a method of this type that
	// the policy does not let them use.
	Unusable int `json:"unusable"`
	// WouldComeWithin counts users whom enabling it (with the other
	// changes of their tenant-side recommendation) would bring within
	// policy.
	WouldComeWithin int `json:"wouldComeWithin"`
}

// StrengthFigures is one Conditional Access policy with an authentication
// strength across the tenant.
type StrengthFigures struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Strength    string `json:"strength"`
	ReportOnly  bool   `json:"reportOnly,omitempty"`
	// AppliesTo counts the users it applies to; NoSatisfyingPath those of
	// them with no path it accepts (locked out, when it is enforced).
	AppliesTo        int `json:"appliesTo"`
	NoSatisfyingPath int `json:"noSatisfyingPath"`
}

func newTenantPolicy(t model.Tenant) TenantPolicy {
	tp := TenantPolicy{Included: t.HasTenantPolicy(), Notes: rules.TenantPolicyNotes(t)}
	if tp.Notes == nil {
		tp.Notes = []string{}
	}
	tp.Changes = []rules.TenantChange{}
	tp.Methods, tp.Strengths = []MethodFigures{}, []StrengthFigures{}
	if amp := t.AuthMethodsPolicy; amp != nil {
		for _, id := range model.KnownConfigs {
			c := amp.Config(id)
			if c == nil {
				continue
			}
			tp.Methods = append(tp.Methods, MethodFigures{Config: id, EnabledFor: enabledFor(c)})
		}
	}
	for _, s := range rules.ConditionalAccessSummary(t) {
		tp.Strengths = append(tp.Strengths, StrengthFigures{ID: s.ID, DisplayName: s.DisplayName, Strength: s.Strength, ReportOnly: s.State == model.StateReportOnly})
	}
	return tp
}

// enabledFor says for whom a configuration is enabled.
func enabledFor(c *model.MethodConfig) string {
	if c.State != model.StateEnabled {
		return "disabled"
	}
	all, groups := false, 0
	for _, tg := range c.IncludeTargets {
		if strings.EqualFold(tg.ID, model.AllUsersTarget) {
			all = true
		} else {
			groups++
		}
	}
	s := fmt.Sprintf("%d groups", groups)
	if all {
		s = "all users"
	}
	if n := len(c.ExcludeTargets); n > 0 {
		s += fmt.Sprintf(" except %d groups", n)
	}
	return s
}

// figures indexes the report's method configurations and Conditional
// Access strengths, for tenantFigures.
func (a *aggregator) figures() {
	tp := &a.r.TenantPolicy
	a.method = map[string]*MethodFigures{}
	for i := range tp.Methods {
		a.method[tp.Methods[i].Config] = &tp.Methods[i]
	}
	a.strength = map[string]*StrengthFigures{}
	for i := range tp.Strengths {
		a.strength[tp.Strengths[i].ID] = &tp.Strengths[i]
	}
}

// tenantFigures counts one user in the figures of each method
// configuration and Conditional Access strength.
func (a *aggregator) tenantFigures(f *facts) {
	for _, id := range f.unusable {
		if m := a.method[id]; m != nil {
			m.Unusable++
		}
	}
	for _, r := range f.tenantRecs {
		if m := a.method[r.Enable]; m != nil {
			m.WouldComeWithin++
		}
	}
	for _, r := range f.ca {
		if s := a.strength[r.ID]; s != nil {
			s.AppliesTo++
			if !r.Satisfied {
				s.NoSatisfyingPath++
			}
		}
	}
}

func (j *jsonWriter) tenantPolicy(tp *TenantPolicy) {
	j.open('{')
	j.bool("included", tp.Included)
	strs(j, "notes", tp.Notes)
	objects(j, "changes", tp.Changes, func(c *rules.TenantChange) {
		strs(j, "enable", c.Enable)
		j.str("action", c.Action)
		strs(j, "users", c.Users)
	})
	objects(j, "methods", tp.Methods, func(m *MethodFigures) {
		j.str("config", m.Config)
		j.str("enabledFor", m.EnabledFor)
		j.int("unusable", m.Unusable)
		j.int("wouldComeWithin", m.WouldComeWithin)
	})
	objects(j, "strengths", tp.Strengths, func(s *StrengthFigures) {
		j.str("id", s.ID)
		j.str("displayName", s.DisplayName)
		j.str("strength", s.Strength)
		if s.ReportOnly {
			j.bool("reportOnly", true)
		}
		j.int("appliesTo", s.AppliesTo)
		j.int("noSatisfyingPath", s.NoSatisfyingPath)
	})
	j.close('}')
}
