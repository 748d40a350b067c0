package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/pkg/model"
)

const sampleTenant = "../../events/tenant.json"

// credres runs the CLI in process and returns its exit status and output.
func credres(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut}, args)
	return code, out.String(), errOut.String()
}

func TestGoldenOutputs(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"assess-sample.json", []string{"assess", "--directory", sampleTenant, "--format", "json"}},
		{"assess-sample.txt", []string{"assess", "--directory", sampleTenant}},
		{"assess-sample-example-policy.json", []string{"assess", "--directory", sampleTenant, "--policy", "../../events/policy-example.yaml", "--format", "json"}},
		{"whatif-phone-carrier.json", []string{"whatif", "--directory", sampleTenant, "--down", "phone-carrier", "--format", "json"}},
		{"whatif-on-premises.txt", []string{"whatif", "--directory", sampleTenant, "--down", "on-premises"}},
		{"whatif-mobile-and-carrier.json", []string{"whatif", "--directory", sampleTenant, "--down", "mobile-device,phone-carrier", "--format", "json"}},
		{"explain-adele.txt", []string{"explain", "--directory", sampleTenant, "--user", "adele.vance@contoso.example"}},
		{"explain-bianca.txt", []string{"explain", "--directory", sampleTenant, "--user", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a03"}},
		{"explain-diego.txt", []string{"explain", "--directory", sampleTenant, "--user", "DIEGO.SICILIANI@contoso.example"}},
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

func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("../../events/audit/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample audit events: %v", err)
	}
	signIns, err := filepath.Glob("../../events/signin/*.json")
	if err != nil || len(signIns) == 0 {
		t.Fatalf("no sample sign-ins: %v", err)
	}
	files = append(files, signIns...)
	code, out, errOut := credres(t, "", append([]string{"parse"}, files...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden.Assert(t, filepath.Join("testdata", "parse-events.jsonl"), out)
	golden.Assert(t, filepath.Join("testdata", "parse-events.stderr"), errOut)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, `{"kind":"audit",`) && !strings.HasPrefix(line, `{"kind":"signin",`) {
			t.Errorf("line without its kind first: %s", line)
		}
	}
}

