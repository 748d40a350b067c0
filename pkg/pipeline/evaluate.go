package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// Message is one queue message as the handlers see it.
type Message struct {
	ID      string
	GroupID string // the FIFO message group: the user id
	Body    []byte
	// ReceiveCount is how many times the queue has delivered the message,
	// this delivery included (SQS's ApproximateReceiveCount); 0 when the
	// queue does not say. A storm's triage (triage.go) defers only a
	// first delivery: a message that failed before is read at once.
	ReceiveCount int
}

// Failure names a message that must be delivered again (or, after the
// queue's redrive count, dead-lettered), with why.
type Failure struct {
	MessageID string
	Reason    string
	// RetryAfter, when set, asks for the next delivery no sooner than this
	// (throttling; see ThrottledRetry).
	RetryAfter time.Duration
}

// UserReader reads users and their methods live (Microsoft Graph in the
// cloud, a directory snapshot locally). results[i] answers ids[i]; a user
// that no longer exists has an error wrapping model.ErrNotFound.
type UserReader interface {
	ReadUsers(ctx context.Context, ids []string) []model.UserResult
}

// EvaluationStore keeps each user's last assessment.
type EvaluationStore interface {
	LoadUser(ctx context.Context, userID string) (model.UserState, error)
	// SaveAssessment stores a, with since (model.UserState.Since), if
	// observedAt is newer than the stored version; otherwise it returns an
	// error wrapping model.ErrConflict.
	SaveAssessment(ctx context.Context, userID string, a model.Assessment, observedAt, since time.Time) error
}

// DecisionQueue takes decisions for one delivery stage.
type DecisionQueue interface {
	SendDecisions(ctx context.Context, ds []model.DecisionMessage) error
}

// TenantPolicyReader reads the tenant's own policy (the authentication
// methods policy, authentication strengths and Conditional Access
// policies), cached by the reader.
type TenantPolicyReader interface {
	TenantPolicy(ctx context.Context) (model.TenantPolicy, error)
}

// Evaluate re-evaluates users named by evaluation requests.
type Evaluate struct {
	Users  UserReader
	Store  EvaluationStore
	Engine *rules.Engine
	Tenant model.Tenant
	// Policy, when set, gives Tenant its own policy for each batch; a
	// batch whose policy cannot be read is retried whole rather than
	// assessed without it.
	Policy  TenantPolicyReader
	Nudges  DecisionQueue // nudge and resolve decisions
	Tickets DecisionQueue // ticket and resolve decisions
	// Dead, when set, takes messages that can never be evaluated at once
	// (the queue's own dead-letter queue); without it they fail until the
	// queue's redrive moves them there.
	Dead DeadLetters
	Now  func() time.Time
	// Usage, when set, gives each user's method usage from the sign-in
	// logs (docs/USAGE.md), which tiers with a proofWindow judge paths by;
	// it is read only when some tier has one.
	Usage UsageReader
	// PolicyChanges, when set, counts the users a change of the tenant's
	// own policy drops below policy, and the evaluation whose count
	// reaches the policy's policyChanges.ticketAt decides the change's one
	// tenant-side ticket (docs/POLICY.md, "Policy changes").
	PolicyChanges PolicyChangeStore
	// RegistrationCache, when set and Users can take registrations it
	// knows (KnownRegistrationReader), gives the users whose registration
	// row the sweep kept less than RegistrationTTL ago (default
	// DefaultRegistrationTTL) their registered method kinds from it, so
	// that their read costs one unit of Graph's budget, not two.
	RegistrationCache RegistrationCache
	RegistrationTTL   time.Duration
	// Observed, when set, tells when each user was last read: a user whose
	// requests are all audit events that happened before that read (by
	// CoverLag) is not read again, since the stored assessment already
	// saw those changes. In a storm of events this keeps every user to one
	// read, however many events name them and however the queue batches
	// them (docs/DEPLOY.md, "Event storms").
	Observed SweepStore
	// Drain, when set, estimates the backlog's drain time after every
	// batch and logs it as a metric (DrainGauge).
	Drain *DrainGauge
	// Triage, when set with Drain, RegistrationCache and Requeue, defers
	// in a storm of events the users who can wait, so that those who may
	// have dropped below policy are read first (triage.go): their requests
	// go to the back of the queue, through Requeue (the evaluation queue).
	Triage  *StormTriage
	Requeue RequestQueue
}

