package report

import (
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
}

func newTenantPolicy(t model.Tenant) TenantPolicy {
	tp := TenantPolicy{Included: t.HasTenantPolicy(), Notes: rules.TenantPolicyNotes(t)}
	if tp.Notes == nil {
		tp.Notes = []string{}
	}
	return tp
}

func (j *jsonWriter) tenantPolicy(tp *TenantPolicy) {
	j.open('{')
	j.bool("included", tp.Included)
	strs(j, "notes", tp.Notes)
	j.close('}')
}
