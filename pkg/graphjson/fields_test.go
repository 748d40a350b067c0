package graphjson

import (
	"bytes"
	"testing"
	"time"
)

// The snapshot's exportedAt, a user's devices and registration details are
// read, and "devices": [] (known: none) stays apart from no devices key
// (not known).
func TestExportedAtDevicesAndRegistrationDetails(t *testing.T) {
	t.Parallel()
	const doc = `{"exportedAt":"2026-12-01T08:30:00Z","tenant":{"id":"t"},"users":[
	 {"id":"u1","devices":[{"id":"d1","displayName":"LAPTOP-1","operatingSystem":"Windows","trustType":"AzureAd","registered":true,"owned":true}],
	  "registrationDetails":{"isSsprRegistered":true,"userPreferredMethodForSecondaryAuthentication":"push","systemPreferredAuthenticationMethods":["fido2"],"isSystemPreferredAuthenticationMethodEnabled":true,"isAdmin":false}},
	 {"id":"u2","devices":[]},
	 {"id":"u3"}]}`
	d, err := DecodeDirectory(bytes.NewReader([]byte(doc)))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC); !d.ExportedAt.Equal(want) {
		t.Errorf("exportedAt %v, want %v", d.ExportedAt, want)
	}
	u1, u2, u3 := d.Users[0], d.Users[1], d.Users[2]
	if len(u1.Devices) != 1 || u1.Devices[0].OperatingSystem != "Windows" || u1.Devices[0].TrustType != "AzureAd" || !u1.Devices[0].Owned {
		t.Errorf("u1 devices %+v", u1.Devices)
	}
	if r := u1.Registration; r == nil || r.IsSsprRegistered == nil || !*r.IsSsprRegistered ||
		r.UserPreferredMethodForSecondaryAuthentication != "push" || len(r.SystemPreferredAuthenticationMethods) != 1 {
		t.Errorf("u1 registration details %+v", r)
	}
	if !u2.DevicesKnown() || len(u2.Devices) != 0 {
		t.Errorf("u2: devices [] should be known and empty, got %#v", u2.Devices)
	}
	if u3.DevicesKnown() {
		t.Errorf("u3: no devices key should be unknown, got %#v", u3.Devices)
	}
	for _, bad := range []string{
		`{"exportedAt":"yesterday","users":[]}`,
		`{"exportedAt":"2026-12-01T08:30:00Z","exportedAt":"2026-12-01T08:30:00Z","users":[]}`,
	} {
		if _, err := DecodeDirectory(bytes.NewReader([]byte(bad))); err == nil {
			t.Errorf("%s: decoded, want an error", bad)
		}
	}
}
