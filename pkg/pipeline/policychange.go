package pipeline

import (
	"context"
	"time"

	"github.com/credres/credres/pkg/model"
)

// PolicyChangeStore keeps the changes of the tenant's own policy that audit
// records report, from ingest to the sweep's tenant-wide re-evaluation and
// the users it drops (docs/POLICY.md, "Policy changes").
type PolicyChangeStore interface {
	// AddPolicyChange records a change as waiting for the sweep, once per
	// audit id: a repeated record changes nothing and returns false.
	AddPolicyChange(ctx context.Context, c model.PolicyChange, at time.Time) (bool, error)
	// PolicyChanges returns every kept change, oldest first.
	PolicyChanges(ctx context.Context) ([]model.PolicyChangeState, error)
	// MarkPolicySwept records that the sweep enqueued the re-evaluation of
	// every user for a change (grace false) or after its grace period
	// (grace true).
	MarkPolicySwept(ctx context.Context, auditID string, at time.Time, users int, grace bool) error
	// CountPolicyDrop counts a user the change dropped below policy, once
	// per user, and returns the change as counted.
	CountPolicyDrop(ctx context.Context, auditID, userID string, violations []model.Violation, heldUntil time.Time) (model.PolicyChangeState, error)
	// ClaimPolicyTicket is true once, for the caller that decides the
	// change's tenant-side ticket when its drops reached threshold.
	ClaimPolicyTicket(ctx context.Context, auditID string, threshold int, at time.Time) (bool, error)
	// LoadPolicyChange returns one change as kept.
	LoadPolicyChange(ctx context.Context, auditID string) (model.PolicyChangeState, error)
}

// PolicySince is implemented by tenant policy readers that can tell a
// cached policy read before a time from a fresh one: evaluations that
// follow a change of the policy read it again rather than from a cache
// older than the change.
type PolicySince interface {
	TenantPolicySince(ctx context.Context, t time.Time) (model.TenantPolicy, error)
}
