package rules

import (
	"testing"

	"github.com/credres/credres/pkg/model"
)

// BenchmarkEvaluate measures one user's full assessment (paths, diversity,
// violations and, for non-compliant users, recommendations). Figures are in
// docs/PERFORMANCE.md.
func BenchmarkEvaluate(b *testing.B) {
	cases := []struct {
		name   string
		roles  []string
		synced bool
		specs  []string
	}{
		// The most common enterprise user: password, Authenticator, SMS.
		// Non-compliant under the default policy, so recommendations run.
		{"typical", nil, false, []string{"password", "auth:a1@2022-01-01", "mobile"}},
		{"typical-compliant", nil, false, []string{"password", "auth:a1@2022-01-01", "office"}},
		// No single method fixes a password-only user: every pair is tried.
		{"password-only", nil, false, []string{"password"}},
		// Many methods, synced in a federated tenant, privileged.
		{"worst-case", []string{"Global Administrator"}, true, []string{
			"password", "auth:a1@2021-01-01", "auth:a2@2022-01-01", "auth:a3@2023-01-01",
			"mobile", "alt", "office", "soft", "hw:h1", "hw:h2", "email", "tap", "unknown",
		}},
	}
	e := New(nil)
	for _, c := range cases {
		u := user(b, "u", c.specs...)
		u.Roles, u.OnPremisesSyncEnabled = c.roles, c.synced
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var a model.Assessment
			for b.Loop() {
				a = e.Evaluate(federated, u)
			}
			_ = a
		})
	}
}

func BenchmarkLockedOutByKinds(b *testing.B) {
	u := user(b, "u", "password", "auth:a1@2022-01-01", "mobile", "fido2:k1")
	paths := KindPaths(cloud, u, nil)
	down := KindBit(model.DepPhoneCarrier) | KindBit(model.DepMobileDevice)
	b.ReportAllocs()
	for b.Loop() {
		LockedOutByKinds(paths, down)
	}
}
