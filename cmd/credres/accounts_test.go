package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tempSnapshot writes a small snapshot for a test and returns its path.
func tempSnapshot(t *testing.T, doc string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "snapshot.json")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

const pw = `{"@odata.type":"#microsoft.graph.passwordAuthenticationMethod","id":"28c10230-6103-485e-b985-444c60001490"}`

// Guests and disabled accounts are reported in rows of their own; a method
// listed twice is reported as a warning.
func TestAssessReportsGuestsDisabledAndWarnings(t *testing.T) {
	key := `{"@odata.type":"#microsoft.graph.fido2AuthenticationMethod","id":"k1","aaGuid":"2fc0579f-8113-47ea-b116-555a8db9202a"}`
	snap := tempSnapshot(t, `{"tenant":{"id":"t"},"users":[
 {"id":"g","userPrincipalName":"guest@fabrikam.example","userType":"Guest","methods":[`+pw+`]},
 {"id":"d","userPrincipalName":"left@contoso.example","accountEnabled":false,"methods":[`+pw+`]},
 {"id":"m","userPrincipalName":"member@contoso.example","userType":"Member","methods":[`+pw+`,`+key+`,`+key+`]}]}`)
	code, out, errOut := credres(t, "", "assess", "--directory", snap)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"no (guest)", "no (disabled)", "1 guests and 1 disabled accounts are reported but never nudged or ticketed", "Warning: 1 users have a method counted together with another"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = credres(t, "", "assess", "--directory", snap, "--format", "json")
	var doc struct {
		Summary summary `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Summary
	if s.Guests != 1 || s.DisabledAccounts != 1 || s.MethodWarnings != 1 || s.ByTier["(guests)"] != 1 || s.ByTier["(disabled accounts)"] != 1 || s.ByTier["standard"] != 1 {
		t.Errorf("summary %+v", s)
	}
	_, out, _ = credres(t, "", "explain", "--directory", snap, "--user", "guest@fabrikam.example")
	if !strings.Contains(out, "guest") || !strings.Contains(out, "never nudges or tickets") {
		t.Errorf("explain does not say the guest is left alone:\n%s", out)
	}
}

// The sample tenant's two break-glass accounts, under the default policy
// with their group listed, are judged as a set.
func TestAssessEmergencyAccessSet(t *testing.T) {
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	def, err := os.ReadFile("../../pkg/rules/default-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policy, append(def, "emergencyAccessGroups: [5d0f3c2a-9e8b-4c7d-a6f5-e4d3c2b1a0f9]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := credres(t, "", "assess", "--directory", sampleTenant, "--policy", policy)
	if code != 0 {
		t.Fatal(errOut)
	}
	if !strings.Contains(out, `Emergency access accounts (2, tier "emergency-access") as a set: diversity`) {
		t.Errorf("no emergency access line:\n%s", out)
	}
	_, out, _ = credres(t, "", "assess", "--directory", sampleTenant, "--policy", policy, "--format", "json")
	var doc struct {
		Users           []map[string]any `json:"users"`
		EmergencyAccess struct {
			Users     []string `json:"users"`
			Diversity int      `json:"diversity"`
		} `json:"emergencyAccess"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// Two accounts, each with two keys of different models: no single
	// failure locks out both.
	if len(doc.EmergencyAccess.Users) != 2 || doc.EmergencyAccess.Diversity < 2 {
		t.Errorf("set %+v", doc.EmergencyAccess)
	}
}
