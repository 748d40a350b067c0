package rules

import (
	"math/bits"
	"slices"
	"time"

	"github.com/credres/credres/pkg/model"
)

// depSet is a set of dependencies of one user, one bit each. The shared
// dependencies have fixed bits; instance dependencies (a key, a device, a
// token) get the next free bits as the user's methods are read.
type depSet uint64

const (
	bitMFA depSet = 1 << iota
	bitOnPrem
	bitCarrier
	bitPush
	bitMobile
	bitAltMobile
	bitOffice
	firstInstanceBit = iota
)

// maxBits bounds a user's distinct dependencies. Instances beyond it share
// the last bit; see addInstance for why that never changes a result.
const maxBits = 64

var staticNames = [firstInstanceBit]model.Dependency{
	model.DepEntraMFA, model.DepOnPremises, model.DepPhoneCarrier, model.DepPushService,
	model.DepMobileDevice, model.DepAlternateMobileDevice, model.DepOfficePhone,
}

var staticBits = map[model.Dependency]depSet{
	model.DepEntraMFA: bitMFA, model.DepOnPremises: bitOnPrem, model.DepPhoneCarrier: bitCarrier,
	model.DepPushService: bitPush, model.DepMobileDevice: bitMobile,
	model.DepAlternateMobileDevice: bitAltMobile, model.DepOfficePhone: bitOffice,
}

// path is one way to complete a multifactor sign-in.
type path struct {
	deps              depSet
	passwordless      bool
	phishingResistant bool
}

// userGraph is a user's sign-in paths over their own dependency bits.
type userGraph struct {
	paths   [maxPaths]path
	n       int
	names   [maxBits]model.Dependency // names[i] for bit i; static ones preset
	used    int                       // bits in use
	ignored []model.IgnoredMethod
	// hasPassword and passwordDeps describe the first factor that every
	// second factor adds to.
	hasPassword      bool
	passwordDeps     depSet
	hasAuthenticator bool
	overflow         int // paths that did not fit; see addPath
}

// maxPaths bounds the paths kept per user. Real users have a handful; the
// bound keeps the hot path free of allocation.
const maxPaths = 48

// pathCap leaves room for the paths of up to two candidate methods, tried
// when recommending.
const pathCap = maxPaths + 4

func (g *userGraph) reset() {
	g.n, g.overflow = 0, 0
	g.used = firstInstanceBit
	copy(g.names[:], staticNames[:])
	g.ignored = nil
}

// addInstance gives an instance dependency its own bit.
func (g *userGraph) addInstance(kind model.Dependency, id string) depSet {
	if g.used == maxBits {
		// Only reachable with dozens of tokens or Authenticator devices on one
		// user. Sharing the last bit makes those instances one dependency,
		// which can only lower the diversity computed: conservative.
		return 1 << (maxBits - 1)
	}
	b := depSet(1) << g.used
	g.names[g.used] = model.Instance(kind, id)
	g.used++
	return b
}

func (g *userGraph) addPath(p path) {
	if g.n == maxPaths {
		g.overflow++
		return
	}
	g.paths[g.n] = p
	g.n++
}

// build computes the paths of SPEC §3 for a user in a tenant.
func (g *userGraph) build(t model.Tenant, u *model.User) {
	g.reset()
	g.hasPassword, g.passwordDeps = false, 0
	for i := range u.Methods {
		if u.Methods[i].Kind == model.KindPassword {
			g.hasPassword = true
		}
	}
	if u.OnPremisesSyncEnabled && t.PasswordOnPremises() {
		g.passwordDeps = bitOnPrem
	}
	oldestAuth := oldestAuthenticator(u.Methods)
	g.hasAuthenticator = oldestAuth >= 0
	second := func(deps depSet) {
		if g.hasPassword {
			g.addPath(path{deps: g.passwordDeps | bitMFA | deps})
		}
	}
	for i := range u.Methods {
		m := &u.Methods[i]
		switch m.Kind {
		case model.KindPassword:
		case model.KindMobilePhone:
			second(bitCarrier | bitMobile)
		case model.KindAlternateMobilePhone:
			second(bitCarrier | bitAltMobile)
		case model.KindOfficePhone:
			second(bitCarrier | bitOffice)
		case model.KindAuthenticator:
			device := bitMobile
			if i != oldestAuth {
				device = g.addInstance(model.DepMobileDevice, m.ID)
			}
			second(device | bitPush)
			second(device)
			if i == oldestAuth && u.PasswordlessPhoneSignIn() {
				g.addPath(path{deps: bitMobile | bitPush, passwordless: true})
			}
		case model.KindSoftwareOath:
			second(bitMobile)
		case model.KindHardwareOath:
			second(g.addInstance(model.DepHardwareToken, m.ID))
		case model.KindFIDO2:
			g.addPath(path{deps: g.addInstance(model.DepSecurityKey, m.ID), passwordless: true, phishingResistant: true})
		case model.KindPasskeyAuthenticator:
			g.addPath(path{deps: bitMobile, passwordless: true, phishingResistant: true})
		case model.KindWindowsHello:
			g.addPath(path{deps: g.addInstance(model.DepWindowsDevice, m.ID), passwordless: true, phishingResistant: true})
		case model.KindPlatformCredential:
			g.addPath(path{deps: g.addInstance(model.DepMacDevice, m.ID), passwordless: true, phishingResistant: true})
		case model.KindEmail:
			g.ignore(m, "email one-time passcodes only reset passwords")
		case model.KindTemporaryAccessPass:
			g.ignore(m, "it expires")
		default:
			g.ignore(m, "credres does not know what this type depends on")
		}
	}
}

