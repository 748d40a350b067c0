// Package report builds the tenant resilience report: how a directory's users
// stand against their policy tiers, who would be locked out if a dependency
// (or a pair of dependencies) failed for everyone at once, which risks the
// guidance names are present (single points of failure, telephony-only users,
// privileged users without a phishing-resistant method, users without any
// multifactor path), what password hash sync as a fallback would change in a
// hybrid tenant, and which registrations would bring the most users within
// policy.
//
// Build computes every figure from one pass over the users: each user is
// evaluated once by the rules engine and their sign-in paths are reduced once
// to sets of dependency kinds (rules.KindPaths), from which every single and
// pair outage follows by bit operations. Outages have the semantics of
// `credres whatif`: a kind means every instance of it, tier accept lists do not
// apply, entra-auth is never counted, and users without any path are not
// counted as locked out but reported apart. The hybrid figures are recomputed
// by evaluating again, with the tenant's PHSFallback on, every user whose
// paths it changes.
//
// Builder computes the same report from users given a batch at a time, as
// `credres report` reads a snapshot: of each user it keeps their row and
// the pairs of dependency kinds that lock them out, and counts the rest in
// as the batch comes. The rows and the lists of users are kept without
// pointers (the users by their place in the snapshot), and Builder's
// WriteJSON and WriteCSV write the report from them as they are.
//
// The Report is the JSON document of `credres report --format json`, and
// WriteHTML renders the same Report as one self-contained HTML page.
package report

