package rules

import (
	"fmt"
	"testing"

	"github.com/credres/credres/pkg/model"
)

// Issue: paths beyond a fixed cap were dropped, so a key listed after 24
// Authenticator registrations vanished from the assessment.
func TestNoPathCap(t *testing.T) {
	t.Parallel()
	e := New(nil)
	for _, n := range []int{23, 24, 40, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			specs := []string{"password"}
			for i := range n {
				specs = append(specs, fmt.Sprintf("auth:a%d@2022-01-%02d", i, 1+i%28))
			}
			specs = append(specs, "fido2:k1")
			u := user(t, "admin", specs...)
			u.Roles = []string{"Global Administrator"}
			a := e.Evaluate(cloud, u)
			if a.Diversity != 2 || !a.Compliant || !a.PhishingResistant {
				t.Errorf("diversity %d, compliant %v, phishing resistant %v; want 2, true, true (violations %v)",
					a.Diversity, a.Compliant, a.PhishingResistant, a.Violations)
			}
			if len(a.Recommendations) != 0 {
				t.Errorf("recommendations %v for a compliant user", a.Recommendations)
			}
		})
	}
}

// More instance dependencies than a machine word holds: every key still
// counts, whatever the order.
func TestMoreInstancesThanBits(t *testing.T) {
	t.Parallel()
	e := New(strictPolicy(t))
	for _, n := range []int{10, 57, 58, 63, 64, 65, 130} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			specs := []string{"password", "mobile"}
			for i := range n {
				specs = append(specs, fmt.Sprintf("hw:h%d", i))
			}
			for i := range n {
				specs = append(specs, fmt.Sprintf("fido2:k%d", i), fmt.Sprintf("whfb:w%d", i))
			}
			a := e.Evaluate(cloud, user(t, "u", specs...))
			// Every key and every PC is a path of its own; the password's
			// second factors all share entra-mfa.
			if want := 2*n + 1; a.Diversity != want {
				t.Errorf("diversity %d, want %d", a.Diversity, want)
			}
			if got, want := len(a.Paths), 2*n+1+n; got != want {
				t.Errorf("%d paths, want %d", got, want)
			}
			if len(a.SPOFs) != 0 {
				t.Errorf("spofs %v", a.SPOFs)
			}
			// A hardware token listed last is locked out with the MFA service.
			o, err := ParseOutage("entra-mfa")
			if err != nil {
				t.Fatal(err)
			}
			if locked, _ := LockedOut(cloud, user(t, "u", append([]string{"password"}, specs[2:2+n]...)...), o); !locked {
				t.Error("tokens survive an entra-mfa outage")
			}
			o, _ = ParseOutage(fmt.Sprintf("security-key/k%d", n-1))
			if locked, _ := LockedOut(cloud, user(t, "u", "password", fmt.Sprintf("fido2:k%d", n-1)), o); !locked {
				t.Error("a key survives its own failure")
			}
		})
	}
}

// The same method id listed twice is one method: one key, one failure.
func TestDuplicateMethodID(t *testing.T) {
	t.Parallel()
	e := New(strictPolicy(t))
	for _, spec := range []string{"fido2:k1", "whfb:k1", "mac:k1", "hw:k1", "auth:k1@2023-01-01"} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			u := user(t, "u", "password", "auth:a0@2020-01-01", spec, spec)
			a := e.Evaluate(cloud, u)
			single := e.Evaluate(cloud, user(t, "u", "password", "auth:a0@2020-01-01", spec))
			if a.Diversity != single.Diversity || pathsString(a.Paths) != pathsString(single.Paths) {
				t.Errorf("twice: diversity %d paths %s; once: %d %s", a.Diversity, pathsString(a.Paths), single.Diversity, pathsString(single.Paths))
			}
			if len(a.Warnings) != 1 || a.Warnings[0].ID != "k1" || a.Warnings[0].SameAs != "k1" {
				t.Errorf("warnings %+v, want one about k1", a.Warnings)
			}
		})
	}
	// What assess says and what whatif says agree: one key, down, is no key.
	u := user(t, "u", "fido2:k1", "fido2:k1")
	if a := e.Evaluate(cloud, u); a.Diversity != 1 {
		t.Errorf("two entries of one key: diversity %d, want 1", a.Diversity)
	}
	o, err := ParseOutage("security-key/k1")
	if err != nil {
		t.Fatal(err)
	}
	if locked, _ := LockedOut(cloud, u, o); !locked {
		t.Error("not locked out by the key's own failure")
	}
}

// Re-registering Authenticator on the same phone (same device name and
// device tag) is one phone, not two.
func TestAuthenticatorReRegistration(t *testing.T) {
	t.Parallel()
	e := New(nil)
	named := func(u *model.User, names ...string) *model.User {
		k := 0
		for i := range u.Methods {
			if u.Methods[i].Kind == model.KindAuthenticator {
				u.Methods[i].DisplayName, u.Methods[i].DeviceTag = names[k], "SoftwareTokenActivated"
				k++
			}
		}
		return u
	}
	tests := []struct {
		name      string
		names     []string
		diversity int
		warnings  int
	}{
		{"same-name-is-one-phone", []string{"iPhone 15", "iPhone 15"}, 1, 1},
		{"names-compare-as-people-read-them", []string{"iPhone 15", " iphone 15"}, 1, 1},
		{"different-names-are-two-phones", []string{"iPhone 15", "Pixel 8"}, 2, 0},
		{"no-name-is-never-merged", []string{"", ""}, 2, 0},
		{"three-registrations-two-phones", []string{"iPhone 15", "Pixel 8", "iPhone 15"}, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			specs := []string{"password"}
			for i := range tc.names {
				specs = append(specs, fmt.Sprintf("auth:a%d@202%d-01-01", i, i))
			}
			a := e.Evaluate(cloud, named(user(t, "u", specs...), tc.names...))
			if a.Diversity != tc.diversity || len(a.Warnings) != tc.warnings {
				t.Errorf("diversity %d, warnings %+v; want %d, %d", a.Diversity, a.Warnings, tc.diversity, tc.warnings)
			}
		})
	}
	// A different device tag is a different registration kind: not merged.
	u := named(user(t, "u", "password", "auth:a0@2020-01-01", "auth:a1@2021-01-01"), "iPhone 15", "iPhone 15")
	u.Methods[2].DeviceTag = "SoftwareTokenActivated-2"
	if a := e.Evaluate(cloud, u); a.Diversity != 2 {
		t.Errorf("different device tags: diversity %d, want 2", a.Diversity)
	}
}
