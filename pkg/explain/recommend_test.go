package explain

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// TestRecommendationWords words the engine's advice for each situation of
// the user's devices; testdata/recommendations.txt holds the sentences
// (`go test ./pkg/explain -update` after an intended change; review the diff).
func TestRecommendationWords(t *testing.T) {
	t.Parallel()
	laptop := model.Device{ID: "d1", DisplayName: "LAPTOP-7", OperatingSystem: "Windows", TrustType: "AzureAd", Registered: true}
	mac := model.Device{ID: "d2", DisplayName: "Pat's MacBook Pro", OperatingSystem: "MacMDM", TrustType: "Workplace", Registered: true}
	phone := model.Device{ID: "d3", DisplayName: "iPhone 15", OperatingSystem: "iOS", TrustType: "Workplace", Registered: true}
	phoneUser := []string{
		`{"@odata.type":"#microsoft.graph.passwordAuthenticationMethod","id":"pw"}`,
		`{"@odata.type":"#microsoft.graph.microsoftAuthenticatorAuthenticationMethod","id":"a1","displayName":"iPhone 15","createdDateTime":"2022-01-01T00:00:00Z"}`,
		`{"@odata.type":"#microsoft.graph.phoneAuthenticationMethod","id":"p1","phoneType":"mobile","phoneNumber":"+1 2065550100"}`,
	}
	helloAdmin := []string{
		`{"@odata.type":"#microsoft.graph.passwordAuthenticationMethod","id":"pw"}`,
		`{"@odata.type":"#microsoft.graph.windowsHelloForBusinessAuthenticationMethod","id":"w1","displayName":"laptop-7"}`,
	}
	cases := []struct {
		name    string
		admin   bool
		methods []string
		devices []model.Device
		tenant  model.Tenant
	}{
		{"windows-pc-without-windows-hello", false, phoneUser, []model.Device{phone, laptop}, model.Tenant{}},
		{"only-windows-pc-has-windows-hello", true, helloAdmin, []model.Device{laptop, phone}, model.Tenant{}},
		{"mac", false, phoneUser, []model.Device{mac, phone}, model.Tenant{}},
		{"no-windows-pc", false, phoneUser, []model.Device{phone}, model.Tenant{}},
		{"devices-unknown", false, phoneUser, nil, model.Tenant{}},
		{"devices-unknown-windows-hello-on-one-pc", true, helloAdmin, nil, model.Tenant{}},
		{"devices-unknown-tenant-turns-passkeys-off", false, phoneUser, nil, model.Tenant{AuthMethodsPolicy: passkeysOff(t)}},
	}
	e := rules.New(nil)
	var b strings.Builder
	for _, c := range cases {
		u := &model.User{ID: c.name, UserPrincipalName: c.name + "@contoso.example", Devices: c.devices}
		if c.admin {
			u.Roles = []string{"Global Administrator"}
		}
		for _, raw := range c.methods {
			m, err := graphjson.DecodeMethod([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			u.Methods = append(u.Methods, m)
		}
		c.tenant.ID, c.tenant.PasswordAuth = "t", model.PasswordCloud
		a := e.Evaluate(c.tenant, u)
		devices, _ := json.Marshal(c.devices)
		b.WriteString("== " + c.name + " (devices " + string(devices) + ")\n")
		for _, s := range remedies(u, &a, nil) {
			b.WriteString(s + "\n")
		}
		b.WriteString("\n")
	}
	golden.Assert(t, filepath.Join("testdata", "recommendations.txt"), b.String())
}

// passkeysOff is an authentication methods policy that turns passkeys
// (FIDO2) off and leaves every other method on.
func passkeysOff(t *testing.T) *model.AuthMethodsPolicy {
	t.Helper()
	var p model.AuthMethodsPolicy
	err := json.Unmarshal([]byte(`{"policyMigrationState":"migrationComplete","authenticationMethodConfigurations":[
		{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","id":"Fido2","state":"disabled"}]}`), &p)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestRecommendationNamesTheDevice(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		r    model.Recommendation
		want string
	}{
		{model.Recommendation{Add: []model.MethodKind{model.KindWindowsHello}, Action: "Set up Windows Hello for Business on your Windows PC"},
			"Set up Windows Hello for Business on your Windows PC"},
		{model.Recommendation{Add: []model.MethodKind{model.KindWindowsHello}, Devices: []model.DeviceAdvice{{Kind: model.KindWindowsHello, Device: "LAPTOP-7"}}},
			`Set up Windows Hello for Business on your Windows PC "LAPTOP-7"`},
		{model.Recommendation{Add: []model.MethodKind{model.KindWindowsHello}, Devices: []model.DeviceAdvice{{Kind: model.KindWindowsHello, Second: true, Carrying: []string{"LAPTOP-7"}}}},
			`Set up Windows Hello for Business on a second Windows PC, as your only one, "LAPTOP-7", already has it`},
		{model.Recommendation{Add: []model.MethodKind{model.KindWindowsHello}, Devices: []model.DeviceAdvice{{Kind: model.KindWindowsHello, Second: true, Carrying: []string{"A", "B"}}}},
			`Set up Windows Hello for Business on another Windows PC, as "A" and "B" already have it`},
		{model.Recommendation{Add: []model.MethodKind{model.KindWindowsHello}, Conditional: true},
			"If you use a Windows PC: set up Windows Hello for Business on that PC"},
		{model.Recommendation{Add: []model.MethodKind{model.KindWindowsHello}, Conditional: true, Devices: []model.DeviceAdvice{{Kind: model.KindWindowsHello, Second: true, Carrying: []string{"LAPTOP-7"}}}},
			`If you use a Windows PC besides "LAPTOP-7": set up Windows Hello for Business on that PC`},
		{model.Recommendation{Add: []model.MethodKind{model.KindPlatformCredential}, Devices: []model.DeviceAdvice{{Kind: model.KindPlatformCredential, Device: "MacBook\nPro"}}},
			`Register your Mac "MacBook Pro" with Platform SSO`},
		{model.Recommendation{Add: []model.MethodKind{model.KindPasskeyAuthenticator, model.KindPlatformCredential}, Conditional: true},
			"If you use a Mac: create a passkey in Microsoft Authenticator on your phone, and register that Mac with Platform SSO"},
		{model.Recommendation{Add: []model.MethodKind{model.KindWindowsHello, model.KindPlatformCredential}, Conditional: true},
			"If you use a Windows PC and a Mac: set up Windows Hello for Business on that PC, and register that Mac with Platform SSO"},
		{model.Recommendation{Add: []model.MethodKind{model.KindAuthenticator}, Devices: []model.DeviceAdvice{{Kind: model.KindAuthenticator, Second: true, Carrying: []string{"iPhone 15"}}}},
			`Add Microsoft Authenticator on a phone or tablet other than "iPhone 15"`},
	} {
		if got := Recommendation(c.r); got != c.want {
			t.Errorf("Recommendation(%+v) =\n %s\nwant\n %s", c.r, got, c.want)
		}
	}
}
