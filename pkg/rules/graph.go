package rules

import (
	"math/bits"
	"slices"
	"strings"
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
	bitSmartCard
	bitPKI
	firstInstanceBit = iota
)

// maxBits bounds a user's distinct dependencies. Instances beyond it share
// the last bit; see addInstance for why that never changes a result.
const maxBits = 64

var staticNames = [firstInstanceBit]model.Dependency{
	model.DepEntraMFA, model.DepOnPremises, model.DepPhoneCarrier, model.DepPushService,
	model.DepMobileDevice, model.DepAlternateMobileDevice, model.DepOfficePhone,
	model.DepSmartCard, model.DepPKI,
}

var staticBits = map[model.Dependency]depSet{
	model.DepEntraMFA: bitMFA, model.DepOnPremises: bitOnPrem, model.DepPhoneCarrier: bitCarrier,
	model.DepPushService: bitPush, model.DepMobileDevice: bitMobile,
	model.DepAlternateMobileDevice: bitAltMobile, model.DepOfficePhone: bitOffice,
	model.DepSmartCard: bitSmartCard, model.DepPKI: bitPKI,
}

// path is one way to complete a multifactor sign-in. A path has at most one
// instance dependency (the key, device or token of the method it comes
// from); inst is its index in the user's names, -1 when it has none. The
// first instances have a bit in deps; those beyond a machine word have only
// inst (see kernel).
type path struct {
	deps              depSet
	inst              int32
	combos            combo // the authentication strength combinations it satisfies
	passwordless      bool
	phishingResistant bool
}

// wide reports whether the path's instance has no bit.
func (p path) wide() bool { return p.inst >= maxBits }

// userGraph is a user's sign-in paths over their own dependency bits.
type userGraph struct {
	paths     [inlinePaths]path // the first paths, without allocating
	more      []path            // every path, once there are more than inlinePaths
	n         int
	names     [maxBits]model.Dependency // names[i] for dependency i; static ones preset
	wideNames []model.Dependency        // names of dependencies maxBits and on
	used      int                       // dependencies in use
	wide      bool                      // some instance has no bit
	// ignored lists the methods that count for nothing, with why.
	ignored []model.IgnoredMethod
	// warnings lists the methods counted as another one.
	warnings []model.MethodWarning
	// hasPassword and passwordDeps describe the first factor that every
	// second factor adds to.
	hasPassword      bool
	passwordDeps     depSet
	hasAuthenticator bool
	// ch is the channels the tenant's policy enables for the user.
	ch channel
	// keepSeconds says seconds collects every second factor, for SMS
	// sign-in (smsSignIn, the phone's dependencies) to pair with.
	keepSeconds bool
	seconds     []path
	smsSignIn   depSet
	// accv is what the tenant's policy lets the user do, when hasAcc (the
	// snapshot carries a policy); kept by value, so that evaluating a user
	// allocates nothing for it (access returns it).
	accv   access
	hasAcc bool
	// beforeCA is how many paths the user had before the strengths of
	// Conditional Access removed those that do not satisfy them.
	beforeCA int
	// allCombos is every combination some path satisfied before that: a
	// strength is satisfiable when it allows one of them.
	allCombos combo
}

// inlinePaths is how many paths a user has before any allocation: real
// users have a handful. There is no upper bound: every path counts.
const inlinePaths = 48

// pathCap leaves room for the paths of up to two candidate methods, tried
// when recommending, on the stack.
const pathCap = inlinePaths + 4

func (g *userGraph) reset() {
	g.n, g.more, g.wide = 0, nil, false
	g.used = firstInstanceBit
	g.wideNames = nil
	copy(g.names[:], staticNames[:])
	g.ignored, g.warnings = nil, nil
}

// list returns every path.
func (g *userGraph) list() []path {
	if g.more != nil {
		return g.more
	}
	return g.paths[:g.n]
}

// addInstance returns the dependency of one instance (a key, a device, a
// token) and its index: the same id of the same kind is the same instance.
// Instances beyond a machine word have no bit (0).
func (g *userGraph) addInstance(kind model.Dependency, id string) (depSet, int32) {
	name := model.Instance(kind, id)
	for i := firstInstanceBit; i < g.used; i++ {
		if g.name(i) == name {
			return bitOf(i), int32(i)
		}
	}
	i := g.used
	if i < maxBits {
		g.names[i] = name
	} else {
		g.wideNames = append(g.wideNames, name)
		g.wide = true
	}
	g.used++
	return bitOf(i), int32(i)
}

