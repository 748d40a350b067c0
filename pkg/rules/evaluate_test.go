package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/model"
)

// the examples of docs/DESIGN.md, Paths, verbatim: cloud user, nothing accepted but entra-auth.
func TestSpecExamples(t *testing.T) {
	t.Parallel()
	e := New(strictPolicy(t))
	tests := []struct {
		name      string
		methods   []string
		paths     string
		diversity int
		spofs     []string
	}{
		{"password-and-mobile-phone", []string{"password", "mobile"},
			"{entra-mfa,mobile-device,phone-carrier}", 1,
			[]string{"entra-mfa", "mobile-device", "phone-carrier"}},
		{"sms-and-voice-share-the-carrier", []string{"password", "mobile", "office"},
			"{entra-mfa,mobile-device,phone-carrier} {entra-mfa,office-phone,phone-carrier}", 1,
			[]string{"entra-mfa", "phone-carrier"}},
		{"authenticator-and-phone-share-the-device", []string{"password", "auth:a1", "mobile"},
			"{entra-mfa,mobile-device} {entra-mfa,mobile-device,phone-carrier} {entra-mfa,mobile-device,push-service}", 1,
			[]string{"entra-mfa", "mobile-device"}},
		{"a-key-adds-an-independent-path", []string{"password", "auth:a1", "fido2:k1"},
			"{entra-mfa,mobile-device} {entra-mfa,mobile-device,push-service} {security-key/k1}", 2,
			[]string{}},
		{"passwordless-only-three-devices", []string{"whfb:w1", "fido2:k1", "fido2:k2"},
			"{security-key/k1} {security-key/k2} {windows-device/w1}", 3,
			[]string{}},
		{"password-only-has-no-path", []string{"password"}, "", 0, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := e.Evaluate(cloud, user(t, "u", tc.methods...))
			if got := pathsString(a.Paths); got != tc.paths {
				t.Errorf("paths = %s, want %s", got, tc.paths)
			}
			if a.Diversity != tc.diversity {
				t.Errorf("diversity = %d, want %d", a.Diversity, tc.diversity)
			}
			if !slices.Equal(a.SPOFs, tc.spofs) {
				t.Errorf("spofs = %v, want %v", a.SPOFs, tc.spofs)
			}
		})
	}
}

func TestEveryMethodKind(t *testing.T) {
	t.Parallel()
	e := New(strictPolicy(t))
	tests := []struct {
		name, method, path string
		phishingResistant  bool
		passwordless       bool
	}{
		{"mobile-phone", "mobile", "{entra-mfa,mobile-device,phone-carrier}", false, false},
		{"alternate-mobile-phone", "alt", "{alternate-mobile-device,entra-mfa,phone-carrier}", false, false},
		{"office-phone", "office", "{entra-mfa,office-phone,phone-carrier}", false, false},
		{"authenticator-push-and-code", "auth:a1", "{entra-mfa,mobile-device} {entra-mfa,mobile-device,push-service}", false, false},
		{"software-oath-on-the-phone", "soft", "{entra-mfa,mobile-device}", false, false},
		{"hardware-token-is-its-own-dependency", "hw:h1", "{entra-mfa,hardware-token/h1}", false, false},
		{"fido2-key", "fido2:k1", "{security-key/k1}", true, true},
		{"passkey-in-authenticator-lives-on-the-phone", "passkey", "{mobile-device}", true, true},
		{"windows-hello", "whfb:w1", "{windows-device/w1}", true, true},
		{"macos-platform-credential", "mac:m1", "{mac-device/m1}", true, true},
		{"email-is-never-a-factor", "email", "", false, false},
		{"temporary-access-pass-is-never-counted", "tap", "", false, false},
		{"unknown-type-is-never-counted", "unknown", "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := e.Evaluate(cloud, user(t, "u", "password", tc.method))
			if got := pathsString(a.Paths); got != tc.path {
				t.Errorf("paths = %s, want %s", got, tc.path)
			}
			if a.PhishingResistant != tc.phishingResistant || a.Passwordless != tc.passwordless {
				t.Errorf("phishingResistant=%v passwordless=%v, want %v %v", a.PhishingResistant, a.Passwordless, tc.phishingResistant, tc.passwordless)
			}
			if tc.path == "" && len(a.Ignored) != 1 {
				t.Errorf("ignored = %v, want the method reported", a.Ignored)
			}
		})
	}
}

