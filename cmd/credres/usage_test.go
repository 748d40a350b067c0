package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credres/credres/internal/golden"
)

// The usage tenant (testdata/usage-tenant.json) is a small cloud tenant
// whose snapshot carries method usage for some users, with sign-in records
// (testdata/usage-signins.json, a Graph page) that add to it:
//
//   - ada: every method proven;
//   - ben: no usage in the snapshot; three text messages in the sign-ins,
//     a token refresh that proves nothing, his Authenticator never used;
//   - cleo: two security keys and a log that does not say which one signed
//     (neither is proven), Windows Hello proven;
//   - dan: uses of a key no longer registered, and of his phone and
//     Authenticator under other names (his only ones of their kinds);
//   - eve, a guest, and finn, a disabled account: left out of the usage
//     section, as the policy leaves them alone;
//   - gus: never in the logs, not judged;
//   - hana: her key failed after it last worked, Windows Hello stale;
//   - ivy, a Global Administrator: her phishing-resistant methods stale or
//     never used;
//   - jon: text messages and a certificate sign-in (a method credres has
//     no kind for), so he is not said to rely on the phone network alone;
//   - a sign-in of a user no longer in the directory, counted in the shares.
const (
	usageTenant  = "testdata/usage-tenant.json"
	usageSignIns = "testdata/usage-signins.json"
	usagePolicy  = "testdata/usage-policy.yaml"
	usageNow     = "2026-12-01T00:00:00Z"
)

func TestUsageGolden(t *testing.T) {
	explainArgs := func(user string, extra ...string) []string {
		return append([]string{"explain", "--directory", usageTenant, "--signins", usageSignIns, "--now", usageNow, "--user", user + "@fabrikam.example"}, extra...)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"report-usage.json", []string{"report", "--directory", usageTenant, "--signins", usageSignIns, "--now", usageNow, "--format", "json"}},
		{"explain-usage-ben.txt", explainArgs("ben.okafor")},
		{"explain-usage-cleo.txt", explainArgs("cleo.marsh")},
		{"explain-usage-dan.txt", explainArgs("dan.price")},
		{"explain-usage-gus.txt", explainArgs("gus.moreno")},
		{"explain-usage-hana.txt", explainArgs("hana.sato")},
		{"explain-usage-ivy.txt", explainArgs("ivy.chen")},
		{"explain-usage-ivy-uncounted.txt", explainArgs("ivy.chen", "--policy", usagePolicy)},
		// The sample tenant with the sample sign-ins: Joni's security key
		// failed, then she approved a notification.
		{"explain-joni-signins.txt", []string{"explain", "--directory", sampleTenant, "--signins", "../../events/signin/eventhub-signinlogs-interactive.json",
			"--now", "2025-03-20T00:00:00Z", "--user", "joni.sherman@contoso.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := credres(t, "", tc.args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden.Assert(t, filepath.Join("testdata", tc.name), out)
		})
	}
}

type usageReport struct {
	Summary struct {
		Compliant int `json:"compliant"`
	} `json:"summary"`
	Usage *struct {
		ProofWindow  string `json:"proofWindow"`
		UsersSeen    int    `json:"usersSeen"`
		UsersNotSeen int    `json:"usersNotSeen"`
		SignIns      int    `json:"signIns"`
		MFASignIns   int    `json:"mfaSignIns"`
		Methods      []struct {
			Kind    string `json:"kind"`
			SignIns int    `json:"signIns"`
		} `json:"methods"`
		PhoneNetworkOnly struct {
			Users []string `json:"users"`
		} `json:"phoneNetworkOnly"`
		NeverUsed []struct {
			Kind  string   `json:"kind"`
			Users []string `json:"users"`
		} `json:"neverUsed"`
		BelowWithoutUnproven struct {
			Users []string `json:"users"`
		} `json:"belowWithoutUnproven"`
	} `json:"usage"`
	UserPrincipalNames map[string]string `json:"userPrincipalNames"`
}

func usageUser(n string) string { return "c0ffee00-0000-4000-8000-0000000000" + n }

// The snapshot's usage alone makes the section: no shares, and the lists
// as the usage says (ben and jon, seen only in the sign-ins, are not
// judged). The usage is read through the offline commands' snapshot reader.
func TestReportUsageFromTheSnapshotAlone(t *testing.T) {
	var r usageReport
	runJSON(t, &r, "report", "--directory", usageTenant, "--now", usageNow, "--format", "json")
	u := r.Usage
	if u == nil {
		t.Fatal("no usage section although the snapshot carries usage")
	}
	if u.SignIns != 0 || u.MFASignIns != 0 || len(u.Methods) != 0 {
		t.Errorf("shares without sign-ins: %+v", u)
	}
	if u.UsersSeen != 5 || u.UsersNotSeen != 3 {
		t.Errorf("seen %d, not seen %d; want 5 and 3 (ben, gus and jon)", u.UsersSeen, u.UsersNotSeen)
	}
	if want := []string{usageUser("03"), usageUser("08"), usageUser("09")}; !slices.Equal(u.BelowWithoutUnproven.Users, want) {
		t.Errorf("below without unproven %v, want %v", u.BelowWithoutUnproven.Users, want)
	}
	if len(u.PhoneNetworkOnly.Users) != 0 {
		t.Errorf("phone network only %v, want none (ben is not seen)", u.PhoneNetworkOnly.Users)
	}
	for _, id := range u.BelowWithoutUnproven.Users {
		if r.UserPrincipalNames[id] == "" {
			t.Errorf("%s listed without its user principal name", id)
		}
	}
}

