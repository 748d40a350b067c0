package templatetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGraphReadersRunAlone keeps every function that reads Graph's
// authentication methods and reports at a fixed number of execution
// environments: without ReservedConcurrentExecutions, a manual invoke of
// the sweep during its scheduled run would put two sweeps over its share
// of Graph's budget (TestGraphBudget adds the shares up).
func TestGraphReadersRunAlone(t *testing.T) {
	t.Parallel()
	budgetVar := envConstants(t)["wiring.EnvGraphReportsBudget"]
	res := get(loadTemplate(t), "Resources")
	want := map[string]int{"EvaluateFunction": 2, "SweepFunction": 1}
	for i := 0; i+1 < len(res.Content); i += 2 {
		id, props := res.Content[i].Value, get(res.Content[i+1], "Properties")
		if get(get(get(props, "Environment"), "Variables"), budgetVar) == nil {
			continue
		}
		rc := get(props, "ReservedConcurrentExecutions")
		if rc == nil {
			t.Errorf("%s reads Graph at %s but has no ReservedConcurrentExecutions: a second invocation would double its share", id, budgetVar)
			continue
		}
		if n, ok := want[id]; ok && intOf(rc, 0) != n {
			t.Errorf("%s: ReservedConcurrentExecutions %d, want %d", id, intOf(rc, 0), n)
		}
		delete(want, id)
	}
	for id := range want {
		t.Errorf("%s does not read Graph at %s", id, budgetVar)
	}
}

// TestAzureSide checks the Bicep and the scripts for what a deployment in
// a national cloud or an outage of the ingest function would teach the
// hard way.
func TestAzureSide(t *testing.T) {
	t.Parallel()
	// The public cloud's host names: elsewhere they come from the
	// namespace (serviceBusEndpoint) or the Azure CLI's cloud.
	hosts := regexp.MustCompile(`servicebus\.windows\.net|management\.azure\.com|graph\.microsoft\.com|login\.microsoftonline\.com`)
	var files []string
	for _, pattern := range []string{"infra/*.bicep", "infra/modules/*.bicep", "infra/*.sh"} {
		m, err := filepath.Glob(filepath.Join(repo, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(b), "\n") {
			code, _, _ := strings.Cut(line, "#")
			if strings.HasSuffix(f, ".bicep") {
				code, _, _ = strings.Cut(line, "//")
			}
			if hosts.MatchString(code) {
				t.Errorf("%s:%d names a public-cloud host; national clouds have their own: %s", f, n+1, strings.TrimSpace(line))
			}
		}
	}
	hub := string(readRepo(t, "infra/modules/eventhubs.bicep"))
	if !strings.Contains(hub, "messageRetentionInDays: 7\n") {
		t.Error("infra/modules/eventhubs.bicep: the hub does not keep the Standard tier's 7 days: a weekend without ingest would lose audit events")
	}
}

// TestDocReferences keeps the repository's cross-references whole: every
// docs/*.md that the template, the Makefile, the infrastructure, README
// or the docs name exists.
func TestDocReferences(t *testing.T) {
	t.Parallel()
	docRef := regexp.MustCompile(`docs/[A-Za-z0-9_-]+\.md`)
	files := []string{"template.yaml", "Makefile", "README.md"}
	for _, pattern := range []string{"docs/*.md", "infra/*.bicep", "infra/*.sh", "infra/modules/*.bicep", "events/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(repo, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(repo, f)
			files = append(files, rel)
		}
	}
	for _, f := range files {
		// The documentation stands alone: it carries the definitions it
		// uses (docs/DESIGN.md) instead of citing a file users do not have.
		if strings.Contains(string(readRepo(t, f)), "SPEC §") {
			t.Errorf("%s cites \"SPEC §\": refer to docs/DESIGN.md instead", f)
		}
		for _, target := range docRef.FindAllString(string(readRepo(t, f)), -1) {
			if _, err := os.Stat(filepath.Join(repo, target)); err != nil {
				t.Errorf("%s refers to %s, which does not exist", f, target)
			}
		}
	}
}
