package synth_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
)

func snapshot(t testing.TB, d *model.Directory) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.WriteJSON(&buf, d); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	return buf.Bytes()
}

func TestTenantIsDeterministic(t *testing.T) {
	t.Parallel()
	a := snapshot(t, synth.Tenant(2000, 42))
	b := snapshot(t, synth.Tenant(2000, 42))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different snapshots")
	}
	if c := snapshot(t, synth.Tenant(2000, 43)); bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same snapshot")
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		users int
	}{
		{"empty-tenant", 0},
		{"one-user", 1},
		{"small-tenant-without-break-glass", 99},
		{"tenant-of-three-thousand", 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := synth.Tenant(tc.users, 7)
			got, err := graphjson.DecodeDirectory(bytes.NewReader(snapshot(t, want)))
			if err != nil {
				t.Fatalf("DecodeDirectory: %v", err)
			}
			if got.Tenant != want.Tenant {
				t.Errorf("tenant = %+v, want %+v", got.Tenant, want.Tenant)
			}
			if len(got.Users) != tc.users {
				t.Fatalf("%d users read back, want %d", len(got.Users), tc.users)
			}
			for i := range want.Users {
				if !reflect.DeepEqual(got.Users[i], want.Users[i]) {
					t.Fatalf("user %d differs after the round trip:\n got %+v\nwant %+v", i, got.Users[i], want.Users[i])
				}
			}
		})
	}
}

func TestTenantIDsAreUnique(t *testing.T) {
	t.Parallel()
	d := synth.Tenant(10_000, 1)
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	upns := map[string]bool{}
	methodIDs := map[string]string{}
	for _, u := range d.Users {
		if upns[u.UserPrincipalName] {
			t.Errorf("UPN %s repeats", u.UserPrincipalName)
		}
		upns[u.UserPrincipalName] = true
		inUser := map[string]bool{}
		for _, m := range u.Methods {
			if inUser[m.ID] {
				t.Errorf("user %s: method id %s repeats", u.ID, m.ID)
			}
			inUser[m.ID] = true
			// Password, email and phone methods have Graph's fixed ids;
			// every other method id is the user's own.
			switch m.Kind {
			case model.KindPassword, model.KindEmail, model.KindMobilePhone, model.KindAlternateMobilePhone, model.KindOfficePhone:
				continue
			}
			if other, dup := methodIDs[m.ID]; dup {
				t.Errorf("method id %s of user %s also belongs to user %s", m.ID, u.ID, other)
			}
			methodIDs[m.ID] = u.ID
		}
	}
}

// TestTenantMix checks the population against the shares the package
// documents, loosely enough for any seed.
func TestTenantMix(t *testing.T) {
	t.Parallel()
	const n = 10_000
	d := synth.Tenant(n, 2025)
	kinds := map[model.MethodKind]int{}
	var admins, synced, telephonyOnly, passwordOnly, phishingResistant, passwordless, breakGlass int
	for _, u := range d.Users {
		if len(u.Roles) > 0 {
			admins++
		}
		if u.OnPremisesSyncEnabled {
			synced++
		}
		if u.PasswordlessPhoneSignIn() {
			passwordless++
		}
		for _, g := range u.Groups {
			if g == synth.BreakGlassGroup {
				breakGlass++
			}
		}
		var phone, other, password, strong int
		for _, m := range u.Methods {
			kinds[m.Kind]++
			switch m.Kind {
			case model.KindPassword:
				password++
			case model.KindMobilePhone, model.KindAlternateMobilePhone, model.KindOfficePhone:
				phone++
			case model.KindFIDO2, model.KindWindowsHello, model.KindPasskeyAuthenticator, model.KindPlatformCredential:
				strong++
				other++
			case model.KindEmail, model.KindTemporaryAccessPass:
			default:
				other++
			}
		}
		if password > 0 && phone > 0 && other == 0 {
			telephonyOnly++
		}
		if password > 0 && phone == 0 && other == 0 {
			passwordOnly++
		}
		if strong > 0 {
			phishingResistant++
		}
	}
	for _, k := range model.MethodKinds {
		if kinds[k] == 0 {
			t.Errorf("no %s method in %d users", k, n)
		}
	}
	for _, c := range []struct {
		what   string
		got    int
		lo, hi float64
	}{
		{"administrators", admins, 0.005, 0.02},
		{"synchronised users", synced, 0.27, 0.33},
		{"telephony-only users", telephonyOnly, 0.13, 0.19},
		{"password-only users", passwordOnly, 0.02, 0.05},
		{"users with a phishing-resistant method", phishingResistant, 0.09, 0.18},
		{"users with passwordless phone sign-in", passwordless, 0.001, 0.06},
	} {
		if share := float64(c.got) / n; share < c.lo || share > c.hi {
			t.Errorf("%s: %.1f%%, want %.1f%%–%.1f%%", c.what, 100*share, 100*c.lo, 100*c.hi)
		}
	}
	if breakGlass != 2 {
		t.Errorf("%d break-glass accounts, want 2", breakGlass)
	}
}

func BenchmarkTenant100k(b *testing.B) {
	for b.Loop() {
		synth.Tenant(100_000, 1)
	}
}
