package rules

import (
	"math/bits"
	"slices"
	"time"

	"github.com/credres/credres/pkg/model"
)

// Engine evaluates users against one policy. It is safe for concurrent use.
type Engine struct {
	policy *Policy
	// acceptMasks[i] is tier i's accept list as a bit mask (entra-auth is
	// never a bit: it is excluded by construction).
	acceptMasks []depSet
	unmatched   Tier
	// at, when set, is the time Evaluate judges paths by the sign-in logs
	// at (At, EvaluateAt).
	at time.Time
}

// New returns an engine for the policy (DefaultPolicy when nil).
func New(p *Policy) *Engine {
	if p == nil {
		p = DefaultPolicy()
	}
	e := &Engine{policy: p, acceptMasks: make([]depSet, len(p.Tiers))}
	for i, t := range p.Tiers {
		for _, dep := range t.Accept {
			e.acceptMasks[i] |= staticBits[dep]
		}
	}
	// A user no tier matches is assessed with nothing required and never
	// acted on: a policy without a catch-all tier is the administrator's
	// choice, and such users still show in reports.
	e.unmatched = Tier{Name: "", Exempt: true}
	return e
}

// Policy returns the engine's policy.
func (e *Engine) Policy() *Policy { return e.policy }

// evaluate assesses one user: paths, diversity, single points of failure,
// violations of the user's tier and, when non-compliant, recommendations.
func (e *Engine) evaluate(t model.Tenant, u *model.User) model.Assessment {
	tier, mask := &e.unmatched, depSet(0)
	for i := range e.policy.Tiers {
		if e.policy.fits(&e.policy.Tiers[i], u) {
			tier, mask = &e.policy.Tiers[i], e.acceptMasks[i]
			break
		}
	}

	var g userGraph
	var acc *access
	if ct := compiled.get(&t); ct != nil {
		a := ct.accessFor(u, privilegedUser(u))
		acc = &a
	}
	g.build(t, u, acc)

	v := g.verdict(tier, mask)
	a := model.Assessment{
		UserID:            u.ID,
		UserPrincipalName: u.UserPrincipalName,
		Tier:              tier.Name,
		Diversity:         v.diversity,
		MinDiversity:      tier.MinDiversity,
		SPOFs:             g.namesOf(v.spofs),
		Paths:             g.sortedPaths(mask),
		Passwordless:      v.passwordless,
		PhishingResistant: v.phishingResistant,
		Compliant:         v.violations == 0,
		Exempt:            tier.Exempt || e.policy.exempted(u),
		EmergencyAccess:   tier.EmergencyAccess,
		Excluded:          e.policy.excluded(u),
		OnViolation:       tier.OnViolation,
		Violations:        g.violationCodes(v),
		Ignored:           g.ignored,
		Warnings:          g.warnings,
	}
	if v.violations != 0 && mask&bitOnPrem == 0 && g.usesOnPrem() {
		// What would enabling password hash sync change? Whatever disappears
		// is the tenant's to fix, not the user's.
		withPHS := g.violationCodes(g.verdict(tier, mask|bitOnPrem))
		for _, code := range a.Violations {
			if !slices.Contains(withPHS, code) {
				a.TenantSide = append(a.TenantSide, code)
			}
		}
	}
	if acc != nil {
		a.ConditionalAccess = g.caResults(acc)
	}
	if v.violations != 0 {
		a.Recommendations = g.recommend(tier, mask, u)
		if len(a.Recommendations) == 0 && acc != nil {
			a.TenantRecommendations = g.tenantRecommend(tier, mask, u)
		}
	}
	if a.Recommendations == nil {
		a.Recommendations = []model.Recommendation{}
	}
	return a
}

func (g *userGraph) usesOnPrem() bool {
	for _, p := range g.list() {
		if p.deps&bitOnPrem != 0 {
			return true
		}
	}
	return false
}

// violation bits, in the order they are reported.
type violationSet uint8

