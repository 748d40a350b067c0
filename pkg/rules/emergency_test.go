package rules

import (
	"slices"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

const breakGlassGroup = "5d0f3c2a-9e8b-4c7d-a6f5-e4d3c2b1a0f9"

func emergencyPolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := ParsePolicy(append(DefaultPolicyYAML(), []byte("emergencyAccessGroups: ["+breakGlassGroup+"]\n")...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func breakGlass(t *testing.T, id string, specs ...string) *model.User {
	u := user(t, id, specs...)
	u.Roles, u.Groups = []string{"Global Administrator"}, []string{breakGlassGroup}
	return u
}

// Emergency access accounts have a tier of their own in the default policy,
// by group; they are never mailed, and their set is judged as a whole.
func TestEmergencyAccessTier(t *testing.T) {
	t.Parallel()
	e := New(emergencyPolicy(t))
	u := breakGlass(t, "bg1", "password", "mobile") // one account, weak on its own
	a := e.Evaluate(cloud, u)
	if a.Tier != "emergency-access" || a.Compliant {
		t.Fatalf("tier %q compliant %v", a.Tier, a.Compliant)
	}
	d := e.Decide(DecisionInput{Current: a, Now: time.Unix(0, 0), Campaign: true})
	if d.Kind != model.DecisionNone || len(d.Reasons) != 1 || d.Reasons[0].Code != model.ReasonEmergencyAccess {
		t.Errorf("decision %s %v: an emergency access account is never nudged or ticketed alone", d.Kind, d.Reasons)
	}
	// Without the policy's groups, the tier matches nobody.
	if a := New(nil).Evaluate(cloud, u); a.Tier != "privileged" {
		t.Errorf("default policy without groups: tier %q", a.Tier)
	}
}

func TestEmergencyAccessSet(t *testing.T) {
	t.Parallel()
	e := New(emergencyPolicy(t))
	sameModel := func(id string) *model.User { return breakGlass(t, id, "password", "fido2:key-"+id) }
	otherModel := func(id string) *model.User {
		u := breakGlass(t, id, "password", "fido2:key-"+id)
		u.Methods[1].AAGUID = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
		return u
	}
	synced := func(id string) *model.User {
		u := breakGlass(t, id, "password", "mobile")
		u.OnPremisesSyncEnabled = true
		return u
	}
	tests := []struct {
		name      string
		tenant    model.Tenant
		users     []*model.User
		diversity int
		spofs     []string
		compliant bool
	}{
		{"keys-of-one-model-fail-together", cloud, []*model.User{sameModel("bg1"), sameModel("bg2")}, 1, []string{"security-key-model/2fc0579f-8113-47ea-b116-555a8db9202a"}, false},
		{"keys-of-two-models-do-not", cloud, []*model.User{sameModel("bg1"), otherModel("bg2")}, 2, nil, true},
		{"both-federated-fail-together", federated, []*model.User{synced("bg1"), synced("bg2")}, 1, []string{"entra-mfa", "on-premises", "phone-carrier"}, false},
		{"phones-of-two-accounts-are-two-phones", cloud, []*model.User{breakGlass(t, "bg1", "password", "auth:a1"), breakGlass(t, "bg2", "password", "auth:a2")}, 1, []string{"entra-mfa"}, false},
		{"no-accounts-no-finding", cloud, nil, 0, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, ok := e.EmergencyAccess(tc.tenant, tc.users)
			if len(tc.users) == 0 {
				if ok {
					t.Errorf("a set without accounts: %+v", s)
				}
				return
			}
			if !ok || s.Diversity != tc.diversity || !slices.Equal(s.SPOFs, tc.spofs) || s.Compliant != tc.compliant || len(s.Users) != len(tc.users) {
				t.Errorf("set %+v, want diversity %d spofs %v compliant %v", s, tc.diversity, tc.spofs, tc.compliant)
			}
			d := e.DecideEmergencyAccess(nil, s)
			want := model.DecisionNone
			if !tc.compliant {
				want = model.DecisionTicket
			}
			if d.Kind != want || (want == model.DecisionTicket && d.Reasons[0].Code != model.ReasonEmergencySetBelow) {
				t.Errorf("decision %s %v, want %s to the security team", d.Kind, d.Reasons, want)
			}
		})
	}
	// Once ticketed, the same finding is not ticketed again; back within
	// policy, it is resolved.
	bad, _ := e.EmergencyAccess(cloud, []*model.User{sameModel("bg1"), sameModel("bg2")})
	good, _ := e.EmergencyAccess(cloud, []*model.User{sameModel("bg1"), otherModel("bg2")})
	if d := e.DecideEmergencyAccess(&bad, bad); d.Kind != model.DecisionNone {
		t.Errorf("the same finding again: %s", d.Kind)
	}
	if d := e.DecideEmergencyAccess(&bad, good); d.Kind != model.DecisionResolve {
		t.Errorf("back within policy: %s", d.Kind)
	}
}
