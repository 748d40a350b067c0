package entralog

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

// policyRecord is a Graph directoryAudit of a policy activity.
func policyRecord(activity, service, category, result, target string) string {
	return fmt.Sprintf(`{"id":"%s_1","category":%q,"loggedByService":%q,"activityDisplayName":%q,
"activityDateTime":"2026-12-01T09:00:00Z","result":%q,
"initiatedBy":{"user":{"id":"5c2e9f4a-8d1b-4c7e-b0a3-6f9d2e1c7b80","userPrincipalName":"it.admin@contoso.example"}},
"targetResources":[%s]}`, service, category, service, activity, result, target)
}

// TestPolicyChangeClassification: the activities of Microsoft's audit
// activity reference that change the tenant's own policy are policy
// changes, never user events; their neighbours that credres does not model
// are skipped.
func TestPolicyChangeClassification(t *testing.T) {
	t.Parallel()
	const caTarget = `{"id":"6f9b2a10-4c3e-4d7a-9b1e-2a3c4d5e6f01","displayName":"Admins: phishing-resistant MFA","type":"Policy","modifiedProperties":[]}`
	const caNoName = `{"id":"6f9b2a10-4c3e-4d7a-9b1e-2a3c4d5e6f01","type":"Policy","modifiedProperties":[{"displayName":"ConditionalAccessPolicy","oldValue":null,"newValue":"{\"id\":\"6f9b2a10-4c3e-4d7a-9b1e-2a3c4d5e6f01\",\"displayName\":\"From the policy\"}"}]}`
	const strength = `{"id":"7d3f0b1e-2a4c-4e8f-9b6d-1c2e3f4a5b6c","displayName":"Security keys only","type":"Policy"}`
	for _, tc := range []struct {
		activity, service, category, result, target string
		kind                                        model.PolicyKind
		name, skip                                  string
	}{
		{"Update conditional access policy", "Conditional Access", "Policy", "success", caTarget, model.PolicyConditionalAccess, "Admins: phishing-resistant MFA", ""},
		{"Update Conditional Access policy", "Conditional Access", "Policy", "success", caTarget, model.PolicyConditionalAccess, "Admins: phishing-resistant MFA", ""},
		{"Add conditional access policy", "Conditional Access", "Policy", "success", caNoName, model.PolicyConditionalAccess, "From the policy", ""},
		{"Delete conditional access policy", "Conditional Access", "Policy", "success", caTarget, model.PolicyConditionalAccess, "Admins: phishing-resistant MFA", ""},
		{"Authentication Methods Policy Update", "Authentication Methods", "ApplicationManagement", "success", "", model.PolicyAuthenticationMethods, "Authentication methods policy", ""},
		{"Authentication Methods Policy Reset", "Authentication Methods", "ApplicationManagement", "success", "", model.PolicyAuthenticationMethods, "Authentication methods policy", ""},
		{"Authentication Strength Policy Create", "Authentication Methods", "ApplicationManagement", "success", strength, model.PolicyAuthenticationStrength, "Security keys only", ""},
		{"Authentication Strength Policy Update", "Authentication Methods", "ApplicationManagement", "success", strength, model.PolicyAuthenticationStrength, "Security keys only", ""},
		{"Authentication Strength Policy Delete", "Authentication Methods", "ApplicationManagement", "success", strength, model.PolicyAuthenticationStrength, "Security keys only", ""},
		{"Update conditional access policy", "Conditional Access", "Policy", "failure", caTarget, "", "", SkipFailedOperation},
		// Not modelled by credres: no tenant-wide re-evaluation.
		{"Update named location", "Conditional Access", "Policy", "success", caTarget, "", "", SkipIrrelevantActivity},
		{"Update security defaults", "Conditional Access", "Policy", "success", caTarget, "", "", SkipIrrelevantActivity},
		{"Authentication Strength Combination Configuration Update", "Authentication Methods", "ApplicationManagement", "success", strength, "", "", SkipIrrelevantActivity},
	} {
		b, err := Parse([]byte(policyRecord(tc.activity, tc.service, tc.category, tc.result, tc.target)))
		if err != nil {
			t.Fatalf("%s: %v", tc.activity, err)
		}
		if len(b.Audit) != 0 {
			t.Errorf("%s: a user event %+v", tc.activity, b.Audit)
		}
		if tc.skip != "" {
			if b.Skipped[tc.skip] != 1 || len(b.PolicyChanges) != 0 {
				t.Errorf("%s (%s): skipped %v, changes %+v; want %s", tc.activity, tc.result, b.Skipped, b.PolicyChanges, tc.skip)
			}
			continue
		}
		if len(b.PolicyChanges) != 1 {
			t.Fatalf("%s: %d policy changes, skipped %v", tc.activity, len(b.PolicyChanges), b.Skipped)
		}
		pc := b.PolicyChanges[0]
		if pc.Kind != tc.kind || pc.PolicyName != tc.name || pc.Activity != tc.activity || pc.AuditID != tc.service+"_1" ||
			!pc.Time.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) || pc.InitiatedBy.UserPrincipalName != "it.admin@contoso.example" {
			t.Errorf("%s: %+v", tc.activity, pc)
		}
		// ParseAudit keeps to users' events.
		ab, err := ParseAudit([]byte(policyRecord(tc.activity, tc.service, tc.category, tc.result, tc.target)))
		if err != nil || len(ab.Events) != 0 || ab.Skipped[SkipIrrelevantActivity] != 1 {
			t.Errorf("%s: ParseAudit %+v, %v", tc.activity, ab, err)
		}
	}
	// A policy change without its id is malformed, like a user event.
	if _, err := Parse([]byte(`{"activityDisplayName":"Update conditional access policy","activityDateTime":"2026-12-01T09:00:00Z"}`)); err == nil {
		t.Error("a policy change without an id was accepted")
	}
}

// TestSamplePolicyChanges pins what the sample policy-change bodies in
// events/policy-changes mean.
func TestSamplePolicyChanges(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("../../events/policy-changes/eventhub-update-conditional-access-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	want := model.PolicyChange{
		AuditID: "IPCGraph_9d3e7a1c-5b2f-4e8d-a6c4-1f0b3d5e7a92_KQ8TR_61508224", Activity: "Update conditional access policy",
		Time: time.Date(2026, 12, 1, 9, 14, 22, 684170900, time.UTC), TenantID: "7c1f5a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b",
		Kind: model.PolicyConditionalAccess, PolicyID: "6f9b2a10-4c3e-4d7a-9b1e-2a3c4d5e6f02",
		PolicyName:  "Require multifactor authentication for all users",
		InitiatedBy: model.Initiator{UserID: "5c2e9f4a-8d1b-4c7e-b0a3-6f9d2e1c7b80", UserPrincipalName: "it.admin@contoso.example"},
	}
	if len(b.PolicyChanges) != 1 || b.PolicyChanges[0] != want || len(b.Audit) != 0 || b.Records != 1 {
		t.Errorf("sample: %+v", b)
	}
}
