package synth_test

import (
	"slices"
	"testing"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// sampleTenant is the project's sample directory snapshot; handler and CLI
// tests read it too.
const sampleTenant = "../../events/tenant.json"

// deliberatelyUnknown are the Graph types the sample tenant carries to show
// that methods credres does not model are kept and reported.
var deliberatelyUnknown = map[string]bool{
	"#microsoft.graph.qrCodePinAuthenticationMethod": true,
}

func TestSampleTenantDecodes(t *testing.T) {
	t.Parallel()
	d, err := graphjson.LoadDirectory(sampleTenant)
	if err != nil {
		t.Fatalf("LoadDirectory: %v", err)
	}
	want := model.Tenant{ID: "7c1f5a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b", PasswordAuth: model.PasswordFederated}
	if got := d.Tenant.WithPolicy(model.TenantPolicy{}); got != want {
		t.Errorf("tenant = %+v, want %+v", got, want)
	}
	// The sample tenant carries a realistic policy of its own
	// (docs/SNAPSHOT.md, The sample tenant).
	if amp, sp, ca := d.Tenant.AuthMethodsPolicy, d.Tenant.StrengthPolicies, d.Tenant.CAPolicies; amp == nil || len(amp.Configs) < 9 || sp == nil || len(*sp) < 3 || ca == nil || len(*ca) < 3 {
		t.Errorf("the sample tenant's own policy is missing or incomplete")
	}
	if n := len(d.Users); n < 40 || n > 50 {
		t.Errorf("%d users, want 40 to 50", n)
	}
	kinds := map[model.MethodKind]int{}
	var synced, unknown int
	for _, u := range d.Users {
		if u.OnPremisesSyncEnabled {
			synced++
		}
		for _, m := range u.Methods {
			kinds[m.Kind]++
			if len(m.Raw) == 0 {
				t.Errorf("user %s: method %s has no raw Graph object", u.UserPrincipalName, m.ID)
			}
			if m.Kind == model.KindUnknown {
				unknown++
				if !deliberatelyUnknown[m.GraphType] {
					t.Errorf("user %s: method %s (%q) decodes as unknown", u.UserPrincipalName, m.ID, m.GraphType)
				}
			}
		}
	}
	for _, k := range model.MethodKinds {
		if kinds[k] == 0 {
			t.Errorf("no %s method in the sample tenant", k)
		}
	}
	if unknown != len(deliberatelyUnknown) {
		t.Errorf("%d unknown methods, want %d", unknown, len(deliberatelyUnknown))
	}
	if synced == 0 || synced == len(d.Users) {
		t.Errorf("%d of %d users synced, want a mix of cloud-only and synced users", synced, len(d.Users))
	}
}

// TestSampleTenantUsers pins the users that sample audit events and the
// documentation refer to.
func TestSampleTenantUsers(t *testing.T) {
	t.Parallel()
	d, err := graphjson.LoadDirectory(sampleTenant)
	if err != nil {
		t.Fatalf("LoadDirectory: %v", err)
	}
	const (
		pwd   = model.KindPassword
		auth  = model.KindAuthenticator
		mob   = model.KindMobilePhone
		off   = model.KindOfficePhone
		key   = model.KindFIDO2
		whfb  = model.KindWindowsHello
		tap   = model.KindTemporaryAccessPass
		ga    = "Global Administrator"
		bgGrp = synth.BreakGlassGroup
	)
	for _, tc := range []struct {
		name   string
		id     string
		upn    string
		synced bool
		kinds  []model.MethodKind
		role   string
		group  string
	}{
		{"authenticator-and-mobile-share-the-phone", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a01", "adele.vance@contoso.example", false, []model.MethodKind{pwd, auth, mob}, "", ""},
		{"security-key-gives-a-second-way-in", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a02", "alex.wilber@contoso.example", false, []model.MethodKind{pwd, auth, key}, "", ""},
		{"mobile-and-office-share-the-carrier", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a03", "bianca.pisani@contoso.example", false, []model.MethodKind{pwd, mob, off}, "", ""},
		{"temporary-access-pass-is-not-a-path", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a04", "diego.siciliani@contoso.example", false, []model.MethodKind{pwd, tap}, "", ""},
		{"mobile-phone-alone", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a05", "grady.archie@contoso.example", false, []model.MethodKind{pwd, mob}, "", ""},
		{"passwordless-only", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a06", "henrietta.mueller@contoso.example", false, []model.MethodKind{whfb, key, key}, "", ""},
		{"password-only", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a07", "isaiah.langer@contoso.example", false, []model.MethodKind{pwd}, "", ""},
		{"synced-user-depends-on-premises", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a08", "johanna.lorenz@contoso.example", true, []model.MethodKind{pwd, auth, mob}, "", ""},
		{"compliant-global-administrator", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a20", "allan.deyoung@contoso.example", false, []model.MethodKind{pwd, auth, key, whfb}, ga, ""},
		{"security-administrator-with-phone-only", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a22", "cameron.white@contoso.example", false, []model.MethodKind{pwd, mob}, "Security Administrator", ""},
		{"first-break-glass-account", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a27", "breakglass01@contoso.example", false, []model.MethodKind{pwd, key, key}, ga, bgGrp},
		{"second-break-glass-account", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a28", "breakglass02@contoso.example", false, []model.MethodKind{pwd, key, key}, ga, bgGrp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, ok := d.FindUser(tc.id)
			if !ok {
				t.Fatalf("no user %s", tc.id)
			}
			if u.UserPrincipalName != tc.upn {
				t.Errorf("UPN = %s, want %s", u.UserPrincipalName, tc.upn)
			}
			if u.OnPremisesSyncEnabled != tc.synced {
				t.Errorf("onPremisesSyncEnabled = %v, want %v", u.OnPremisesSyncEnabled, tc.synced)
			}
			var got []model.MethodKind
			for _, m := range u.Methods {
				got = append(got, m.Kind)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.kinds))
			if !slices.Equal(got, want) {
				t.Errorf("method kinds = %v, want %v", got, want)
			}
			if tc.role != "" && !slices.Contains(u.Roles, tc.role) {
				t.Errorf("roles = %v, want %s among them", u.Roles, tc.role)
			}
			if tc.group != "" && !slices.Contains(u.Groups, tc.group) {
				t.Errorf("groups = %v, want %s among them", u.Groups, tc.group)
			}
		})
	}
}

func TestSampleTenantPasswordlessPhoneSignIn(t *testing.T) {
	t.Parallel()
	d, err := graphjson.LoadDirectory(sampleTenant)
	if err != nil {
		t.Fatalf("LoadDirectory: %v", err)
	}
	var n int
	for _, u := range d.Users {
		if u.PasswordlessPhoneSignIn() {
			n++
		}
	}
	if n < 2 {
		t.Errorf("%d users with passwordless phone sign-in, want a few", n)
	}
}

// TestExamplePolicyTiers checks that the example policy parses and sorts the
// sample tenant's users into the tiers the documentation describes.
func TestExamplePolicyTiers(t *testing.T) {
	t.Parallel()
	d, err := graphjson.LoadDirectory(sampleTenant)
	if err != nil {
		t.Fatalf("LoadDirectory: %v", err)
	}
	p, err := rules.LoadPolicy("../../events/policy-example.yaml")
	if err != nil {
		t.Fatalf("LoadPolicy: %v", err)
	}
	e := rules.New(p)
	for i := range d.Users {
		u := &d.Users[i]
		want := "standard"
		switch {
		case slices.Contains(u.Groups, synth.BreakGlassGroup):
			want = "break-glass"
		case len(u.Roles) > 0:
			want = "privileged"
		}
		a := e.Evaluate(d.Tenant, u)
		if a.Tier != want {
			t.Errorf("%s: tier %q, want %q", u.UserPrincipalName, a.Tier, want)
		}
		if want == "break-glass" && !a.Exempt {
			t.Errorf("%s: break-glass account not exempt", u.UserPrincipalName)
		}
	}
}
