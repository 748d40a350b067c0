package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graph/graphperm"
)

// Doctor checks each permission the deployment grants, no more.
func TestDoctorChecksEveryGrantedPermission(t *testing.T) {
	var checked []string
	for p := range graphChecks {
		checked = append(checked, p)
	}
	want := graphperm.Names(graphperm.Read)
	slices.Sort(checked)
	slices.Sort(want)
	if !slices.Equal(checked, want) {
		t.Errorf("doctor checks %v, the deployment grants %v", checked, want)
	}
	if all := append(slices.Clone(perUser), "Policy.Read.All"); len(all) != len(want) {
		t.Errorf("per-user checks %v and Policy.Read.All are not every permission", perUser)
	}
}

// Without one grant, doctor fails that permission's check, and only it,
// because the fake Graph refuses the read as Graph would.
func TestDoctorFailsTheMissingGrant(t *testing.T) {
	for _, p := range graphperm.Names(graphperm.Read) {
		t.Run(p, func(t *testing.T) {
			token := graphtest.AppToken(graphtest.Without(p)...)
			doctorEnv(t, graphtest.WithToken(token))
			t.Setenv("CREDRES_GRAPH_TOKEN", token)
			_, out, _ := credres(t, "", "doctor", "--user", admin)
			for _, q := range graphperm.Names(graphperm.Read) {
				if failed := strings.Contains(out, "FAIL  graph "+q); failed != (q == p) {
					t.Errorf("without %s, graph %s failed=%v:\n%s", p, q, failed, out)
				}
			}
			if !strings.Contains(out, "FAIL  graph "+p) {
				t.Errorf("without %s doctor does not fail it:\n%s", p, out)
			}
		})
	}
}
