package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
)

// Reasons an evaluation is requested.
const (
	ReasonAudit    = "audit"    // an Entra audit record named the user
	ReasonSweep    = "sweep"    // scheduled reconciliation
	ReasonCampaign = "campaign" // a sweep that acts on first findings
)

// EvaluationRequest asks for one user to be evaluated again. It carries no
// methods: they are always read live, because events can be late, repeated
// or service-initiated without a real change (SPEC §7).
type EvaluationRequest struct {
	UserID   string    `json:"userId"`
	TenantID string    `json:"tenantId,omitempty"`
	Reason   string    `json:"reason"`
	AuditID  string    `json:"auditId,omitempty"`
	Activity string    `json:"activity,omitempty"`
	Time     time.Time `json:"time"`
	// Baseline records the assessment without acting on a first finding.
	Baseline bool `json:"baseline,omitempty"`
}

// DeduplicationID identifies the request for a FIFO queue: the audit record
// id for audit events (the same record delivered twice is one request), the
// user and time for sweeps.
func (r EvaluationRequest) DeduplicationID() string {
	if r.AuditID != "" {
		return shortHash("audit", r.AuditID, r.UserID)
	}
	return shortHash(r.Reason, r.UserID, r.Time.UTC().Format(time.RFC3339Nano))
}

// Validate rejects requests that can never be evaluated.
func (r EvaluationRequest) Validate() error {
	if r.UserID == "" {
		return fmt.Errorf("%w: evaluation request without userId", model.ErrInvalidInput)
	}
	switch r.Reason {
	case ReasonAudit, ReasonSweep, ReasonCampaign:
	default:
		return fmt.Errorf("%w: evaluation request reason %q is not audit, sweep or campaign", model.ErrInvalidInput, r.Reason)
	}
	return nil
}

// UserSummary is what the nudge and ticket stages need to know about a user
// without reading Graph again. Mail and language address the nudge.
type UserSummary struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	Mail              string `json:"mail,omitempty"`
	PreferredLanguage string `json:"preferredLanguage,omitempty"`
	// Methods are the user's methods described for people, masked.
	Methods []string `json:"methods,omitempty"`
}

// DecisionMessage carries one decision from Evaluate to Nudge or Ticket.
type DecisionMessage struct {
	// ID is derived from the state transition, so that a retried evaluation
	// publishes the same id and delivery stays idempotent.
	ID         string           `json:"id"`
	Decision   model.Decision   `json:"decision"`
	User       UserSummary      `json:"user"`
	Assessment model.Assessment `json:"assessment"`
	Time       time.Time        `json:"time"`
}

// Ticket is a helpdesk ticket credres opened for a user.
type Ticket struct {
	ID       string    `json:"ticketId"`
	Status   string    `json:"status"` // open or resolved
	Opened   time.Time `json:"opened"`
	Updated  time.Time `json:"updated"`
	Reason   string    `json:"reason,omitempty"`
	External string    `json:"external,omitempty"` // the id in the helpdesk system, when it has its own
}

// Ticket statuses.
const (
	TicketOpen     = "open"
	TicketResolved = "resolved"
)

// UserState is what the store keeps per user.
type UserState struct {
	// Assessment is the last stored assessment, nil when never assessed.
	Assessment *model.Assessment `json:"assessment,omitempty"`
	// ObservedAt is when the methods behind Assessment were read: the
	// version that conditional writes compare.
	ObservedAt time.Time          `json:"observedAt,omitzero"`
	History    model.NudgeHistory `json:"history"`
	Ticket     *Ticket            `json:"ticket,omitempty"`
}

// decisionID hashes what identifies a transition: the user, the decision and
// its flags, the state it was decided from and the violations it is about.
func decisionID(userID string, d model.Decision, prevObserved time.Time, h model.NudgeHistory) string {
	return shortHash(userID, string(d.Kind), fmt.Sprint(d.Reminder, d.Escalated, d.AdminOnly),
		prevObserved.UTC().Format(time.RFC3339Nano), h.LastNudge().UTC().Format(time.RFC3339Nano),
		strings.Join(d.Violations, ","))
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// TicketID derives a readable ticket id from the user and the time it opened.
func TicketID(userID string, opened time.Time) string {
	return "CR-" + strings.ToUpper(shortHash(userID, opened.UTC().Format(time.RFC3339Nano))[:10])
}
