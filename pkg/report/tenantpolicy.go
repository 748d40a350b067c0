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
	// Changes are the tenant-side recommendations, counted over the users
	// that nothing they may register brings within policy: what to enable,
	// and for whom; most users first.
	Changes []rules.TenantChange `json:"changes"`
}

func newTenantPolicy(t model.Tenant) TenantPolicy {
	tp := TenantPolicy{Included: t.HasTenantPolicy(), Notes: rules.TenantPolicyNotes(t)}
	if tp.Notes == nil {
		tp.Notes = []string{}
	}
	tp.Changes = []rules.TenantChange{}
	return tp
}

// tenantChanges counts the users' tenant-side recommendations.
func (a *aggregator) tenantChanges() {
	var c rules.TenantChanges
	for i := range a.fs {
		if len(a.fs[i].tenantRecs) > 0 {
			c.Add(a.d.Users[i].ID, a.fs[i].tenantRecs)
			a.l.listed[i] = true // named in UserPrincipalNames
		}
	}
	a.r.TenantPolicy.Changes = c.List()
}

func (j *jsonWriter) tenantPolicy(tp *TenantPolicy) {
	j.open('{')
	j.bool("included", tp.Included)
	strs(j, "notes", tp.Notes)
	j.key("changes")
	j.open('[')
	for _, c := range tp.Changes {
		j.elem()
		j.open('{')
		strs(j, "enable", c.Enable)
		j.str("action", c.Action)
		strs(j, "users", c.Users)
		j.close('}')
	}
	j.close(']')
	j.close('}')
}