func TestAuthenticatorDevices(t *testing.T) {
	t.Parallel()
	e := New(strictPolicy(t))
	t.Run("oldest-registration-is-the-primary-phone", func(t *testing.T) {
		a := e.Evaluate(cloud, user(t, "u", "password", "auth:new@2024-05-01", "auth:old@2021-01-01"))
		want := "{entra-mfa,mobile-device} {entra-mfa,mobile-device,push-service} {entra-mfa,mobile-device/new} {entra-mfa,mobile-device/new,push-service}"
		if got := pathsString(a.Paths); got != want {
			t.Errorf("paths = %s\nwant    %s", got, want)
		}
		if a.Diversity != 1 || !slices.Equal(a.SPOFs, []string{"entra-mfa"}) {
			t.Errorf("diversity %d spofs %v; want 1 [entra-mfa]", a.Diversity, a.SPOFs)
		}
	})
	t.Run("passwordless-phone-sign-in-from-the-registration-report", func(t *testing.T) {
		u := user(t, "u", "password", "auth:a1")
		u.MethodsRegistered = []string{"microsoftAuthenticatorPush", "microsoftAuthenticatorPasswordless"}
		a := e.Evaluate(cloud, u)
		if !a.Passwordless || a.PhishingResistant {
			t.Errorf("passwordless=%v phishingResistant=%v, want true false", a.Passwordless, a.PhishingResistant)
		}
		if !strings.Contains(pathsString(a.Paths), "{mobile-device,push-service}") {
			t.Errorf("paths %s lack the passwordless phone path", pathsString(a.Paths))
		}
	})
	t.Run("no-password-no-second-factor-paths", func(t *testing.T) {
		a := e.Evaluate(cloud, user(t, "u", "auth:a1", "mobile"))
		if len(a.Paths) != 0 || !a.HasViolation(model.ViolationNoMFAPath) {
			t.Errorf("paths %v violations %v; want none and no-mfa-path", a.Paths, a.Violations)
		}
	})
}

func TestHybrid(t *testing.T) {
	t.Parallel()
	e := New(nil)
	synced := func(specs ...string) *model.User {
		u := user(t, "u", specs...)
		u.OnPremisesSyncEnabled = true
		return u
	}
	t.Run("federated-without-phs-puts-on-premises-in-every-password-path", func(t *testing.T) {
		a := e.Evaluate(federated, synced("password", "auth:a1", "hw:h1"))
		if !slices.Contains(a.SPOFs, "on-premises") || a.Diversity != 1 {
			t.Fatalf("diversity %d spofs %v; want on-premises single point of failure", a.Diversity, a.SPOFs)
		}
		if !slices.Equal(a.TenantSide, []model.Violation{"below-min-diversity", "single-point-of-failure:on-premises"}) {
			t.Errorf("tenantSide = %v", a.TenantSide)
		}
		if len(a.UserViolations()) != 0 || len(a.Recommendations) != 0 {
			t.Errorf("user violations %v recommendations %v; want none: only the tenant can fix this", a.UserViolations(), a.Recommendations)
		}
	})
	t.Run("a-key-avoids-on-premises", func(t *testing.T) {
		a := e.Evaluate(federated, synced("password", "auth:a1", "fido2:k1"))
		if !a.Compliant {
			t.Errorf("violations %v; want compliant", a.Violations)
		}
	})
	t.Run("phs-fallback-removes-the-dependency", func(t *testing.T) {
		a := e.Evaluate(ptaPHS, synced("password", "mobile"))
		if slices.Contains(a.SPOFs, "on-premises") || len(a.TenantSide) != 0 {
			t.Errorf("spofs %v tenantSide %v; PHS fallback means no on-premises dependency", a.SPOFs, a.TenantSide)
		}
	})
	t.Run("cloud-only-users-never-depend-on-premises", func(t *testing.T) {
		a := e.Evaluate(federated, user(t, "u", "password", "mobile"))
		if slices.Contains(a.SPOFs, "on-premises") {
			t.Errorf("spofs %v", a.SPOFs)
		}
	})
	t.Run("recommendations-report-real-diversity-and-rank-passwordless-first", func(t *testing.T) {
		a := e.Evaluate(federated, synced("password", "auth:a1@2022-01-01", "mobile"))
		if len(a.Recommendations) == 0 || a.Recommendations[0].Diversity < 2 {
			t.Fatalf("recommendations %s", mustJSON(a.Recommendations))
		}
		for _, r := range a.Recommendations {
			if r.Diversity < 2 && slices.Contains(r.Add, model.KindWindowsHello) {
				t.Errorf("a passwordless method avoids on-premises: %+v", r)
			}
			if r.Add[0] == model.KindAuthenticator && r.Diversity != 1 {
				t.Errorf("a second Authenticator still depends on the on-premises password: %+v", r)
			}
		}
	})
	t.Run("mixed-user-and-tenant-violations", func(t *testing.T) {
		a := e.Evaluate(federated, synced("password", "mobile"))
		if !slices.Contains(a.TenantSide, "single-point-of-failure:on-premises") || slices.Contains(a.TenantSide, "telephony-only") {
			t.Errorf("tenantSide %v", a.TenantSide)
		}
		if !slices.Contains(a.UserViolations(), "telephony-only") {
			t.Errorf("user violations %v", a.UserViolations())
		}
	})
}