// Guests and disabled accounts are never in the usage section; every
// listed user is named; the report without sign-ins or usage has none.
func TestReportUsageLeavesGuestsAndDisabledAccountsOut(t *testing.T) {
	var r usageReport
	runJSON(t, &r, "report", "--directory", usageTenant, "--signins", usageSignIns, "--now", usageNow, "--format", "json")
	lists := [][]string{r.Usage.PhoneNetworkOnly.Users, r.Usage.BelowWithoutUnproven.Users}
	for _, g := range r.Usage.NeverUsed {
		lists = append(lists, g.Users)
	}
	for _, l := range lists {
		for _, id := range l {
			if id == usageUser("05") || id == usageUser("06") {
				t.Errorf("guest or disabled account %s listed", id)
			}
			if r.UserPrincipalNames[id] == "" {
				t.Errorf("%s listed without its user principal name", id)
			}
		}
	}
	var plain usageReport
	runJSON(t, &plain, "report", "--directory", sampleTenant, "--format", "json")
	if plain.Usage != nil {
		t.Errorf("a usage section without usage or sign-ins: %+v", plain.Usage)
	}
}

// A tier with countUnproven: false leaves unproven paths out of every
// figure of the report, not only the usage section.
func TestReportAppliesThePolicysProofWindow(t *testing.T) {
	var counted, uncounted usageReport
	runJSON(t, &counted, "report", "--directory", usageTenant, "--now", usageNow, "--format", "json")
	runJSON(t, &uncounted, "report", "--directory", usageTenant, "--now", usageNow, "--policy", usagePolicy, "--format", "json")
	if uncounted.Summary.Compliant != counted.Summary.Compliant-1 {
		t.Errorf("compliant %d with ivy's unproven paths left out, %d with them; want one fewer", uncounted.Summary.Compliant, counted.Summary.Compliant)
	}
	if !slices.Contains(uncounted.Usage.BelowWithoutUnproven.Users, usageUser("09")) {
		t.Errorf("ivy is not listed as within policy only through unproven paths: %v", uncounted.Usage.BelowWithoutUnproven.Users)
	}
}

// assess judges paths by the policy's proofWindow as report does: the same
// compliance under a policy whose tier leaves unproven paths out, and the
// assessment says why.
func TestAssessAppliesThePolicysProofWindow(t *testing.T) {
	for _, policy := range []string{"", usagePolicy} {
		args := []string{"--directory", usageTenant, "--now", usageNow, "--format", "json"}
		if policy != "" {
			args = append(args, "--policy", policy)
		}
		var r usageReport
		runJSON(t, &r, append([]string{"report"}, args...)...)
		var a struct {
			Users []struct {
				ID              string `json:"id"`
				Compliant       bool   `json:"compliant"`
				RestsOnUnproven bool   `json:"restsOnUnproven"`
			} `json:"users"`
			Summary struct {
				Compliant int `json:"compliant"`
			} `json:"summary"`
		}
		runJSON(t, &a, append([]string{"assess"}, args...)...)
		if a.Summary.Compliant != r.Summary.Compliant {
			t.Errorf("policy %q: assess counts %d compliant, report %d", policy, a.Summary.Compliant, r.Summary.Compliant)
		}
		for _, u := range a.Users {
			// Without a proofWindow in the policy, assess judges no proof.
			if u.ID == usageUser("09") && (u.Compliant != (policy == "") || u.RestsOnUnproven != (policy != "")) {
				t.Errorf("policy %q: ivy compliant %v, restsOnUnproven %v", policy, u.Compliant, u.RestsOnUnproven)
			}
		}
	}
	if code, _, errOut := credres(t, "", "assess", "--directory", usageTenant, "--now", "today"); code != exitUsage || !strings.Contains(errOut, "RFC 3339") {
		t.Errorf("bad --now: exit %d: %s", code, errOut)
	}
}

func TestReportUsageHTML(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.html")
	code, _, errOut := credres(t, "", "report", "--directory", usageTenant, "--signins", usageSignIns, "--now", usageNow, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	for _, s := range []string{`<section id="usage">`, "Share of the 9 multifactor sign-ins", "Within policy only through unproven paths",
		"Every MFA sign-in over the phone network", "Registered, never used: fido2", "ben.okafor@fabrikam.example"} {
		if !strings.Contains(page, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
}

func TestUsageExitStatus(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "signins.json")
	os.WriteFile(bad, []byte(`{"value":[{"createdDateTime":"yesterday","userId":"u1","authenticationDetails":[]}]}`), 0o644)
	tests := []struct {
		name      string
		args      []string
		code      int
		stderrHas string
	}{
		{"report-bad-now", []string{"report", "--directory", usageTenant, "--now", "2026-12-01"}, exitUsage, "RFC 3339"},
		{"report-bad-window", []string{"report", "--directory", usageTenant, "--proof-window", "soon"}, exitUsage, "--proof-window"},
		{"report-zero-window", []string{"report", "--directory", usageTenant, "--proof-window", "0d"}, exitUsage, "positive"},
		{"report-missing-signins", []string{"report", "--directory", usageTenant, "--signins", filepath.Join(dir, "nope.json")}, exitBadInput, "nope.json"},
		{"report-malformed-signin", []string{"report", "--directory", usageTenant, "--signins", bad}, exitBadInput, "signins.json"},
		{"explain-bad-now", []string{"explain", "--directory", usageTenant, "--user", "ada.lovelace@fabrikam.example", "--now", "noon"}, exitUsage, "RFC 3339"},
		{"explain-malformed-signin", []string{"explain", "--directory", usageTenant, "--user", "ada.lovelace@fabrikam.example", "--signins", bad}, exitBadInput, "signins.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := credres(t, "", tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderrHas) {
				t.Errorf("exit %d, want %d; stderr lacks %q?\n%s", code, tc.code, tc.stderrHas, errOut)
			}
		})
	}
}
