package rules

import (
	"slices"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// candidate is a method a user could register, with what it costs them.
// Cost: 1 is software on a device the user already carries, 2 needs another
// line or device they may have, 3 is hardware the organisation must issue.
type candidate struct {
	kind   model.MethodKind
	cost   int
	action string // lower case, to follow another action
}

// candidates are tried in this order; it breaks ties between equal costs,
// so the phishing-resistant and passwordless options come first.
var candidates = [...]candidate{
	{model.KindPasskeyAuthenticator, 1, "create a passkey in Microsoft Authenticator on your phone"},
	{model.KindWindowsHello, 1, "set up Windows Hello for Business on your Windows PC"},
	{model.KindAuthenticator, 1, "install Microsoft Authenticator on your phone and add your work account"},
	{model.KindSoftwareOath, 1, "add an authenticator app that shows one-time codes"},
	{model.KindMobilePhone, 1, "add your mobile phone number"},
	{model.KindPlatformCredential, 2, "register your Mac with Platform SSO"},
	{model.KindOfficePhone, 2, "add an office phone"},
	{model.KindAlternateMobilePhone, 2, "add an alternate mobile phone"},
	{model.KindFIDO2, 3, "register a FIDO2 security key"},
	{model.KindHardwareOath, 3, "ask the helpdesk for a hardware OATH token"},
}

// secondAuthenticator is offered instead of the Authenticator candidate to a
// user who already has it: a second registration is a second device.
var secondAuthenticator = candidate{model.KindAuthenticator, 2, "add Microsoft Authenticator on a second phone or tablet"}

// fresh is a dependency no existing path has, for a candidate's own key or
// device: a bit while there are free ones, an instance index past the
// user's otherwise.
type fresh struct {
	bit  depSet
	inst int32
}

// candidatePaths appends the paths a candidate would add, as far as the
// tenant's policy lets the user use it and its strengths accept them.
func (g *userGraph) candidatePaths(c candidate, f fresh, out []path) []path {
	ch := g.channels()
	add := func(p path) {
		if !g.hasAcc || g.accv.satisfies(p.combos) {
			out = append(out, p)
		}
	}
	second := func(deps depSet, inst int32, cb combo) {
		if g.hasPassword {
			add(path{deps: g.passwordDeps | bitMFA | deps, inst: inst, combos: cb})
		}
	}
	switch c.kind {
	case model.KindPasskeyAuthenticator:
		add(path{deps: bitMobile, inst: -1, combos: cFIDO2, passwordless: true, phishingResistant: true})
	case model.KindWindowsHello, model.KindPlatformCredential:
		add(path{deps: f.bit, inst: f.inst, combos: cWindowsHello, passwordless: true, phishingResistant: true})
	case model.KindFIDO2:
		add(path{deps: f.bit, inst: f.inst, combos: cFIDO2, passwordless: true, phishingResistant: true})
	case model.KindAuthenticator:
		device, inst := bitMobile, int32(-1)
		if g.hasAuthenticator {
			device, inst = f.bit, f.inst
		}
		if ch&chPush != 0 {
			second(device|bitPush, inst, cPasswordPush)
		}
		if ch&chAuthenticatorOTP != 0 {
			second(device, inst, cPasswordSoftwareOath)
		}
	case model.KindSoftwareOath:
		second(bitMobile, -1, cPasswordSoftwareOath)
	case model.KindMobilePhone:
		var cb combo
		if ch&chSMS != 0 {
			cb |= cPasswordSMS
		}
		if ch&chVoice != 0 {
			cb |= cPasswordVoice
		}
		second(bitCarrier|bitMobile, -1, cb)
	case model.KindOfficePhone:
		second(bitCarrier|bitOffice, -1, cPasswordVoice)
	case model.KindAlternateMobilePhone:
		second(bitCarrier|bitAltMobile, -1, cPasswordVoice)
	case model.KindHardwareOath:
		second(f.bit, f.inst, cPasswordHardwareOath)
	}
	return out
}

// channels returns what the tenant's policy lets the user use.
func (g *userGraph) channels() channel {
	if !g.hasAcc {
		return everyChannel
	}
	return g.accv.ch
}

// allowedKind reports whether the tenant's policy lets the user register
// and use a method of this kind at all.
func (g *userGraph) allowedKind(k model.MethodKind) bool {
	ch := g.channels()
	switch k {
	case model.KindPasskeyAuthenticator:
		if ch&chFIDO2 == 0 {
			return false
		}
		if g.hasAcc {
			for aaguid := range model.AuthenticatorAAGUIDs {
				if g.accv.keyAllowed(aaguid) {
					return true
				}
			}
			return false
		}
		return true
	case model.KindFIDO2:
		return ch&chFIDO2 != 0
	case model.KindAuthenticator:
		return ch&(chPush|chAuthenticatorOTP) != 0
	case model.KindSoftwareOath:
		return ch&chSoftwareOath != 0
	case model.KindHardwareOath:
		return ch&chHardwareOath != 0
	case model.KindMobilePhone:
		return ch&(chSMS|chVoice) != 0
	case model.KindAlternateMobilePhone:
		return ch&chVoice != 0
	case model.KindOfficePhone:
		return ch&(chVoice|chOfficeVoice) == chVoice|chOfficeVoice
	}
	return true
}

// freshDeps returns two dependencies no path of the user has yet.
func (g *userGraph) freshDeps() (fresh, fresh) {
	a, b := g.used, g.used+1
	return fresh{bitOf(a), int32(a)}, fresh{bitOf(b), int32(b)}
}

// option is small on purpose: recommend keeps a fixed array of them on the
// stack for every non-compliant user.
type option struct {
	picks     [2]int8 // candidate indexes; picks[1] < 0 for a single method
	cost      int8
	rank      int8 // the order: rank, then diversity
	diversity int8
}

// recommend finds the cheapest methods that would bring the user within
// policy, by adding each candidate (then each pair, when no single method
// is enough) to the user's paths and evaluating again with the same rules.
// Tenant-side violations are set aside (masked as if password hash sync were
// on): no method the user registers is the remedy for them. The diversity a
// recommendation reports is the real one, on-premises included, so that a
// passwordless method, which avoids the on-premises password, ranks above a
// second factor that does not.
func (g *userGraph) recommend(tier *Tier, tierMask depSet, u *model.User) []model.Recommendation {
	mask := tierMask | bitOnPrem
	if g.verdict(tier, mask).violations == 0 {
		return nil
	}
	// Cheapest first, so that the search can stop once the best few are
	// known; the order is computed once for users with and without
	// Authenticator (a second registration costs more).
	order := &byCostFirst
	if g.hasAuthenticator {
		order = &byCostSecond
	}
	var list [len(candidates)]candidate
	cands := list[:0]
	for _, c := range order {
		if g.useful(c, u) {
			cands = append(cands, c)
		}
	}
	s := trial{g: g, tier: tier, tierMask: tierMask, mask: mask, cands: cands, known: u.DevicesKnown()}
	s.freshA, s.freshB = g.freshDeps()
	var buf [pathCap]path
	s.all = buf[:]
	if g.n+4 > len(buf) || g.more != nil {
		s.all = make([]path, len(g.list())+4)
	}
	s.base = copy(s.all, g.list())
	var found [32]option
	opts := s.singles(found[:0])
	if len(opts) == 0 {
		opts = s.pairs(opts)
	}
	if len(opts) == 0 {
		return nil
	}
	slices.SortStableFunc(opts, byRank)
	return recommendations(keepIndependent(opts, cands, s.known), cands, u)
}

// trial tries candidates on a copy of the user's paths.
type trial struct {
	g              *userGraph
	tier           *Tier
	tierMask, mask depSet
	cands          []candidate
	known          bool // the user's devices are known
	freshA, freshB fresh
	all            []path // the user's paths, then room for the candidates'
	base           int    // how many of all are the user's
}

// singles appends the options of one method. It stops once the best few
// are known, unless the user's devices are unknown and a device-independent
// option is still wanted next to a conditional one.
func (s *trial) singles(opts []option) []option {
	for i, c := range s.cands {
		if len(opts) >= model.MaxRecommendations && rank(c) > int(opts[model.MaxRecommendations-1].rank) &&
			!wantIndependent(opts, s.cands, s.known) {
			break
		}
		paths := s.g.candidatePaths(c, s.freshA, s.all[:s.base])
		if v := verdictOf(paths, s.tier, s.mask); v.violations == 0 {
			opts = append(opts, option{picks: [2]int8{int8(i), -1}, cost: int8(c.cost), rank: int8(rank(c)), diversity: int8(realDiversity(paths, s.tier, s.tierMask, s.mask, v))})
		}
	}
	return opts
}

// pairs appends the options of two methods, as many as opts has room for.
func (s *trial) pairs(opts []option) []option {
	cands := s.cands
	for i := range cands {
		for j := i + 1; j < len(cands) && len(opts) < cap(opts); j++ {
			paths := s.g.candidatePaths(cands[i], s.freshA, s.all[:s.base])
			paths = s.g.candidatePaths(cands[j], s.freshB, paths)
			if v := verdictOf(paths, s.tier, s.mask); v.violations == 0 {
				opts = append(opts, option{picks: [2]int8{int8(i), int8(j)}, cost: int8(cands[i].cost + cands[j].cost), rank: int8(rank(cands[i]) + rank(cands[j])), diversity: int8(realDiversity(paths, s.tier, s.tierMask, s.mask, v))})
			}
		}
	}
	return opts
}

// recommendations turns the options kept into the assessment's
// recommendations, with where to set each method up (advise).
func recommendations(opts []option, cands []candidate, u *model.User) []model.Recommendation {
	out := make([]model.Recommendation, len(opts))
	kinds := make([]model.MethodKind, 0, 2*len(opts)) // one array for every Add
	for k, o := range opts {
		first := cands[o.picks[0]]
		r := model.Recommendation{Cost: int(o.cost), Diversity: int(o.diversity)}
		start := len(kinds)
		picked := [2]candidate{first}
		if o.picks[1] < 0 {
			kinds = append(kinds, first.kind)
			r.Action = capitalised[first.action]
		} else {
			other := cands[o.picks[1]]
			picked[1] = other
			kinds = append(kinds, first.kind, other.kind)
			r.Action = capitalised[first.action] + ", and " + other.action
		}
		r.Add = kinds[start:len(kinds):len(kinds)]
		for _, c := range picked[:len(r.Add)] {
			a, ok, cond := advise(u, c)
			if ok {
				r.Devices = append(r.Devices, a)
			}
			r.Conditional = r.Conditional || cond
		}
		out[k] = r
	}
	return out
}

// useful leaves out candidates that cannot add a path: second factors for a
// user without a password, a phone type the user already has (Graph allows
// one number of each type), and, the user's devices known, Windows Hello
// for Business without a Windows PC and a platform credential without a Mac.
func (g *userGraph) useful(c candidate, u *model.User) bool {
	if !g.allowedKind(c.kind) {
		return false
	}
	switch c.kind {
	case model.KindAuthenticator, model.KindSoftwareOath, model.KindHardwareOath,
		model.KindMobilePhone, model.KindOfficePhone, model.KindAlternateMobilePhone:
		if !g.hasPassword {
			return false
		}
	}
	if needsComputer(c.kind) && u.DevicesKnown() && !hasComputerFor(u, c.kind) {
		return false // no Windows PC (Mac) to set it up on
	}
	switch c.kind {
	case model.KindMobilePhone, model.KindOfficePhone, model.KindAlternateMobilePhone, model.KindPasskeyAuthenticator:
		for i := range u.Methods {
			if u.Methods[i].Kind == c.kind {
				return false
			}
		}
	}
	return true
}

// rank orders candidates: by fewer dependencies first, as the guidance
// says, so every method that avoids the phone network comes before one more
// telephony method (which adds the carrier every such path already has),
// then by effort.
func rank(c candidate) int {
	switch c.kind {
	case model.KindMobilePhone, model.KindOfficePhone, model.KindAlternateMobilePhone:
		return c.cost + 10
	}
	return c.cost
}

// byCostFirst and byCostSecond are the candidates in the order they are
// tried, for a user without and with Microsoft Authenticator.
var byCostFirst, byCostSecond = func() ([len(candidates)]candidate, [len(candidates)]candidate) {
	first, second := candidates, candidates
	for i := range second {
		if second[i].kind == model.KindAuthenticator {
			second[i] = secondAuthenticator
		}
	}
	byCost := func(a, b candidate) int { return rank(a) - rank(b) }
	slices.SortStableFunc(first[:], byCost)
	slices.SortStableFunc(second[:], byCost)
	return first, second
}()

// capitalised holds each action as the start of a sentence, computed once so
// that recommending does not allocate for it.
var capitalised = func() map[string]string {
	m := map[string]string{}
	for _, c := range append(candidates[:len(candidates):len(candidates)], secondAuthenticator) {
		m[c.action] = strings.ToUpper(c.action[:1]) + c.action[1:]
	}
	return m
}()

// realDiversity is the diversity of paths with only the tier's accepted
// dependencies masked; v is the verdict already computed under mask, reused
// when on-premises plays no part.
func realDiversity(paths []path, tier *Tier, tierMask, mask depSet, v verdict) int {
	if tierMask == mask {
		return v.diversity
	}
	for _, p := range paths {
		if p.deps&bitOnPrem != 0 {
			return verdictOf(paths, tier, tierMask).diversity
		}
	}
	return v.diversity
}