// CoverLag is how long after an audit event a read must have been made to
// have seen the event's change: Entra's directory replicates within
// seconds; a minute leaves room.
const CoverLag = time.Minute

// UsageReader reads what the sign-in logs said about a user's methods.
type UsageReader interface {
	LoadUsage(ctx context.Context, userID string) ([]model.MethodUsage, error)
}

// Outcome reports what happened to one user, for logs and the local runner.
type Outcome struct {
	UserID     string
	Assessment model.Assessment
	Decision   model.Decision
	Err        error
	// Covered is true when the user was read after every event their
	// requests name (Evaluate.Observed), so nothing was read or decided.
	Covered bool
	// Deferred is true when a storm's triage put the user's requests at
	// the back of the queue: they are read when they come back.
	Deferred bool
}

// Handle evaluates a batch. Requests are coalesced per user (one read, one
// assessment, however many events named the user). It returns the messages
// to deliver again: a malformed one (with its reason, so that it reaches the
// dead-letter queue after the redrive count), and every message of a user
// whose evaluation failed; the other users of the batch proceed.
func (ev *Evaluate) Handle(ctx context.Context, msgs []Message) ([]Outcome, []Failure) {
	b := ev.parse(ctx, msgs)
	outcomes := ev.dropCovered(ctx, b)
	outcomes = append(outcomes, ev.deferWaiting(ctx, b)...)
	// A deferred message is still to read (its copy): it does not count
	// as one that cost nothing.
	handled := len(msgs) - b.deferred
	if len(b.order) == 0 {
		ev.Drain.observe(handled, 0)
		ev.reportDrain(ctx, b)
		return outcomes, b.failures
	}
	tenant, err := ev.tenantFor(ctx, b.changedAt)
	if err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("the tenant's policy cannot be read; the batch is retried")
		for _, id := range b.order {
			outcomes = append(outcomes, Outcome{UserID: id, Err: err})
			// Never dead-lettered: the messages are fine, the policy
			// read is not.
			for _, m := range b.users[id].msgs {
				b.failures = append(b.failures, failure(m.ID, err.Error(), err))
			}
		}
		return outcomes, b.failures
	}
	results, units := ev.read(ctx, b.order, b.kept)
	ev.Drain.observe(handled, units)
	defer ev.reportDrain(ctx, b)
	for i, id := range b.order {
		p := b.users[id]
		var out Outcome
		if i < len(results) {
			out = ev.one(ctx, tenant, id, results[i], p.baseline, p.campaign, p.change)
		} else {
			out = Outcome{UserID: id, Err: fmt.Errorf("evaluate %s: the reader returned no result", id)}
		}
		outcomes = append(outcomes, out)
		if out.Err != nil {
			b.failures = append(b.failures, ev.failed(ctx, p.msgs, out)...)
		}
	}
	return outcomes, b.failures
}

// pendingUser is what a batch's requests for one user ask for.
type pendingUser struct {
	msgs     []Message
	reqs     []model.EvaluationRequest
	baseline bool
	campaign bool
	change   policyChangeRef
	// audits is true while every request is an audit event; latest is the
	// time of the latest event.
	audits bool
	latest time.Time
}

// evalBatch is a batch's requests coalesced per user, in the order first
// named, with the malformed messages' failures.
type evalBatch struct {
	users     map[string]*pendingUser
	order     []string
	changedAt time.Time // the latest policy change the batch follows
	failures  []Failure
	// seen are the last read times of the audit-only users (dropCovered);
	// kept their fresh registration rows, when triage read them; deferred
	// counts the messages triage deferred.
	seen     map[string]time.Time
	kept     map[string]KeptRegistration
	deferred int
	// depth is the evaluation queue's depth, read once for the batch
	// (backlog): triage and the metric after the batch both use it.
	depth     int
	depthErr  error
	depthRead bool
}

