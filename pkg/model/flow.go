package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Reasons an evaluation is requested.
const (
	ReasonAudit    = "audit"    // an Entra audit record named the user
	ReasonSweep    = "sweep"    // scheduled reconciliation
	ReasonCampaign = "campaign" // a sweep that acts on first findings
	ReasonUsage    = "usage"    // a sign-in changed a method's state of proof
	// ReasonPolicyChange: the tenant changed its own policy, and the sweep
	// re-evaluates every user (docs/POLICY.md, "Policy changes").
	ReasonPolicyChange = "policy-change"
)

// EvaluationRequest asks for one user to be evaluated again. It carries no
// methods: they are always read live, because events can be late, repeated
// or service-initiated without a real change (docs/DESIGN.md, Audit events).
type EvaluationRequest struct {
	UserID   string    `json:"userId"`
	TenantID string    `json:"tenantId,omitempty"`
	Reason   string    `json:"reason"`
	AuditID  string    `json:"auditId,omitempty"`
	Activity string    `json:"activity,omitempty"`
	Time     time.Time `json:"time"`
	// Baseline records the assessment without acting on a first finding.
	Baseline bool `json:"baseline,omitempty"`
	// PolicyChange (the audit id) and PolicyChangeAt name the change of the
	// tenant's own policy a policy-change request follows: a user it
	// newly drops below policy is not nudged before PolicyChangeAt plus
	// the policy's grace period.
	PolicyChange   string    `json:"policyChange,omitempty"`
	PolicyChangeAt time.Time `json:"policyChangeAt,omitzero"`
	// Deferred marks the copy of a request that evaluate put at the back of
	// the queue in an event storm (triage): it is read when it comes back,
	// never deferred again.
	Deferred bool `json:"deferred,omitempty"`
}

// DeduplicationID identifies the request for a FIFO queue: the audit record
// id for audit events (the same record delivered twice is one request), the
// user and time for sweeps and for usage (whose time is the day of the use,
// so that one day's change of proof is one request), the policy change and
// the user for a policy change's re-evaluation. A deferred copy has an id
// of its own, so that the queue does not drop it as the original.
func (r EvaluationRequest) DeduplicationID() string {
	if r.Deferred {
		r.Deferred = false
		return shortHash("deferred", r.DeduplicationID())
	}
	if r.AuditID != "" {
		return shortHash("audit", r.AuditID, r.UserID)
	}
	if r.PolicyChange != "" {
		return shortHash(r.Reason, r.PolicyChange, r.UserID, r.Time.UTC().Format(time.RFC3339Nano))
	}
	return shortHash(r.Reason, r.UserID, r.Time.UTC().Format(time.RFC3339Nano))
}

// Validate rejects requests that can never be evaluated, or never be
// queued: the user id is the FIFO message group (ValidateUserID).
func (r EvaluationRequest) Validate() error {
	if err := ValidateUserID(r.UserID); err != nil {
		return fmt.Errorf("evaluation request: %w", err)
	}
	switch r.Reason {
	case ReasonAudit, ReasonSweep, ReasonCampaign, ReasonUsage:
	case ReasonPolicyChange:
		if r.PolicyChange == "" || r.PolicyChangeAt.IsZero() {
			return fmt.Errorf("%w: policy-change request without its policyChange and policyChangeAt", ErrInvalidInput)
		}
	default:
		return fmt.Errorf("%w: evaluation request reason %q is not audit, sweep, campaign, usage or policy-change", ErrInvalidInput, r.Reason)
	}
	return nil
}

// MaxUserIDLength is the longest user id credres accepts: the limit of an
// SQS message group id, which the user id is. Entra object ids are 36.
const MaxUserIDLength = 128

// ValidateUserID rejects a user id that cannot name a user in the queues:
// empty, longer than MaxUserIDLength, or with a character outside printable
// ASCII (letters, digits and punctuation: the alphabet of an SQS message
// group id). The error wraps ErrInvalidInput and shows the id only
// escaped and shortened, since it is outside input.
func ValidateUserID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: no userId", ErrInvalidInput)
	}
	shown := id
	if len(shown) > 40 {
		shown = shown[:40] + "…"
	}
	if len(id) > MaxUserIDLength {
		return fmt.Errorf("%w: userId %q is %d characters long, more than %d", ErrInvalidInput, shown, len(id), MaxUserIDLength)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%w: userId %q has a character (byte %d) outside letters, digits and punctuation", ErrInvalidInput, shown, i)
		}
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
	// Methods are the user's methods as data: the delivery stages word
	// and mask them (explain.MethodNote).
	Methods []MethodNote `json:"methods,omitempty"`
}

