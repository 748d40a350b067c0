package rules

import (
	"slices"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
)

// IgnoredUnproven is the reason of a method left out because it did not
// work within the tier's proof window and the tier does not count
// unproven paths.
const IgnoredUnproven = "unproven: not used successfully within the proof window"

// countsUnproven reports whether the tier counts unproven paths (the
// default).
func (t *Tier) countsUnproven() bool { return t.CountUnproven == nil || *t.CountUnproven }

// ShortestProofWindow returns the shortest proofWindow among the tiers, or
// zero when no tier judges proof: the window ingest judges changes of proof
// with.
func (p *Policy) ShortestProofWindow() time.Duration {
	var w time.Duration
	for _, t := range p.Tiers {
		if d := time.Duration(t.ProofWindow); d > 0 && (w == 0 || d < w) {
			w = d
		}
	}
	return w
}

// pathKinds are the method kinds that give sign-in paths: the methods
// whose use can prove a path. The password is every second factor's first
// factor and proves none of them apart.
var pathKinds = map[model.MethodKind]bool{
	model.KindMobilePhone: true, model.KindAlternateMobilePhone: true, model.KindOfficePhone: true,
	model.KindAuthenticator: true, model.KindSoftwareOath: true, model.KindHardwareOath: true,
	model.KindFIDO2: true, model.KindPasskeyAuthenticator: true, model.KindWindowsHello: true,
	model.KindPlatformCredential: true,
}

// Evaluate assesses one user: paths, diversity, single points of failure,
// violations of the user's tier and, when non-compliant, recommendations.
// An engine made with At also judges the paths by the sign-in logs, as
// EvaluateAt does.
func (e *Engine) Evaluate(t model.Tenant, u *model.User) model.Assessment {
	if e.at.IsZero() {
		return e.evaluate(t, u)
	}
	return e.EvaluateAt(t, u, e.at)
}

// At returns an engine over the same policy whose Evaluate judges paths by
// the sign-in logs at now: what the offline commands use.
func (e *Engine) At(now time.Time) *Engine {
	c := *e
	c.at = now
	return &c
}

// EvaluateAt assesses the user as Evaluate does and, when the user's tier
// has a proofWindow and the sign-in logs know the user (u.Usage is not
// empty), judges each path by them at now (docs/USAGE.md):
//
//   - every method that gives paths is proven when it last worked within
//     the window and has not failed since; otherwise it is unproven;
//   - a path is unproven when the method it comes from is; the paths that
//     exist only through unproven methods are reported (UnprovenPaths);
//   - the user is assessed again without the unproven methods: if they
//     are compliant only with them, RestsOnUnproven is set;
//   - a tier with countUnproven: false is given that second assessment,
//     the unproven methods listed as ignored.
//
// A user without any usage is not judged: credres cannot tell a method
// never used from sign-in logs it never received.
func (e *Engine) EvaluateAt(t model.Tenant, u *model.User, now time.Time) model.Assessment {
	a := e.evaluate(t, u)
	tier := e.tierNamed(a.Tier)
	if tier == nil || tier.ProofWindow <= 0 || len(u.Usage) == 0 {
		return a
	}
	a.Proof = methodProofs(u, a.Ignored, now, time.Duration(tier.ProofWindow))
	unproven := map[string]bool{}
	for _, p := range a.Proof {
		if !p.Proven() {
			unproven[p.ID] = true
		}
	}
	if len(unproven) == 0 {
		return a
	}
	without := *u
	without.Methods = slices.DeleteFunc(slices.Clone(u.Methods), func(m model.Method) bool { return unproven[m.ID] })
	b := e.evaluate(t, &without)
	proven := map[string]bool{}
	for _, p := range b.Paths {
		proven[pathKey(p)] = true
	}
	for _, p := range a.Paths {
		if !proven[pathKey(p)] {
			a.UnprovenPaths = append(a.UnprovenPaths, p)
		}
	}
	a.RestsOnUnproven = a.Compliant && !b.Compliant
	if tier.countsUnproven() {
		return a
	}
	b.Proof, b.UnprovenPaths, b.RestsOnUnproven = a.Proof, a.UnprovenPaths, a.RestsOnUnproven
	for _, p := range a.Proof {
		if !p.Proven() {
			b.Ignored = append(b.Ignored, model.IgnoredMethod{ID: p.ID, Kind: p.Kind, Reason: IgnoredUnproven})
		}
	}
	return b
}

func (e *Engine) tierNamed(name string) *Tier {
	for i := range e.policy.Tiers {
		if e.policy.Tiers[i].Name == name {
			return &e.policy.Tiers[i]
		}
	}
	return nil
}

func pathKey(p []model.Dependency) string { return strings.Join(p, "\x00") }

// methodProofs judges each method that gives paths (and is not ignored
// for another reason) by the usage that belongs to it (model.MatchUsage).
func methodProofs(u *model.User, ignored []model.IgnoredMethod, now time.Time, window time.Duration) []model.MethodProof {
	var out []model.MethodProof
	seen := map[string]bool{}
	for i := range u.Methods {
		m := &u.Methods[i]
		if !pathKinds[m.Kind] || seen[m.ID] || slices.ContainsFunc(ignored, func(ig model.IgnoredMethod) bool { return ig.ID == m.ID }) {
			continue
		}
		seen[m.ID] = true
		used, failed := model.LastUse(model.MatchUsage(u, m))
		p := model.MethodProof{
			ID: m.ID, Kind: m.Kind, LastUsed: used, LastFailed: failed,
			Proof: model.MethodUsage{LastUsed: used, LastFailed: failed}.Proof(now, window),
		}
		if m.PhoneNumber == "" {
			p.Name = m.DisplayName
		}
		out = append(out, p)
	}
	return out
}

// tryIDs returns the unproven methods of an assessment.
func tryIDs(a *model.Assessment) []string {
	var out []string
	for _, p := range a.Proof {
		if !p.Proven() {
			out = append(out, p.ID)
		}
	}
	return out
}