// name returns the id of dependency i.
func (g *userGraph) name(i int) model.Dependency {
	if i < maxBits {
		return g.names[i]
	}
	return g.wideNames[i-maxBits]
}

// bitOf is the bit of dependency i, 0 for those beyond a machine word.
func bitOf(i int) depSet {
	if i >= maxBits {
		return 0
	}
	return 1 << i
}

func (g *userGraph) addPath(p path) {
	if g.more != nil {
		g.more = append(g.more, p)
		return
	}
	if g.n == inlinePaths {
		g.more = append(make([]path, 0, 2*inlinePaths), g.paths[:]...)
		g.more = append(g.more, p)
		return
	}
	g.paths[g.n] = p
	g.n++
}

// build computes the paths of docs/DESIGN.md, Methods for a user in a tenant, as far as
// the tenant's policy (acc, nil when unknown) lets the user use each method.
func (g *userGraph) build(t model.Tenant, u *model.User, acc *access) {
	g.reset()
	g.hasAcc = acc != nil
	g.ch = everyChannel
	if acc != nil {
		g.accv = *acc
		g.ch = acc.ch
	}
	g.hasPassword, g.passwordDeps = false, 0
	for i := range u.Methods {
		if u.Methods[i].Kind == model.KindPassword {
			g.hasPassword = true
		}
	}
	if u.OnPremisesSyncEnabled && t.PasswordOnPremises() {
		g.passwordDeps = bitOnPrem
	}
	var sbuf [16]int32
	same := sbuf[:0]
	if len(u.Methods) > len(sbuf) {
		same = make([]int32, 0, len(u.Methods))
	}
	same = g.twins(u.Methods, same)
	oldestAuth := oldestAuthenticator(u.Methods, same)
	phoneSignIn := oldestAuth >= 0 && u.PasswordlessPhoneSignIn() && g.ch&chPasswordless != 0
	g.hasAuthenticator = oldestAuth >= 0 && g.ch&(chPush|chAuthenticatorOTP|chPasswordless) != 0
	// SMS sign-in replaces the password as the first factor; it needs every
	// second factor, kept here when the tenant allows it.
	g.smsSignIn, g.seconds, g.keepSeconds = 0, g.seconds[:0], g.ch&chSMSSignIn != 0
	for i := range u.Methods {
		m := &u.Methods[i]
		switch {
		case same[i] >= 0 && u.Methods[same[i]].ID == m.ID:
			// the same method, listed again
		case m.Kind == model.KindAuthenticator:
			g.authenticator(u.Methods, i, same, oldestAuth, i == oldestAuth && phoneSignIn)
		default:
			g.method(m)
		}
	}
	if u.HasCertificate() && g.ch&chX509 != 0 {
		g.certificate(t, u, phoneSignIn)
	}
	if g.smsSignIn != 0 {
		// Any second factor but the same phone again. No authentication
		// strength names this combination.
		for _, s := range g.seconds {
			if s.deps&g.smsSignIn != g.smsSignIn {
				g.addPath(path{deps: g.smsSignIn | bitMFA | s.deps, inst: s.inst})
			}
		}
	}
	g.constrain()
}

// second adds a second factor: after the password when the user has one,
// and kept for SMS sign-in when the tenant allows it.
func (g *userGraph) second(deps depSet, inst int32, c combo) {
	if g.keepSeconds {
		g.seconds = append(g.seconds, path{deps: deps, inst: inst})
	}
	if g.hasPassword {
		g.addPath(path{deps: g.passwordDeps | bitMFA | deps, inst: inst, combos: c})
	}
}

// instance gives a second factor's key or device its dependency, only when
// there is a first factor for it to be the second factor of.
func (g *userGraph) instance(kind model.Dependency, id string) (depSet, int32) {
	if !g.hasPassword && !g.keepSeconds {
		return 0, -1
	}
	return g.addInstance(kind, id)
}

// usable reports whether the tenant's policy lets the user use a method
// that needs one of the channels in need, and lists it as ignored when not.
func (g *userGraph) usable(m *model.Method, need channel) bool {
	if g.ch&need == 0 {
		g.ignore(m, model.IgnoredDisabledByTenant)
		return false
	}
	return true
}