// DecisionMessage carries one decision from Evaluate to Nudge or Ticket.
type DecisionMessage struct {
	// ID is derived from the state transition, so that a retried evaluation
	// publishes the same id and delivery stays idempotent.
	ID         string      `json:"id"`
	Decision   Decision    `json:"decision"`
	User       UserSummary `json:"user"`
	Assessment Assessment  `json:"assessment"`
	Time       time.Time   `json:"time"`
	// PolicyChange, set on the one tenant-side ticket about a change of
	// the tenant's own policy, is that change and the users it dropped;
	// such a ticket names no user (User is empty).
	PolicyChange *PolicyChangeState `json:"policyChange,omitempty"`
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
	Assessment *Assessment `json:"assessment,omitempty"`
	// ObservedAt is when the methods behind Assessment were read: the
	// version that conditional writes compare.
	ObservedAt time.Time `json:"observedAt,omitzero"`
	// Since names the episode Assessment belongs to: the version of the
	// last stored assessment of another standing (below policy; within
	// policy only through unproven methods; within policy), zero when
	// every stored assessment had this standing. A first finding is one
	// per episode, whatever the evaluations that find it (DecisionID).
	Since   time.Time    `json:"since,omitzero"`
	History NudgeHistory `json:"history"`
	Ticket  *Ticket      `json:"ticket,omitempty"`
}

// standing is what an episode keeps: below policy, within policy only
// through unproven methods, or within policy.
func standing(a *Assessment) int {
	switch {
	case !a.Compliant:
		return 0
	case a.RestsOnUnproven:
		return 1
	}
	return 2
}

// SinceFor returns the Since to store with cur, the assessment that
// follows the stored one: the stored Since while the standing stays, the
// stored version when cur starts a new episode. A retry that stored cur
// but lost the answer reads it back with the same Since, and so decides
// the same first finding under the same id.
func (s UserState) SinceFor(cur *Assessment) time.Time {
	if s.Assessment == nil || standing(s.Assessment) != standing(cur) {
		return s.ObservedAt
	}
	return s.Since
}

