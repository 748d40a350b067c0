package rules

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

// The differential test: seeded generated tenants, every method kind and
// tenant setting, each user assessed by the engine and by an independent
// brute-force evaluator written here from the documented rules (paths as
// sets of strings, the diversity by trying every set of dependencies). They
// must agree on diversity, single points of failure, compliance and
// violations, and on random what-if outages.
//
//	go test -run Differential -v ./pkg/rules/ -diff.users 20000
var (
	diffUsers = flag.Int("diff.users", 3000, "users the differential test generates")
	diffSeed  = flag.Uint64("diff.seed", 1, "seed of the differential test's generator")
)

func TestDifferential(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(*diffSeed, 2))
	policies := map[string]*Policy{"default": DefaultPolicy(), "strict": strictPolicy(t)}
	engines := map[string]*Engine{}
	for name, p := range policies {
		engines[name] = New(p)
	}
	var users, whatifs, kindWhatifs, mismatches int
	kinds := map[model.MethodKind]int{}
	settings := map[string]int{}
	for users < *diffUsers {
		tenant := genTenant(r)
		for range 50 {
			u := genUser(r, users)
			users++
			x509 := "no-methods-policy"
			if tenant.AuthMethodsPolicy != nil {
				x509 = tenant.AuthMethodsPolicy.Config(model.ConfigX509).X509Modes.DefaultMode
			}
			settings[fmt.Sprintf("%s/phs-fallback=%v/synced=%v/%s/certificate=%v", tenant.PasswordAuth, tenant.PHSFallback, u.OnPremisesSyncEnabled, x509, u.HasCertificate())]++
			for _, m := range u.Methods {
				kinds[m.Kind]++
			}
			o := oracle(tenant, u)
			for pname, e := range engines {
				got := e.Evaluate(tenant, u)
				want := o.assess(policies[pname], u)
				if diff := compareAssessments(got, want); diff != "" {
					mismatches++
					if mismatches <= 10 {
						t.Errorf("user %d, policy %s, tenant %+v: %s\nmethods: %s\nengine paths: %s\noracle paths: %s",
							users, pname, tenant, diff, describe(u), pathsString(got.Paths), pathsString(want.Paths))
					}
				}
			}
			for range 5 {
				down := genOutage(r, o)
				outage, err := ParseOutage(down...)
				if err != nil {
					t.Fatal(err)
				}
				whatifs++
				locked, has := LockedOut(tenant, u, outage)
				wantLocked, wantHas := o.lockedOut(down)
				if locked != wantLocked || has != wantHas {
					mismatches++
					if mismatches <= 10 {
						t.Errorf("user %d, outage %v: locked %v (has path %v), oracle %v (%v)\nmethods: %s\noracle paths: %s",
							users, down, locked, has, wantLocked, wantHas, describe(u), pathsString(o.paths))
					}
				}
				// The report's way: kinds only.
				var ks KindSet
				onlyKinds := true
				for _, d := range down {
					onlyKinds = onlyKinds && model.KindOf(d) == d
					ks |= KindBit(d)
				}
				if onlyKinds {
					kindWhatifs++
					if got := LockedOutByKinds(KindPaths(tenant, u, nil), ks); got != wantLocked {
						mismatches++
						if mismatches <= 10 {
							t.Errorf("user %d, kinds %v: LockedOutByKinds %v, oracle %v\nmethods: %s", users, down, got, wantLocked, describe(u))
						}
					}
				}
			}
		}
	}
	t.Logf("differential: %d users (%d tenants), %d assessments compared (2 policies), %d what-if outages (%d of them by kinds also through KindPaths), %d mismatches",
		users, users/50, 2*users, whatifs, kindWhatifs, mismatches)
	t.Logf("method kinds generated: %v", kinds)
	t.Logf("tenant settings: %d combinations", len(settings))
	for _, k := range model.MethodKinds {
		if kinds[k] == 0 {
			t.Errorf("the generator never made a %s method", k)
		}
	}
}

