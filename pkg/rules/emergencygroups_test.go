package rules

import (
	"slices"
	"testing"
)

// The groups of the emergency access set are the policy's list and the
// tier's own match groups, each once whatever its case; without an
// emergency access tier there are none.
func TestEmergencyAccessGroupIDs(t *testing.T) {
	p := &Policy{
		EmergencyAccessGroups: []string{"g1", "G2"},
		Tiers: []Tier{
			{Name: "admins", Match: Match{Groups: []string{"admins"}}},
			{Name: "emergency-access", EmergencyAccess: true, Match: Match{Groups: []string{"g2", "g3", "G1"}}},
		},
	}
	if tier := p.EmergencyAccessTier(); tier == nil || tier.Name != "emergency-access" {
		t.Fatalf("tier %+v, want emergency-access", tier)
	}
	if got, want := p.EmergencyAccessGroupIDs(), []string{"g1", "G2", "g3"}; !slices.Equal(got, want) {
		t.Errorf("groups %q, want %q", got, want)
	}
	p.Tiers = p.Tiers[:1]
	if p.EmergencyAccessTier() != nil || p.EmergencyAccessGroupIDs() != nil {
		t.Errorf("without an emergency access tier: %+v, %q", p.EmergencyAccessTier(), p.EmergencyAccessGroupIDs())
	}
}