func TestDefaultPolicyTiers(t *testing.T) {
	t.Parallel()
	e := New(nil)
	tests := []struct {
		name       string
		roles      []string
		methods    []string
		tier       string
		violations []model.Violation
	}{
		{"standard-accepts-entra-mfa", nil, []string{"password", "auth:a1", "office"}, "standard", []model.Violation{}},
		{"standard-phone-only-is-telephony", nil, []string{"password", "mobile", "office"}, "standard",
			[]model.Violation{"below-min-diversity", "single-point-of-failure:phone-carrier", "telephony-only"}},
		{"standard-authenticator-and-phone-share-the-phone", nil, []string{"password", "auth:a1", "mobile"}, "standard",
			[]model.Violation{"below-min-diversity", "single-point-of-failure:mobile-device"}},
		{"standard-password-only", nil, []string{"password"}, "standard",
			[]model.Violation{"no-mfa-path", "below-min-diversity"}},
		{"admin-by-role-name-needs-phishing-resistance", []string{"Global Administrator"}, []string{"password", "auth:a1", "office"}, "privileged",
			[]model.Violation{"below-min-diversity", "single-point-of-failure:entra-mfa", "no-phishing-resistant-method"}},
		{"admin-by-role-template-id", []string{"62e90394-69f5-4237-9190-012177145e10"}, []string{"whfb:w1", "fido2:k1"}, "privileged", []model.Violation{}},
		{"non-privileged-role-is-standard", []string{"Global Reader"}, []string{"password", "auth:a1", "fido2:k1"}, "standard", []model.Violation{}},
		{"admin-counts-entra-mfa", []string{"Security Administrator"}, []string{"password", "auth:a1", "fido2:k1"}, "privileged", []model.Violation{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := user(t, "u", tc.methods...)
			u.Roles = tc.roles
			a := e.Evaluate(cloud, u)
			if a.Tier != tc.tier {
				t.Errorf("tier = %q, want %q", a.Tier, tc.tier)
			}
			if !slices.Equal(a.Violations, tc.violations) {
				t.Errorf("violations = %v, want %v", a.Violations, tc.violations)
			}
			if a.Compliant != (len(tc.violations) == 0) {
				t.Errorf("compliant = %v", a.Compliant)
			}
		})
	}
}

func TestTierMatching(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte(`
tiers:
  - name: break-glass
    match: {groups: ["5d0f3c2a-9e8b-4c7d-a6f5-e4d3c2b1a0f9"]}
    minDiversity: 2
    exempt: true
  - name: named
    match: {users: ["ceo@contoso.example"]}
    minDiversity: 3
  - name: rest
    match: {all: true}
    minDiversity: 1
    accept: [entra-mfa, phone-carrier]
`))
	if err != nil {
		t.Fatal(err)
	}
	e := New(p)
	bg := user(t, "bg", "password", "mobile")
	bg.Groups = []string{"5D0F3C2A-9E8B-4C7D-A6F5-E4D3C2B1A0F9"}
	if a := e.Evaluate(cloud, bg); a.Tier != "break-glass" || !a.Exempt || a.Compliant {
		t.Errorf("break-glass: tier %q exempt %v compliant %v", a.Tier, a.Exempt, a.Compliant)
	}
	ceo := user(t, "ceo", "password", "fido2:k1", "whfb:w1")
	ceo.UserPrincipalName = "CEO@contoso.example"
	if a := e.Evaluate(cloud, ceo); a.Tier != "named" || a.HasViolation("below-min-diversity") == false {
		t.Errorf("named: tier %q violations %v", a.Tier, a.Violations)
	}
	// Accepting the carrier removes it from paths but not from the
	// telephony judgement.
	a := e.Evaluate(cloud, user(t, "x", "password", "mobile"))
	if pathsString(a.Paths) != "{mobile-device}" || a.Diversity != 1 || !a.Compliant {
		t.Errorf("rest: paths %s diversity %d violations %v", pathsString(a.Paths), a.Diversity, a.Violations)
	}

	none, err := ParsePolicy([]byte("tiers:\n  - name: admins\n    match: {roles: [Global Administrator]}\n    minDiversity: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := New(none).Evaluate(cloud, user(t, "y", "password")); a.Tier != "" || !a.Exempt {
		t.Errorf("unmatched user: tier %q exempt %v; want no tier, never acted on", a.Tier, a.Exempt)
	}
}

