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

// With emergency access groups in the policy, doctor reads each group's
// users as the sweep does, and so checks the optional GroupMember.Read.All.
func TestDoctorChecksTheEmergencyAccessGroups(t *testing.T) {
	const (
		group   = "5a9d9952-bd06-4cab-9ba2-9b3c0b0733d9" // a group of the sample tenant
		unknown = "0e6f2c1d-7a4b-4c3e-9d8f-1a2b3c4d5e6f"
		tier    = "tiers:\n  - name: emergency-access\n    emergencyAccess: true\n    minDiversity: 2\n  - name: everyone\n    match: {all: true}\n    minDiversity: 2\n"
	)
	all := graphperm.Deployment()
	for _, tc := range []struct {
		name, policy string
		roles        []string
		reads        int // group reads, one per group named
		want         []string
	}{
		{"granted", tier + "emergencyAccessGroups: [" + group + "]\n", all, 1,
			[]string{"ok    graph GroupMember.Read.All", "(1 checked)"}},
		{"tier match groups", strings.Replace(tier, "emergencyAccess: true\n", "emergencyAccess: true\n    match: {groups: ["+group+"]}\n", 1) + "emergencyAccessGroups: [" + strings.ToUpper(group) + "]\n", all, 1,
			[]string{"ok    graph GroupMember.Read.All", "(1 checked)"}},
		{"not granted", tier + "emergencyAccessGroups: [" + group + "]\n", graphtest.Without("GroupMember.Read.All"), 1,
			[]string{"FAIL  graph GroupMember.Read.All", "GroupMember.Read.All is not granted", "403", "fix: add the application permission GroupMember.Read.All", "Emergency access accounts"}},
		{"unknown group", tier + "emergencyAccessGroups: [" + group + ", " + unknown + "]\n", all, 2,
			[]string{"FAIL  graph GroupMember.Read.All", "emergency access group " + unknown + ": group not found", "404"}},
		{"no groups", "", all, 0,
			[]string{"skip  graph GroupMember.Read.All", "the policy names no emergency access group"}},
		{"no tier", "tiers:\n  - name: everyone\n    match: {all: true}\n    minDiversity: 2\nemergencyAccessGroups: [" + group + "]\n", all, 0,
			[]string{"skip  graph GroupMember.Read.All", "the policy has no emergency access tier"}},
		{"bad policy", "tiers: [", all, 0,
			[]string{"FAIL  graph GroupMember.Read.All", "CREDRES_POLICY: ", "fix: correct the policy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := graphtest.AppToken(tc.roles...)
			srv := doctorEnv(t, graphtest.WithToken(token))
			t.Setenv("CREDRES_GRAPH_TOKEN", token)
			t.Setenv("CREDRES_POLICY", tc.policy)
			code, out, _ := credres(t, "", "doctor", "--user", admin)
			t.Logf("credres doctor:\n%s", out)
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("doctor does not say %q:\n%s", want, out)
				}
			}
			if failed := strings.Contains(out, "FAIL"); failed != (code != exitOK) || failed != strings.HasPrefix(tc.want[0], "FAIL") {
				t.Errorf("exit %d:\n%s", code, out)
			}
			var reads []string
			for _, r := range srv.Requests() {
				for _, it := range r.Items {
					if strings.HasPrefix(it.URL, "/groups/") {
						reads = append(reads, it.URL)
					}
				}
			}
			if len(reads) != tc.reads {
				t.Errorf("group reads %v, want %d", reads, tc.reads)
			}
			for _, r := range reads {
				if !strings.Contains(r, "$top=1") || !strings.Contains(r, "$select=id") {
					t.Errorf("read %s is not the first page of ids", r)
				}
			}
		})
	}
}
