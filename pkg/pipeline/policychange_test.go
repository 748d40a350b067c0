package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// policyTenant is the sample tenant before or after the sample policy
// change (Conditional Access "Require multifactor authentication for all
// users" now asks for phishing-resistant MFA), with n users: copies of
// Alex Wilber, within policy before the change and below it after (one
// path left), and, for the users in fixed, with the methods of Ben Walters
// instead, within policy after it too.
func policyTenant(t *testing.T, after bool, n int, fixed map[int]bool) *model.Directory {
	t.Helper()
	file := "../../events/tenant.json"
	if after {
		file = "../../events/tenant-policy-change.json"
	}
	d, err := graphjson.LoadDirectory(file)
	if err != nil {
		t.Fatal(err)
	}
	idx := d.Index()
	alexUser, ok := idx.Find(alex)
	if !ok {
		t.Fatal("no alex in the sample tenant")
	}
	ben, ok := idx.Find("ben.walters@contoso.example")
	if !ok {
		t.Fatal("no ben in the sample tenant")
	}
	out := &model.Directory{Tenant: d.Tenant}
	for i := range n {
		u := *alexUser
		u.ID = fmt.Sprintf("7e0c2a1b-0000-4000-8000-%012d", i)
		u.UserPrincipalName = fmt.Sprintf("user%02d@contoso.example", i)
		u.Mail = u.UserPrincipalName
		if fixed[i] {
			u.Methods = slices.Clone(ben.Methods)
		}
		out.Users = append(out.Users, u)
	}
	return out
}

