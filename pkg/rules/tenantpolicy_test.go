package rules

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/pkg/model"
)

// tenantPolicy is the test tenant's policy as generic JSON, so that each
// case changes one setting of Graph's own objects.
type tenantPolicy struct {
	methods   map[string]any
	strengths []any
	cas       []any
}

func loadTenantPolicy(t testing.TB) *tenantPolicy {
	t.Helper()
	read := func(name string, v any) {
		data, err := os.ReadFile(filepath.Join("testdata", "policy", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
	var p tenantPolicy
	read("methods.json", &p.methods)
	read("strengths.json", &p.strengths)
	read("ca.json", &p.cas)
	return &p
}

// config returns one method configuration of the policy by id.
func (p *tenantPolicy) config(t testing.TB, id string) map[string]any {
	for _, c := range p.methods["authenticationMethodConfigurations"].([]any) {
		if m := c.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("no configuration %s", id)
	return nil
}

func (p *tenantPolicy) ca(i int) map[string]any { return p.cas[i].(map[string]any) }

func (p *tenantPolicy) caUsers(i int) map[string]any {
	return p.ca(i)["conditions"].(map[string]any)["users"].(map[string]any)
}

// tenant decodes the policy into a tenant, the way a snapshot is read.
func (p *tenantPolicy) tenant(t testing.TB, base model.Tenant) model.Tenant {
	t.Helper()
	doc := map[string]any{"id": base.ID, "passwordAuth": base.PasswordAuth, "phsFallback": base.PHSFallback}
	if p.methods != nil {
		doc["authenticationMethodsPolicy"] = p.methods
	}
	if p.strengths != nil {
		doc["authenticationStrengthPolicies"] = p.strengths
	}
	if p.cas != nil {
		doc["conditionalAccessPolicies"] = p.cas
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out model.Tenant
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("decode tenant: %v", err)
	}
	return out
}

func targets(ids ...string) []any {
	var out []any
	for _, id := range ids {
		out = append(out, map[string]any{"targetType": "group", "id": id, "isRegistrationRequired": false})
	}
	return out
}

const (
	groupFinance = "5a9d9952-bd06-4cab-9ba2-9b3c0b0733d9"
	groupPilot   = "48d76203-2702-4092-ad4b-2ffe4863bc1e"
	groupBreak   = "d1e2f3a4-0000-4000-8000-00000000b001"
	aaguidYubi   = "2fc0579f-8113-47ea-b116-555a8db9202a" // the key of methods()' fido2 spec
)

// policyCases cover every setting of the tenant's policy that changes a
// path. Their assessments are checked against
// testdata/golden/tenant-policy.json.
var policyCases = []struct {
	name       string
	roles      []string
	groups     []string
	synced     bool
	registered []string
	specs      []string
	change     func(t testing.TB, p *tenantPolicy)
}{
	{name: "policy-all-enabled", specs: []string{"password", "auth:a1@2022-01-01", "mobile", "office"}},
	{name: "sms-off-voice-still-calls-the-mobile", specs: []string{"password", "mobile", "soft"},
		change: func(t testing.TB, p *tenantPolicy) { p.config(t, "Sms")["state"] = "disabled" }},
	{name: "sms-and-voice-off-phone-ignored", specs: []string{"password", "mobile", "soft"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "Sms")["state"] = "disabled"
			p.config(t, "Voice")["state"] = "disabled"
		}},
	{name: "voice-without-office-phones", specs: []string{"password", "office", "alt", "soft"},
		change: func(t testing.TB, p *tenantPolicy) { p.config(t, "Voice")["isOfficePhoneAllowed"] = false }},
	{name: "voice-off-alternate-mobile-ignored", specs: []string{"password", "alt", "mobile"},
		change: func(t testing.TB, p *tenantPolicy) { p.config(t, "Voice")["state"] = "disabled" }},
	{name: "sms-sign-in-avoids-on-premises", synced: true, specs: []string{"password", "mobile", "auth:a1@2022-01-01"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "Sms")["includeTargets"].([]any)[0].(map[string]any)["isUsableForSignIn"] = true
		}},
	{name: "authenticator-push-only", registered: []string{"microsoftAuthenticatorPasswordless"}, specs: []string{"password", "auth:a1@2022-01-01"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "MicrosoftAuthenticator")["includeTargets"].([]any)[0].(map[string]any)["authenticationMode"] = "push"
		}},
	{name: "authenticator-passwordless-only", registered: []string{"microsoftAuthenticatorPasswordless"}, specs: []string{"password", "auth:a1@2022-01-01", "whfb:w1"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "MicrosoftAuthenticator")["includeTargets"].([]any)[0].(map[string]any)["authenticationMode"] = "deviceBasedPush"
		}},
	{name: "authenticator-codes-off", specs: []string{"password", "auth:a1@2022-01-01", "hw:h1"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "MicrosoftAuthenticator")["isSoftwareOathEnabled"] = false
		}},
	{name: "authenticator-excluded-group", groups: []string{groupPilot}, specs: []string{"password", "auth:a1@2022-01-01", "mobile"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "MicrosoftAuthenticator")["excludeTargets"] = targets(groupPilot)
		}},
	{name: "fido2-allow-list-refuses-the-key", specs: []string{"password", "fido2:k1", "passkey", "soft"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "Fido2")["keyRestrictions"] = map[string]any{"isEnforced": true, "enforcementType": "allow", "aaGuids": []any{"90A3CCDF-635C-4729-A248-9B709135078F"}}
		}},
	{name: "fido2-allow-list-admits-the-key", specs: []string{"password", "fido2:k1", "passkey", "soft"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "Fido2")["keyRestrictions"] = map[string]any{"isEnforced": true, "enforcementType": "allow", "aaGuids": []any{aaguidYubi}}
		}},
	{name: "fido2-block-list-blocks-authenticator-passkeys", specs: []string{"password", "fido2:k1", "passkey", "soft"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "Fido2")["keyRestrictions"] = map[string]any{"isEnforced": true, "enforcementType": "block", "aaGuids": []any{"90a3ccdf-635c-4729-a248-9b709135078f", "de1e552d-db1d-4423-a619-566b625cdc84"}}
		}},
	{name: "fido2-restrictions-not-enforced", specs: []string{"password", "fido2:k1", "soft"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "Fido2")["keyRestrictions"] = map[string]any{"isEnforced": false, "enforcementType": "allow", "aaGuids": []any{}}
		}},
	{name: "fido2-for-one-group-user-outside", groups: []string{groupFinance}, specs: []string{"password", "fido2:k1", "soft"},
		change: func(t testing.TB, p *tenantPolicy) { p.config(t, "Fido2")["includeTargets"] = targets(groupPilot) }},
	{name: "fido2-for-one-group-user-inside", groups: []string{groupFinance, groupPilot}, specs: []string{"password", "fido2:k1", "soft"},
		change: func(t testing.TB, p *tenantPolicy) { p.config(t, "Fido2")["includeTargets"] = targets(groupPilot) }},
	{name: "software-and-hardware-oath-off", specs: []string{"password", "soft", "hw:h1", "whfb:w1"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "SoftwareOath")["state"] = "disabled"
			p.config(t, "HardwareOath")["state"] = "disabled"
		}},
	{name: "email-and-tap-off", specs: []string{"password", "email", "tap", "whfb:w1", "fido2:k1"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "Email")["state"] = "disabled"
			p.config(t, "TemporaryAccessPass")["state"] = "disabled"
		}},
	{name: "unlisted-configuration-is-not-restricted", specs: []string{"password", "soft", "hw:h1"},
		change: func(t testing.TB, p *tenantPolicy) {
			var kept []any
			for _, c := range p.methods["authenticationMethodConfigurations"].([]any) {
				if c.(map[string]any)["id"] != "HardwareOath" {
					kept = append(kept, c)
				}
			}
			p.methods["authenticationMethodConfigurations"] = append(kept, map[string]any{
				"@odata.type": "#microsoft.graph.qrCodePinAuthenticationMethodConfiguration", "id": "QRCodePin", "state": "enabled",
			})
		}},
	{name: "admin-phones-only-locked-out-by-ca", roles: []string{"Global Administrator"}, specs: []string{"password", "auth:a1@2022-01-01", "mobile"}},
	{name: "admin-key-is-the-only-path-that-counts", roles: []string{"62e90394-69f5-4237-9190-012177145e10"}, specs: []string{"password", "auth:a1@2022-01-01", "mobile", "fido2:k1"}},
	{name: "admin-excluded-by-group", roles: []string{"Global Administrator"}, groups: []string{groupBreak}, specs: []string{"password", "mobile"}},
	{name: "admin-report-only", roles: []string{"Security Administrator"}, specs: []string{"password", "auth:a1@2022-01-01"},
		change: func(t testing.TB, p *tenantPolicy) { p.ca(0)["state"] = "enabledForReportingButNotEnforced" }},
	{name: "admin-portals-constrain-admins", roles: []string{"Global Administrator"}, specs: []string{"password", "auth:a1@2022-01-01", "whfb:w1", "fido2:k1"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.ca(0)["conditions"].(map[string]any)["applications"].(map[string]any)["includeApplications"] = []any{"MicrosoftAdminPortals"}
		}},
	{name: "admin-portals-leave-other-users-alone", groups: []string{groupFinance}, specs: []string{"password", "auth:a1@2022-01-01", "mobile"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.ca(0)["conditions"].(map[string]any)["applications"].(map[string]any)["includeApplications"] = []any{"MicrosoftAdminPortals"}
			p.caUsers(0)["includeRoles"] = []any{}
			p.caUsers(0)["includeGroups"] = []any{groupFinance}
		}},
	{name: "unmodelled-conditions-treated-as-applying", roles: []string{"Global Administrator"}, specs: []string{"password", "auth:a1@2022-01-01", "fido2:k1"},
		change: func(t testing.TB, p *tenantPolicy) {
			cond := p.ca(0)["conditions"].(map[string]any)
			cond["locations"] = map[string]any{"includeLocations": []any{"All"}, "excludeLocations": []any{"AllTrusted"}}
			cond["signInRiskLevels"] = []any{"high"}
			cond["clientAppTypes"] = []any{"browser", "mobileAppsAndDesktopClients"}
		}},
	{name: "strength-or-compliant-device-does-not-constrain", roles: []string{"Global Administrator"}, specs: []string{"password", "mobile"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.ca(0)["grantControls"].(map[string]any)["builtInControls"] = []any{"compliantDevice"}
		}},
	{name: "security-keys-required-but-fido2-off-tenant-side", groups: []string{groupFinance}, specs: []string{"password", "auth:a1@2022-01-01", "mobile"},
		change: func(t testing.TB, p *tenantPolicy) {
			p.config(t, "Fido2")["state"] = "disabled"
			p.caUsers(0)["includeRoles"] = []any{}
			p.caUsers(0)["includeGroups"] = []any{groupFinance}
			gc := p.ca(0)["grantControls"].(map[string]any)
			gc["authenticationStrength"] = map[string]any{"id": "7d3f0b1e-2a4c-4e8f-9b6d-1c2e3f4a5b6c", "displayName": "Security keys only"}
		}},
}