// method adds the paths of one method other than Microsoft Authenticator.
func (g *userGraph) method(m *model.Method) {
	switch m.Kind {
	case model.KindPassword:
	case model.KindMobilePhone, model.KindAlternateMobilePhone, model.KindOfficePhone:
		g.phone(m)
	case model.KindSoftwareOath:
		if g.usable(m, chSoftwareOath) {
			g.second(bitMobile, -1, cPasswordSoftwareOath)
		}
	case model.KindHardwareOath:
		if g.usable(m, chHardwareOath) {
			b, inst := g.instance(model.DepHardwareToken, m.ID)
			g.second(b, inst, cPasswordHardwareOath)
		}
	case model.KindFIDO2, model.KindPasskeyAuthenticator:
		if g.ch&chFIDO2 == 0 || (g.hasAcc && !g.accv.keyAllowed(m.AAGUID)) {
			g.ignore(m, model.IgnoredDisabledByTenant)
		} else if m.Kind == model.KindFIDO2 {
			g.passwordless(model.DepSecurityKey, m.ID, cFIDO2)
		} else {
			g.addPath(path{deps: bitMobile, inst: -1, combos: cFIDO2, passwordless: true, phishingResistant: true})
		}
	case model.KindWindowsHello:
		g.passwordless(model.DepWindowsDevice, m.ID, cWindowsHello)
	case model.KindPlatformCredential:
		// Authentication strengths count a macOS platform credential as
		// Windows Hello for Business (docs/POLICY.md).
		g.passwordless(model.DepMacDevice, m.ID, cWindowsHello)
	case model.KindEmail:
		if g.usable(m, chEmail) {
			g.ignore(m, "email one-time passcodes only reset passwords")
		}
	case model.KindExternalMFA:
		g.externalMFA(m)
	case model.KindTemporaryAccessPass:
		if g.usable(m, chTAP) {
			g.ignore(m, "it expires")
		}
	default:
		g.ignore(m, "credres does not know what this type depends on")
	}
}

// phone adds the second factors of a phone number, by the channels the
// tenant enables for its type: SMS and voice for the mobile phone (which
// may also sign in by SMS), voice for the alternate and office phones (the
// office phone also needs office phones allowed).
func (g *userGraph) phone(m *model.Method) {
	switch m.Kind {
	case model.KindMobilePhone:
		var c combo
		if g.ch&chSMS != 0 {
			c |= cPasswordSMS
		}
		if g.ch&chVoice != 0 {
			c |= cPasswordVoice
		}
		if c == 0 {
			g.ignore(m, model.IgnoredDisabledByTenant)
			return
		}
		g.second(bitCarrier|bitMobile, -1, c)
		if g.ch&chSMSSignIn != 0 && strings.EqualFold(m.SMSSignInState, "ready") {
			g.smsSignIn = bitCarrier | bitMobile
		}
	case model.KindAlternateMobilePhone:
		if g.usable(m, chVoice) {
			g.second(bitCarrier|bitAltMobile, -1, cPasswordVoice)
		}
	case model.KindOfficePhone:
		if g.ch&(chVoice|chOfficeVoice) != chVoice|chOfficeVoice {
			g.ignore(m, model.IgnoredDisabledByTenant)
			return
		}
		g.second(bitCarrier|bitOffice, -1, cPasswordVoice)
	}
}

// authenticator adds the paths of Microsoft Authenticator registration i:
// push and one-time codes as second factors, and passwordless phone sign-in
// (passwordless) for the oldest registration. A re-registration (same) is
// the phone of the registration it repeats; every phone but the oldest
// registration's is an instance of its own.
func (g *userGraph) authenticator(ms []model.Method, i int, same []int32, oldestAuth int, passwordless bool) {
	if g.ch&(chPush|chAuthenticatorOTP) == 0 && !passwordless {
		g.ignore(&ms[i], model.IgnoredDisabledByTenant)
		return
	}
	phone := i
	if same[i] >= 0 {
		phone = int(same[i])
	}
	device, inst := bitMobile, int32(-1)
	if phone != oldestAuth && (oldestAuth < 0 || int(same[oldestAuth]) != phone) {
		device, inst = g.instance(model.DepMobileDevice, ms[phone].ID)
	}
	if g.ch&chPush != 0 {
		g.second(device|bitPush, inst, cPasswordPush)
	}
	if g.ch&chAuthenticatorOTP != 0 {
		g.second(device, inst, cPasswordSoftwareOath)
	}
	if passwordless {
		g.addPath(path{deps: bitMobile | bitPush, inst: -1, combos: cDeviceBasedPush, passwordless: true})
	}
}

