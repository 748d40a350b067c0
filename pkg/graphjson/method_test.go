package graphjson

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

// Microsoft's documented list responses decode method by method; the
// per-type collections omit "@odata.type", so their type comes from the
// request (the file name here), as pkg/graph passes it.
func TestDecodeMicrosoftSamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		as    string
		kinds []model.MethodKind
	}{
		{"methods-list_v1.0_authentication-list-methods.json", "", []model.MethodKind{model.KindFIDO2, model.KindWindowsHello}},
		{"methods-list_beta_authentication-list-methods.json", "", []model.MethodKind{model.KindPassword, model.KindMobilePhone, model.KindAlternateMobilePhone}},
		{"fido2Methods-list_v1.0.json", model.GraphFIDO2, []model.MethodKind{model.KindFIDO2, model.KindFIDO2}},
		{"windowsHelloForBusinessMethods-list_v1.0.json", model.GraphWindowsHello, nil},
		{"microsoftAuthenticatorMethods-list_v1.0.json", model.GraphAuthenticator, nil},
		{"phoneMethods-list_v1.0.json", model.GraphPhone, nil},
		{"emailMethods-list_v1.0.json", model.GraphEmail, []model.MethodKind{model.KindEmail}},
		{"softwareOathMethods-list_v1.0.json", model.GraphSoftwareOath, nil},
		{"temporaryAccessPassMethods-list_v1.0.json", model.GraphTemporaryAccess, []model.MethodKind{model.KindTemporaryAccessPass}},
		{"passwordMethods-list_v1.0-doc.json", model.GraphPassword, []model.MethodKind{model.KindPassword}},
		{"hardwareOathMethods-list_beta.json", "", []model.MethodKind{model.KindHardwareOath, model.KindHardwareOath}},
		{"platformCredentialMethods-list_v1.0.json", "", []model.MethodKind{model.KindPlatformCredential, model.KindPlatformCredential}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "graph", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			ms, err := DecodeMethodList(data, tc.as)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				t.Fatal("no methods")
			}
			for i, m := range ms {
				if m.Kind == model.KindUnknown || m.ID == "" || len(m.Raw) == 0 {
					t.Errorf("method %d: %+v", i, m)
				}
				if tc.kinds != nil && (i >= len(tc.kinds) || m.Kind != tc.kinds[i]) {
					t.Errorf("method %d kind %s, want %v", i, m.Kind, tc.kinds)
				}
			}
		})
	}
}

func TestDecodeMethodFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		json  string
		check func(t *testing.T, m model.Method)
	}{
		{"creationDateTime-and-createdDateTime", `{"@odata.type":"#microsoft.graph.fido2AuthenticationMethod","id":"k","creationDateTime":"2020-08-10T06:44:09Z"}`, func(t *testing.T, m model.Method) {
			if !m.Created.Equal(time.Date(2020, 8, 10, 6, 44, 9, 0, time.UTC)) {
				t.Errorf("created %v", m.Created)
			}
		}},
		{"seven-digit-fractions", `{"@odata.type":"#microsoft.graph.temporaryAccessPassAuthenticationMethod","id":"t","createdDateTime":"2022-06-06T16:43:04.6438213Z","startDateTime":"2022-06-06T16:48:03.027Z","lifetimeInMinutes":60,"isUsableOnce":false,"isUsable":false,"methodUsabilityReason":"NotYetValid"}`, func(t *testing.T, m model.Method) {
			d := m.Detail()
			if m.Kind != model.KindTemporaryAccessPass || d.TAPLifetimeMins != 60 || d.TAPUsable == nil || *d.TAPUsable || d.TAPUsabilityNote != "NotYetValid" || d.TAPStart.IsZero() {
				t.Errorf("%+v", m)
			}
		}},
		{"passkey-in-authenticator-by-aaguid", `{"@odata.type":"#microsoft.graph.fido2AuthenticationMethod","id":"p","aaGuid":"DE1E552D-DB1D-4423-A619-566B625CDC84"}`, func(t *testing.T, m model.Method) {
			if m.Kind != model.KindPasskeyAuthenticator {
				t.Errorf("kind %s", m.Kind)
			}
		}},
		{"office-phone", `{"@odata.type":"#microsoft.graph.phoneAuthenticationMethod","id":"o","phoneNumber":"+1 2065550100","phoneType":"office"}`, func(t *testing.T, m model.Method) {
			if m.Kind != model.KindOfficePhone || m.PhoneNumber != "+1 2065550100" {
				t.Errorf("%+v", m)
			}
		}},
		{"hardware-device", `{"@odata.type":"#microsoft.graph.hardwareOathAuthenticationMethod","id":"h","device":{"id":"d","serialNumber":"TOTP1","status":"activated"}}`, func(t *testing.T, m model.Method) {
			if m.Device == nil || m.Device.SerialNumber != "TOTP1" || m.Device.Status != "activated" {
				t.Errorf("%+v", m.Device)
			}
		}},
		{"unknown-type-is-kept", `{"@odata.type":"#microsoft.graph.qrCodePinAuthenticationMethod","id":"q"}`, func(t *testing.T, m model.Method) {
			if m.Kind != model.KindUnknown || m.GraphType != "#microsoft.graph.qrCodePinAuthenticationMethod" {
				t.Errorf("%+v", m)
			}
		}},
		{"no-type-no-clue", `{"id":"x","displayName":"something"}`, func(t *testing.T, m model.Method) {
			if m.Kind != model.KindUnknown || m.GraphType != "" {
				t.Errorf("%+v", m)
			}
		}},
		{"phone-of-unknown-type", `{"@odata.type":"#microsoft.graph.phoneAuthenticationMethod","id":"x","phoneType":"pager"}`, func(t *testing.T, m model.Method) {
			if m.Kind != model.KindUnknown {
				t.Errorf("kind %s", m.Kind)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := DecodeMethod([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
		})
	}
}

func TestDecodeMethodErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`[]`, `{"@odata.type":"#microsoft.graph.passwordAuthenticationMethod"}`, `{"id":"x","createdDateTime":"yesterday"}`, `{"id":`} {
		if _, err := DecodeMethod([]byte(in)); !errors.Is(err, model.ErrInvalidInput) {
			t.Errorf("%s: err %v", in, err)
		}
	}
	ms, err := DecodeMethodList([]byte(`{"value":[{"id":"a","@odata.type":"#microsoft.graph.emailAuthenticationMethod"},{"nope":1},{"id":"c","@odata.type":"#microsoft.graph.passwordAuthenticationMethod"}]}`), "")
	if len(ms) != 2 || err == nil || !strings.Contains(err.Error(), "method 1") {
		t.Errorf("a bad item must be named and the others kept: %d methods, %v", len(ms), err)
	}
	if _, err := DecodeMethodList([]byte(`{"values":[]}`), ""); err == nil {
		t.Errorf("a list without value accepted")
	}
}

