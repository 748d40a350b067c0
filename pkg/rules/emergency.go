package rules

import (
	"slices"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// EmergencyAccessSet is the assessment of the emergency access (break-glass)
// accounts as one set: the tenant keeps a way in as long as one of them
// can sign in, so what matters is how many failures lock out all of them
// at once (docs/POLICY.md, Emergency access accounts).
type EmergencyAccessSet struct {
	Tier         string   `json:"tier"`
	Users        []string `json:"users"`
	Diversity    int      `json:"diversity"`
	MinDiversity int      `json:"minDiversity"`
	// SPOFs are the dependencies in every path of every account: each
	// alone locks the tenant out of its emergency access.
	SPOFs     []model.Dependency   `json:"spofs"`
	Paths     [][]model.Dependency `json:"paths"`
	Compliant bool                 `json:"compliant"`
}

// SecurityKeyModel is the dependency of every security key of one model
// (AAGUID) in an emergency access set: a flaw or a revoked attestation of a
// model fails all its keys together.
const SecurityKeyModel model.Dependency = "security-key-model"

// EmergencyAccess assesses the users of emergency access tiers (tiers with
// emergencyAccess: true) as one set. users may be all of a directory's
// users; those of other tiers are skipped. ok is false when no user is in
// such a tier.
func (e *Engine) EmergencyAccess(t model.Tenant, users []*model.User) (set EmergencyAccessSet, ok bool) {
	var paths [][]model.Dependency
	for _, u := range users {
		tier := e.policy.TierFor(u)
		if tier == nil || !tier.EmergencyAccess {
			continue
		}
		if !ok {
			set.Tier, set.MinDiversity, ok = tier.Name, tier.MinDiversity, true
		}
		set.Users = append(set.Users, u.ID)
		for _, p := range e.Evaluate(t, u).Paths {
			paths = append(paths, setPath(u, p))
		}
	}
	if !ok {
		return set, false
	}
	paths = reduceSetPaths(paths)
	set.Paths = paths
	set.SPOFs = []model.Dependency{}
	if len(paths) > 0 {
		for _, dep := range paths[0] {
			every := true
			for _, p := range paths[1:] {
				every = every && slices.Contains(p, dep)
			}
			if every {
				set.SPOFs = append(set.SPOFs, dep)
			}
		}
		set.Diversity = hittingSetSize(paths)
	}
	set.Compliant = set.Diversity >= set.MinDiversity
	return set, true
}

// setPath renames one account's path for the set: the account's phones are
// its own (the same name on two accounts is two phones), a security key is
// its model (keys of one model fail together); shared services, computers
// and tokens, whose ids are unique, keep their names.
func setPath(u *model.User, p []model.Dependency) []model.Dependency {
	out := make([]model.Dependency, 0, len(p))
	for _, dep := range p {
		kind, id, _ := strings.Cut(dep, "/")
		switch kind {
		case model.DepMobileDevice, model.DepAlternateMobileDevice, model.DepOfficePhone:
			dep = dep + "@" + cmpOr(u.UserPrincipalName, u.ID)
		case model.DepSecurityKey:
			for _, m := range u.Methods {
				if m.ID == id && m.AAGUID != "" {
					dep = model.Instance(SecurityKeyModel, strings.ToLower(m.AAGUID))
				}
			}
		}
		out = append(out, dep)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// reduceSetPaths drops repeated paths and paths that contain another: they
// never change a minimum hitting set.
func reduceSetPaths(paths [][]model.Dependency) [][]model.Dependency {
	slices.SortFunc(paths, func(a, b []model.Dependency) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return slices.Compare(a, b)
	})
	var out [][]model.Dependency
	for _, p := range paths {
		covered := false
		for _, q := range out {
			if subset(q, p) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, slices.Compare)
	return out
}

// subset reports whether sorted a is within sorted b.
func subset(a, b []model.Dependency) bool {
	for _, d := range a {
		if _, found := slices.BinarySearch(b, d); !found {
			return false
		}
	}
	return true
}

// hittingSetSize is the exact size of a minimum hitting set: iterative
// deepening, branching on the dependencies of the first path not yet hit.
// Emergency access sets are a few accounts with a few methods each.
func hittingSetSize(paths [][]model.Dependency) int {
	for k := 1; ; k++ {
		if hits(paths, map[model.Dependency]bool{}, k) {
			return k
		}
	}
}

func hits(paths [][]model.Dependency, chosen map[model.Dependency]bool, left int) bool {
	for _, p := range paths {
		hit := false
		for _, d := range p {
			hit = hit || chosen[d]
		}
		if hit {
			continue
		}
		if left == 0 {
			return false
		}
		for _, d := range p {
			chosen[d] = true
			ok := hits(paths, chosen, left-1)
			delete(chosen, d)
			if ok {
				return true
			}
		}
		return false
	}
	return true
}

// EmergencyAccessUser is the user id of the emergency access set's
// decisions: its ticket is the set's, not an account's.
const EmergencyAccessUser = "emergency-access"

// DecideEmergencyAccess decides on the emergency access set: a ticket to
// the security team when it newly falls below its tier's minimum diversity
// (or gets worse), a resolve when it is back. Its accounts are never nudged:
// they usually have no mailbox, and each is judged only as part of the set.
func (e *Engine) DecideEmergencyAccess(prev *EmergencyAccessSet, cur EmergencyAccessSet) model.Decision {
	d := model.Decision{Kind: model.DecisionNone, UserID: EmergencyAccessUser, Violations: []model.Violation{}}
	if !cur.Compliant {
		d.Violations = append(d.Violations, model.ViolationBelowMinDiversity)
		for _, dep := range cur.SPOFs {
			d.Violations = append(d.Violations, model.ViolationSPOF(dep))
		}
	}
	set := model.Reason{Diversity: cur.Diversity, MinDiversity: cur.MinDiversity}
	switch {
	case cur.Compliant && prev != nil && !prev.Compliant:
		d.Kind = model.DecisionResolve
		set.Code = model.ReasonEmergencySetBack
	case cur.Compliant:
		set.Code = model.ReasonEmergencySetWithin
	case prev == nil || prev.Compliant || cur.Diversity < prev.Diversity:
		d.Kind, d.AdminOnly = model.DecisionTicket, true
		set.Code, set.Accounts = model.ReasonEmergencySetBelow, len(cur.Users)
		d.Reasons = []model.Reason{set}
		if len(cur.SPOFs) > 0 {
			d.Reasons = append(d.Reasons, model.Reason{Code: model.ReasonEmergencySetSPOF, Dependencies: cur.SPOFs})
		}
		return d
	default:
		set = model.Reason{Code: model.ReasonEmergencySetStillBelow}
	}
	d.Reasons = []model.Reason{set}
	return d
}