// externalMFA adds the path of an external authentication method: the
// provider completes the second factor itself, so its configuration, not
// Entra's MFA service, is what it depends on.
func (g *userGraph) externalMFA(m *model.Method) {
	if !g.hasPassword {
		return
	}
	cfg := m.Detail().ConfigurationID
	if cfg == "" {
		cfg = m.ID
	}
	b, inst := g.addInstance(model.DepExternalMFA, cfg)
	g.addPath(path{deps: g.passwordDeps | b, inst: inst})
}

// certificate adds the paths of certificate-based authentication, which
// depend on the user's smart card and the tenant's PKI (its certificate
// revocation lists), as Microsoft documents the bindings: a certificate
// bound to multifactor strength is a phishing-resistant path alone; one
// bound to single factor is a first factor, completed by the password or by
// passwordless phone sign-in. Without the tenant's policy, single factor.
func (g *userGraph) certificate(t model.Tenant, u *model.User, phoneSignIn bool) {
	card := bitSmartCard | bitPKI
	multi := false
	if t.AuthMethodsPolicy != nil {
		if c := t.AuthMethodsPolicy.Config(model.ConfigX509); c != nil {
			multi = c.X509Modes.MultiFactor()
		}
	}
	if multi {
		g.addPath(path{deps: card, inst: -1, combos: cX509MultiFactor, passwordless: true, phishingResistant: true})
		return
	}
	if g.hasPassword {
		g.addPath(path{deps: g.passwordDeps | card, inst: -1})
	}
	if phoneSignIn {
		g.addPath(path{deps: card | bitMobile | bitPush, inst: -1})
	}
}

// constrain keeps only the paths every enforced strength that applies to
// the user accepts (Conditional Access), and notes what there was before.
func (g *userGraph) constrain() {
	ps := g.list()
	g.beforeCA, g.allCombos = len(ps), 0
	for _, p := range ps {
		g.allCombos |= p.combos
	}
	if !g.hasAcc || g.accv.nReqs == 0 {
		return
	}
	kept := 0
	for _, p := range ps {
		if g.accv.satisfies(p.combos) {
			ps[kept] = p
			kept++
		}
	}
	if g.more != nil {
		g.more = g.more[:kept]
	} else {
		g.n = kept
	}
}

// passwordless adds the phishing-resistant passwordless path of a key or
// device: it depends on that instance alone.
func (g *userGraph) passwordless(kind model.Dependency, id string, c combo) {
	b, inst := g.addInstance(kind, id)
	g.addPath(path{deps: b, inst: inst, combos: c, passwordless: true, phishingResistant: true})
}

func (g *userGraph) ignore(m *model.Method, reason string) {
	g.ignored = append(g.ignored, model.IgnoredMethod{ID: m.ID, Kind: m.Kind, GraphType: m.GraphType, Reason: reason})
}

// twins appends to same, for each method, the index of an earlier method
// it is counted as, or -1:
//   - the same id listed again (any type) is the same method;
//   - a Microsoft Authenticator registration with the same device name
//     (compared without case and surrounding spaces) and the same device tag
//     as an earlier one is the same phone: re-registering the app, after a
//     reinstall or a reset, leaves the old registration behind. Nameless
//     registrations are never merged: nothing says they share a phone.
//
// Each is reported as a warning.
func (g *userGraph) twins(ms []model.Method, same []int32) []int32 {
	for i := range ms {
		twin := int32(-1)
		reason := ""
		for j := range i {
			if ms[i].ID != "" && ms[j].ID == ms[i].ID {
				twin, reason = int32(j), model.WarnDuplicateID
				break
			}
		}
		if twin < 0 && ms[i].Kind == model.KindAuthenticator {
			name := strings.TrimSpace(ms[i].DisplayName)
			for j := range i {
				if name != "" && ms[j].Kind == model.KindAuthenticator && same[j] < 0 &&
					ms[j].DeviceTag == ms[i].DeviceTag && strings.EqualFold(strings.TrimSpace(ms[j].DisplayName), name) {
					twin, reason = int32(j), model.WarnReRegistration
					break
				}
			}
		}
		if twin >= 0 {
			g.warnings = append(g.warnings, model.MethodWarning{ID: ms[i].ID, Kind: ms[i].Kind, SameAs: ms[twin].ID, Reason: reason})
		}
		same = append(same, twin)
	}
	return same
}