func TestGoldenTenantPolicy(t *testing.T) {
	t.Parallel()
	e := New(nil)
	type result struct {
		Case       string           `json:"case"`
		Assessment model.Assessment `json:"assessment"`
	}
	var got []result
	for _, c := range policyCases {
		p := loadTenantPolicy(t)
		if c.change != nil {
			c.change(t, p)
		}
		tenant := p.tenant(t, cloud)
		if c.synced {
			tenant = p.tenant(t, federated)
		}
		u := user(t, c.name, c.specs...)
		u.Roles, u.Groups, u.OnPremisesSyncEnabled, u.MethodsRegistered = c.roles, c.groups, c.synced, c.registered
		if c.name == "sms-sign-in-avoids-on-premises" {
			for i := range u.Methods {
				if u.Methods[i].Kind == model.KindMobilePhone {
					u.Methods[i].SMSSignInState = "ready"
				}
			}
		}
		got = append(got, result{c.name, e.Evaluate(tenant, u)})
	}
	golden.AssertJSON(t, filepath.Join("testdata", "golden", "tenant-policy.json"), got)
}

// TestConditionalAccessTargeting checks who an enforced strength applies to.
func TestConditionalAccessTargeting(t *testing.T) {
	t.Parallel()
	const (
		me    = "u"
		other = "0f0f0f0f-0000-4000-8000-000000000000"
	)
	cases := []struct {
		name    string
		users   map[string]any
		apps    []any
		state   string
		roles   []string
		groups  []string
		applies bool
	}{
		{name: "all-users", users: map[string]any{"includeUsers": []any{"All"}}, applies: true},
		{name: "all-users-but-me", users: map[string]any{"includeUsers": []any{"All"}, "excludeUsers": []any{me}}},
		{name: "none", users: map[string]any{"includeUsers": []any{"None"}}},
		{name: "by-user-id", users: map[string]any{"includeUsers": []any{me}}, applies: true},
		{name: "another-user", users: map[string]any{"includeUsers": []any{other}}},
		{name: "by-group", users: map[string]any{"includeGroups": []any{groupPilot}}, groups: []string{groupPilot}, applies: true},
		{name: "by-group-upper-case", users: map[string]any{"includeGroups": []any{strings.ToUpper(groupPilot)}}, groups: []string{groupPilot}, applies: true},
		{name: "not-in-group", users: map[string]any{"includeGroups": []any{groupPilot}}, groups: []string{groupFinance}},
		{name: "group-excluded", users: map[string]any{"includeUsers": []any{"All"}, "excludeGroups": []any{groupBreak}}, groups: []string{groupBreak}},
		{name: "by-role-template-id-role-by-name", users: map[string]any{"includeRoles": []any{"62e90394-69f5-4237-9190-012177145e10"}}, roles: []string{"Global Administrator"}, applies: true},
		{name: "by-role-template-id-role-by-id", users: map[string]any{"includeRoles": []any{"62e90394-69f5-4237-9190-012177145e10"}}, roles: []string{"62e90394-69f5-4237-9190-012177145e10"}, applies: true},
		{name: "other-role", users: map[string]any{"includeRoles": []any{"62e90394-69f5-4237-9190-012177145e10"}}, roles: []string{"Helpdesk Administrator"}},
		{name: "role-excluded", users: map[string]any{"includeUsers": []any{"All"}, "excludeRoles": []any{"729827e3-9c14-49f7-bb1b-9608f156bbb8"}}, roles: []string{"Helpdesk Administrator"}},
		{name: "report-only", users: map[string]any{"includeUsers": []any{"All"}}, state: "enabledForReportingButNotEnforced"},
		{name: "disabled", users: map[string]any{"includeUsers": []any{"All"}}, state: "disabled"},
		{name: "admin-portals-for-an-admin", users: map[string]any{"includeUsers": []any{"All"}}, apps: []any{"MicrosoftAdminPortals"}, roles: []string{"User Administrator"}, applies: true},
		{name: "admin-portals-for-a-user", users: map[string]any{"includeUsers": []any{"All"}}, apps: []any{"MicrosoftAdminPortals"}},
		{name: "one-application-only", users: map[string]any{"includeUsers": []any{"All"}}, apps: []any{"00000003-0000-0ff1-ce00-000000000000"}},
	}
	e := New(nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := loadTenantPolicy(t)
			if c.state != "" {
				p.ca(0)["state"] = c.state
			}
			if c.apps != nil {
				p.ca(0)["conditions"].(map[string]any)["applications"].(map[string]any)["includeApplications"] = c.apps
			}
			users := map[string]any{"includeUsers": []any{}, "excludeUsers": []any{}, "includeGroups": []any{}, "excludeGroups": []any{}, "includeRoles": []any{}, "excludeRoles": []any{}}
			for k, v := range c.users {
				users[k] = v
			}
			p.ca(0)["conditions"].(map[string]any)["users"] = users
			u := user(t, me, "password", "auth:a1@2022-01-01", "mobile")
			u.Roles, u.Groups = c.roles, c.groups
			a := e.Evaluate(p.tenant(t, cloud), u)
			locked := a.HasViolation(model.ViolationNoCAPath)
			if locked != c.applies {
				t.Errorf("locked out by the phishing-resistant strength = %v, want %v (violations %v)", locked, c.applies, a.Violations)
			}
			reported := len(a.ConditionalAccess) > 0
			wantReported := c.applies || c.state == "enabledForReportingButNotEnforced"
			if reported != wantReported {
				t.Errorf("reported = %v, want %v: %+v", reported, wantReported, a.ConditionalAccess)
			}
		})
	}
}

