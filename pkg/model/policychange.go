package model

import (
	"fmt"
	"time"
)

// PolicyKind names which of the tenant's own policies an audit record
// changed (docs/POLICY.md, "Policy changes").
type PolicyKind string

// The policies whose changes credres acts on.
const (
	PolicyAuthenticationMethods  PolicyKind = "authenticationMethodsPolicy"
	PolicyAuthenticationStrength PolicyKind = "authenticationStrengthPolicy"
	PolicyConditionalAccess      PolicyKind = "conditionalAccessPolicy"
)

// PolicyChange is one audit record of a change to the tenant's own policy:
// the authentication methods policy, an authentication strength or a
// Conditional Access policy. It concerns every user at once, so it names
// no user: it asks for a tenant-wide re-evaluation (docs/DESIGN.md, Audit
// events).
type PolicyChange struct {
	AuditID  string     `json:"auditId"`
	Activity string     `json:"activity"`
	Time     time.Time  `json:"time"`
	TenantID string     `json:"tenantId,omitempty"`
	Kind     PolicyKind `json:"kind"`
	// PolicyID and PolicyName name the policy changed, as its audit
	// record's target does (the authentication methods policy has one
	// name for the whole tenant).
	PolicyID    string    `json:"policyId,omitempty"`
	PolicyName  string    `json:"policyName,omitempty"`
	InitiatedBy Initiator `json:"initiatedBy"`
}

// PolicyChangeState is what the store keeps of a policy change: the change
// itself, when the sweep re-evaluated the tenant for it, and the users its
// re-evaluation dropped below policy.
type PolicyChangeState struct {
	Change PolicyChange `json:"change"`
	// Recorded is when ingest first recorded the change.
	Recorded time.Time `json:"recorded"`
	// SweptAt is when the sweep enqueued the tenant-wide re-evaluation;
	// zero while it waits for the sweep. Users is how many users it
	// enqueued.
	SweptAt time.Time `json:"sweptAt,omitzero"`
	Users   int       `json:"users,omitempty"`
	// Dropped counts the users the re-evaluation found newly below policy
	// (each once), Held those of them whose first nudge waits for the
	// grace period, and Violations the dropped users by violation.
	Dropped    int               `json:"dropped,omitempty"`
	Held       int               `json:"held,omitempty"`
	Violations map[Violation]int `json:"violations,omitempty"`
	// GraceUntil is when the held nudges are due; GraceSweptAt when the
	// sweep re-evaluated the tenant after it, so that they are sent.
	GraceUntil   time.Time `json:"graceUntil,omitzero"`
	GraceSweptAt time.Time `json:"graceSweptAt,omitzero"`
	// TicketAt is when the one tenant-side ticket about the change was
	// decided; zero while the drops stay under the threshold.
	TicketAt time.Time `json:"ticketAt,omitzero"`
}

// Pending reports a change whose tenant-wide re-evaluation is still to be
// enqueued.
func (s PolicyChangeState) Pending() bool { return s.SweptAt.IsZero() }

// GraceDue reports a change whose held nudges are due at now and not yet
// re-evaluated for.
func (s PolicyChangeState) GraceDue(now time.Time) bool {
	return s.Held > 0 && !s.GraceUntil.IsZero() && !now.Before(s.GraceUntil) && s.GraceSweptAt.IsZero()
}

// PolicyTicketUser is the message group and state key of the tenant-side
// ticket about a policy change: it names no user, and cannot collide with
// an Entra object id.
func PolicyTicketUser(auditID string) string {
	return "#policy-change-" + shortHash("policy-change", auditID)[:20]
}

// Validate rejects a change that cannot be kept: it needs its audit id and
// time.
func (c PolicyChange) Validate() error {
	if c.AuditID == "" {
		return fmt.Errorf("%w: policy change without an audit id", ErrInvalidInput)
	}
	if c.Time.IsZero() {
		return fmt.Errorf("%w: policy change %s without a time", ErrInvalidInput, c.AuditID)
	}
	return nil
}

// PolicyChangeTicket is what a tenant-side ticket about a policy change
// says: the change (its initiator masked, as ticket systems are no place
// for addresses) and the users its re-evaluation dropped below policy.
type PolicyChangeTicket struct {
	AuditID    string     `json:"auditId"`
	Activity   string     `json:"activity"`
	Kind       PolicyKind `json:"kind"`
	PolicyID   string     `json:"policyId,omitempty"`
	PolicyName string     `json:"policyName,omitempty"`
	Time       time.Time  `json:"time"`
	// By is who made the change: a masked user principal name, or an
	// application's name.
	By         string            `json:"by,omitempty"`
	Evaluated  int               `json:"evaluated,omitempty"`
	Dropped    int               `json:"dropped"`
	Held       int               `json:"held"`
	Violations map[Violation]int `json:"violations"`
	GraceUntil time.Time         `json:"graceUntil,omitzero"`
}