func TestAssessJSONShape(t *testing.T) {
	_, out, _ := credres(t, "", "assess", "--directory", sampleTenant, "--format", "json")
	var doc struct {
		Users   []map[string]json.RawMessage `json:"users"`
		Summary map[string]json.RawMessage   `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Users) < 40 || doc.Summary == nil {
		t.Fatalf("users %d summary %v", len(doc.Users), doc.Summary)
	}
	for _, key := range []string{"id", "userPrincipalName", "tier", "diversity", "spofs", "paths", "passwordless", "phishingResistant", "compliant", "violations", "recommendations"} {
		if _, ok := doc.Users[0][key]; !ok {
			t.Errorf("user objects lack %q", key)
		}
	}
}

// Single-dependency what-ifs must agree with the assessments: a user is
// locked out by X alone exactly when X is in every path, i.e. a single
// point of failure (entra-mfa aside, which the standard tier accepts).
func TestWhatifAgreesWithAssess(t *testing.T) {
	_, out, _ := credres(t, "", "assess", "--directory", sampleTenant, "--format", "json")
	var doc assessOutput
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// mobile-device is left out: without a suffix it names every phone,
	// including second Authenticator devices (mobile-device/<id>).
	for _, dep := range []string{"phone-carrier", "on-premises", "push-service", "office-phone", "alternate-mobile-device"} {
		_, wout, _ := credres(t, "", "whatif", "--directory", sampleTenant, "--down", dep, "--format", "json")
		var w whatifOutput
		if err := json.Unmarshal([]byte(wout), &w); err != nil {
			t.Fatal(err)
		}
		locked := map[string]bool{}
		for _, u := range w.LockedOut {
			locked[u.ID] = true
		}
		for _, a := range doc.Users {
			if len(a.Paths) == 0 {
				continue
			}
			if want := slices.Contains(a.SPOFs, dep); locked[a.UserID] != want {
				t.Errorf("%s down: %s locked %v, but spofs %v", dep, a.UserPrincipalName, locked[a.UserID], a.SPOFs)
			}
		}
		if w.Total != len(doc.Users) {
			t.Errorf("total %d, want %d", w.Total, len(doc.Users))
		}
	}
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(badJSON, []byte(`{"tenant":{"passwordAuth":"ldap"},"users":[{"id":"a"},{"id":"a"},{}]}`), 0o644)
	badRecords := filepath.Join(dir, "records.json")
	os.WriteFile(badRecords, []byte(`{"records":[42, {"time":"2026-01-01T00:00:00Z","operationName":"User registered security info","properties":{"id":"Authentication Methods_x","activityDisplayName":"User registered security info","activityDateTime":"2026-01-01T00:00:00Z","loggedByService":"Authentication Methods","result":"success","resultReason":"User registered Fido2 Authentication Method","targetResources":[{"id":"u1","type":"User","userPrincipalName":"u1@contoso.example"}],"initiatedBy":{"user":{"id":"u1"}}}}]}`), 0o644)

	tests := []struct {
		name      string
		args      []string
		code      int
		stderrHas []string
		stdoutHas string
	}{
		{"no-command", nil, exitUsage, []string{"Usage: credres"}, ""},
		{"unknown-command", []string{"frobnicate"}, exitUsage, []string{`unknown command "frobnicate"`}, ""},
		{"assess-without-directory", []string{"assess"}, exitUsage, []string{"--directory FILE is required"}, ""},
		{"assess-bad-format", []string{"assess", "--directory", sampleTenant, "--format", "xml"}, exitUsage, []string{"table or json"}, ""},
		{"assess-unknown-flag", []string{"assess", "--directroy", "x"}, exitUsage, []string{"flag provided but not defined"}, ""},
		{"assess-missing-file", []string{"assess", "--directory", filepath.Join(dir, "nope.json")}, exitBadInput, []string{"nope.json"}, ""},
		{"assess-bad-snapshot-names-each-problem", []string{"assess", "--directory", badJSON}, exitBadInput,
			[]string{"bad.json", `passwordAuth "ldap"`, "user 1", "repeats user 0", "user 2", "no id"}, ""},
		{"assess-bad-policy", []string{"assess", "--directory", sampleTenant, "--policy", badJSON}, exitBadInput, []string{"policy"}, ""},
		{"explain-without-user", []string{"explain", "--directory", sampleTenant}, exitUsage, []string{"--user"}, ""},
		{"explain-unknown-user", []string{"explain", "--directory", sampleTenant, "--user", "nobody@contoso.example"}, exitBadInput, []string{"nobody@contoso.example"}, ""},
		{"whatif-unknown-dependency", []string{"whatif", "--directory", sampleTenant, "--down", "phone-carier"}, exitUsage, []string{`unknown dependency "phone-carier"`}, ""},
		{"whatif-without-down", []string{"whatif", "--directory", sampleTenant}, exitUsage, []string{"--down"}, ""},
		{"parse-malformed-record-keeps-the-rest", []string{"parse", badRecords}, exitBadInput, []string{"records.json", "record 0"}, `"userId":"u1"`},
		{"parse-missing-file", []string{"parse", filepath.Join(dir, "nope.json")}, exitBadInput, []string{"nope.json"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := credres(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
			if tc.stdoutHas != "" && !strings.Contains(out, tc.stdoutHas) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdoutHas, out)
			}
		})
	}
}

func TestParseReadsStandardInput(t *testing.T) {
	data, err := os.ReadFile("../../pkg/entralog/testdata/audit/msgraph-docs_beta_directoryAudit_update-user_StrongAuthenticationMethod.json")
	if err != nil {
		t.Skip("sample not present:", err)
	}
	code, out, _ := credres(t, string(data), "parse")
	if code != exitOK || strings.Count(out, "\n") != 1 {
		t.Errorf("exit %d, output %q", code, out)
	}
	var ev model.MethodChangeEvent
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.UserID == "" {
		t.Errorf("event %+v, %v", ev, err)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands {
		code, out, _ := credres(t, "", c.name, "--help")
		if code != exitOK || !strings.Contains(out, "Usage: credres "+c.name) {
			t.Errorf("%s --help: exit %d, output %q", c.name, code, out)
		}
	}
	if code, out, _ := credres(t, "", "--help"); code != exitOK || !strings.Contains(out, "Commands:") {
		t.Errorf("--help: exit %d", code)
	}
	// Every usage text is a command's, and reads as one: a synopsis, a
	// blank line, a description.
	files, err := helpFiles.ReadDir("help")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(f.Name(), ".txt")
		if !slices.ContainsFunc(commands, func(c command) bool { return c.name == name }) {
			t.Errorf("help/%s is the usage text of no command", f.Name())
		}
		if synopsis, about := helpText(name); synopsis == "" || about == "" || strings.Contains(synopsis, "\n") {
			t.Errorf("help/%s: synopsis %q, description %q", f.Name(), synopsis, about)
		}
	}
}

func TestArgumentsAreRefused(t *testing.T) {
	for _, c := range commands {
		if c.name == "parse" { // its arguments are files
			continue
		}
		code, _, errOut := credres(t, "", c.name, "stray")
		if code != exitUsage || !strings.Contains(errOut, `unexpected argument "stray"`) {
			t.Errorf("%s stray: exit %d, %q", c.name, code, errOut)
		}
	}
}
