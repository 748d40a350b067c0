package rules

import (
	"fmt"
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
		// Users with many methods: the answer is exact at any size, so the
		// time is what grows (docs/PERFORMANCE.md).
		{"60-methods", []string{"Global Administrator"}, true, many(15, 15, 10, 5, 10)},
		{"200-methods", []string{"Global Administrator"}, true, many(50, 50, 40, 20, 35)},
		// Non-compliant (no phishing-resistant method), so every candidate
		// is tried against 200 methods' paths.
		{"200-second-factors", []string{"Global Administrator"}, true, many(100, 0, 0, 0, 95)},
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

// many returns the specs of a user with a password, four phone-based
// methods and the given numbers of Authenticator registrations, security
// keys, Windows Hello PCs, Macs and hardware tokens.
func many(auth, keys, pcs, macs, tokens int) []string {
	specs := []string{"password", "mobile", "office", "alt", "soft"}
	for i := range auth {
		specs = append(specs, fmt.Sprintf("auth:a%d@20%02d-01-01", i, 10+i%15))
	}
	for i := range keys {
		specs = append(specs, fmt.Sprintf("fido2:k%d", i))
	}
	for i := range pcs {
		specs = append(specs, fmt.Sprintf("whfb:w%d", i))
	}
	for i := range macs {
		specs = append(specs, fmt.Sprintf("mac:m%d", i))
	}
	for i := range tokens {
		specs = append(specs, fmt.Sprintf("hw:h%d", i))
	}
	return specs
}