func (g *userGraph) ignore(m *model.Method, reason string) {
	g.ignored = append(g.ignored, model.IgnoredMethod{ID: m.ID, Kind: m.Kind, GraphType: m.GraphType, Reason: reason})
}

// oldestAuthenticator returns the index of the Microsoft Authenticator
// registration assumed to live on the primary phone: the oldest by creation
// time; registrations without a time count as newer than those with one, and
// list order breaks ties. -1 when there is none.
func oldestAuthenticator(ms []model.Method) int {
	best := -1
	var bestAt time.Time
	for i := range ms {
		if ms[i].Kind != model.KindAuthenticator {
			continue
		}
		at := ms[i].Created
		switch {
		case best < 0:
			best, bestAt = i, at
		case bestAt.IsZero() && !at.IsZero():
			best, bestAt = i, at
		case !at.IsZero() && at.Before(bestAt):
			best, bestAt = i, at
		}
	}
	return best
}

// minHittingSet returns the smallest number of dependencies that meet every
// path: the diversity. Paths are masked first (accepted dependencies removed).
// Branch and bound on the smallest unmet path, starting from the bound of one
// dependency per minimal path; real users have a handful of paths of two or
// three dependencies, so the search is small.
func minHittingSet(paths []depSet) int {
	if len(paths) == 0 {
		return 0
	}
	// Only minimal paths matter: a superset is met whenever its subset is.
	var buf [pathCap]depSet
	min := buf[:0]
	for i, p := range paths {
		keep := true
		for j, q := range paths {
			if i != j && q&p == q && (q != p || j < i) {
				keep = false
				break
			}
		}
		if keep {
			min = append(min, p)
		}
	}
	// One dependency from each minimal path always suffices.
	best := len(min)
	search(min, 0, 0, &best)
	return best
}

func search(paths []depSet, chosen depSet, size int, best *int) {
	if size >= *best {
		return
	}
	// Find the unmet path with the fewest dependencies to branch on.
	var pick depSet
	pickCount := 65
	for _, p := range paths {
		if p&chosen != 0 {
			continue
		}
		if c := bits.OnesCount64(uint64(p)); c < pickCount {
			pick, pickCount = p, c
		}
	}
	if pickCount == 65 {
		*best = size
		return
	}
	if size+1 >= *best {
		return
	}
	for rest := pick; rest != 0; rest &= rest - 1 {
		b := rest & -rest
		search(paths, chosen|b, size+1, best)
	}
}

// namesOf returns the sorted dependency ids of a set.
func (g *userGraph) namesOf(s depSet) []model.Dependency {
	return g.appendNames(make([]model.Dependency, 0, bits.OnesCount64(uint64(s))), s)
}

// appendNames appends the sorted dependency ids of a set to out.
func (g *userGraph) appendNames(out []model.Dependency, s depSet) []model.Dependency {
	start := len(out)
	for rest := s; rest != 0; rest &= rest - 1 {
		out = append(out, g.names[bits.TrailingZeros64(uint64(rest))])
	}
	if len(out)-start > 1 {
		slices.Sort(out[start:])
	}
	return out
}

// sortedPaths returns the distinct masked paths as sorted id lists, in
// lexical order, for stable output.
func (g *userGraph) sortedPaths(mask depSet) [][]model.Dependency {
	if g.n == 0 {
		return [][]model.Dependency{}
	}
	var seen [maxPaths]depSet
	distinct := seen[:0]
	for i := 0; i < g.n; i++ {
		d := g.paths[i].deps &^ mask
		if !slices.Contains(distinct, d) {
			distinct = append(distinct, d)
		}
	}
	// One backing array for every path's names: one allocation, not one
	// per path.
	total := 0
	for _, d := range distinct {
		total += bits.OnesCount64(uint64(d))
	}
	names := make([]model.Dependency, 0, total)
	out := make([][]model.Dependency, len(distinct))
	for i, d := range distinct {
		start := len(names)
		names = g.appendNames(names, d)
		out[i] = names[start:len(names):len(names)]
	}
	slices.SortFunc(out, slices.Compare)
	return out
}