// DecisionID hashes what identifies a transition: the user, the decision and
// its flags, the version it was decided from and the violations it is
// about. It leaves out everything the delivery stages change (the nudge
// history, the ticket): a retry of an evaluation whose assessment was not
// stored decides from the same version, and must publish the same id even
// when its first decision has been delivered meanwhile. Every stored
// assessment moves the version, so the next evaluation's decisions have
// ids of their own.
//
// Two kinds of decision hold beyond one stored version, and are named by
// what they follow instead. A reminder is identified by the last nudge it
// follows (lastNudge): any evaluation between a reminder's decision and
// its entry in the history (an event and the sweep, a retry after a lost
// answer, a history write being retried) finds the same reminder due. A
// first finding (Decision.First) is identified by its episode (since, the
// Since the evaluation stores with its assessment): a campaign evaluation
// whose save landed but whose answer was lost is retried from the
// assessment it stored, finds the same first finding, nobody having been
// told yet, and must publish the same id. An episode ends when the
// standing changes, so a user who drops, recovers and drops again has a
// new episode and a new first finding.
func DecisionID(userID string, d Decision, prevObserved, lastNudge, since time.Time) string {
	version := prevObserved
	switch {
	case d.Kind == DecisionNudge && d.Reminder:
		version = lastNudge
	case d.First:
		version = since
	}
	return shortHash(userID, string(d.Kind), fmt.Sprint(d.Reminder, d.Escalated, d.AdminOnly),
		version.UTC().Format(time.RFC3339Nano), strings.Join(ViolationStrings(d.Violations), ","))
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

// ClaimResult says whether a delivery may go ahead.
type ClaimResult int

// Claim outcomes.
const (
	// Claimed: this caller delivers, then calls Complete.
	Claimed ClaimResult = iota
	// AlreadyDone: delivered before; do nothing.
	AlreadyDone
	// InProgress: another delivery holds a live claim; try again later.
	InProgress
)

// NudgeRecord is one delivered nudge: a line of the local outbox
// (outbox/nudges.jsonl) and the message body of the nudge outbox queue.
type NudgeRecord struct {
	DecisionID string      `json:"decisionId"`
	UserID     string      `json:"userId"`
	Decision   string      `json:"decision"`
	Reminder   bool        `json:"reminder,omitempty"`
	Violations []Violation `json:"violations"`
	// Reasons are the decision's reasons in words.
	Reasons []string  `json:"reasons"`
	Time    time.Time `json:"time"`
	// Channel is how the nudge reaches the user.
	Channel Channel `json:"channel"`
	// To is the recipient, masked (the sender reads the real address from
	// the decision message).
	To       string `json:"to,omitempty"`
	Language string `json:"language,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Text     string `json:"text,omitempty"`
	HTML     string `json:"html,omitempty"`
	DryRun   bool   `json:"dryRun,omitempty"`
}

// RenderedNudge is a nudge's words, in the user's language.
type RenderedNudge struct {
	Language, Subject, Text, HTML string
}

// RenderedTicket is a ticket's words for the helpdesk.
type RenderedTicket struct {
	Title, Description string
}

// TicketRecord is one ticket event: opened, updated or resolved. It is a
// line of the local outbox (outbox/tickets.jsonl) and the JSON sent to the
// helpdesk queue (docs/STATE.md, "Helpdesk ticket JSON").
type TicketRecord struct {
	DecisionID        string      `json:"decisionId"`
	TicketID          string      `json:"ticketId"`
	Status            string      `json:"status"` // open or resolved
	Action            string      `json:"action"` // opened, updated or resolved
	UserID            string      `json:"userId"`
	UserPrincipalName string      `json:"userPrincipalName"`
	Decision          string      `json:"decision"`
	Tier              string      `json:"tier,omitempty"`
	Diversity         int         `json:"diversity"`
	Violations        []Violation `json:"violations"`
	TenantSide        []Violation `json:"tenantSide,omitempty"`
	// Reasons are the decision's reasons in words.
	Reasons         []string `json:"reasons"`
	Methods         []string `json:"methods,omitempty"`
	Recommendations []string `json:"recommendations,omitempty"`
	Escalated       bool     `json:"escalated,omitempty"`
	AdminOnly       bool     `json:"adminOnly,omitempty"`
	// PolicyChange is the change and the counts of a tenant-side ticket
	// about a change of the tenant's own policy.
	PolicyChange *PolicyChangeTicket `json:"policyChange,omitempty"`
	Time         time.Time           `json:"time"`
	Title        string              `json:"title,omitempty"`
	Description  string              `json:"description,omitempty"`
	DryRun       bool                `json:"dryRun,omitempty"`
}

// UserResult is one user read live, or why not.
type UserResult struct {
	User User
	Err  error
}

// AuditMessage is one message from the audit stream: an Event Hubs event
// body ({"records":[…]}) with where it came from, for logs.
type AuditMessage struct {
	Body     []byte
	Position string // partition and offset or file name, never personal data
}

// Registration is one row of the Graph registration report
// (/reports/authenticationMethods/userRegistrationDetails).
type Registration struct {
	UserID            string
	MethodsRegistered []string
	LastUpdated       time.Time
}

// MethodNote is what the delivery stages tell people about one registered
// method: its kind and what a person knows it by. The phone number and
// address are personal data, masked wherever they are worded.
type MethodNote struct {
	Kind         MethodKind `json:"kind,omitempty"`
	GraphType    string     `json:"graphType,omitempty"`
	DisplayName  string     `json:"displayName,omitempty"`
	PhoneNumber  string     `json:"phoneNumber,omitempty"`
	EmailAddress string     `json:"emailAddress,omitempty"`
	SerialNumber string     `json:"serialNumber,omitempty"` // of a hardware token
	// Words is a method as a decision queued before methods were data
	// described it; it is printed as it is.
	Words string `json:"words,omitempty"`
}

// NoteOf takes what a MethodNote keeps of a method.
func NoteOf(m Method) MethodNote {
	n := MethodNote{Kind: m.Kind, GraphType: m.GraphType, DisplayName: m.DisplayName, PhoneNumber: m.PhoneNumber, EmailAddress: m.EmailAddress}
	if m.Device != nil {
		n.SerialNumber = m.Device.SerialNumber
	}
	return n
}

// UnmarshalJSON also reads a method queued as words (MethodNote.Words).
func (n *MethodNote) UnmarshalJSON(b []byte) error {
	var words string
	if json.Unmarshal(b, &words) == nil {
		*n = MethodNote{Words: words}
		return nil
	}
	type plain MethodNote
	return json.Unmarshal(b, (*plain)(n))
}
