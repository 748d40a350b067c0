package rules

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/pkg/model"
)

// Devices of the device cases, as Graph's registeredDevices and
// ownedDevices list them.
var (
	laptop      = model.Device{ID: "d-laptop", DisplayName: "LAPTOP-7", OperatingSystem: "Windows", OperatingSystemVersion: "10.0.26100.2605", TrustType: "AzureAd", Registered: true, Owned: true}
	homePC      = model.Device{ID: "d-home", DisplayName: "HOME-PC", OperatingSystem: "Windows", OperatingSystemVersion: "10.0.22631.4602", TrustType: "Workplace", Registered: true}
	desktop     = model.Device{ID: "d-desk", DisplayName: "DESK-0412", OperatingSystem: "Windows", OperatingSystemVersion: "10.0.26100.2605", TrustType: "ServerAd", Registered: true}
	macBook     = model.Device{ID: "d-mac", DisplayName: "Pat's MacBook Pro", OperatingSystem: "MacMDM", OperatingSystemVersion: "15.1.1 (24B91)", TrustType: "Workplace", Registered: true, Owned: true}
	iPhone      = model.Device{ID: "d-iphone", DisplayName: "iPhone 15", OperatingSystem: "iOS", OperatingSystemVersion: "18.1.1", TrustType: "Workplace", Registered: true, Owned: true}
	pixel       = model.Device{ID: "d-pixel", DisplayName: "Pixel 8", OperatingSystem: "Android", OperatingSystemVersion: "15.0", TrustType: "Workplace", Registered: true}
	serverOwned = model.Device{ID: "d-srv", DisplayName: "SRV-BUILD-02", OperatingSystem: "Windows Server", TrustType: "ServerAd", Owned: true}
)

// deviceCases cover what advice does with the user's devices (docs/POLICY.md,
// "Recommendations and devices"). Their assessments are checked against
// testdata/golden/devices.json.
var deviceCases = []struct {
	name    string
	roles   []string
	specs   []string
	names   map[string]string // method id -> display name (the device name)
	devices []model.Device    // nil: not known
	fido2   bool              // the tenant turns passkeys (FIDO2) off for everyone
	// want: the device advice of the Windows Hello (or platform
	// credential) recommendation; nil when there must be none.
	want        *model.DeviceAdvice
	conditional bool
}{
	{name: "windows-pc-without-windows-hello", specs: []string{"password", "auth:a1@2022-01-01", "mobile"},
		devices: []model.Device{iPhone, laptop},
		want:    &model.DeviceAdvice{Kind: model.KindWindowsHello, Device: "LAPTOP-7"}},
	{name: "only-windows-pc-has-windows-hello", roles: []string{"Global Administrator"}, specs: []string{"password", "whfb:w1"},
		names: map[string]string{"w1": "laptop-7"}, devices: []model.Device{laptop, iPhone},
		want: &model.DeviceAdvice{Kind: model.KindWindowsHello, Second: true, Carrying: []string{"LAPTOP-7"}}},
	{name: "second-windows-pc-is-named", roles: []string{"Global Administrator"}, specs: []string{"password", "whfb:w1"},
		names: map[string]string{"w1": "LAPTOP-7"}, devices: []model.Device{laptop, homePC, desktop},
		want: &model.DeviceAdvice{Kind: model.KindWindowsHello, Device: "DESK-0412"}},
	{name: "unnamed-windows-hello-takes-the-only-pc", roles: []string{"Global Administrator"}, specs: []string{"password", "whfb:w1"},
		devices: []model.Device{laptop},
		want:    &model.DeviceAdvice{Kind: model.KindWindowsHello, Second: true, Carrying: []string{"LAPTOP-7"}}},
	{name: "mac", specs: []string{"password", "auth:a1@2022-01-01", "mobile"},
		devices: []model.Device{macBook, iPhone},
		want:    &model.DeviceAdvice{Kind: model.KindPlatformCredential, Device: "Pat's MacBook Pro"}},
	{name: "no-windows-pc", specs: []string{"password", "auth:a1@2022-01-01", "mobile"},
		devices: []model.Device{iPhone, pixel, serverOwned}},
	{name: "no-devices", specs: []string{"password", "mobile"}, devices: []model.Device{}},
	{name: "devices-unknown", specs: []string{"password", "auth:a1@2022-01-01", "mobile"}, conditional: true},
	{name: "devices-unknown-windows-hello-on-one-pc", roles: []string{"Global Administrator"}, specs: []string{"password", "whfb:w1"},
		names: map[string]string{"w1": "LAPTOP-7"}, conditional: true,
		want: &model.DeviceAdvice{Kind: model.KindWindowsHello, Second: true, Carrying: []string{"LAPTOP-7"}}},
	{name: "devices-unknown-tenant-turns-passkeys-off", specs: []string{"password", "auth:a1@2022-01-01", "mobile"},
		fido2: true, conditional: true},
}