// backlog returns the evaluation queue's depth, read at most once a batch.
func (ev *Evaluate) backlog(ctx context.Context, b *evalBatch) (int, error) {
	if !b.depthRead {
		b.depth, b.depthErr = ev.Drain.Queue.Depth(ctx)
		b.depthRead = true
	}
	return b.depth, b.depthErr
}

// reportDrain logs the backlog's drain estimate after a batch (DrainGauge).
func (ev *Evaluate) reportDrain(ctx context.Context, b *evalBatch) {
	if ev.Drain == nil || ev.Drain.Queue == nil {
		return
	}
	backlog, err := ev.backlog(ctx, b)
	ev.Drain.report(ctx, ev.Now(), backlog, err)
}

// parse decodes and coalesces a batch's requests; a malformed one is
// dead-lettered (or failed until the redrive count moves it).
func (ev *Evaluate) parse(ctx context.Context, msgs []Message) *evalBatch {
	b := &evalBatch{users: map[string]*pendingUser{}}
	for _, m := range msgs {
		var req model.EvaluationRequest
		err := json.Unmarshal(m.Body, &req)
		if err == nil {
			err = req.Validate()
		} else {
			err = fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
		}
		if err != nil {
			reason := fmt.Sprintf("malformed evaluation request: %v", err)
			zerolog.Ctx(ctx).Error().Str("messageId", m.ID).Str("reason", reason).Msg("message rejected")
			if !deadLetterNow(ctx, ev.Dead, m, reason) {
				b.failures = append(b.failures, Failure{MessageID: m.ID, Reason: reason})
			}
			continue
		}
		p := b.users[req.UserID]
		if p == nil {
			p = &pendingUser{baseline: true, audits: true}
			b.users[req.UserID] = p
			b.order = append(b.order, req.UserID)
		}
		p.msgs, p.reqs = append(p.msgs, m), append(p.reqs, req)
		// A batch acts on first findings unless every request is a baseline.
		p.baseline = p.baseline && req.Baseline
		p.campaign = p.campaign || req.Reason == model.ReasonCampaign
		p.audits = p.audits && req.Reason == model.ReasonAudit
		if req.Time.After(p.latest) {
			p.latest = req.Time
		}
		if req.PolicyChange != "" && req.PolicyChangeAt.After(p.change.at) {
			p.change = policyChangeRef{id: req.PolicyChange, at: req.PolicyChangeAt}
		}
		if req.PolicyChangeAt.After(b.changedAt) {
			b.changedAt = req.PolicyChangeAt
		}
	}
	return b
}

