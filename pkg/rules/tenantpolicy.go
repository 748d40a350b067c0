package rules

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/credres/credres/pkg/model"
)

// The tenant's own policy (docs/POLICY.md, "The tenant's policy"): the
// authentication methods policy decides which registered methods give a user
// a path at all, and the authentication strengths that enabled Conditional
// Access policies require decide which of those paths count.

// channel is one way a method can be used that the authentication methods
// policy switches on or off.
type channel uint16

const (
	chSMS              channel = 1 << iota // SMS as a second factor
	chVoice                                // voice calls to mobile and alternate mobile phones
	chOfficeVoice                          // voice calls to office phones
	chSMSSignIn                            // SMS sign-in: the phone as a first factor
	chPush                                 // Authenticator push notifications
	chPasswordless                         // Authenticator passwordless phone sign-in
	chAuthenticatorOTP                     // one-time codes in Microsoft Authenticator
	chFIDO2                                // security keys and passkeys
	chSoftwareOath
	chHardwareOath
	chEmail
	chTAP
	chX509
)

// everyChannel is the access of a user in a tenant whose policy is not
// known: today's behaviour, every registered method usable, and no SMS
// sign-in (it is never assumed).
const everyChannel = chSMS | chVoice | chOfficeVoice | chPush | chPasswordless | chAuthenticatorOTP |
	chFIDO2 | chSoftwareOath | chHardwareOath | chEmail | chTAP | chX509

// combo is a set of authentication strength combinations
// (authenticationMethodModes) that one path satisfies, or that a strength
// allows.
type combo uint16

const (
	cPasswordSMS combo = 1 << iota
	cPasswordVoice
	cPasswordPush
	cPasswordSoftwareOath
	cPasswordHardwareOath
	cFIDO2
	cWindowsHello
	cDeviceBasedPush
	cX509MultiFactor
)

// combos maps allowedCombinations values, their parts sorted (comboKey),
// to combo bits. A federated first factor counts as the password it stands
// in for; Graph writes it after the second factor
// ("sms,federatedSingleFactor").
var combos = func() map[string]combo {
	m := map[string]combo{}
	for s, c := range map[string]combo{
		"password,sms":                        cPasswordSMS,
		"password,voice":                      cPasswordVoice,
		"password,microsoftAuthenticatorPush": cPasswordPush,
		"password,softwareOath":               cPasswordSoftwareOath,
		"password,hardwareOath":               cPasswordHardwareOath,
		"fido2":                               cFIDO2,
		"windowsHelloForBusiness":             cWindowsHello,
		"deviceBasedPush":                     cDeviceBasedPush,
		"x509CertificateMultiFactor":          cX509MultiFactor,
	} {
		m[comboKey(s)] = c
	}
	return m
}()