// oldestAuthenticator returns the index of the Microsoft Authenticator
// registration assumed to live on the primary phone: the oldest by creation
// time; registrations without a time count as newer than those with one, and
// list order breaks ties. Entries repeating an id are skipped. -1 when there
// is none.
func oldestAuthenticator(ms []model.Method, same []int32) int {
	best := -1
	var bestAt time.Time
	for i := range ms {
		if ms[i].Kind != model.KindAuthenticator || (same[i] >= 0 && ms[same[i]].ID == ms[i].ID) {
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
// path: the diversity. Paths are masked first (accepted dependencies
// removed). The paths are reduced before any search, which never changes the
// answer: a path of one dependency forces it (nothing else meets that path)
// and every path it meets is met; identical paths are one; a path that
// contains another is met whenever the other is. What remains is searched by
// branch and bound on the smallest unmet path, starting from the bound of one
// dependency per remaining path.
func minHittingSet(paths []depSet) int {
	if len(paths) == 0 {
		return 0
	}
	var forced depSet
	for _, p := range paths {
		if p != 0 && p&(p-1) == 0 {
			forced |= p
		}
	}
	var buf [pathCap]depSet
	work := buf[:0]
	if len(paths) > len(buf) {
		work = make([]depSet, 0, len(paths))
	}
	for _, p := range paths {
		if p&forced == 0 && p != 0 {
			work = append(work, p)
		}
	}
	// Fewest dependencies first: a path can only contain one kept before it.
	slices.SortFunc(work, func(a, b depSet) int {
		if c := bits.OnesCount64(uint64(a)) - bits.OnesCount64(uint64(b)); c != 0 {
			return c
		}
		return cmpDeps(a, b)
	})
	min := work[:0]
	for _, p := range work {
		keep := true
		for _, q := range min {
			if q&p == q {
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
	return bits.OnesCount64(uint64(forced)) + best
}

func cmpDeps(a, b depSet) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// wideDiversity is minHittingSet for paths of which some have an instance
// without a bit (a user with more keys, devices and tokens than a machine
// word has bits). Each such instance is reduced away exactly: it is forced
// when one of its paths has no other dependency left; it is dominated, and
// dropped from its paths, when another dependency is in all of them (that
// dependency meets everything the instance meets); otherwise the search
// branches on taking it or not. The methods credres knows never reach that
// last case: an instance's paths are one method's, which nest.
func wideDiversity(paths []path, mask depSet) int {
	rest := make([]depSet, 0, len(paths))
	var order []int32
	groups := map[int32][]depSet{}
	for _, p := range paths {
		d := p.deps &^ mask
		if !p.wide() {
			rest = append(rest, d)
			continue
		}
		if _, ok := groups[p.inst]; !ok {
			order = append(order, p.inst)
		}
		groups[p.inst] = append(groups[p.inst], d)
	}
	forced := 0
	var hard [][]depSet
	for _, x := range order {
		ps := groups[x]
		common, alone := ^depSet(0), false
		for _, d := range ps {
			common &= d
			alone = alone || d == 0
		}
		switch {
		case alone:
			forced++
		case common != 0:
			rest = append(rest, ps...)
		default:
			hard = append(hard, ps)
		}
	}
	return forced + branchInstances(rest, hard)
}

// branchInstances is the minimum over taking each hard instance (one more
// dependency, its paths met) or not (its paths must be met by the rest).
func branchInstances(rest []depSet, hard [][]depSet) int {
	if len(hard) == 0 {
		return minHittingSet(rest)
	}
	with := 1 + branchInstances(rest, hard[1:])
	without := branchInstances(append(rest[:len(rest):len(rest)], hard[0]...), hard[1:])
	return min(with, without)
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
	paths := g.list()
	if len(paths) == 0 {
		return [][]model.Dependency{}
	}
	type key struct {
		deps depSet
		inst int32
	}
	var seen [inlinePaths]key
	distinct := seen[:0]
	for _, p := range paths {
		k := key{p.deps &^ mask, -1}
		if p.wide() {
			k.inst = p.inst
		}
		if !slices.Contains(distinct, k) {
			distinct = append(distinct, k)
		}
	}
	// One backing array for every path's names: one allocation, not one
	// per path.
	total := 0
	for _, d := range distinct {
		total += bits.OnesCount64(uint64(d.deps))
		if d.inst >= 0 {
			total++
		}
	}
	names := make([]model.Dependency, 0, total)
	out := make([][]model.Dependency, len(distinct))
	for i, d := range distinct {
		start := len(names)
		names = g.appendNames(names, d.deps)
		if d.inst >= 0 {
			names = append(names, g.name(int(d.inst)))
			slices.Sort(names[start:])
		}
		out[i] = names[start:len(names):len(names)]
	}
	slices.SortFunc(out, slices.Compare)
	return out
}
