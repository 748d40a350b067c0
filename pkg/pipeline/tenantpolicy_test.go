package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
)

// cameron is the sample tenant's Security Administrator with a password and
// a mobile phone: Conditional Access requires phishing-resistant MFA of him.
const cameron = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a22"

// policyReader serves a tenant's policy, or fails.
type policyReader struct {
	p     model.TenantPolicy
	err   error
	reads int
}

func (r *policyReader) TenantPolicy(context.Context) (model.TenantPolicy, error) {
	r.reads++
	return r.p, r.err
}

func TestEvaluateAppliesTheTenantsPolicyReadLive(t *testing.T) {
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	dir := tenant(t)
	tickets := queue.NewMemory()
	ev, _ := newEvaluate(t, c, &local.SnapshotReader{Dir: dir}, queue.NewMemory(), tickets)
	ev.Tenant = ev.Tenant.WithPolicy(model.TenantPolicy{}) // configured without it
	reader := &policyReader{p: dir.Tenant.Policy()}
	ev.Policy = reader
	outcomes, failures := ev.Handle(context.Background(), []pipeline.Message{request(t, "m1", cameron), request(t, "m2", adele)})
	if len(failures) != 0 || reader.reads != 1 {
		t.Fatalf("failures %+v, policy read %d times; want none and one read per batch", failures, reader.reads)
	}
	a := outcomes[0].Assessment
	if !a.HasViolation(model.ViolationNoCAPath) || outcomes[0].Decision.Kind != model.DecisionTicket {
		t.Errorf("cameron: violations %v, decision %s; want no-path-satisfies-conditional-access and a ticket", a.Violations, outcomes[0].Decision.Kind)
	}
	if len(a.ConditionalAccess) == 0 {
		t.Errorf("cameron: no Conditional Access policy applied")
	}
}

func TestEvaluateRetriesTheBatchWhenThePolicyCannotBeRead(t *testing.T) {
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	nudges, tickets := queue.NewMemory(), queue.NewMemory()
	ev, st := newEvaluate(t, c, &local.SnapshotReader{Dir: tenant(t)}, nudges, tickets)
	ev.Policy = &policyReader{err: fmt.Errorf("graph: read /policies/authenticationMethodsPolicy: %w", model.ErrThrottled)}
	_, failures := ev.Handle(context.Background(), []pipeline.Message{request(t, "m1", cameron), request(t, "m2", adele), request(t, "m3", adele)})
	if len(failures) != 3 {
		t.Fatalf("failures %+v; want every message retried", failures)
	}
	if nudges.Len()+tickets.Len() != 0 {
		t.Errorf("decisions were sent without the tenant's policy")
	}
	if s, err := st.LoadUser(context.Background(), adele); err != nil || s.Assessment != nil {
		t.Errorf("an assessment was stored without the tenant's policy (%v)", err)
	}
	if failures[0].Reason == "" {
		t.Errorf("failure without its reason")
	}
}