import (
	"cmp"
	"io"
	"math/bits"
	"slices"
	"time"

	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// MaxPairs is how many pairs of dependency kinds a report lists at most.
const MaxPairs = 10

// MaxRecommendations is how many aggregated recommendations a report lists
// at most.
const MaxRecommendations = 10

// NoTier labels the users that no tier of the policy matches.
const NoTier = "(no tier)"

// Guests and DisabledAccounts label the rows of the guests and the disabled
// accounts the policy leaves alone (model.Assessment.Excluded): they are
// counted there, not in their tier.
const (
	Guests           = "(guests)"
	DisabledAccounts = "(disabled accounts)"
)

// Report is the tenant resilience report. Every list of users holds object
// ids in the order of the snapshot; UserPrincipalNames names them.
type Report struct {
	// GeneratedAt is when the report was made (credres report's --now, the
	// clock by default); ExportedAt is when the snapshot was read from Graph
	// (model.Directory.ExportedAt). Each is left out when zero: unknown.
	GeneratedAt time.Time `json:"generatedAt,omitzero"`
	ExportedAt  time.Time `json:"exportedAt,omitzero"`
	// Tenant is the snapshot's tenant, as read, without its own policy
	// (TenantPolicy says what of it was applied).
	Tenant model.Tenant `json:"tenant"`
	// Summary holds the headline figures.
	Summary Summary `json:"summary"`
	// Diversity is the distribution of users by dependency diversity for
	// each tier of the policy, in policy order, then NoTier, Guests and
	// DisabledAccounts when some users are in them.
	Diversity []TierDiversity `json:"diversity"`
	// Outages lists every single dependency kind (model.DependencyKinds
	// without entra-auth), most users locked out first, then at most
	// MaxPairs pairs of kinds that lock out more users together than either
	// alone, worst first.
	Outages []Outage `json:"outages"`
	// WithoutAnyPath lists the users who have no multifactor sign-in path
	// even without an outage. They are counted in no outage.
	WithoutAnyPath Group `json:"withoutAnyPath"`
	// SPOFs lists, by dependency kind, the users with a single point of
	// failure of that kind as assessed under their tier (accepted
	// dependencies are not single points of failure), most users first.
	// Kinds no user depends on alone are left out.
	SPOFs []KindGroup `json:"spofs"`
	// TelephonyOnly lists the users whose every path uses the phone network.
	TelephonyOnly Group `json:"telephonyOnly"`
	// PrivilegedWithoutPhishingResistant lists the privileged users (holding
	// a directory role, or in a tier that requires a phishing-resistant
	// method) who have no phishing-resistant method.
	PrivilegedWithoutPhishingResistant Group `json:"privilegedWithoutPhishingResistant"`
	// Hybrid is the tenant's exposure to its on-premises infrastructure.
	Hybrid Hybrid `json:"hybrid"`
	// Recommendations are the engine's recommendations aggregated over the
	// non-compliant users, those that would bring the most users within
	// policy first; at most MaxRecommendations.
	Recommendations []Recommendation `json:"recommendations"`
	// TenantPolicy says what of the tenant's own policy the report applied.
	TenantPolicy TenantPolicy `json:"tenantPolicy"`
	// Usage is what the sign-in logs say about registered methods, when
	// the snapshot or the sign-in records read carry usage (AddUsage).
	Usage *Usage `json:"usage,omitempty"`
	// Users lists every user of the snapshot, in its order, with what
	// Entra's "User registration details" shows of them; the CSV export
	// writes the same rows.
	Users []UserRow `json:"users"`
	// UserPrincipalNames maps the object id of every user listed in the
	// report to their user principal name.
	UserPrincipalNames map[string]string `json:"userPrincipalNames"`

	// t holds the rows and the lists' users as a Builder kept them, until
	// fill makes Users, the lists' ids and UserPrincipalNames of them; the
	// writers read either.
	t *table
}

// Summary holds the headline figures of a report.
type Summary struct {
	Users        int `json:"users"`
	Compliant    int `json:"compliant"`
	NonCompliant int `json:"nonCompliant"`
	// Exempt counts users of exempt tiers (reported, never nudged), whether
	// compliant or not.
	Exempt            int `json:"exempt"`
	Passwordless      int `json:"passwordless"`
	PhishingResistant int `json:"phishingResistant"`
	WithoutAnyPath    int `json:"withoutAnyPath"`
	// OneOutageAway counts the users whom at least one single-kind outage
	// of Outages would lock out.
	OneOutageAway int `json:"oneOutageAway"`
	// WorstOutage is the single dependency kind whose failure locks out the
	// most users (the first of Outages).
	WorstOutage WorstOutage `json:"worstOutage"`
	// ByDiversity is the distribution of all users by diversity.
	ByDiversity DiversityCounts `json:"byDiversity"`
}

// WorstOutage names the single dependency kind that locks out the most users.
type WorstOutage struct {
	Down      model.Dependency `json:"down"`
	LockedOut int              `json:"lockedOut"`
}

// DiversityCounts counts users by dependency diversity, as `credres assess`
// groups them in its summary.
type DiversityCounts struct {
	Zero      int `json:"0"`
	One       int `json:"1"`
	Two       int `json:"2"`
	ThreePlus int `json:"3+"`
}

func (c *DiversityCounts) add(diversity int) {
	switch {
	case diversity <= 0:
		c.Zero++
	case diversity == 1:
		c.One++
	case diversity == 2:
		c.Two++
	default:
		c.ThreePlus++
	}
}

// TierDiversity is the distribution of one tier's users by diversity.
type TierDiversity struct {
	Tier         string          `json:"tier"`
	MinDiversity int             `json:"minDiversity"`
	Exempt       bool            `json:"exempt,omitempty"`
	Users        int             `json:"users"`
	Compliant    int             `json:"compliant"`
	ByDiversity  DiversityCounts `json:"byDiversity"`
}

// Outage is a set of dependency kinds failing together and the users it
// would lock out, with the semantics of `credres whatif`.
type Outage struct {
	// Down holds one or two dependency kinds; each means every instance.
	Down      []model.Dependency `json:"down"`
	LockedOut int                `json:"lockedOut"`
	// Users are the ids of the users locked out.
	Users []string `json:"users"`
	kept  places   // the users in the Builder's table, until filled
}

// Group is a counted list of users.
type Group struct {
	Count int      `json:"count"`
	Users []string `json:"users"`
	kept  places   // the users in the Builder's table, until filled
}

// KindGroup is a counted list of users, for one dependency kind.
type KindGroup struct {
	Kind  model.Dependency `json:"kind"`
	Count int              `json:"count"`
	Users []string         `json:"users"`
	kept  places           // the users in the Builder's table, until filled
}

// Hybrid is what on-premises infrastructure means for the tenant, now and
// with password hash sync enabled as a fallback.
type Hybrid struct {
	PasswordAuth model.PasswordAuth `json:"passwordAuth"`
	PHSFallback  bool               `json:"phsFallback"`
	// Applicable is true when synchronised users' passwords depend on
	// on-premises infrastructure (pass-through authentication or federation
	// without the fallback): only then does enabling the fallback change
	// anything.
	Applicable  bool `json:"applicable"`
	SyncedUsers int  `json:"syncedUsers"`
	// OnPremises lists the users with at least one sign-in path through the
	// on-premises infrastructure.
	OnPremises Group `json:"onPremises"`
	// Current holds the figures as the tenant is.
	Current HybridFigures `json:"current"`
	// WithPHSFallback holds the same figures recomputed with the tenant's
	// PHSFallback on.
	WithPHSFallback HybridFigures `json:"withPHSFallback"`
	// BecomeCompliant lists the users who are not compliant now and would
	// be with the fallback on.
	BecomeCompliant Group `json:"becomeCompliant"`
}

// HybridFigures are the figures the password hash sync fallback changes.
type HybridFigures struct {
	Compliant int `json:"compliant"`
	// LockedOutByOnPremises counts the users an on-premises outage would
	// lock out.
	LockedOutByOnPremises int `json:"lockedOutByOnPremises"`
}

// Recommendation is one of the engine's recommendations, aggregated over the
// users it was made to.
type Recommendation struct {
	Add    []model.MethodKind `json:"add"`
	Action string             `json:"action"`
	// Cost is the engine's effort estimate: 1 software on a device the user
	// has, 2 another line or device, 3 hardware the organisation issues;
	// the sum for two methods.
	Cost int `json:"cost"`
	// Users counts the non-compliant users for whom the engine recommends
	// it: registering it would bring each of them within policy
	// (tenant-side violations aside, see Hybrid).
	Users int `json:"users"`
	// FirstChoice counts the users for whom it is the best recommendation.
	FirstChoice int `json:"firstChoice"`
}

// outageKinds are the kinds an outage can name: all but entra-auth.
var outageKinds = func() []model.Dependency {
	var out []model.Dependency
	for _, k := range model.DependencyKinds {
		if k != model.DepEntraAuth {
			out = append(out, k)
		}
	}
	return out
}()

// kindIndex maps a kind to its index in model.DependencyKinds, the bit of
// rules.KindBit.
var kindIndex = func() map[model.Dependency]int {
	m := make(map[model.Dependency]int, len(model.DependencyKinds))
	for i, k := range model.DependencyKinds {
		m[k] = i
	}
	return m
}()

// outageIndexes are the indexes of outageKinds in model.DependencyKinds, and
// outageMask their bits, for the loops that run once per user.
var (
	outageIndexes = func() []int {
		out := make([]int, len(outageKinds))
		for i, k := range outageKinds {
			out[i] = kindIndex[k]
		}
		return out
	}()
	outageMask = func() rules.KindSet {
		var m rules.KindSet
		for _, k := range outageKinds {
			m |= rules.KindBit(k)
		}
		return m
	}()
)

// facts is what the report needs of one user, computed in parallel.
type facts struct {
	tier              int // index into the policy's tiers; -1 for none, past them for the excluded rows
	tierName          string
	excluded          string
	diversity         int
	compliant         bool
	exempt            bool
	passwordless      bool
	phishingResistant bool
	hasPath           bool
	privileged        bool
	synced            bool // u.OnPremisesSyncEnabled
	onPremises        bool // some path uses on-premises
	compliantPHS      bool
	lockedPHS         bool // on-premises outage locks the user out with PHS on
	spofKinds         rules.KindSet
	// locked holds the kinds that lock the user out alone; partners[a]
	// holds the kinds b such that a and b together lock the user out.
	locked   rules.KindSet
	partners [16]rules.KindSet
	recs     []model.Recommendation
	// tenantRecs are what the tenant would have to enable for the user.
	tenantRecs []model.TenantRecommendation
	// unusable are the configurations that leave a registered method of
	// the user unusable; ca the Conditional Access policies that apply.
	unusable []string
	ca       []model.CAResult
}

// Build computes the report of a directory under the engine's policy. It
// evaluates users on every core and does no I/O.
func Build(d *model.Directory, e *rules.Engine) *Report {
	b := NewBuilder(d, e)
	b.Add(d.Users)
	return b.Report()
}

// Builder computes a report from a snapshot's users given a batch at a
// time, in the snapshot's order (graphjson.StreamDirectory), as Build does
// from the whole directory. Of each user it keeps their row (in a table
// without pointers) and the pairs of dependency kinds that lock them out,
// never the user.
type Builder struct {
	b     builder
	a     *aggregator
	head  *model.Directory
	usage *usageBuilder
	r     *Report // once finished
	// fs holds the facts of the batch being added, its memory reused
	// from batch to batch (zero between them).
	fs []facts
}

// NewBuilder starts the report of the directory whose tenant head holds;
// head's users are not read (Add gives them), and its ExportedAt is read
// by Report.
func NewBuilder(head *model.Directory, e *rules.Engine) *Builder {
	b := builder{e: e, tenant: head.Tenant, phsTenant: head.Tenant, tiers: e.Policy().Tiers,
		phsChanges: head.Tenant.PasswordOnPremises()}
	b.phsTenant.PHSFallback = true
	b.tierIndex = make(map[string]int, len(b.tiers))
	for i, t := range b.tiers {
		b.tierIndex[t.Name] = i
	}
	return &Builder{b: b, a: newAggregator(head.Tenant, b.tiers), head: head}
}

// JudgeUsage gives the report its usage section as MergeSignIns and
// AddUsage do, as the users are added: call it before the first Add. Each
// user added has their sign-ins folded into their usage (it changes the
// users given) before they are evaluated. The section is added when
// sign-ins are given or some user carries usage.
func (b *Builder) JudgeUsage(e *rules.Engine, signIns []entralog.SignIn, now time.Time, window time.Duration) {
	b.usage = newUsageBuilder(e, signIns, now, window)
	b.usage.signIns = signIns
	b.usage.byUser = map[string][]int{}
	for s := range signIns {
		id := signIns[s].UserID
		b.usage.byUser[id] = append(b.usage.byUser[id], s)
	}
}

// Add evaluates a batch of users, on every core, and counts them in.
func (b *Builder) Add(users []model.User) {
	b.fs = slices.Grow(b.fs[:0], len(users))[:len(users)]
	fs := b.fs
	defer clear(fs) // zero for the next batch, and nothing of this one kept
	var js []judged
	if b.usage != nil {
		js = make([]judged, len(users))
	}
	rules.Chunks(len(users), func(lo, hi int) {
		var buf []rules.KindSet
		for i := lo; i < hi; i++ {
			if js != nil {
				b.usage.fold(&users[i])
			}
			buf = b.b.user(&fs[i], &users[i], buf)
			if js != nil {
				b.usage.judge(b.head.Tenant, &users[i], &js[i])
			}
		}
	})
	base := b.a.t.rows.len()
	b.a.add(users, fs)
	if b.usage != nil {
		b.usage.tally(users, js, base)
	}
}

// Report orders and trims what the users added gave and returns the
// report. No user can be added after.
func (b *Builder) Report() *Report {
	r := b.finish()
	r.fill()
	return r
}

// WriteJSON writes the report that Report returns, generated at
// generatedAt, as its WriteJSON would, byte for byte, but straight from
// the rows and lists kept: the report's rows, lists of ids and map of
// names are never made (at a million users they would be most of its
// memory). No user can be added after.
func (b *Builder) WriteJSON(w io.Writer, generatedAt time.Time) error {
	r := b.finish()
	r.GeneratedAt = generatedAt
	return r.WriteJSON(w)
}

// WriteCSV writes the report's rows as WriteJSON writes the report: as
// Report().WriteCSV would, without making them.
func (b *Builder) WriteCSV(w io.Writer, generatedAt time.Time) error {
	r := b.finish()
	r.GeneratedAt = generatedAt
	return r.WriteCSV(w)
}

// finish orders and trims what the users added gave, once.
func (b *Builder) finish() *Report {
	if b.r == nil {
		b.r = b.a.finish()
		b.r.ExportedAt = b.head.ExportedAt
		if u := b.usage; u != nil && (u.u.SignIns > 0 || u.carried) {
			b.r.setUsage(u)
		}
	}
	return b.r
}

// builder holds what every user's evaluation shares.
type builder struct {
	e         *rules.Engine
	tenant    model.Tenant
	phsTenant model.Tenant // the tenant with PHSFallback on
	// phsChanges is true when the fallback changes synchronised users'
	// paths: pass-through or federated passwords without it.
	phsChanges bool
	tiers      []rules.Tier
	tierIndex  map[string]int
}

var onPremisesBit = rules.KindBit(model.DepOnPremises)

// user evaluates one user and reduces their paths to the outages that lock
// them out. buf is scratch space for the kind paths, returned for reuse.
func (b *builder) user(f *facts, u *model.User, buf []rules.KindSet) []rules.KindSet {
	as := b.e.Evaluate(b.tenant, u)
	f.tier = -1
	if i, ok := b.tierIndex[as.Tier]; ok && as.Tier != "" {
		f.tier = i
	}
	f.tierName, f.excluded = as.Tier, as.Excluded
	f.diversity = as.Diversity
	f.compliant = as.Compliant
	f.exempt = as.Exempt
	f.passwordless = as.Passwordless
	f.phishingResistant = as.PhishingResistant
	f.synced = u.OnPremisesSyncEnabled
	f.privileged = u.Admin() || (f.tier >= 0 && b.tiers[f.tier].RequirePhishingResistant)
	switch as.Excluded {
	case model.ExcludedGuest:
		f.tier = len(b.tiers) + 1
	case model.ExcludedDisabled:
		f.tier = len(b.tiers) + 2
	}
	for _, dep := range as.SPOFs {
		f.spofKinds |= rules.KindBit(model.KindOf(dep))
	}
	f.recs = as.Recommendations
	f.tenantRecs = as.TenantRecommendations
	f.ca = as.ConditionalAccess
	for _, ig := range as.Ignored {
		if id := model.ConfigOf(ig.Kind); ig.Reason == model.IgnoredDisabledByTenant && id != "" && !slices.Contains(f.unusable, id) {
			f.unusable = append(f.unusable, id)
		}
	}

	paths := rules.KindPaths(b.tenant, u, buf[:0])
	f.hasPath = len(paths) > 0
	if f.hasPath {
		all := ^rules.KindSet(0)
		var union rules.KindSet
		for _, p := range paths {
			all &= p
			union |= p
		}
		f.locked = all
		f.onPremises = union&onPremisesBit != 0
		// a and b lock the user out together when every path without a
		// has b; when every path has a, a alone does.
		for _, a := range outageIndexes {
			bit := rules.KindSet(1) << a
			if all&bit != 0 {
				f.partners[a] = ^rules.KindSet(0)
				continue
			}
			without := ^rules.KindSet(0)
			for _, p := range paths {
				if p&bit == 0 {
					without &= p
				}
			}
			f.partners[a] = without
		}
	}

	f.compliantPHS = f.compliant
	f.lockedPHS = f.locked&onPremisesBit != 0
	if b.phsChanges && u.OnPremisesSyncEnabled {
		// The fallback changes this user's password path: evaluate again
		// rather than guess what it does to diversity and violations.
		f.compliantPHS = b.e.Evaluate(b.phsTenant, u).Compliant
		paths = rules.KindPaths(b.phsTenant, u, paths[:0])
		f.lockedPHS = rules.LockedOutByKinds(paths, onPremisesBit)
	}
	return paths
}

// listIn adds user i to a list.
func (a *aggregator) listIn(g *Group, i int) {
	g.Count++
	g.kept.add(int32(i))
	a.t.list(i)
}

func newGroup() Group { return Group{Users: []string{}} }

// aggregator builds a Report from every user's facts, a batch at a time,
// then orders and trims what it gathered.
type aggregator struct {
	tiers     []rules.Tier
	t         *table
	r         *Report
	byTier    []TierDiversity
	singles   []Group // users locked out by one outage of each kind
	spofs     []Group // users with a single point of failure of each kind
	pairCount [16][16]int
	// partners holds every user's facts.partners, for the pairs listed.
	partners chunked[[16]rules.KindSet]
	recs     map[string]*Recommendation
	changes  rules.TenantChanges
	method   map[string]*MethodFigures
	strength map[string]*StrengthFigures
}

// add keeps the rows of a batch of users and counts in their facts.
func (a *aggregator) add(users []model.User, fs []facts) {
	base := a.t.rows.len()
	a.t.add(users, fs)
	for k := range fs {
		f := &fs[k]
		i := base + k
		a.partners.add(f.partners)
		a.count(f)
		a.list(i, f)
		a.tenantFigures(f)
		if len(f.tenantRecs) > 0 {
			a.changes.Add(a.t.id(int32(i)), f.tenantRecs)
			a.t.list(i) // named in UserPrincipalNames
		}
	}
}

func (a *aggregator) finish() *Report {
	a.r.t = a.t
	a.diversity()
	a.outages()
	a.pairs()
	a.spofsAndRecommendations()
	a.r.TenantPolicy.Changes = a.changes.List()
	return a.r
}

func newAggregator(t model.Tenant, tiers []rules.Tier) *aggregator {
	a := &aggregator{tiers: tiers, recs: map[string]*Recommendation{}}
	tenant := t
	tenant.AuthMethodsPolicy, tenant.StrengthPolicies, tenant.CAPolicies = nil, nil, nil
	a.r = &Report{
		Tenant:                             tenant,
		WithoutAnyPath:                     newGroup(),
		TelephonyOnly:                      newGroup(),
		PrivilegedWithoutPhishingResistant: newGroup(),
		SPOFs:                              []KindGroup{},
		Recommendations:                    []Recommendation{},
		TenantPolicy:                       newTenantPolicy(t),
	}
	a.t = newTable()
	a.figures()
	h := &a.r.Hybrid
	h.PasswordAuth, h.PHSFallback, h.Applicable = t.PasswordAuth, t.PHSFallback, t.PasswordOnPremises()
	h.OnPremises, h.BecomeCompliant = newGroup(), newGroup()
	a.byTier = make([]TierDiversity, len(tiers)+3)
	for i, t := range tiers {
		a.byTier[i] = TierDiversity{Tier: t.Name, MinDiversity: t.MinDiversity, Exempt: t.Exempt}
	}
	a.byTier[len(tiers)] = TierDiversity{Tier: NoTier, Exempt: true}
	a.byTier[len(tiers)+1] = TierDiversity{Tier: Guests, Exempt: true}
	a.byTier[len(tiers)+2] = TierDiversity{Tier: DisabledAccounts, Exempt: true}
	a.singles = make([]Group, len(model.DependencyKinds))
	a.spofs = make([]Group, len(model.DependencyKinds))
	for i := range a.singles {
		a.singles[i], a.spofs[i] = newGroup(), newGroup()
	}
	return a
}

// count adds one user to the summary's and the tiers' counts.
func (a *aggregator) count(f *facts) {
	s, h := &a.r.Summary, &a.r.Hybrid
	s.Users++
	if f.compliant {
		s.Compliant++
		h.Current.Compliant++
	} else {
		s.NonCompliant++
	}
	if f.compliantPHS {
		h.WithPHSFallback.Compliant++
	}
	if f.exempt {
		s.Exempt++
	}
	if f.passwordless {
		s.Passwordless++
	}
	if f.phishingResistant {
		s.PhishingResistant++
	}
	s.ByDiversity.add(f.diversity)
	td := &a.byTier[len(a.tiers)]
	if f.tier >= 0 {
		td = &a.byTier[f.tier]
	}
	td.Users++
	td.ByDiversity.add(f.diversity)
	if f.compliant {
		td.Compliant++
	}
	if f.lockedPHS {
		h.WithPHSFallback.LockedOutByOnPremises++
	}
	for j, rec := range f.recs {
		agg, ok := a.recs[rec.Action]
		if !ok {
			agg = &Recommendation{Add: rec.Add, Action: rec.Action, Cost: rec.Cost}
			a.recs[rec.Action] = agg
		}
		agg.Users++
		if j == 0 {
			agg.FirstChoice++
		}
	}
}

// list adds user i to the lists and outage counts its facts put them in.
func (a *aggregator) list(i int, f *facts) {
	h := &a.r.Hybrid
	if f.compliantPHS && !f.compliant {
		a.listIn(&h.BecomeCompliant, i)
	}
	if f.synced {
		h.SyncedUsers++
	}
	if f.onPremises {
		a.listIn(&h.OnPremises, i)
	}
	if f.privileged && !f.phishingResistant {
		a.listIn(&a.r.PrivilegedWithoutPhishingResistant, i)
	}
	for k := range model.DependencyKinds {
		if f.spofKinds&(1<<k) != 0 {
			a.listIn(&a.spofs[k], i)
		}
	}
	if !f.hasPath {
		a.listIn(&a.r.WithoutAnyPath, i)
		return
	}
	if f.locked != 0 {
		a.r.Summary.OneOutageAway++
		for rest := f.locked & outageMask; rest != 0; rest &= rest - 1 {
			a.listIn(&a.singles[bits.TrailingZeros16(uint16(rest))], i)
		}
	}
	for _, x := range outageIndexes {
		// Each pair once: only partners after x.
		for rest := f.partners[x] & outageMask &^ (2<<x - 1); rest != 0; rest &= rest - 1 {
			a.pairCount[x][bits.TrailingZeros16(uint16(rest))]++
		}
	}
}

// diversity keeps every tier, and the rows of users in no tier, guests and
// disabled accounts when there are some.
func (a *aggregator) diversity() {
	for i := range a.byTier {
		if i < len(a.tiers) || a.byTier[i].Users > 0 {
			a.r.Diversity = append(a.r.Diversity, a.byTier[i])
		}
	}
}

// outages lists the single outages, most users first; ties keep the order
// of docs/DESIGN.md, Dependencies.
func (a *aggregator) outages() {
	r, s := a.r, &a.r.Summary
	s.WithoutAnyPath = r.WithoutAnyPath.Count
	r.TelephonyOnly = a.singles[kindIndex[model.DepPhoneCarrier]]
	r.Hybrid.Current.LockedOutByOnPremises = a.singles[kindIndex[model.DepOnPremises]].Count
	for _, kind := range outageKinds {
		g := a.singles[kindIndex[kind]]
		r.Outages = append(r.Outages, Outage{Down: []model.Dependency{kind}, LockedOut: g.Count, Users: g.Users, kept: g.kept})
	}
	slices.SortStableFunc(r.Outages, func(a, b Outage) int { return b.LockedOut - a.LockedOut })
	s.WorstOutage = WorstOutage{Down: r.Outages[0].Down[0], LockedOut: r.Outages[0].LockedOut}
}

// pairs adds the pairs of outages that lock out more than either kind
// alone, worst first.
func (a *aggregator) pairs() {
	type pair struct{ a, b, n int }
	var pairs []pair
	for _, ka := range outageKinds {
		x := kindIndex[ka]
		for _, kb := range outageKinds {
			y := kindIndex[kb]
			if y <= x {
				continue
			}
			if n := a.pairCount[x][y]; n > a.singles[x].Count && n > a.singles[y].Count {
				pairs = append(pairs, pair{x, y, n})
			}
		}
	}
	slices.SortStableFunc(pairs, func(x, y pair) int { return y.n - x.n })
	if len(pairs) > MaxPairs {
		pairs = pairs[:MaxPairs]
	}
	groups := make([]Group, len(pairs))
	a.partners.all(func(i int, partners *[16]rules.KindSet) bool {
		for k, p := range pairs {
			if partners[p.a]&(1<<p.b) != 0 {
				a.listIn(&groups[k], i)
			}
		}
		return true
	})
	for k, p := range pairs {
		a.r.Outages = append(a.r.Outages, Outage{
			Down:      []model.Dependency{model.DependencyKinds[p.a], model.DependencyKinds[p.b]},
			LockedOut: groups[k].Count, Users: []string{}, kept: groups[k].kept,
		})
	}
}

// spofsAndRecommendations orders the single points of failure and the
// recommendations, most users first.
func (a *aggregator) spofsAndRecommendations() {
	r := a.r
	for _, kind := range model.DependencyKinds {
		if g := a.spofs[kindIndex[kind]]; g.Count > 0 {
			r.SPOFs = append(r.SPOFs, KindGroup{Kind: kind, Count: g.Count, Users: g.Users, kept: g.kept})
		}
	}
	slices.SortStableFunc(r.SPOFs, func(a, b KindGroup) int { return b.Count - a.Count })
	for _, rec := range a.recs {
		r.Recommendations = append(r.Recommendations, *rec)
	}
	slices.SortFunc(r.Recommendations, func(a, b Recommendation) int {
		return cmp.Or(b.Users-a.Users, b.FirstChoice-a.FirstChoice, a.Cost-b.Cost, cmp.Compare(a.Action, b.Action))
	})
	if len(r.Recommendations) > MaxRecommendations {
		r.Recommendations = r.Recommendations[:MaxRecommendations]
	}
}

// fill makes the rows, the lists' ids and the names of the users listed
// from the table kept.
func (r *Report) fill() {
	t := r.t
	if t == nil {
		return
	}
	r.Users = make([]UserRow, t.rows.len())
	for i := range r.Users {
		t.row(&r.Users[i], i)
	}
	r.lists(func(ids *[]string, kept *places) {
		*ids, *kept = t.ids(kept), places{}
	})
	r.UserPrincipalNames = t.names()
	r.t = nil
}

// lists calls each with every list of users in the report: its ids, and
// its users in the table kept.
func (r *Report) lists(each func(ids *[]string, kept *places)) {
	for i := range r.Outages {
		each(&r.Outages[i].Users, &r.Outages[i].kept)
	}
	for i := range r.SPOFs {
		each(&r.SPOFs[i].Users, &r.SPOFs[i].kept)
	}
	for _, g := range []*Group{&r.WithoutAnyPath, &r.TelephonyOnly, &r.PrivilegedWithoutPhishingResistant,
		&r.Hybrid.OnPremises, &r.Hybrid.BecomeCompliant} {
		each(&g.Users, &g.kept)
	}
	if r.Usage != nil {
		r.Usage.lists(each)
	}
}

// rows yields every user's row, in order: Users, or one at a time from the
// table kept.
func (r *Report) rows(yield func(*UserRow) bool) {
	if r.t == nil {
		for i := range r.Users {
			if !yield(&r.Users[i]) {
				return
			}
		}
		return
	}
	var row UserRow
	for i := range r.t.rows.len() {
		r.t.row(&row, i)
		if !yield(&row) {
			return
		}
	}
}