func genTenant(r *rand.Rand) model.Tenant {
	modes := []model.PasswordAuth{model.PasswordCloud, model.PasswordPHS, model.PasswordPTA, model.PasswordFederated}
	t := model.Tenant{ID: "t", PasswordAuth: modes[r.IntN(len(modes))], PHSFallback: r.IntN(2) == 0}
	// A third of the tenants state their authentication methods policy:
	// every method enabled for everyone (no SMS sign-in), certificates
	// bound to single or multifactor strength.
	if r.IntN(3) == 0 {
		t.AuthMethodsPolicy = everyMethodPolicy([]string{model.X509SingleFactor, model.X509MultiFactor}[r.IntN(2)])
	}
	return t
}

func everyMethodPolicy(x509Mode string) *model.AuthMethodsPolicy {
	all := `"includeTargets":[{"targetType":"group","id":"all_users"}]`
	doc := `{"policyMigrationState":"migrationComplete","authenticationMethodConfigurations":[
	 {"id":"Fido2","state":"enabled",` + all + `},
	 {"id":"MicrosoftAuthenticator","state":"enabled","includeTargets":[{"targetType":"group","id":"all_users","authenticationMode":"any"}]},
	 {"id":"Sms","state":"enabled","includeTargets":[{"targetType":"group","id":"all_users","isUsableForSignIn":false}]},
	 {"id":"Voice","state":"enabled","isOfficePhoneAllowed":true,` + all + `},
	 {"id":"SoftwareOath","state":"enabled",` + all + `},
	 {"id":"HardwareOath","state":"enabled",` + all + `},
	 {"id":"Email","state":"enabled",` + all + `},
	 {"id":"TemporaryAccessPass","state":"enabled",` + all + `},
	 {"id":"X509Certificate","state":"enabled",` + all + `,"authenticationModeConfiguration":{"x509CertificateAuthenticationDefaultMode":"` + x509Mode + `"}}]}`
	var p model.AuthMethodsPolicy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		panic(err)
	}
	return &p
}

// genUser makes a small user: few enough dependencies for brute force, with
// repeated ids and Authenticator re-registrations now and then.
func genUser(r *rand.Rand, n int) *model.User {
	u := &model.User{ID: fmt.Sprintf("u%d", n), UserPrincipalName: fmt.Sprintf("u%d@contoso.example", n)}
	u.OnPremisesSyncEnabled = r.IntN(2) == 0
	if r.IntN(4) == 0 {
		u.Roles = []string{"Global Administrator"}
	}
	if r.IntN(4) == 0 {
		u.MethodsRegistered = []string{"microsoftAuthenticatorPasswordless"}
	}
	// Guests, disabled accounts, eligible administrators and certificates.
	if r.IntN(8) == 0 {
		u.UserType = []string{"Guest", "guest"}[r.IntN(2)]
	}
	if r.IntN(8) == 0 {
		enabled := false
		u.AccountEnabled = &enabled
	}
	if r.IntN(8) == 0 {
		u.EligibleRoles = []string{"Global Administrator"}
	}
	if r.IntN(4) == 0 {
		u.AuthorizationInfo = &model.AuthorizationInfo{CertificateUserIDs: []string{"X509:<PN>" + u.UserPrincipalName}}
	}
	kinds := model.MethodKinds
	count := r.IntN(7)
	if r.IntN(5) != 0 {
		u.Methods = append(u.Methods, model.Method{ID: "28c10230-6103-485e-b985-444c60001490", Kind: model.KindPassword})
	}
	names := []string{"", "iPhone 15", "Pixel 8", "iphone 15 "}
	tags := []string{"SoftwareTokenActivated", "SoftwareTokenActivated", "Other"}
	for i := range count {
		k := kinds[r.IntN(len(kinds))]
		m := model.Method{ID: fmt.Sprintf("m%d", i), Kind: k}
		switch k {
		case model.KindPassword:
			m.ID = "28c10230-6103-485e-b985-444c60001490"
		case model.KindMobilePhone:
			m.ID = "3179e48a-750b-4051-897c-87b9720928f7"
		case model.KindAlternateMobilePhone:
			m.ID = "b6332ec1-7057-4abe-9331-3d72feddfe41"
		case model.KindOfficePhone:
			m.ID = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
		case model.KindAuthenticator:
			m.DisplayName, m.DeviceTag = names[r.IntN(len(names))], tags[r.IntN(len(tags))]
			if r.IntN(3) != 0 {
				m.Created = time.Date(2020+r.IntN(3), 1, 1, 0, 0, 0, 0, time.UTC)
			}
		case model.KindExternalMFA:
			m.Details = &model.MethodDetails{ConfigurationID: []string{"cfg-a", "cfg-b"}[r.IntN(2)]}
		}
		if i > 0 && r.IntN(8) == 0 {
			// The same id again (a duplicate entry), of the same kind.
			prev := u.Methods[len(u.Methods)-1]
			m = prev
		}
		u.Methods = append(u.Methods, m)
	}
	r.Shuffle(len(u.Methods), func(i, j int) { u.Methods[i], u.Methods[j] = u.Methods[j], u.Methods[i] })
	return u
}

