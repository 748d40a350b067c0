package graph_test

import (
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
)

// policyReads counts the requests for the tenant's policy.
func policyReads(e *env) int {
	n := 0
	for _, r := range e.srv.Requests() {
		if strings.HasPrefix(r.Path, "/policies/") || strings.HasPrefix(r.Path, "/identity/conditionalAccess/") {
			n++
		}
	}
	return n
}

func TestTenantPolicyIsReadOnceAPartAndKeptForItsTTL(t *testing.T) {
	t.Parallel()
	snap := loadDir(t, sampleTenant)
	e := newEnv(t, snap, func(c *graph.Config) { c.PolicyTTL = 30 * time.Minute })
	for range 3 {
		if _, err := e.c.TenantPolicy(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := policyReads(e); n != 3 {
		t.Fatalf("%d policy requests for three reads within the TTL, want 3 (one per part)", n)
	}
	// An administrator's change is seen once the TTL has passed.
	e.srv.SetTenantPolicy(model.TenantPolicy{AuthMethodsPolicy: snap.Tenant.AuthMethodsPolicy})
	e.clk.Advance(29 * time.Minute)
	if p, _ := e.c.TenantPolicy(e.ctx); p.CAPolicies == nil {
		t.Errorf("the policy was read again within the TTL")
	}
	e.clk.Advance(2 * time.Minute)
	p, err := e.c.TenantPolicy(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.CAPolicies != nil || p.StrengthPolicies != nil || p.AuthMethodsPolicy == nil {
		t.Errorf("after the TTL: %+v, want the changed policy (the methods policy alone)", p)
	}
	if n := policyReads(e); n != 6 {
		t.Errorf("%d policy requests, want 6", n)
	}
}

func TestTenantPolicyPartNotPermittedIsLeftOutAndLogged(t *testing.T) {
	t.Parallel()
	snap := loadDir(t, sampleTenant)
	e := newEnv(t, snap, nil)
	e.srv.Fail(1, 403, 0) // the first read: the authentication methods policy
	p, err := e.c.TenantPolicy(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.AuthMethodsPolicy != nil || p.StrengthPolicies == nil || p.CAPolicies == nil {
		t.Errorf("policy %+v: want the forbidden part left out, the others read", p)
	}
	if !strings.Contains(e.logs.String(), "cannot be read") {
		t.Errorf("the left-out part was not logged:\n%s", e.logs.String())
	}
}

func TestTenantPolicyMalformedNamesTheField(t *testing.T) {
	t.Parallel()
	snap := loadDir(t, sampleTenant)
	e := newEnv(t, snap, nil)
	var bad model.CAPolicies
	if err := bad.UnmarshalJSON([]byte(`[{"id":"p1","state":"enabled","conditions":{"users":{}},"grantControls":{"authenticationStrength":{"id":"s1"}}}]`)); err != nil {
		t.Fatal(err)
	}
	bad[0].Raw = []byte(`{"id":"p1","state":"on","conditions":{"users":{}}}`)
	e.srv.SetTenantPolicy(model.TenantPolicy{CAPolicies: &bad})
	_, err := e.c.TenantPolicy(e.ctx)
	if err == nil || !strings.Contains(err.Error(), "conditionalAccessPolicies[0] (p1).state") {
		t.Errorf("error %v, want one naming conditionalAccessPolicies[0] (p1).state", err)
	}
	if _, err := e.c.Directory(e.ctx, []string{snap.Users[0].ID}, nil); err == nil {
		t.Errorf("Directory read a malformed policy without an error")
	}
}

// TestTenantPolicySinceReadsAgainAfterAChange: a policy kept from before a
// change of the tenant's policy is read again, whatever the TTL; one read
// after it is kept.
func TestTenantPolicySinceReadsAgainAfterAChange(t *testing.T) {
	t.Parallel()
	snap := loadDir(t, sampleTenant)
	e := newEnv(t, snap, func(c *graph.Config) { c.PolicyTTL = time.Hour })
	if _, err := e.c.TenantPolicy(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	changed := e.clk.Now()
	e.srv.SetTenantPolicy(model.TenantPolicy{AuthMethodsPolicy: snap.Tenant.AuthMethodsPolicy})
	e.clk.Advance(time.Minute)
	p, err := e.c.TenantPolicySince(e.ctx, changed)
	if err != nil || p.CAPolicies != nil || p.AuthMethodsPolicy == nil {
		t.Fatalf("after the change: %+v, %v; want the changed policy", p, err)
	}
	if _, err := e.c.TenantPolicySince(e.ctx, changed); err != nil {
		t.Fatal(err)
	}
	if n := policyReads(e); n != 6 {
		t.Errorf("%d policy requests, want 6 (three parts before the change, three after, then kept)", n)
	}
}