func TestRecommendations(t *testing.T) {
	t.Parallel()
	e := New(nil)
	tests := []struct {
		name    string
		roles   []string
		methods []string
		first   []model.MethodKind
	}{
		{"phone-only-user-needs-a-device-other-than-the-phone", nil, []string{"password", "mobile"}, []model.MethodKind{"windows-hello"}},
		{"authenticator-user-needs-a-second-device", nil, []string{"password", "auth:a1", "mobile"}, []model.MethodKind{"windows-hello"}},
		{"password-only-needs-two-methods", nil, []string{"password"}, []model.MethodKind{"passkey-authenticator", "windows-hello"}},
		{"admin-needs-phishing-resistant", []string{"Global Administrator"}, []string{"password", "auth:a1"}, []model.MethodKind{"windows-hello"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := user(t, "u", tc.methods...)
			u.Roles = tc.roles
			a := e.Evaluate(cloud, u)
			if len(a.Recommendations) == 0 {
				t.Fatalf("no recommendations for violations %v", a.Violations)
			}
			if got := a.Recommendations[0].Add; !slices.Equal(got, tc.first) {
				t.Errorf("first recommendation adds %v, want %v (all: %s)", got, tc.first, mustJSON(a.Recommendations))
			}
			// Every recommendation must actually work: register it and re-check.
			for _, r := range a.Recommendations {
				fixed := *u
				fixed.Methods = append(slices.Clone(u.Methods), methodsFor(t, r.Add)...)
				if b := e.Evaluate(cloud, &fixed); !b.Compliant {
					t.Errorf("recommendation %q leaves violations %v", r.Action, b.Violations)
				}
			}
			for i := 1; i < len(a.Recommendations); i++ {
				if a.Recommendations[i].Cost < a.Recommendations[i-1].Cost {
					t.Errorf("recommendations not ranked by cost: %s", mustJSON(a.Recommendations))
				}
			}
		})
	}
	if a := e.Evaluate(cloud, user(t, "ok", "password", "auth:a1", "fido2:k1")); len(a.Recommendations) != 0 {
		t.Errorf("compliant user got recommendations %v", a.Recommendations)
	}
}

func methodsFor(t *testing.T, kinds []model.MethodKind) []model.Method {
	spec := map[model.MethodKind]string{
		"passkey-authenticator": "passkey", "windows-hello": "whfb:new-w", "microsoft-authenticator": "auth:new-a@2030-01-01",
		"software-oath": "soft", "mobile-phone": "mobile", "platform-credential": "mac:new-m", "office-phone": "office",
		"alternate-mobile-phone": "alt", "fido2": "fido2:new-k", "hardware-oath": "hw:new-h",
	}
	var specs []string
	for _, k := range kinds {
		specs = append(specs, spec[k])
	}
	return methods(t, specs...)
}

func TestMinHittingSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		paths []depSet
		want  int
	}{
		{"none", nil, 0},
		{"one-path-of-three", []depSet{0b111}, 1},
		{"disjoint-singletons", []depSet{0b1, 0b10, 0b100}, 3},
		{"triangle-needs-two", []depSet{0b011, 0b110, 0b101}, 2},
		{"superset-is-irrelevant", []depSet{0b01, 0b11}, 1},
		{"duplicates", []depSet{0b101, 0b101}, 1},
		{"two-shared-pairs", []depSet{0b0011, 0b1100, 0b0110}, 2},
	}
	for _, tc := range tests {
		if got := minHittingSet(tc.paths); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

// A user with more instances than bits still gets an answer, never a panic,
// and never a higher diversity than the truth.
func TestManyInstances(t *testing.T) {
	t.Parallel()
	var specs []string
	specs = append(specs, "password")
	for i := 0; i < 80; i++ {
		specs = append(specs, "hw:h"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	a := New(strictPolicy(t)).Evaluate(cloud, user(t, "u", specs...))
	if a.Diversity != 1 || !slices.Equal(a.SPOFs, []string{"entra-mfa"}) {
		t.Errorf("diversity %d spofs %v; want 1 [entra-mfa]", a.Diversity, a.SPOFs)
	}
}
