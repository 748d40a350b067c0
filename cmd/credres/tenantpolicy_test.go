package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snapshotWith writes a one-user snapshot whose tenant carries the given
// members (the tenant's policy fields, verbatim Graph JSON) and returns its
// path.
func snapshotWith(t *testing.T, tenantFields string) string {
	t.Helper()
	tenant := `{"id":"t1","passwordAuth":"cloud","phsFallback":false`
	if tenantFields != "" {
		tenant += "," + tenantFields
	}
	tenant += "}"
	doc := `{"tenant":` + tenant + `,"users":[{"id":"0b8a1d6e-0000-4000-8000-0000000000a1","userPrincipalName":"megan@contoso.example",
"roles":["Global Administrator"],"groups":["d1e2f3a4-0000-4000-8000-00000000a001"],"methods":[
{"@odata.type":"#microsoft.graph.passwordAuthenticationMethod","id":"28c10230-6103-485e-b985-444c60001490"},
{"@odata.type":"#microsoft.graph.phoneAuthenticationMethod","id":"3179e48a-750b-4051-897c-87b9720928f7","phoneNumber":"+1 2065550123","phoneType":"mobile","smsSignInState":"notAllowedByPolicy"},
{"@odata.type":"#microsoft.graph.microsoftAuthenticatorAuthenticationMethod","id":"6a3c1a34-2e8f-4b6a-9d4e-111111111111","displayName":"Pixel 8","createdDateTime":"2022-01-01T00:00:00Z"}]}]}`
	file := filepath.Join(t.TempDir(), "tenant.json")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

const (
	smsOff = `"authenticationMethodsPolicy":{"id":"authenticationMethodsPolicy","policyMigrationState":"migrationComplete","authenticationMethodConfigurations":[
{"@odata.type":"#microsoft.graph.smsAuthenticationMethodConfiguration","id":"Sms","state":"disabled","excludeTargets":[],"includeTargets":[{"targetType":"group","id":"all_users","isUsableForSignIn":false}]},
{"@odata.type":"#microsoft.graph.voiceAuthenticationMethodConfiguration","id":"Voice","state":"disabled","isOfficePhoneAllowed":false,"excludeTargets":[],"includeTargets":[{"targetType":"group","id":"all_users"}]},
{"@odata.type":"#microsoft.graph.qrCodePinAuthenticationMethodConfiguration","id":"QRCodePin","state":"enabled","excludeTargets":[],"includeTargets":[{"targetType":"group","id":"all_users"}]}]}`
	adminsPhishingResistant = `"conditionalAccessPolicies":[{"id":"a1b2c3d4-0001-4000-8000-000000000001","displayName":"Require phishing-resistant MFA for administrators","state":"enabled",
"conditions":{"clientAppTypes":["all"],"applications":{"includeApplications":["All"]},"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]},
"users":{"includeRoles":["62e90394-69f5-4237-9190-012177145e10"]}},
"grantControls":{"operator":"OR","builtInControls":[],"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000004","displayName":"Phishing-resistant MFA","allowedCombinations":["windowsHelloForBusiness","fido2","x509CertificateMultiFactor"]}}}]`
)

func TestTenantPolicyNotIncludedIsSaidPlainly(t *testing.T) {
	file := snapshotWith(t, "")
	for _, args := range [][]string{
		{"assess", "--directory", file},
		{"assess", "--directory", file, "--format", "json"},
		{"explain", "--directory", file, "--user", "megan@contoso.example"},
		{"report", "--directory", file},
	} {
		code, out, errOut := credres(t, "", args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		if !strings.Contains(out, "policy was not included") || !strings.Contains(out, "every registered method is assumed usable") {
			t.Errorf("%v does not say the tenant's policy was not included:\n%s", args, out)
		}
	}
}

func TestTenantPolicyAppliedAndItsAssumptionsReported(t *testing.T) {
	file := snapshotWith(t, smsOff+","+adminsPhishingResistant)
	code, out, errOut := credres(t, "", "assess", "--directory", file, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc assessOutput
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	a := doc.Users[0]
	if len(a.Ignored) != 1 || a.Ignored[0].Reason != "disabled-by-tenant-policy" {
		t.Errorf("ignored %+v, want the phone as disabled-by-tenant-policy", a.Ignored)
	}
	if !a.HasViolation("no-path-satisfies-conditional-access") {
		t.Errorf("violations %v, want no-path-satisfies-conditional-access", a.Violations)
	}
	tp := doc.Summary.TenantPolicy
	notes := strings.Join(tp.Notes, "\n")
	if !tp.Included || tp.DisabledMethods != 1 {
		t.Errorf("tenantPolicy %+v", tp)
	}
	for _, want := range []string{"QRCodePin", "locations are not modelled: treated as applying", `"Require phishing-resistant MFA for administrators"`} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}

	_, out, _ = credres(t, "", "explain", "--directory", file, "--user", "megan@contoso.example")
	for _, want := range []string{
		"Not counted: mobile phone",
		"turns both SMS and voice calls off for the user",
		`Conditional Access policy "Require phishing-resistant MFA for administrators" requires the authentication strength "Phishing-resistant MFA" for every sign-in: no sign-in path of the user satisfies it.`,
		"Its conditions on locations are not modelled: treated as applying.",
		"they are locked out today",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}

	_, out, _ = credres(t, "", "report", "--directory", file)
	if !strings.Contains(out, "QRCodePin") || !strings.Contains(out, "not modelled: treated as applying") {
		t.Errorf("report's tenant policy notes lack the unknown configuration or the unmodelled condition:\n%s", out)
	}

}

func TestTenantPolicyMalformedIsAnErrorNamingTheField(t *testing.T) {
	tests := []struct {
		name, fields string
		want         []string
	}{
		{"method-state", `"authenticationMethodsPolicy":{"authenticationMethodConfigurations":[{"@odata.type":"#microsoft.graph.smsAuthenticationMethodConfiguration","id":"Sms","state":"off"}]}`,
			[]string{"tenant.authenticationMethodsPolicy.authenticationMethodConfigurations[0] (Sms).state", `"off"`}},
		{"key-restrictions", `"authenticationMethodsPolicy":{"authenticationMethodConfigurations":[{"id":"Fido2","state":"enabled","keyRestrictions":{"isEnforced":true,"enforcementType":"deny","aaGuids":[]}}]}`,
			[]string{"(Fido2).keyRestrictions.enforcementType"}},
		{"strengths-not-an-array", `"authenticationStrengthPolicies":{"value":[]}`,
			[]string{"tenant.authenticationStrengthPolicies"}},
		{"ca-groups-not-strings", `"conditionalAccessPolicies":[{"id":"p1","state":"enabled","conditions":{"users":{"includeGroups":[1]}}}]`,
			[]string{"tenant.conditionalAccessPolicies[0]", "includeGroups"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := snapshotWith(t, tc.fields)
			for _, cmd := range []string{"assess", "report"} {
				code, _, errOut := credres(t, "", cmd, "--directory", file)
				if code != exitBadInput {
					t.Errorf("%s: exit %d, want %d", cmd, code, exitBadInput)
				}
				for _, w := range tc.want {
					if !strings.Contains(errOut, w) {
						t.Errorf("%s: stderr lacks %q:\n%s", cmd, w, errOut)
					}
				}
			}
		})
	}
}

func TestTenantSideChangeIsCountedOverUsers(t *testing.T) {
	const group = "d1e2f3a4-0000-4000-8000-00000000a001" // snapshotWith's user is in it
	fields := `"authenticationMethodsPolicy":{"policyMigrationState":"migrationComplete","authenticationMethodConfigurations":[
{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","id":"Fido2","state":"disabled","excludeTargets":[],"includeTargets":[{"targetType":"group","id":"all_users"}]}]},
"conditionalAccessPolicies":[{"id":"p-keys","displayName":"Security keys for finance","state":"enabled",
"conditions":{"clientAppTypes":["all"],"applications":{"includeApplications":["All"]},"users":{"includeGroups":["` + group + `"]}},
"grantControls":{"operator":"OR","builtInControls":[],"authenticationStrength":{"id":"s-keys","displayName":"Security keys only","allowedCombinations":["fido2"]}}}]`
	file := snapshotWith(t, fields)
	// A second user in the same group, with the same methods.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	users := doc["users"].([]any)
	second := map[string]any{}
	for k, v := range users[0].(map[string]any) {
		second[k] = v
	}
	second["id"], second["userPrincipalName"], second["roles"] = "0b8a1d6e-0000-4000-8000-0000000000a2", "nestor@contoso.example", []any{}
	doc["users"] = append(users, second)
	data, _ = json.Marshal(doc)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}

	_, out, errOut := credres(t, "", "explain", "--directory", file, "--user", "nestor@contoso.example")
	for _, want := range []string{"Tenant-side: Enable Passkey (FIDO2)", "The same change would bring 2 users of the tenant within policy"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s%s", want, out, errOut)
		}
	}
	code, out, errOut := credres(t, "", "report", "--directory", file)
	if code != exitOK {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	var r struct {
		TenantPolicy struct {
			Changes []struct {
				Enable []string `json:"enable"`
				Users  []string `json:"users"`
			} `json:"changes"`
		} `json:"tenantPolicy"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if c := r.TenantPolicy.Changes; len(c) != 1 || len(c[0].Users) != 2 || len(c[0].Enable) != 1 || c[0].Enable[0] != "Fido2" {
		t.Errorf("report's tenant-side changes %+v, want Fido2 for both users", c)
	}
}
