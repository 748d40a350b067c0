package rules

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

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

// BenchmarkEvaluatePolicy measures the typical user of BenchmarkEvaluate
// without the tenant's policy and with a full one: the authentication
// methods policy and 20 Conditional Access policies with authentication
// strengths (targeted at groups, roles and all users, some report-only, some
// for the admin portals), in the same run (docs/PERFORMANCE.md).
func BenchmarkEvaluatePolicy(b *testing.B) {
	u, withPolicy := policyBench(b)
	e := New(nil)
	for _, c := range []struct {
		name   string
		tenant model.Tenant
	}{{"typical", cloud}, {"typical-full-policy-20-ca", withPolicy}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var a model.Assessment
			for b.Loop() {
				a = e.Evaluate(c.tenant, u)
			}
			_ = a
		})
	}
}

// BenchmarkEvaluatePolicyRatio evaluates the typical user without and with
// the full policy alternately in one loop and reports the ratio of the two
// times: on a shared, loaded machine both halves see the same load, which
// separate runs do not (docs/PERFORMANCE.md).
func BenchmarkEvaluatePolicyRatio(b *testing.B) {
	u, withPolicy := policyBench(b)
	e := New(nil)
	var plain, full time.Duration
	for b.Loop() {
		t0 := time.Now()
		e.Evaluate(cloud, u)
		t1 := time.Now()
		e.Evaluate(withPolicy, u)
		full += time.Since(t1)
		plain += t1.Sub(t0)
	}
	b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N), "typical-ns/op")
	b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "full-policy-ns/op")
	b.ReportMetric(float64(full)/float64(plain), "ratio")
}

// policyBench is the typical user of BenchmarkEvaluate in eight groups, and
// the cloud tenant with the authentication methods policy and 20
// Conditional Access policies with authentication strengths.
func policyBench(b *testing.B) (*model.User, model.Tenant) {
	u := user(b, "u", "password", "auth:a1@2022-01-01", "mobile")
	u.Groups = []string{groupFinance, groupPilot, "c65f93ae-3113-4846-a786-41d046993bcd", "1c031546-bc35-4fa0-9466-6c95d02912fa",
		"52bbd939-7469-4796-97f5-b07f92a13de5", "b3f904d6-2f37-437a-9953-077d34020b73", "a3b147cc-80b3-4b6e-b76e-a0a8aa8d7189", "5d0f3c2a-9e8b-4c7d-a6f5-e4d3c2b1a0f9"}
	p := loadTenantPolicy(b)
	base := p.ca(0)
	p.cas = nil
	for i := range 20 {
		c := mustClone(b, base)
		c["id"] = fmt.Sprintf("a1b2c3d4-0001-4000-8000-%012d", i)
		users := c["conditions"].(map[string]any)["users"].(map[string]any)
		switch i % 4 {
		case 0: // roles only: not the typical user
		case 1:
			users["includeRoles"] = []any{}
			users["includeGroups"] = []any{fmt.Sprintf("0000aaaa-0000-4000-8000-%012d", i), groupPilot}
			c["grantControls"].(map[string]any)["authenticationStrength"] = map[string]any{"id": "00000000-0000-0000-0000-000000000002"}
		case 2:
			users["includeRoles"] = []any{}
			users["includeUsers"] = []any{"All"}
			users["excludeGroups"] = []any{groupBreak, fmt.Sprintf("0000bbbb-0000-4000-8000-%012d", i)}
			c["state"] = "enabledForReportingButNotEnforced"
		case 3:
			c["conditions"].(map[string]any)["applications"].(map[string]any)["includeApplications"] = []any{"MicrosoftAdminPortals"}
			users["includeRoles"] = []any{}
			users["includeUsers"] = []any{"All"}
		}
		p.cas = append(p.cas, c)
	}
	return u, p.tenant(b, cloud)
}

func mustClone(t testing.TB, v map[string]any) map[string]any {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