// TestNoTenantPolicyIsTodaysBehaviour: a tenant without the policy fields
// and one whose policy enables everything for everyone give the same
// assessments (SMS sign-in aside, which is never assumed).
func TestNoTenantPolicyIsTodaysBehaviour(t *testing.T) {
	t.Parallel()
	p := loadTenantPolicy(t)
	p.cas = []any{}
	open := p.tenant(t, cloud)
	e := New(nil)
	for _, gu := range goldenUsers {
		u := user(t, gu.name, gu.specs...)
		u.Roles, u.OnPremisesSyncEnabled = gu.roles, gu.synced
		want, got := e.Evaluate(cloud, u), e.Evaluate(open, u)
		if mustJSON(want) != mustJSON(got) {
			t.Errorf("%s: with an open policy\n%s\nwithout\n%s", gu.name, mustJSON(got), mustJSON(want))
		}
	}
}

func TestTenantPolicyBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, doc, want string
	}{
		{"state-not-a-state", `{"authenticationMethodsPolicy":{"authenticationMethodConfigurations":[{"@odata.type":"#microsoft.graph.smsAuthenticationMethodConfiguration","id":"Sms","state":"on"}]}}`,
			`tenant.authenticationMethodsPolicy.authenticationMethodConfigurations[0] (Sms).state: invalid input: "on" is not enabled or disabled`},
		{"targets-not-an-array", `{"authenticationMethodsPolicy":{"authenticationMethodConfigurations":[{"id":"Fido2","state":"enabled","includeTargets":"all_users"}]}}`,
			`tenant.authenticationMethodsPolicy.authenticationMethodConfigurations[0].includeTargets: invalid input: got a JSON string, want an array`},
		{"enforcement-type", `{"authenticationMethodsPolicy":{"authenticationMethodConfigurations":[{"id":"Fido2","state":"enabled","keyRestrictions":{"isEnforced":true,"enforcementType":"deny","aaGuids":[]}}]}}`,
			`(Fido2).keyRestrictions.enforcementType: invalid input: "deny" is not allow or block`},
		{"ca-groups-not-strings", `{"conditionalAccessPolicies":[{"id":"p1","state":"enabled","conditions":{"users":{"includeGroups":[1]}}}]}`,
			`tenant.conditionalAccessPolicies[0].conditions.users.includeGroups[0]: invalid input: got a JSON number, want a string`},
		{"ca-state", `{"conditionalAccessPolicies":[{"id":"p1","state":"on","conditions":{"users":{}}}]}`,
			`tenant.conditionalAccessPolicies[0] (p1).state: invalid input: "on" is not enabled, disabled or enabledForReportingButNotEnforced`},
		{"ca-no-users", `{"conditionalAccessPolicies":[{"id":"p1","state":"enabled","conditions":{}}]}`,
			`tenant.conditionalAccessPolicies[0] (p1).conditions.users: invalid input: missing`},
		{"strengths-not-an-array", `{"authenticationStrengthPolicies":{"value":[]}}`,
			`tenant.authenticationStrengthPolicies: invalid input: got a JSON object, want an array`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var tn model.Tenant
			err := json.Unmarshal([]byte(c.doc), &tn)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestTenantPolicyRoundTripsVerbatim(t *testing.T) {
	t.Parallel()
	p := loadTenantPolicy(t)
	tn := p.tenant(t, cloud)
	if len(tn.AuthMethodsPolicy.Unknown) != 0 {
		t.Errorf("unknown configurations %v", tn.AuthMethodsPolicy.Unknown)
	}
	out, err := json.Marshal(tn)
	if err != nil {
		t.Fatal(err)
	}
	var back model.Tenant
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if string(back.AuthMethodsPolicy.Raw) != string(tn.AuthMethodsPolicy.Raw) || len(*back.CAPolicies) != 1 || string((*back.CAPolicies)[0].Raw) != string((*tn.CAPolicies)[0].Raw) {
		t.Error("the tenant's policy did not round-trip verbatim")
	}
	if !slices.Equal((*back.StrengthPolicies)[2].AllowedCombinations, []string{"windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"}) {
		t.Errorf("strength combinations %v", (*back.StrengthPolicies)[2].AllowedCombinations)
	}
}

func TestLockedOutByConditionalAccessOpensATicket(t *testing.T) {
	t.Parallel()
	p := loadTenantPolicy(t)
	p.caUsers(0)["includeRoles"] = []any{}
	p.caUsers(0)["includeUsers"] = []any{"All"}
	u := user(t, "u", "password", "auth:a1@2022-01-01", "mobile")
	e := New(nil)
	cur := e.Evaluate(p.tenant(t, cloud), u)
	if cur.Tier != "standard" || !cur.HasViolation(model.ViolationNoCAPath) {
		t.Fatalf("assessment %+v", cur)
	}
	d := e.Decide(DecisionInput{Current: cur, Now: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)})
	if d.Kind != model.DecisionTicket {
		t.Fatalf("decision %s, want a ticket: %v", d.Kind, d.Reasons)
	}
}

// TestIDFilterHasNoFalseNegatives: every id a policy targets passes the
// filter that spares most lookups of the groups no policy names.
func TestIDFilterHasNoFalseNegatives(t *testing.T) {
	t.Parallel()
	ct := &compiledTenant{byID: map[string][]int{}, byRole: map[string][]int{}}
	ids := []string{"", "a", "All", "f0E1d2C3-b4a5-4968-8776-655443322110", "user@contoso.example", "Ünïcode-Group"}
	for i := range 2000 {
		ids = append(ids, fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i*2654435761, i, i*7, i*13, i*104729))
	}
	for i, id := range ids {
		ct.addID(id, i)
	}
	for _, id := range ids {
		if low := strings.ToLower(id); !ct.mayHave(low) {
			t.Errorf("%q is targeted but the filter rules it out", id)
		}
	}
	rejected := 0
	for i := range 2000 {
		if !ct.mayHave(fmt.Sprintf("%08x-0000-4000-9000-%012x", i*40503, i)) {
			rejected++
		}
	}
	if rejected == 0 {
		t.Error("the filter rules nothing out")
	}
}