func TestRecommendationsFollowDevices(t *testing.T) {
	t.Parallel()
	e := New(nil)
	var got []model.Assessment
	for _, c := range deviceCases {
		t.Run(c.name, func(t *testing.T) {
			u := user(t, c.name, c.specs...)
			u.Roles, u.Devices = c.roles, c.devices
			for i := range u.Methods {
				if n, ok := c.names[u.Methods[i].ID]; ok {
					u.Methods[i].DisplayName = n
				}
			}
			tenant := cloud
			if c.fido2 {
				p := loadTenantPolicy(t)
				p.config(t, "Fido2")["state"] = "disabled"
				tenant = p.tenant(t, cloud)
			}
			a := e.Evaluate(tenant, u)
			got = append(got, a)
			if len(a.Recommendations) == 0 {
				t.Fatalf("no recommendations for violations %v", a.Violations)
			}
			checkDeviceAdvice(t, u, a.Recommendations, c.want, c.conditional, c.fido2)
		})
	}
	golden.AssertJSON(t, filepath.Join("testdata", "golden", "devices.json"), got)
}

func checkDeviceAdvice(t *testing.T, u *model.User, recs []model.Recommendation, want *model.DeviceAdvice, conditional, fido2Off bool) {
	t.Helper()
	var advice *model.DeviceAdvice
	cond, indep := false, false
	for i, r := range recs {
		for _, k := range r.Add {
			if !needsComputer(k) {
				continue
			}
			if u.DevicesKnown() && !hasComputerFor(u, k) {
				t.Errorf("%s recommended without a computer for it: %+v", k, r)
			}
			if u.DevicesKnown() == r.Conditional {
				t.Errorf("recommendation %d: conditional = %v with devices known = %v", i, r.Conditional, u.DevicesKnown())
			}
		}
		for j := range r.Devices {
			if d := r.Devices[j]; needsComputer(d.Kind) && advice == nil {
				advice = &d
			}
		}
		cond = cond || r.Conditional
		if !r.Conditional && (slices.Contains(r.Add, model.KindPasskeyAuthenticator) || slices.Contains(r.Add, model.KindFIDO2)) {
			indep = true
		}
		if fido2Off && (slices.Contains(r.Add, model.KindPasskeyAuthenticator) || slices.Contains(r.Add, model.KindFIDO2)) {
			t.Errorf("recommends %v, which the tenant turned off", r.Add)
		}
		if i > 0 && rankOf(r) < rankOf(recs[i-1]) {
			t.Errorf("recommendation %d (%v) ranks before %d (%v): fewer dependencies first", i, r.Add, i-1, recs[i-1].Add)
		}
	}
	if cond != conditional {
		t.Errorf("some recommendation conditional = %v, want %v: %s", cond, conditional, mustJSON(recs))
	}
	if cond && !fido2Off && !indep {
		t.Errorf("a conditional recommendation without a passkey or a FIDO2 key next to it: %s", mustJSON(recs))
	}
	switch {
	case want == nil && advice != nil:
		t.Errorf("device advice %+v, want none", advice)
	case want != nil && advice == nil:
		t.Errorf("no device advice, want %+v: %s", want, mustJSON(recs))
	case want != nil && (advice.Kind != want.Kind || advice.Device != want.Device || advice.Second != want.Second || !slices.Equal(advice.Carrying, want.Carrying)):
		t.Errorf("device advice %+v, want %+v", advice, want)
	}
}

// rankOf is a recommendation's rank, as recommend orders them.
func rankOf(r model.Recommendation) int {
	n := 0
	for _, k := range r.Add {
		c := secondAuthenticator
		if k != c.kind || !slices.ContainsFunc(r.Devices, func(d model.DeviceAdvice) bool { return d.Kind == k && d.Second }) {
			c = candidates[slices.IndexFunc(candidates[:], func(c candidate) bool { return c.kind == k })]
		}
		n += rank(c)
	}
	return n
}

func TestRunsOn(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind model.MethodKind
		os   string
		want bool
	}{
		{model.KindWindowsHello, "Windows", true},
		{model.KindWindowsHello, "windows", true},
		{model.KindWindowsHello, "Windows Server", false},
		{model.KindWindowsHello, "MacMDM", false},
		{model.KindPlatformCredential, "MacMDM", true},
		{model.KindPlatformCredential, "macOS", true},
		{model.KindPlatformCredential, "Mac OS X", true},
		{model.KindPlatformCredential, "iOS", false},
		{model.KindFIDO2, "Windows", false},
	} {
		if got := runsOn(c.kind, c.os); got != c.want {
			t.Errorf("runsOn(%s, %q) = %v", c.kind, c.os, got)
		}
	}
}