// comboKey is a combination with its parts sorted, and a federated first
// factor read as the password.
func comboKey(s string) string {
	parts := strings.Split(strings.ReplaceAll(s, " ", ""), ",")
	for i, p := range parts {
		if strings.EqualFold(p, "federatedSingleFactor") {
			parts[i] = "password"
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// CA scopes: which paths a policy constrains.
const (
	scopeAll    = "all-resources"
	scopeAdmin  = "admin-portals"
	noSlot      = -1
	inlineSlots = 4 // words of slot bits kept on the stack per user
)

// target is one include target of a method configuration: the slot that
// says whether it reaches the user, and the channels it grants.
type target struct {
	slot int
	ch   channel
}

type compiledConfig struct {
	id      string
	enabled bool
	include []target
	exclude int // slot of all exclude targets together, noSlot when none
	keys    *model.KeyRestrictions
}

type compiledCA struct {
	p          *model.CAPolicy
	include    int
	exclude    int
	scope      string
	allowed    combo
	strength   string
	enforced   bool   // enabled, not report-only
	constrains bool   // the strength is required whatever else the policy allows
	note       string // why a policy does not constrain the paths
}

// compiledTenant is a tenant's policy made ready for many users: every
// group, user and role id the policy names maps to the slots it fills, so
// that a user's applicability is one map lookup per group they are in.
type compiledTenant struct {
	amp, sp, cap any // the model pointers it was built from
	words        int
	byID         map[string][]int
	// mayHaveID is a filter of byID's keys (idFilterBit): a user's groups
	// are mostly in no policy, and a bit that is clear rules a key out
	// without hashing it.
	mayHaveID  [idFilterWords]uint64
	byRole     map[string][]int
	always     []int
	hasMethods bool
	configs    []compiledConfig
	absent     channel // channels of configurations the policy does not list
	cas        []compiledCA
	slots      int // membership slots numbered so far
	// alwaysBits are the slots of always as bits, what every user starts
	// from.
	alwaysBits []uint64
	// shared keeps the Conditional Access results per applied policies and
	// satisfiable combinations (share): memoised, still a pure function of
	// the policy.
	sharedMu sync.Mutex
	shared   atomic.Pointer[map[caKey][]model.CAResult]
}

// tenantCache keeps the compiled form of the last tenant policy seen: a
// tenant-wide run evaluates every user against the same policy. It holds
// no I/O and no clock: the compiled form is a pure function of the policy.
type tenantCache struct {
	last atomic.Pointer[compiledTenant]
}

// compiled is shared by the engine and the what-if functions.
var compiled tenantCache

func (c *tenantCache) get(t *model.Tenant) *compiledTenant {
	if !t.HasTenantPolicy() {
		return nil
	}
	if ct := c.last.Load(); ct != nil && ct.amp == any(t.AuthMethodsPolicy) && ct.sp == any(t.StrengthPolicies) && ct.cap == any(t.CAPolicies) {
		return ct
	}
	ct := compileTenant(t)
	c.last.Store(ct)
	return ct
}

func compileTenant(t *model.Tenant) *compiledTenant {
	ct := &compiledTenant{amp: t.AuthMethodsPolicy, sp: t.StrengthPolicies, cap: t.CAPolicies,
		byID: map[string][]int{}, byRole: map[string][]int{}, absent: everyChannel}
	if amp := t.AuthMethodsPolicy; amp != nil {
		ct.hasMethods = true
		for i := range amp.Configs {
			if c := &amp.Configs[i]; c.Known {
				ct.addConfig(c)
			}
		}
	}
	if t.CAPolicies != nil {
		for i := range *t.CAPolicies {
			p := &(*t.CAPolicies)[i]
			if p.State == model.StateDisabled || p.StrengthID == "" {
				continue
			}
			if ca, ok := ct.compileCA(t, p); ok {
				ct.cas = append(ct.cas, ca)
			}
		}
	}
	ct.words = (ct.slots + 63) / 64
	ct.alwaysBits = make([]uint64, ct.words)
	for _, slot := range ct.always {
		ct.alwaysBits[slot>>6] |= 1 << (slot & 63)
	}
	return ct
}

// newSlot numbers a new membership slot: a user's slots say which targets
// (include or exclude lists) reach them.
func (ct *compiledTenant) newSlot() int {
	ct.slots++
	return ct.slots - 1
}

// addID makes a user, group or role id's members reach slot.
func (ct *compiledTenant) addID(id string, slot int) {
	id = strings.ToLower(id)
	ct.byID[id] = append(ct.byID[id], slot)
	b := idFilterBit(id)
	ct.mayHaveID[b>>6] |= 1 << (b & 63)
}

// addRole makes a directory role's members reach slot.
func (ct *compiledTenant) addRole(role string, slot int) {
	role = strings.ToLower(role)
	ct.byRole[role] = append(ct.byRole[role], slot)
}

// addConfig compiles one method configuration of the authentication
// methods policy: its state, and the channels each include target enables.
func (ct *compiledTenant) addConfig(c *model.MethodConfig) {
	cc := compiledConfig{id: c.ID, enabled: c.State == model.StateEnabled, exclude: noSlot, keys: c.KeyRestrictions}
	ct.absent &^= configChannels(c, nil)
	for j := range c.IncludeTargets {
		tg := &c.IncludeTargets[j]
		s := ct.newSlot()
		cc.include = append(cc.include, target{slot: s, ch: configChannels(c, tg)})
		if strings.EqualFold(tg.ID, model.AllUsersTarget) {
			ct.always = append(ct.always, s)
		} else {
			ct.addID(tg.ID, s)
		}
	}
	if len(c.ExcludeTargets) > 0 {
		cc.exclude = ct.newSlot()
		for _, tg := range c.ExcludeTargets {
			if strings.EqualFold(tg.ID, model.AllUsersTarget) {
				ct.always = append(ct.always, cc.exclude)
			} else {
				ct.addID(tg.ID, cc.exclude)
			}
		}
	}
	ct.configs = append(ct.configs, cc)
}

// compileCA compiles one Conditional Access policy that requires an
// authentication strength; ok is false for a policy that constrains no
// path as such (one for particular applications).
func (ct *compiledTenant) compileCA(t *model.Tenant, p *model.CAPolicy) (compiledCA, bool) {
	ca := compiledCA{p: p, enforced: p.State == model.StateEnabled, constrains: true, strength: p.StrengthName}
	for _, app := range p.IncludeApplications {
		switch {
		case strings.EqualFold(app, model.CAAllApplications):
			ca.scope = scopeAll
		case strings.EqualFold(app, model.CAAdminPortals) && ca.scope == "":
			ca.scope = scopeAdmin
		}
	}
	if ca.scope == "" {
		// A policy for particular applications leaves the user's other
		// sign-ins alone: it constrains no path as such.
		return ca, false
	}
	ca.include, ca.exclude = ct.newSlot(), ct.newSlot()
	allowed := p.Allowed
	if t.StrengthPolicies != nil {
		if s := t.StrengthPolicies.Find(p.StrengthID); s != nil {
			allowed = s.AllowedCombinations
			if ca.strength == "" {
				ca.strength = s.DisplayName
			}
		}
	}
	if ca.strength == "" {
		ca.strength = p.StrengthID
	}
	if allowed == nil {
		ca.constrains = false
		ca.note = "its authentication strength is not in the snapshot: not applied"
	}
	for _, a := range allowed {
		ca.allowed |= combos[comboKey(a)]
	}
	if strings.EqualFold(p.Operator, "OR") && len(p.OtherControls) > 0 {
		ca.constrains = false
		ca.note = "it also accepts " + p.OtherControls[0] + ": the strength is one way among others to satisfy it"
	}
	ct.targetCA(ca, p.Users)
	return ca, true
}

// targetCA makes the users, groups and roles a policy includes and excludes
// reach its slots. "None" and guests or external users include nobody
// credres assesses by id.
func (ct *compiledTenant) targetCA(ca compiledCA, users model.CAUsers) {
	for _, u := range users.IncludeUsers {
		switch {
		case strings.EqualFold(u, model.CAAllUsers):
			ct.always = append(ct.always, ca.include)
		case strings.EqualFold(u, model.CANoUsers), strings.EqualFold(u, model.CAGuestsOrExternal):
		default:
			ct.addID(u, ca.include)
		}
	}
	for _, u := range users.ExcludeUsers {
		if !strings.EqualFold(u, model.CAGuestsOrExternal) {
			ct.addID(u, ca.exclude)
		}
	}
	for _, g := range users.IncludeGroups {
		ct.addID(g, ca.include)
	}
	for _, g := range users.ExcludeGroups {
		ct.addID(g, ca.exclude)
	}
	for _, r := range users.IncludeRoles {
		ct.addRole(r, ca.include)
	}
	for _, r := range users.ExcludeRoles {
		ct.addRole(r, ca.exclude)
	}
}

// configChannels returns the channels a configuration governs (tg nil) or
// grants to the users of one include target.
func configChannels(c *model.MethodConfig, tg *model.MethodTarget) channel {
	all := tg == nil
	switch c.ID {
	case model.ConfigSMS:
		if all || (tg.IsUsableForSignIn != nil && *tg.IsUsableForSignIn) {
			return chSMS | chSMSSignIn
		}
		return chSMS
	case model.ConfigVoice:
		if all || (c.IsOfficePhoneAllowed != nil && *c.IsOfficePhoneAllowed) {
			return chVoice | chOfficeVoice
		}
		return chVoice
	case model.ConfigAuthenticator:
		var ch channel
		mode := ""
		if !all {
			mode = tg.AuthenticationMode
		}
		switch mode {
		case model.AuthenticatorPush:
			ch = chPush
		case model.AuthenticatorDevice:
			ch = chPasswordless
		default:
			ch = chPush | chPasswordless
		}
		if all || c.IsSoftwareOathOn == nil || *c.IsSoftwareOathOn {
			ch |= chAuthenticatorOTP
		}
		return ch
	case model.ConfigFIDO2:
		return chFIDO2
	case model.ConfigSoftwareOath:
		return chSoftwareOath
	case model.ConfigHardwareOath:
		return chHardwareOath
	case model.ConfigEmail:
		return chEmail
	case model.ConfigTAP:
		return chTAP
	case model.ConfigX509:
		return chX509
	}
	return 0
}

// access is what the tenant's policy lets one user do.
type access struct {
	ct   *compiledTenant
	ch   channel
	fido *model.KeyRestrictions
	// reqs are the combinations each enforced, applying strength allows: a
	// path counts only when it satisfies every one.
	reqs  [maxReqs]combo
	nReqs int
	// applied lists the policies that apply to the user, enforced or
	// report-only, in the snapshot's order; more than fit go to extra.
	applied  [maxApplied]uint16
	nApplied int
	extra    []uint16
}

// maxApplied is how many applying policies are kept without allocating.
const maxApplied = 24

// maxReqs bounds the strengths applied to one user; further ones share the
// last entry (intersected), which keeps the result exact.
const maxReqs = 16

// accessFor works out a user's access under a compiled policy; privileged
// users are also constrained by policies for the admin portals.
func (ct *compiledTenant) accessFor(u *model.User, privileged bool) access {
	a := access{ct: ct, ch: everyChannel}
	var buf [inlineSlots]uint64
	var hit []uint64
	if ct.words <= inlineSlots {
		hit = buf[:ct.words]
	} else {
		hit = make([]uint64, ct.words)
	}
	set := func(slots []int) {
		for _, s := range slots {
			hit[s>>6] |= 1 << (s & 63)
		}
	}
	copy(hit, ct.alwaysBits)
	for _, id := range u.Groups {
		if id = lowerID(id); ct.mayHave(id) {
			set(ct.byID[id])
		}
	}
	if id := lowerID(u.ID); ct.mayHave(id) {
		set(ct.byID[id])
	}
	if len(ct.byRole) > 0 {
		for _, r := range u.Roles {
			id := lowerID(r)
			if tid, ok := roleTemplateIDs[id]; ok {
				id = tid
			}
			set(ct.byRole[id])
		}
	}
	on := func(s int) bool { return s != noSlot && hit[s>>6]&(1<<(s&63)) != 0 }
	if ct.hasMethods {
		a.ch = ct.absent
		for i := range ct.configs {
			c := &ct.configs[i]
			if !c.enabled || on(c.exclude) {
				continue
			}
			var got channel
			for _, tg := range c.include {
				if on(tg.slot) {
					got |= tg.ch
				}
			}
			a.ch |= got
			if got&chFIDO2 != 0 {
				a.fido = c.keys
			}
		}
	}
	for i := range ct.cas {
		ca := &ct.cas[i]
		if !on(ca.include) || on(ca.exclude) || (ca.scope == scopeAdmin && !privileged) {
			continue
		}
		if a.nApplied < maxApplied {
			a.applied[a.nApplied] = uint16(i)
			a.nApplied++
		} else {
			a.extra = append(a.extra, uint16(i))
		}
		if ca.enforced && ca.constrains {
			if a.nReqs < maxReqs {
				a.reqs[a.nReqs] = ca.allowed
				a.nReqs++
			} else {
				a.reqs[maxReqs-1] &= ca.allowed
			}
		}
	}
	return a
}

// lowerID returns s in lower case, without allocating when it already is.
// idFilterWords is the size of the id filter: 4 096 bits.
const idFilterWords = 64

// idFilterBit is an id's bit in the id filter, from its length and a few of
// its bytes (ids are GUIDs, whose hex digits spread evenly).
func idFilterBit(id string) uint {
	if id == "" {
		return 0
	}
	n := len(id)
	h := uint(n)*131 + uint(id[0])*31 + uint(id[n/2])*7 + uint(id[n-1]) + uint(id[n/3])*17
	return h & (idFilterWords*64 - 1)
}

// mayHave reports whether id (lower-cased) may be a key of byID: false
// means it is not.
func (ct *compiledTenant) mayHave(id string) bool {
	b := idFilterBit(id)
	return ct.mayHaveID[b>>6]&(1<<(b&63)) != 0
}

func lowerID(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// keyAllowed reports whether Fido2's key restrictions let a key or passkey
// with this AAGUID sign in. A key whose AAGUID is unknown is refused by an
// allow list and let through by a block list.
func (a *access) keyAllowed(aaguid string) bool {
	kr := a.fido
	if kr == nil || !kr.IsEnforced {
		return true
	}
	listed := false
	for _, g := range kr.AAGUIDs {
		if g == aaguid && aaguid != "" {
			listed = true
			break
		}
	}
	if kr.EnforcementType == model.KeyRestrictionAllow {
		return listed
	}
	return !listed
}

// satisfies reports whether a path meets every enforced strength.
func (a *access) satisfies(c combo) bool {
	for i := 0; i < a.nReqs; i++ {
		if c&a.reqs[i] == 0 {
			return false
		}
	}
	return true
}

// privilegedUser is who policies for the Microsoft admin portals constrain:
// users who hold a directory role (the admin portals are where roles are
// used; the default policy's privileged tier is defined by roles too).
func privilegedUser(u *model.User) bool { return len(u.Roles) > 0 }

// buildFor builds the user's paths under the tenant's policy, for callers
// without a tier (what-if): policies for the admin portals constrain users
// who hold a directory role.
func (g *userGraph) buildFor(t model.Tenant, u *model.User) {
	var acc *access
	if ct := compiled.get(&t); ct != nil {
		a := ct.accessFor(u, privilegedUser(u))
		acc = &a
	}
	g.build(t, u, acc)
}

// caResults reports the Conditional Access policies that apply to the user.
// Their names and unmodelled conditions are the tenant's, looked up by id
// (model.CAPolicies.Find), so that each assessment stays small.
func (g *userGraph) caResults(acc *access) []model.CAResult {
	n := acc.nApplied + len(acc.extra)
	if n == 0 {
		return nil
	}
	ct := acc.ct
	key, shareable := caKeyOf(acc, g.allCombos)
	if shareable {
		if m := ct.shared.Load(); m != nil {
			if out, ok := (*m)[key]; ok {
				return out
			}
		}
	}
	out := make([]model.CAResult, n)
	for k := range out {
		ca := &ct.cas[acc.appliedAt(k)]
		out[k] = model.CAResult{
			ID: ca.p.ID, Scope: ca.scope, ReportOnly: !ca.enforced,
			Satisfied: ca.allowed&g.allCombos != 0 || !ca.constrains,
		}
	}
	if shareable {
		ct.share(key, out)
	}
	return out
}

// caKey is what a user's Conditional Access results depend on: which
// policies apply to them (a bit per policy) and which combinations their
// paths satisfied.
type caKey struct {
	applied [2]uint64
	combos  combo
}

// caKeyOf is the user's caKey; false for a tenant of more than 128
// policies, whose results are not shared.
func caKeyOf(acc *access, combos combo) (caKey, bool) {
	k := caKey{combos: combos}
	if len(acc.ct.cas) > 128 {
		return k, false
	}
	for i := range acc.nApplied + len(acc.extra) {
		j := acc.appliedAt(i)
		k.applied[j>>6] |= 1 << (j & 63)
	}
	return k, true
}

// maxSharedResults bounds the shared results of one policy: tenants have
// a few kinds of users, so a few hundred keys cover them.
const maxSharedResults = 4096

// share keeps out as the results of every user with key: users alike share
// one read-only slice (nothing modifies an assessment's results) instead of
// each allocating their own. Readers load the map without locking; a
// writer copies it.
func (ct *compiledTenant) share(key caKey, out []model.CAResult) {
	ct.sharedMu.Lock()
	defer ct.sharedMu.Unlock()
	old := ct.shared.Load()
	var next map[caKey][]model.CAResult
	if old == nil {
		next = map[caKey][]model.CAResult{}
	} else {
		if _, ok := (*old)[key]; ok || len(*old) >= maxSharedResults {
			return
		}
		next = make(map[caKey][]model.CAResult, len(*old)+1)
		for k, v := range *old {
			next[k] = v
		}
	}
	next[key] = out
	ct.shared.Store(&next)
}

// appliedAt is the k-th policy applied to the user: the inline ones first,
// then extra.
func (a *access) appliedAt(k int) uint16 {
	if k < a.nApplied {
		return a.applied[k]
	}
	return a.extra[k-a.nApplied]
}

// tenantRecommend finds what the tenant would have to enable for the user
// when nothing the user may register is enough: the cheapest recommendation
// with every method type enabled for them (the strengths still apply),
// named by the configurations it needs that are off for the user today.
func (g *userGraph) tenantRecommend(tier *Tier, mask depSet, u *model.User) []model.TenantRecommendation {
	real := g.accv
	g.accv.ch = everyChannel &^ chSMSSignIn
	g.accv.fido = nil
	recs := g.recommend(tier, mask, u)
	g.accv = real
	if len(recs) == 0 {
		return nil
	}
	var out []model.TenantRecommendation
	for _, k := range recs[0].Add {
		if g.allowedKind(k) {
			continue
		}
		id := model.ConfigOf(k)
		if id == "" {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Enable == id {
			out[n-1].Add = append(out[n-1].Add, k)
			out[n-1].Action += ", and " + Action(k)
			continue
		}
		out = append(out, model.TenantRecommendation{
			Enable: id, Add: []model.MethodKind{k},
			Action: "Enable " + model.ConfigNames[id] + " in the authentication methods policy for this user (or a group they are in), so that they can " + Action(k),
		})
	}
	return out
}

// Action words registering a method of this kind in general, in lower
// case, as the recommendations' Action does: the words explain and the
// reports use for methods that need no word about the user's devices.
func Action(k model.MethodKind) string {
	for _, c := range candidates {
		if c.kind == k {
			return c.action
		}
	}
	return string(k)
}

// CAPolicySummary describes one Conditional Access policy with an
// authentication strength the way credres applies it.
type CAPolicySummary struct {
	ID          string
	DisplayName string
	Strength    string
	State       string // enabled, enabledForReportingButNotEnforced
	// Scope is "all-resources", "admin-portals", or "" for a policy on
	// particular applications, which constrains no path.
	Scope string
	// Constrains is false when the policy applies but leaves the paths
	// alone; Note says why.
	Constrains  bool
	Note        string
	NotModelled []string
}

// ConditionalAccessSummary lists the tenant's enabled and report-only
// Conditional Access policies that require an authentication strength.
func ConditionalAccessSummary(t model.Tenant) []CAPolicySummary {
	if t.CAPolicies == nil {
		return nil
	}
	ct := compiled.get(&t)
	var out []CAPolicySummary
	for i := range *t.CAPolicies {
		p := &(*t.CAPolicies)[i]
		if p.State == model.StateDisabled || p.StrengthID == "" {
			continue
		}
		s := CAPolicySummary{ID: p.ID, DisplayName: p.DisplayName, Strength: p.StrengthName, State: p.State, NotModelled: p.NotModelled,
			Note: "it targets particular applications: no path is constrained as such"}
		for j := range ct.cas {
			if ca := &ct.cas[j]; ca.p == p {
				s.Strength, s.Scope, s.Constrains, s.Note = ca.strength, ca.scope, ca.constrains, ca.note
			}
		}
		if s.Strength == "" {
			s.Strength = p.StrengthID
		}
		out = append(out, s)
	}
	return out
}
