package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graphjson"
)

// liveTenant serves the sample tenant from a Graph-compatible server and
// points the CLI's environment at it. The budget is raised so that the
// test runs in well under a second of real time; the pacer's behaviour
// under the real budget is pkg/graph's to test.
func liveTenant(t *testing.T, opts ...graphtest.Option) *graphtest.Server {
	t.Helper()
	dir, err := graphjson.LoadDirectory(sampleTenant)
	if err != nil {
		t.Fatal(err)
	}
	srv := graphtest.NewServer(t, dir, append([]graphtest.Option{graphtest.WithToken("test-token"),
		graphtest.WithLimit(graphtest.ClassAuthReports, graphtest.Limit{Requests: 10000, Per: 10 * time.Second}),
		graphtest.WithReportPageSize(10), graphtest.WithListPageSize(2)}, opts...)...)
	t.Setenv("CREDRES_GRAPH_URL", srv.URL())
	t.Setenv("CREDRES_GRAPH_TOKEN", "test-token")
	t.Setenv("AZURE_TENANT_ID", dir.Tenant.ID)
	t.Setenv("CREDRES_PASSWORD_AUTH", string(dir.Tenant.PasswordAuth))
	t.Setenv("CREDRES_PHS_FALLBACK", "false")
	t.Setenv("CREDRES_GRAPH_REPORTS_BUDGET", "10000/10s")
	return srv
}

// `credres assess --graph` gives exactly the assessments of `credres assess
// --directory` on the equivalent snapshot.
func TestAssessGraphEqualsDirectory(t *testing.T) {
	liveTenant(t)
	_, want, _ := credres(t, "", "assess", "--directory", sampleTenant, "--format", "json")
	code, got, errOut := credres(t, "", "assess", "--graph", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got != want {
		t.Errorf("assess --graph differs from assess --directory\ngot:\n%.2000s\nwant:\n%.2000s", got, want)
	}
	code, one, _ := credres(t, "", "assess", "--graph", "--user", "adele.vance@contoso.example", "--user", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a03", "--format", "json")
	var doc assessOutput
	if code != exitOK || jsonUnmarshal(one, &doc) != nil || len(doc.Users) != 2 {
		t.Errorf("--user: exit %d, %d users", code, len(doc.Users))
	}
}

func TestExportRoundTrips(t *testing.T) {
	liveTenant(t)
	out := filepath.Join(t.TempDir(), "tenant.json")
	code, _, errOut := credres(t, "", "export", "--graph", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, want, _ := credres(t, "", "assess", "--directory", sampleTenant, "--format", "json")
	_, got, _ := credres(t, "", "assess", "--directory", out, "--format", "json")
	if got != want {
		t.Errorf("the exported snapshot assesses differently")
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"export", "--out", out}, {"export", "--graph"}, {"assess", "--graph", "--directory", sampleTenant}, {"assess", "--user", "x"}} {
		if code, _, _ := credres(t, "", args...); code != exitUsage {
			t.Errorf("%v: exit %d, want usage error", args, code)
		}
	}
}

func TestGraphFailureIsBadInput(t *testing.T) {
	liveTenant(t)
	t.Setenv("CREDRES_GRAPH_TOKEN", "wrong-token")
	code, _, errOut := credres(t, "", "assess", "--graph", "--user", "adele.vance@contoso.example")
	if code != exitBadInput || errOut == "" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// asGraphAnswers writes the sample tenant as Graph describes it: Graph
// always answers userType and accountEnabled, and the registration report
// its rows' details, which the report's user rows show, so the snapshot
// that says nothing of them is given Graph's answer (the fake Graph's).
func asGraphAnswers(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(sampleTenant)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, u := range doc["users"].([]any) {
		u := u.(map[string]any)
		if _, ok := u["userType"]; !ok {
			u["userType"] = "Member"
		}
		if _, ok := u["accountEnabled"]; !ok {
			u["accountEnabled"] = true
		}
		if _, ok := u["registrationDetails"]; !ok {
			roles, _ := u["roles"].([]any)
			u["registrationDetails"] = map[string]any{"isSsprRegistered": false, "userPreferredMethodForSecondaryAuthentication": "none",
				"systemPreferredAuthenticationMethods": []any{}, "isSystemPreferredAuthenticationMethodEnabled": true, "isAdmin": len(roles) > 0}
		}
	}
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

func TestReportGraphEqualsDirectory(t *testing.T) {
	liveTenant(t)
	const now = "2026-12-07T12:00:00Z" // the time of generation, which the report carries
	_, want, _ := credres(t, "", "report", "--directory", asGraphAnswers(t), "--format", "json", "--now", now)
	code, got, errOut := credres(t, "", "report", "--graph", "--format", "json", "--now", now)
	// The live read is stamped with the time it was made; the snapshot
	// file, not exported, has none.
	exported := regexp.MustCompile(`(?m)^\s*"exportedAt": "[^"]+",\n`)
	if !exported.MatchString(got) {
		t.Errorf("report --graph does not carry the read's exportedAt:\n%.600s", got)
	}
	got = exported.ReplaceAllString(got, "")
	if code != exitOK || got != want {
		t.Errorf("report --graph (exit %d, %s) differs from report --directory:\n%s", code, errOut, firstDifference(got, want))
	}
}

// firstDifference shows the first line where got and want differ.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}