// TestPolicyChangeHoldsNudgesForTheGracePeriod: a Conditional Access change
// drops 30 users below policy at once. It is one tenant-side ticket, not
// 30 nudges; the audit record delivered twice is still one re-evaluation
// and one ticket; during the grace period nobody is nudged; after it the
// users still below policy are, and those fixed meanwhile are not.
func TestPolicyChangeHoldsNudgesForTheGracePeriod(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	engine := rules.New(nil) // grace 3d, ticketAt 10
	changeAt := time.Date(2026, 12, 1, 9, 14, 22, 684170900, time.UTC)
	run := func(at time.Time, dir *model.Directory, events pipelineEvents, sweep, campaign bool) *local.Result {
		t.Helper()
		c := &clock{at}
		cfg := local.Config{Directory: dir, StateDir: state, Engine: engine, Now: c.Now, Sweep: sweep, Campaign: campaign}
		if events != nil {
			cfg.Events = events
		}
		res, err := local.Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Dead) > 0 {
			t.Fatalf("dead letters: %+v", res.Dead)
		}
		return res
	}
	const n = 30
	fixed := map[int]bool{}
	for i := range 10 {
		fixed[i*3] = true
	}

	// Before: everyone within policy, recorded.
	res := run(changeAt.Add(-24*time.Hour), policyTenant(t, false, n, nil), nil, true, false)
	for _, o := range res.Outcomes {
		if !o.Assessment.Compliant {
			t.Fatalf("before the change %s is below policy: %v", o.UserID, o.Assessment.Violations)
		}
	}

	// The change, its audit record delivered twice (two messages).
	body, err := os.ReadFile("../../events/policy-changes/eventhub-update-conditional-access-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	after := policyTenant(t, true, n, nil)
	res = run(changeAt.Add(time.Hour), after, twoMessages(body), false, false)
	if res.Ingest.PolicyChanges != 1 || res.Ingest.PolicyRepeats != 1 {
		t.Fatalf("ingest recorded %d changes and %d repeats, want 1 and 1", res.Ingest.PolicyChanges, res.Ingest.PolicyRepeats)
	}
	if res.Sweep == nil || res.Sweep.Enqueued != n || res.Sweep.PolicyChange == "" {
		t.Fatalf("sweep %+v, want every user enqueued for the change", res.Sweep)
	}
	if len(res.Nudges) != 0 {
		t.Fatalf("%d nudges during the grace period, want none", len(res.Nudges))
	}
	if len(res.Tickets) != 1 || res.Tickets[0].PolicyChange == nil {
		t.Fatalf("tickets %+v, want the one tenant-side ticket", res.Tickets)
	}
	pc := res.Tickets[0].PolicyChange
	if pc.Dropped != n || pc.Held != n || pc.Violations[model.ViolationBelowMinDiversity] != n ||
		pc.Activity != "Update conditional access policy" || pc.PolicyName != "Require multifactor authentication for all users" ||
		!pc.GraceUntil.Equal(changeAt.Add(72*time.Hour)) || strings.Contains(pc.By, "it.admin") {
		t.Errorf("the ticket says %+v", pc)
	}
	for _, o := range res.Outcomes {
		if o.Assessment.Compliant || o.Decision.Kind != model.DecisionNone || o.Decision.HeldUntil.IsZero() {
			t.Fatalf("%s: %s %+v, want below policy and held", o.UserID, o.Decision.Kind, o.Decision.Reasons)
		}
	}

	// The record again, later: nothing new.
	res = run(changeAt.Add(2*time.Hour), after, twoMessages(body), false, false)
	if res.Ingest.PolicyRepeats != 2 || res.Sweep != nil || len(res.Tickets)+len(res.Nudges) != 0 {
		t.Fatalf("a repeated record: ingest %+v, sweep %+v, %d tickets, %d nudges", res.Ingest, res.Sweep, len(res.Tickets), len(res.Nudges))
	}

	// Within the grace period, a campaign sweep (every finding acted on)
	// still nudges nobody; ten users fix their methods meanwhile.
	fixedDir := policyTenant(t, true, n, fixed)
	res = run(changeAt.Add(48*time.Hour), fixedDir, nil, true, true)
	if len(res.Nudges) != 0 || len(res.Tickets) != 0 {
		t.Fatalf("within the grace period: %d nudges, %d tickets", len(res.Nudges), len(res.Tickets))
	}

	// After the grace period the sweep re-evaluates everyone once more:
	// the twenty still below policy are nudged, the ten fixed are not.
	res = run(changeAt.Add(73*time.Hour), fixedDir, nil, false, false)
	if res.Sweep == nil || res.Sweep.GraceEnded != 1 {
		t.Fatalf("sweep %+v, want the grace period's re-evaluation", res.Sweep)
	}
	nudged := map[string]bool{}
	for _, nr := range res.Nudges {
		nudged[nr.UserID] = true
	}
	for i, u := range fixedDir.Users {
		if fixed[i] == nudged[u.ID] {
			t.Errorf("user %d (fixed %t): nudged %t", i, fixed[i], nudged[u.ID])
		}
	}
	if len(res.Nudges) != n-len(fixed) || len(res.Tickets) != 0 {
		t.Errorf("after the grace period: %d nudges, %d tickets; want %d and none", len(res.Nudges), len(res.Tickets), n-len(fixed))
	}

	// And once only.
	res = run(changeAt.Add(96*time.Hour), fixedDir, nil, false, false)
	if res.Sweep != nil || len(res.Nudges)+len(res.Tickets) != 0 {
		t.Errorf("the grace period's re-evaluation ran again: %+v", res.Sweep)
	}
}

type pipelineEvents = *memoryReceiver

// memoryReceiver yields its messages once.
type memoryReceiver struct {
	msgs []model.AuditMessage
	done bool
}

func twoMessages(body []byte) *memoryReceiver {
	return &memoryReceiver{msgs: []model.AuditMessage{{Body: body, Position: "0/1"}, {Body: body, Position: "1/7"}}}
}

func (r *memoryReceiver) Next(context.Context) ([]model.AuditMessage, error) {
	if r.done {
		return nil, nil
	}
	r.done = true
	return r.msgs, nil
}

func (r *memoryReceiver) Commit(context.Context) error { return nil }