// A method written back is the Graph object it was read from, so snapshots
// round-trip; one built in code is written in Graph's shape.
func TestMethodJSONRoundTrip(t *testing.T) {
	t.Parallel()
	in := `{"@odata.type":"#microsoft.graph.phoneAuthenticationMethod","id":"p","phoneNumber":"+1 2065550100","phoneType":"mobile","smsSignInState":"ready"}`
	m, err := DecodeMethod([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(m)
	if string(out) != in {
		t.Errorf("verbatim: %s", out)
	}
	built := model.Method{ID: "w", GraphType: model.GraphWindowsHello, DisplayName: "LAPTOP", Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	out, _ = json.Marshal(built)
	back, err := DecodeMethod(out)
	if err != nil || back.Kind != model.KindWindowsHello || !back.Created.Equal(built.Created) || back.DisplayName != "LAPTOP" {
		t.Errorf("built: %s -> %+v, %v", out, back, err)
	}
}

func TestDirectoryValidation(t *testing.T) {
	t.Parallel()
	_, err := DecodeDirectory(strings.NewReader(`{"tenant":{"passwordAuth":"ldap"},"users":[{"id":"a"},{"id":"a"},{}]}`))
	for _, want := range []string{`passwordAuth "ldap"`, "user 1", "repeats user 0", "user 2: invalid input: no id"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v lacks %q", err, want)
		}
	}
	d, err := DecodeDirectory(strings.NewReader(`{"tenant":{"id":"t"},"users":[{"id":"u","userPrincipalName":"Pat@Contoso.example","methods":[]}]}`))
	if err != nil || d.Tenant.PasswordAuth != model.PasswordCloud {
		t.Fatalf("%+v %v", d, err)
	}
	if _, ok := d.FindUser("pat@contoso.EXAMPLE"); !ok {
		t.Errorf("user principal names compare without case")
	}
}

func FuzzDecodeMethod(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "graph", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var page struct{ Value []json.RawMessage }
		if json.Unmarshal(data, &page) == nil {
			for _, v := range page.Value {
				f.Add([]byte(v))
			}
		}
	}
	f.Add([]byte(`{"id":"x","creationDateTime":"2020-01-01T00:00:00Z","createdDateTime":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMethod(data)
		if err != nil {
			if !errors.Is(err, model.ErrInvalidInput) {
				t.Fatalf("error not classified: %v", err)
			}
			return
		}
		if m.ID == "" || m.Kind == "" {
			t.Fatalf("decoded without id or kind: %+v", m)
		}
		// Whatever decodes, writes back, and decodes the same.
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeMethod(out)
		if err != nil || again.Kind != m.Kind || again.ID != m.ID {
			t.Fatalf("round trip: %+v -> %+v, %v", m, again, err)
		}
	})
}
