package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/report"
)

func TestReportGolden(t *testing.T) {
	code, out, errOut := credres(t, "", "report", "--directory", sampleTenant, "--format", "json", "--now", "2026-12-07T12:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden.Assert(t, filepath.Join("testdata", "report-sample.json"), out)
}

// registrationTenant writes the sample tenant with an export time and the
// registration report's fields on its first users, as an export that read
// them writes the snapshot.
func registrationTenant(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(sampleTenant)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["exportedAt"] = "2026-12-07T06:00:00Z"
	users := doc["users"].([]any)
	for i, reg := range []string{
		`{"isSsprRegistered":true,"userPreferredMethodForSecondaryAuthentication":"push","systemPreferredAuthenticationMethods":["push"],"isSystemPreferredAuthenticationMethodEnabled":true,"isAdmin":false}`,
		`{"isSsprRegistered":false,"userPreferredMethodForSecondaryAuthentication":"none","systemPreferredAuthenticationMethods":[],"isSystemPreferredAuthenticationMethodEnabled":false}`,
		`{"isSsprRegistered":true,"userPreferredMethodForSecondaryAuthentication":"sms","systemPreferredAuthenticationMethods":["sms"],"isSystemPreferredAuthenticationMethodEnabled":true}`,
	} {
		u := users[i].(map[string]any)
		var r any
		if err := json.Unmarshal([]byte(reg), &r); err != nil {
			t.Fatal(err)
		}
		u["registrationDetails"] = r
		u["userType"] = []string{"Member", "Guest", "Member"}[i]
	}
	users[3].(map[string]any)["displayName"] = "=cmd|' /C calc'!A0"
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tenant.json")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// The CSV export: one row per user with the registration details, unknown
// where the snapshot does not say, a formula defused.
func TestReportCSVGolden(t *testing.T) {
	code, out, errOut := credres(t, "", "report", "--directory", registrationTenant(t), "--format", "csv", "--now", "2026-12-07T12:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden.Assert(t, filepath.Join("testdata", "report-registration.csv"), out)
	var r report.Report
	runJSON(t, &r, "report", "--directory", registrationTenant(t), "--format", "json", "--now", "2026-12-07T12:00:00+01:00")
	if !r.ExportedAt.Equal(time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)) || !r.GeneratedAt.Equal(time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("exportedAt %v, generatedAt %v", r.ExportedAt, r.GeneratedAt)
	}
	if u := r.Users[1]; u.UserType != "guest" || u.SSPRRegistered == nil || *u.SSPRRegistered || u.DefaultMethod != "none" {
		t.Errorf("second user %+v", u)
	}
}

// reportSnapshots writes the tenants the report is checked on: the sample
// tenant, generated tenants in the password mode their seed draws, and a
// generated pass-through tenant without the fallback.
func reportSnapshots(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"sample": sampleTenant}
	write := func(name string, d *model.Directory) {
		var buf bytes.Buffer
		if err := synth.WriteJSON(&buf, d); err != nil {
			t.Fatal(err)
		}
		files[name] = filepath.Join(dir, name+".json")
		if err := os.WriteFile(files[name], buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, seed := range []int64{1, 2, 3} {
		write(fmt.Sprintf("synth-%d", seed), synth.Tenant(2000, seed))
	}
	pta := synth.Tenant(2000, 4)
	pta.Tenant = model.Tenant{ID: pta.Tenant.ID, PasswordAuth: model.PasswordPTA}
	write("synth-4-pta", pta)
	return files
}

func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, errOut := credres(t, "", args...)
	if code != exitOK {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

func ids(refs []userRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.ID
	}
	return out
}

// The report's figures are those of `credres whatif` and `credres assess`
// run on the same snapshot.
func TestReportAgreesWithWhatifAndAssess(t *testing.T) {
	for name, file := range reportSnapshots(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var r report.Report
			runJSON(t, &r, "report", "--directory", file, "--format", "json")
			var a assessOutput
			runJSON(t, &a, "assess", "--directory", file, "--format", "json")

			// Every single kind and every pair the report lists (pkg/report
			// checks all the other pairs against rules.LockedOut).
			singles := 0
			for _, o := range r.Outages {
				if len(o.Down) == 1 {
					singles++
				}
				var w whatifOutput
				runJSON(t, &w, "whatif", "--directory", file, "--down", strings.Join(o.Down, ","), "--format", "json")
				if !slices.Equal(o.Users, ids(w.LockedOut)) || o.LockedOut != len(w.LockedOut) {
					t.Errorf("%v: report locks out %d users, whatif %d", o.Down, o.LockedOut, len(w.LockedOut))
				}
				if !slices.Equal(r.WithoutAnyPath.Users, ids(w.WithoutAnyPath)) {
					t.Errorf("%v: without any path %v, whatif %v", o.Down, r.WithoutAnyPath.Users, ids(w.WithoutAnyPath))
				}
			}
			if singles != len(model.DependencyKinds)-1 {
				t.Errorf("%d single outages, want every kind but entra-auth", singles)
			}

			s := a.Summary
			byDiversity := map[string]int{"0": r.Summary.ByDiversity.Zero, "1": r.Summary.ByDiversity.One, "2": r.Summary.ByDiversity.Two, "3+": r.Summary.ByDiversity.ThreePlus}
			for k, n := range s.ByDiversity {
				if byDiversity[k] != n {
					t.Errorf("diversity %s: report %d, assess %d", k, byDiversity[k], n)
				}
			}
			for _, td := range r.Diversity {
				if td.Users != s.ByTier[td.Tier] {
					t.Errorf("tier %s: report %d users, assess %d", td.Tier, td.Users, s.ByTier[td.Tier])
				}
			}
			if r.Summary.Users != s.Users || r.Summary.Compliant != s.Compliant || r.Summary.WithoutAnyPath != s.WithoutPath ||
				r.Summary.Passwordless != s.Passwordless || r.Summary.PhishingResistant != s.PhishingRes {
				t.Errorf("summary %+v, assess %+v", r.Summary, s)
			}
			if r.TelephonyOnly.Count < s.Violations[string(model.ViolationTelephonyOnly)] {
				t.Errorf("%d telephony-only users, fewer than assess's %d telephony-only violations", r.TelephonyOnly.Count, s.Violations[string(model.ViolationTelephonyOnly)])
			}

			// The hybrid figures against assess and whatif on the same
			// snapshot with the fallback on.
			d, err := graphjson.LoadDirectory(file)
			if err != nil {
				t.Fatal(err)
			}
			d.Tenant.PHSFallback = true
			var buf bytes.Buffer
			if err := synth.WriteJSON(&buf, d); err != nil {
				t.Fatal(err)
			}
			phsFile := filepath.Join(t.TempDir(), "phs.json")
			if err := os.WriteFile(phsFile, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			var after assessOutput
			runJSON(t, &after, "assess", "--directory", phsFile, "--format", "json")
			var w whatifOutput
			runJSON(t, &w, "whatif", "--directory", phsFile, "--down", "on-premises", "--format", "json")
			if r.Hybrid.WithPHSFallback.Compliant != after.Summary.Compliant || r.Hybrid.WithPHSFallback.LockedOutByOnPremises != len(w.LockedOut) {
				t.Errorf("with the fallback: report %+v, assess %d compliant, whatif %d locked out", r.Hybrid.WithPHSFallback, after.Summary.Compliant, len(w.LockedOut))
			}
		})
	}
}

func TestReportFiles(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		file   string
		prefix string
	}{
		{"html-from-the-extension", []string{"--out", filepath.Join(dir, "report.html")}, "report.html", "<!DOCTYPE html>"},
		{"json-from-the-extension", []string{"--out", filepath.Join(dir, "report.json")}, "report.json", "{\n  \"generatedAt\""},
		{"format-wins-over-extension", []string{"--format", "json", "--out", filepath.Join(dir, "json.html")}, "json.html", "{\n  \"generatedAt\""},
		{"csv-from-the-extension", []string{"--out", filepath.Join(dir, "users.csv")}, "users.csv", "id,userPrincipalName,displayName,userType,"},
		{"html-into-any-name", []string{"--format", "html", "--out", filepath.Join(dir, "page")}, "page", "<!DOCTYPE html>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := credres(t, "", append([]string{"report", "--directory", sampleTenant}, tc.args...)...)
			if code != exitOK || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
			}
			data, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), tc.prefix) {
				t.Errorf("%s starts with %.40q", tc.file, data)
			}
			// The report lists the users without multifactor sign-in.
			if fi, err := os.Stat(filepath.Join(dir, tc.file)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v (%v), want 0600", tc.file, fi.Mode().Perm(), err)
			}
		})
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestReportExitStatus(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name      string
		args      []string
		code      int
		stderrHas string
	}{
		{"without-directory", []string{"report"}, exitUsage, "--directory FILE is required"},
		{"html-needs-out", []string{"report", "--directory", sampleTenant, "--format", "html"}, exitUsage, "--format html needs --out FILE"},
		{"bad-format", []string{"report", "--directory", sampleTenant, "--format", "pdf"}, exitUsage, "html, json or csv"},
		{"extra-argument", []string{"report", "--directory", sampleTenant, "now"}, exitUsage, `unexpected argument "now"`},
		{"missing-snapshot", []string{"report", "--directory", filepath.Join(dir, "nope.json")}, exitBadInput, "nope.json"},
		{"bad-policy", []string{"report", "--directory", sampleTenant, "--policy", sampleTenant}, exitBadInput, "policy"},
		{"out-in-a-missing-directory", []string{"report", "--directory", sampleTenant, "--out", filepath.Join(dir, "no", "report.html")}, exitBadInput, "report.html"},
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