func describe(u *model.User) string {
	var parts []string
	for _, m := range u.Methods {
		s := string(m.Kind) + ":" + m.ID
		if m.Kind == model.KindAuthenticator {
			s += fmt.Sprintf("(%q,%s,%s)", m.DisplayName, m.DeviceTag, m.Created.Format("2006"))
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("synced=%v roles=%v eligible=%v type=%q enabled=%v certificate=%v registered=%v %s", u.OnPremisesSyncEnabled, u.Roles, u.EligibleRoles, u.UserType, u.AccountEnabled == nil || *u.AccountEnabled, u.HasCertificate(), u.MethodsRegistered, strings.Join(parts, " "))
}

// oraclePath is a path as the documentation states it.
type oraclePath struct {
	deps              []string
	passwordless      bool
	phishingResistant bool
}

type oracleUser struct {
	all   []oraclePath
	paths [][]string // unmasked, sorted, distinct
}

// oracle computes a user's paths from the documented rules, independently
// of the engine's bit sets.
func oracle(t model.Tenant, u *model.User) oracleUser {
	// One method per id: the first entry.
	var ms []model.Method
	seen := map[string]bool{}
	for _, m := range u.Methods {
		if seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		ms = append(ms, m)
	}
	hasPassword := false
	for _, m := range ms {
		hasPassword = hasPassword || m.Kind == model.KindPassword
	}
	var first []string
	if u.OnPremisesSyncEnabled && (t.PasswordAuth == model.PasswordPTA || t.PasswordAuth == model.PasswordFederated) && !t.PHSFallback {
		first = []string{"on-premises"}
	}
	// Which phone each Authenticator registration is on: same non-empty
	// name (case and spaces aside) and same tag as an earlier one is that
	// one's phone; the oldest registration's phone is the primary.
	phoneOf := map[int]int{}
	for i, m := range ms {
		if m.Kind != model.KindAuthenticator {
			continue
		}
		phoneOf[i] = i
		for j := 0; j < i; j++ {
			if ms[j].Kind == model.KindAuthenticator && phoneOf[j] == j && m.DeviceTag == ms[j].DeviceTag &&
				strings.TrimSpace(m.DisplayName) != "" && strings.EqualFold(strings.TrimSpace(m.DisplayName), strings.TrimSpace(ms[j].DisplayName)) {
				phoneOf[i] = j
				break
			}
		}
	}
	oldest := -1
	for i, m := range ms {
		if m.Kind != model.KindAuthenticator {
			continue
		}
		if oldest < 0 || (ms[oldest].Created.IsZero() && !m.Created.IsZero()) || (!m.Created.IsZero() && m.Created.Before(ms[oldest].Created)) {
			oldest = i
		}
	}
	var o oracleUser
	add := func(p oraclePath) { o.all = append(o.all, p) }
	second := func(deps ...string) {
		if hasPassword {
			add(oraclePath{deps: append(append([]string{"entra-mfa"}, first...), deps...)})
		}
	}
	for i, m := range ms {
		switch m.Kind {
		case model.KindMobilePhone:
			second("phone-carrier", "mobile-device")
		case model.KindAlternateMobilePhone:
			second("phone-carrier", "alternate-mobile-device")
		case model.KindOfficePhone:
			second("phone-carrier", "office-phone")
		case model.KindAuthenticator:
			device := "mobile-device"
			if phoneOf[i] != phoneOf[oldest] {
				device = "mobile-device/" + ms[phoneOf[i]].ID
			}
			second(device, "push-service")
			second(device)
			if i == oldest && u.PasswordlessPhoneSignIn() {
				add(oraclePath{deps: []string{"mobile-device", "push-service"}, passwordless: true})
			}
		case model.KindSoftwareOath:
			second("mobile-device")
		case model.KindHardwareOath:
			second("hardware-token/" + m.ID)
		case model.KindFIDO2:
			add(oraclePath{deps: []string{"security-key/" + m.ID}, passwordless: true, phishingResistant: true})
		case model.KindPasskeyAuthenticator:
			add(oraclePath{deps: []string{"mobile-device"}, passwordless: true, phishingResistant: true})
		case model.KindWindowsHello:
			add(oraclePath{deps: []string{"windows-device/" + m.ID}, passwordless: true, phishingResistant: true})
		case model.KindPlatformCredential:
			add(oraclePath{deps: []string{"mac-device/" + m.ID}, passwordless: true, phishingResistant: true})
		case model.KindExternalMFA:
			// The provider, not Entra's MFA service, completes the sign-in.
			if hasPassword {
				add(oraclePath{deps: append(slices.Clone(first), "external-mfa/"+m.Detail().ConfigurationID)})
			}
		}
	}
	// Certificate-based authentication: multifactor binding alone; single
	// factor after the password or with passwordless phone sign-in.
	if u.AuthorizationInfo != nil && len(u.AuthorizationInfo.CertificateUserIDs) > 0 {
		card := []string{"pki", "smart-card"}
		multi := t.AuthMethodsPolicy != nil && t.AuthMethodsPolicy.Config(model.ConfigX509).X509Modes.DefaultMode == model.X509MultiFactor
		switch {
		case multi:
			add(oraclePath{deps: card, passwordless: true, phishingResistant: true})
		default:
			if hasPassword {
				add(oraclePath{deps: append(slices.Clone(first), card...)})
			}
			if oldest >= 0 && u.PasswordlessPhoneSignIn() {
				add(oraclePath{deps: append(slices.Clone(card), "mobile-device", "push-service")})
			}
		}
	}
	for _, p := range o.all {
		d := slices.Clone(p.deps)
		slices.Sort(d)
		d = slices.Compact(d)
		if !slices.ContainsFunc(o.paths, func(q []string) bool { return slices.Equal(q, d) }) {
			o.paths = append(o.paths, d)
		}
	}
	return o
}

// assess judges the oracle's paths by the policy's first matching tier.
func (o oracleUser) assess(p *Policy, u *model.User) model.Assessment {
	tier := p.TierFor(u)
	var masked [][]string
	for _, path := range o.paths {
		var d []string
		for _, dep := range path {
			if !slices.Contains(tier.Accept, dep) {
				d = append(d, dep)
			}
		}
		if !slices.ContainsFunc(masked, func(q []string) bool { return slices.Equal(q, d) }) {
			masked = append(masked, d)
		}
	}
	slices.SortFunc(masked, slices.Compare)
	a := model.Assessment{Tier: tier.Name, Paths: masked, SPOFs: []string{}, Violations: []model.Violation{}}
	// Eligible administrators are administrators; disabled accounts, then
	// guests, are left alone.
	if slices.Contains(u.EligibleRoles, "Global Administrator") && p.Tiers[len(p.Tiers)-1].Name == "standard" && tier.Name != "privileged" {
		a.Tier = "an eligible Global Administrator outside the privileged tier"
	}
	switch {
	case u.AccountEnabled != nil && !*u.AccountEnabled:
		a.Excluded = model.ExcludedDisabled
	case strings.EqualFold(u.UserType, "guest"):
		a.Excluded = model.ExcludedGuest
	}
	a.Diversity = bruteForceDiversity(masked)
	if len(masked) > 0 {
		for _, dep := range masked[0] {
			inAll := true
			for _, q := range masked[1:] {
				inAll = inAll && slices.Contains(q, dep)
			}
			if inAll {
				a.SPOFs = append(a.SPOFs, dep)
			}
		}
	}
	nonTelephony := false
	for _, p := range o.all {
		a.Passwordless = a.Passwordless || p.passwordless
		a.PhishingResistant = a.PhishingResistant || p.phishingResistant
		nonTelephony = nonTelephony || !slices.Contains(p.deps, "phone-carrier")
	}
	if len(masked) == 0 {
		a.Violations = append(a.Violations, model.ViolationNoMFAPath)
	}
	if a.Diversity < tier.MinDiversity {
		a.Violations = append(a.Violations, model.ViolationBelowMinDiversity)
	}
	if tier.MinDiversity >= 2 {
		for _, s := range a.SPOFs {
			a.Violations = append(a.Violations, model.ViolationSPOF(s))
		}
	}
	if tier.RequirePhishingResistant && !a.PhishingResistant {
		a.Violations = append(a.Violations, model.ViolationNoPhishingResist)
	}
	if tier.RequireNonTelephony && len(masked) > 0 && !nonTelephony {
		a.Violations = append(a.Violations, model.ViolationTelephonyOnly)
	}
	a.Compliant = len(a.Violations) == 0
	return a
}

// bruteForceDiversity tries every set of dependencies, smallest first.
func bruteForceDiversity(paths [][]string) int {
	if len(paths) == 0 {
		return 0
	}
	var deps []string
	for _, p := range paths {
		for _, d := range p {
			if !slices.Contains(deps, d) {
				deps = append(deps, d)
			}
		}
	}
	if len(deps) > 20 {
		panic("too many dependencies for brute force")
	}
	best := len(deps) + 1
	for set := uint32(0); set < 1<<len(deps); set++ {
		size := bits.OnesCount32(set)
		if size >= best {
			continue
		}
		hitsAll := true
		for _, p := range paths {
			hit := false
			for i, d := range deps {
				if set&(1<<i) != 0 && slices.Contains(p, d) {
					hit = true
					break
				}
			}
			if !hit {
				hitsAll = false
				break
			}
		}
		if hitsAll {
			best = size
		}
	}
	return best
}

func (o oracleUser) lockedOut(down []string) (locked, hasPath bool) {
	if len(o.paths) == 0 {
		return false, false
	}
	for _, p := range o.paths {
		hit := false
		for _, d := range p {
			if slices.Contains(down, d) || slices.Contains(down, model.KindOf(d)) {
				hit = true
			}
		}
		if !hit {
			return false, true
		}
	}
	return true, true
}

// genOutage picks one to three dependencies: kinds, or instances the user has.
func genOutage(r *rand.Rand, o oracleUser) []string {
	var pool []string
	for _, k := range model.DependencyKinds {
		if k != model.DepEntraAuth {
			pool = append(pool, k)
		}
	}
	for _, p := range o.paths {
		for _, d := range p {
			if model.KindOf(d) != d && !slices.Contains(pool, d) {
				pool = append(pool, d, d) // instances twice as likely
			}
		}
	}
	var down []string
	for range 1 + r.IntN(3) {
		d := pool[r.IntN(len(pool))]
		if !slices.Contains(down, d) {
			down = append(down, d)
		}
	}
	return down
}

func compareAssessments(got, want model.Assessment) string {
	var diffs []string
	if got.Tier != want.Tier {
		diffs = append(diffs, fmt.Sprintf("tier %q, oracle %q", got.Tier, want.Tier))
	}
	if got.Excluded != want.Excluded {
		diffs = append(diffs, fmt.Sprintf("excluded %q, oracle %q", got.Excluded, want.Excluded))
	}
	if got.Diversity != want.Diversity {
		diffs = append(diffs, fmt.Sprintf("diversity %d, oracle %d", got.Diversity, want.Diversity))
	}
	if !slices.Equal(got.SPOFs, want.SPOFs) {
		diffs = append(diffs, fmt.Sprintf("spofs %v, oracle %v", got.SPOFs, want.SPOFs))
	}
	if pathsString(got.Paths) != pathsString(want.Paths) {
		diffs = append(diffs, "paths differ")
	}
	if got.Compliant != want.Compliant || !slices.Equal(got.Violations, want.Violations) {
		diffs = append(diffs, fmt.Sprintf("violations %v, oracle %v", got.Violations, want.Violations))
	}
	if got.Passwordless != want.Passwordless || got.PhishingResistant != want.PhishingResistant {
		diffs = append(diffs, fmt.Sprintf("passwordless/phishing-resistant %v/%v, oracle %v/%v", got.Passwordless, got.PhishingResistant, want.Passwordless, want.PhishingResistant))
	}
	return strings.Join(diffs, "; ")
}