const (
	vNoPath violationSet = 1 << iota
	vBelowMin
	vSPOF
	vNoPhishingResistant
	vTelephonyOnly
	vNoCAPath
)

// verdict is the outcome of a path set against a tier, before any strings.
type verdict struct {
	diversity         int
	spofs             depSet
	passwordless      bool
	phishingResistant bool
	violations        violationSet
}

func (g *userGraph) verdict(tier *Tier, mask depSet) verdict {
	paths := g.list()
	v := verdictOf(paths, tier, mask)
	if len(paths) == 0 && g.beforeCA > 0 {
		// The user has paths; Conditional Access accepts none of them.
		v.violations = v.violations&^vNoPath | vNoCAPath
	}
	return v
}

func verdictOf(paths []path, tier *Tier, mask depSet) verdict {
	var v verdict
	var buf [pathCap]depSet
	masked := buf[:]
	if len(paths) > len(buf) {
		masked = make([]depSet, len(paths))
	}
	nonTelephony, wide := false, false
	all := ^depSet(0)
	for i, p := range paths {
		masked[i] = p.deps &^ mask
		all &= masked[i]
		wide = wide || p.wide()
		v.passwordless = v.passwordless || p.passwordless
		v.phishingResistant = v.phishingResistant || p.phishingResistant
		// The carrier is judged on the unmasked path: accepting it as a risk
		// does not make SMS something other than telephony.
		nonTelephony = nonTelephony || p.deps&bitCarrier == 0
	}
	if len(paths) == 0 {
		all = 0
	}
	switch {
	case len(paths) == 0:
	case all != 0:
		// A dependency in every path alone locks the user out: the most
		// common case, and no search is needed to know it.
		v.diversity = 1
	case wide:
		v.diversity = wideDiversity(paths, mask)
	default:
		v.diversity = minHittingSet(masked[:len(paths)])
	}
	v.spofs = all
	if len(paths) == 0 {
		v.violations |= vNoPath
	}
	if v.diversity < tier.MinDiversity {
		v.violations |= vBelowMin
	}
	if tier.MinDiversity >= 2 && v.spofs != 0 {
		v.violations |= vSPOF
	}
	if tier.RequirePhishingResistant && !v.phishingResistant {
		v.violations |= vNoPhishingResistant
	}
	if tier.RequireNonTelephony && len(paths) > 0 && !nonTelephony {
		v.violations |= vTelephonyOnly
	}
	return v
}

// spofViolation holds the violation codes of the shared dependencies, so
// that reporting them does not allocate.
var spofViolation = func() map[model.Dependency]model.Violation {
	m := make(map[model.Dependency]model.Violation, len(staticNames))
	for _, d := range staticNames {
		m[d] = model.ViolationSPOF(d)
	}
	return m
}()

func (g *userGraph) violationCodes(v verdict) []model.Violation {
	if v.violations == 0 {
		return []model.Violation{}
	}
	n := bits.OnesCount8(uint8(v.violations))
	if v.violations&vSPOF != 0 {
		n += bits.OnesCount64(uint64(v.spofs))
	}
	out := make([]model.Violation, 0, n)
	if v.violations&vNoPath != 0 {
		out = append(out, model.ViolationNoMFAPath)
	}
	if v.violations&vNoCAPath != 0 {
		out = append(out, model.ViolationNoCAPath)
	}
	if v.violations&vBelowMin != 0 {
		out = append(out, model.ViolationBelowMinDiversity)
	}
	if v.violations&vSPOF != 0 {
		for _, dep := range g.namesOf(v.spofs) {
			code, ok := spofViolation[dep]
			if !ok {
				code = model.ViolationSPOF(dep)
			}
			out = append(out, code)
		}
	}
	if v.violations&vNoPhishingResistant != 0 {
		out = append(out, model.ViolationNoPhishingResist)
	}
	if v.violations&vTelephonyOnly != 0 {
		out = append(out, model.ViolationTelephonyOnly)
	}
	return out
}
