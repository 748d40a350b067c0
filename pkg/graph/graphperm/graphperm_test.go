package graphperm_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/graph/graphperm"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile("../../../" + path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text of s from the line starting with start to the
// next line starting with end.
func section(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, "\n"+start)
	if i < 0 {
		t.Fatalf("no %q", start)
	}
	s = s[i+1:]
	if j := strings.Index(s[len(start):], "\n"+end); j >= 0 {
		s = s[:len(start)+j]
	}
	return s
}

var tableRow = regexp.MustCompile("(?m)^\\| `([A-Za-z.]+)` \\|")

func tablePermissions(s string) []string {
	var out []string
	for _, m := range tableRow.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func same(t *testing.T, where string, got []string, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s names %v, want %v (graphperm)", where, got, want)
	}
}

// The grant script, docs/GRAPH.md and docs/DEPLOY.md grant exactly the
// permissions of graphperm.Read.
func TestScriptAndDocsAgree(t *testing.T) {
	want := graphperm.Names(graphperm.Read)

	script := read(t, "infra/grant-graph-permissions.sh")
	m := regexp.MustCompile(`(?m)^readonly PERMISSIONS=\(([^)]*)\)`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("the grant script has no PERMISSIONS array")
	}
	same(t, "infra/grant-graph-permissions.sh PERMISSIONS", strings.Fields(m[1]), want)
	var listed []string
	for _, l := range strings.Split(section(t, script, "# The permissions are", "# Mail.Send"), "\n") {
		if f := strings.Fields(strings.TrimPrefix(l, "#")); len(f) > 0 && strings.Contains(f[0], ".Read") {
			listed = append(listed, f[0])
		}
	}
	same(t, "infra/grant-graph-permissions.sh's header", listed, want)

	graph := read(t, "docs/GRAPH.md")
	table := tablePermissions(section(t, graph, "## Application permissions", "Not needed"))
	same(t, "docs/GRAPH.md's permission table", table, append(slices.Clone(want), append(graphperm.Names(graphperm.Optional), "Mail.Send")...))
	loop := regexp.MustCompile(`(?m)^for p in ([^;]*); do`).FindStringSubmatch(graph)
	if loop == nil {
		t.Fatal("docs/GRAPH.md has no grant loop")
	}
	same(t, "docs/GRAPH.md's grant loop", strings.Fields(loop[1]), want)

	deploy := read(t, "docs/DEPLOY.md")
	same(t, "docs/DEPLOY.md's A3 table", tablePermissions(section(t, deploy, "### A3.", "### A4.")), want)
}