// dropCovered takes out of the batch the users whose requests are all
// audit events that happened before their last read (by CoverLag), and
// returns their outcomes: evaluated already, nothing read. A failure to
// read the times keeps everyone in the batch.
func (ev *Evaluate) dropCovered(ctx context.Context, b *evalBatch) []Outcome {
	if ev.Observed == nil {
		return nil
	}
	var ids []string
	for _, id := range b.order {
		if b.users[id].audits {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	seen, err := ev.Observed.ObservedAt(ctx, ids)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("assessment times cannot be read; every user of the batch is read")
		return nil
	}
	b.seen = seen
	var outcomes []Outcome
	keep := b.order[:0]
	for _, id := range b.order {
		p := b.users[id]
		if at, ok := seen[id]; ok && p.audits && !at.Before(p.latest.Add(CoverLag)) {
			zerolog.Ctx(ctx).Info().Str("userId", id).Int("requests", len(p.msgs)).Msg("read after these events already; not read again")
			outcomes = append(outcomes, Outcome{UserID: id, Covered: true, Decision: model.Decision{Kind: model.DecisionNone, UserID: id}})
			continue
		}
		keep = append(keep, id)
	}
	b.order = keep
	return outcomes
}

// tenantFor gives the tenant its own policy, read again when the batch
// follows a policy change made at changedAt.
func (ev *Evaluate) tenantFor(ctx context.Context, changedAt time.Time) (model.Tenant, error) {
	if ev.Policy == nil {
		return ev.Tenant, nil
	}
	read := ev.Policy.TenantPolicy
	if since, ok := ev.Policy.(PolicySince); ok && !changedAt.IsZero() {
		// The policy changed: a copy kept from before is stale.
		read = func(ctx context.Context) (model.TenantPolicy, error) { return since.TenantPolicySince(ctx, changedAt) }
	}
	p, err := read(ctx)
	if err != nil {
		return model.Tenant{}, err
	}
	return ev.Tenant.WithPolicy(p), nil
}

// failed returns the failures of a user's messages after their evaluation
// failed: retried, unless the failure is invalid input and the dead-letter
// queue takes them at once.
func (ev *Evaluate) failed(ctx context.Context, msgs []Message, out Outcome) []Failure {
	invalid := errors.Is(out.Err, model.ErrInvalidInput)
	if !invalid {
		zerolog.Ctx(ctx).Error().Err(out.Err).Str("userId", out.UserID).Msg("evaluation failed; its messages are retried")
	}
	var failures []Failure
	for _, m := range msgs {
		if invalid && deadLetterNow(ctx, ev.Dead, m, out.Err.Error()) {
			continue
		}
		failures = append(failures, failure(m.ID, out.Err.Error(), out.Err))
	}
	return failures
}

// policyChangeRef names the policy change a user's requests follow.
type policyChangeRef struct {
	id string
	at time.Time
}

func (ev *Evaluate) one(ctx context.Context, tenant model.Tenant, userID string, res model.UserResult, baseline, campaign bool, change policyChangeRef) Outcome {
	out := Outcome{UserID: userID}
	log := zerolog.Ctx(ctx).With().Str("userId", userID).Logger()
	if res.Err != nil {
		if errors.Is(res.Err, model.ErrNotFound) {
			// Deleted since the event: nothing to evaluate, nothing to retry.
			log.Info().Msg("user no longer exists; request dropped")
			out.Decision = model.Decision{Kind: model.DecisionNone, UserID: userID, Reasons: []model.Reason{{Code: model.ReasonUserGone}}}
			return out
		}
		out.Err = fmt.Errorf("evaluate %s: read user: %w", userID, res.Err)
		return out
	}
	observed := ev.Now()
	state, err := ev.Store.LoadUser(ctx, userID)
	if err != nil {
		out.Err = fmt.Errorf("evaluate %s: %w", userID, err)
		return out
	}
	u := res.User
	if err := ev.withUsage(ctx, userID, &u); err != nil {
		out.Err = fmt.Errorf("evaluate %s: %w", userID, err)
		return out
	}
	a := ev.Engine.EvaluateAt(tenant, &u, observed)
	d := ev.Engine.Decide(rules.DecisionInput{
		Previous: state.Assessment, Current: a, History: state.History, Now: observed,
		Baseline: baseline, Campaign: campaign, PolicyChangeAt: change.at,
	})
	// The hold is kept with the assessment, for the next decision.
	a.HeldUntil = d.HeldUntil
	out.Assessment, out.Decision = a, d
	since := state.SinceFor(&a)

	if d.Kind != model.DecisionNone {
		msg := model.DecisionMessage{
			ID:         model.DecisionID(userID, d, state.ObservedAt, state.History.LastNudge(), since),
			Decision:   d,
			User:       summarise(&u),
			Assessment: a,
			Time:       observed,
		}
		// Publish before storing: if storing fails, the retry decides again
		// from the same previous state and publishes the same decision id.
		if err := ev.publish(ctx, msg); err != nil {
			out.Err = fmt.Errorf("evaluate %s: publish %s decision: %w", userID, d.Kind, err)
			return out
		}
	}
	if err := ev.Store.SaveAssessment(ctx, userID, a, observed, since); err != nil {
		if errors.Is(err, model.ErrConflict) {
			log.Info().Msg("a newer assessment is already stored; this one is dropped")
			return out
		}
		out.Err = fmt.Errorf("evaluate %s: %w", userID, err)
		return out
	}
	if d.PolicyDrop && change.id != "" && ev.PolicyChanges != nil {
		// Counted after the assessment is stored: a retry decides from
		// the stored one and finds no new drop, so nobody counts twice
		// (the count is idempotent per user besides).
		if err := ev.countDrop(ctx, change.id, userID, a, d, observed); err != nil {
			out.Err = fmt.Errorf("evaluate %s: %w", userID, err)
			return out
		}
	}
	log.Info().Int("diversity", a.Diversity).Bool("compliant", a.Compliant).
		Str("decision", string(d.Kind)).Strs("violations", model.ViolationStrings(a.Violations)).Msg("evaluated")
	return out
}

// withUsage gives the user their method usage from the sign-in logs. Only
// a tier with a proofWindow reads usage: without one, the read would cost
// a request and change nothing.
func (ev *Evaluate) withUsage(ctx context.Context, userID string, u *model.User) error {
	if ev.Usage == nil || ev.Engine.Policy().ShortestProofWindow() <= 0 {
		return nil
	}
	us, err := ev.Usage.LoadUsage(ctx, userID)
	if err != nil {
		return err
	}
	if len(us) > 0 {
		u.Usage = us
	}
	return nil
}

// publish sends a decision to the queues of its kind: nudges, tickets, or
// both for a resolve.
func (ev *Evaluate) publish(ctx context.Context, msg model.DecisionMessage) error {
	var queues []DecisionQueue
	switch msg.Decision.Kind {
	case model.DecisionNudge:
		queues = []DecisionQueue{ev.Nudges}
	case model.DecisionTicket:
		queues = []DecisionQueue{ev.Tickets}
	case model.DecisionResolve:
		queues = []DecisionQueue{ev.Nudges, ev.Tickets}
	}
	for _, q := range queues {
		if err := q.SendDecisions(ctx, []model.DecisionMessage{msg}); err != nil {
			return err
		}
	}
	return nil
}

func summarise(u *model.User) model.UserSummary {
	s := model.UserSummary{
		ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
		Mail: u.Mail, PreferredLanguage: u.PreferredLanguage,
	}
	for _, m := range u.Methods {
		s.Methods = append(s.Methods, model.NoteOf(m))
	}
	return s
}

// countDrop counts a user a policy change dropped below policy and, when
// the count reaches the policy's ticketAt, decides the change's one
// tenant-side ticket: the store lets one evaluation claim it, and the
// ticket's decision id comes from the change, so a retry sends the same.
func (ev *Evaluate) countDrop(ctx context.Context, changeID, userID string, a model.Assessment, d model.Decision, observed time.Time) error {
	vs := a.UserViolations()
	if len(vs) == 0 {
		vs = a.TenantSide
	}
	// Counted by kind: a single point of failure names its dependency,
	// which differs from user to user.
	var violations []model.Violation
	for _, v := range vs {
		kind, _, _ := strings.Cut(string(v), ":")
		if !slices.Contains(violations, model.Violation(kind)) {
			violations = append(violations, model.Violation(kind))
		}
	}
	st, err := ev.PolicyChanges.CountPolicyDrop(ctx, changeID, userID, violations, d.HeldUntil)
	if err != nil {
		return fmt.Errorf("count the drop for policy change %s: %w", changeID, err)
	}
	threshold := ev.Engine.Policy().PolicyChanges.TicketAt
	if st.Dropped < threshold {
		return nil
	}
	claimed, err := ev.PolicyChanges.ClaimPolicyTicket(ctx, changeID, threshold, observed)
	if err != nil || !claimed {
		return err
	}
	return ev.Tickets.SendDecisions(ctx, []model.DecisionMessage{PolicyTicket(st, observed)})
}

// PolicyTicket is the decision message of the one tenant-side ticket about
// a policy change that dropped many users below policy. It names no user:
// its message group is the change's (model.PolicyTicketUser).
func PolicyTicket(st model.PolicyChangeState, at time.Time) model.DecisionMessage {
	user := model.PolicyTicketUser(st.Change.AuditID)
	return model.DecisionMessage{
		ID: user + "-ticket",
		Decision: model.Decision{
			Kind: model.DecisionTicket, UserID: user, AdminOnly: true, Violations: []model.Violation{},
			Reasons: []model.Reason{{Code: model.ReasonPolicyChangeDrops, Until: st.GraceUntil}},
		},
		Time: at, PolicyChange: &st,
	}
}
