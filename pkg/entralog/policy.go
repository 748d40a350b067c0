package entralog

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/credres/credres/internal/graphtime"
	"github.com/credres/credres/pkg/model"
)

// policyActivities maps the lower-cased names of the audit activities that
// change the tenant's own policy to the policy they change. The names are
// those of Microsoft's audit activity reference (docs/AUDIT.md, "Policy
// changes"): the Authentication Methods service logs the first five, in
// category ApplicationManagement; the Conditional Access service the last
// three, in category Policy, spelled "Conditional Access policy" today and
// "conditional access policy" in older records (names are matched without
// regard to case).
var policyActivities = map[string]model.PolicyKind{
	"authentication methods policy update":  model.PolicyAuthenticationMethods,
	"authentication methods policy reset":   model.PolicyAuthenticationMethods,
	"authentication strength policy create": model.PolicyAuthenticationStrength,
	"authentication strength policy update": model.PolicyAuthenticationStrength,
	"authentication strength policy delete": model.PolicyAuthenticationStrength,
	"add conditional access policy":         model.PolicyConditionalAccess,
	"update conditional access policy":      model.PolicyConditionalAccess,
	"delete conditional access policy":      model.PolicyConditionalAccess,
}

// policyKind returns the policy an activity changes, or "" when it changes
// none that credres reads.
func policyKind(activity string) model.PolicyKind {
	return lookupLower(policyActivities, strings.TrimSpace(activity))
}

// policyChange builds the change of a policy-change record. It needs the
// record's id and time; the policy it names is read from the first target
// (its id and display name; a Conditional Access record's modified
// property "ConditionalAccessPolicy" carries the whole policy, whose
// displayName is used when the target has none). A failed or timed-out
// operation changed nothing and is skipped.
func (r *record) policyChange(kind model.PolicyKind) (*model.PolicyChange, string, error) {
	_, failed, err := parseResult(r.p.Result)
	if err != nil {
		_, _, err = r.invalid("%v", err)
		return nil, "", err
	}
	if failed {
		return nil, SkipFailedOperation, nil
	}
	id := r.p.ID.String()
	if id == "" {
		_, _, err := r.invalid("no id")
		return nil, "", err
	}
	when := r.p.ActivityDateTime.String()
	if when == "" && r.enveloped {
		when = r.env.Time.String()
	}
	if when == "" {
		_, _, err := r.invalid("no activityDateTime or time")
		return nil, "", err
	}
	t, err := graphtime.Parse(when)
	if err != nil {
		_, _, err := r.invalid("time %q is not RFC 3339", when)
		return nil, "", err
	}
	pc := &model.PolicyChange{
		AuditID: id, Activity: r.activity, Time: t.UTC(), TenantID: tenantOf(&r.env, r.p, r.enveloped),
		Kind: kind, InitiatedBy: r.p.initiatedBy(),
	}
	// The target only names the policy; an unreadable one leaves the name
	// empty rather than losing the change.
	var targets []struct {
		ID                 text            `json:"id"`
		DisplayName        text            `json:"displayName"`
		ModifiedProperties json.RawMessage `json:"modifiedProperties"`
	}
	if raw := bytes.TrimSpace(r.p.TargetResources); isSet(raw) && raw[0] == '[' && json.Unmarshal(raw, &targets) == nil && len(targets) > 0 {
		pc.PolicyID, pc.PolicyName = targets[0].ID.String(), targets[0].DisplayName.String()
		if pc.PolicyName == "" {
			pc.PolicyName = policyNameOf(targets[0].ModifiedProperties)
		}
	}
	if kind == model.PolicyAuthenticationMethods && pc.PolicyName == "" {
		pc.PolicyName = "Authentication methods policy"
	}
	return pc, "", nil
}

// policyNameOf reads the displayName of the policy in a modified property's
// new value (or, for a deletion, its old value).
func policyNameOf(raw json.RawMessage) string {
	var props []modifiedProperty
	if json.Unmarshal(raw, &props) != nil {
		return ""
	}
	for _, mp := range props {
		for _, v := range []json.RawMessage{mp.NewValue, mp.OldValue} {
			items, ok := propertyItems(v)
			if !ok || len(items) != 1 {
				continue
			}
			var p struct {
				DisplayName text `json:"displayName"`
			}
			if json.Unmarshal(items[0], &p) == nil && p.DisplayName.String() != "" {
				return p.DisplayName.String()
			}
		}
	}
	return ""
}
