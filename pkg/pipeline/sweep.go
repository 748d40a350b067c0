package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// RegistrationReader walks the registration report.
type RegistrationReader interface {
	Registrations(ctx context.Context, fn func(model.Registration) error) error
}

// SweepStore tells when each user was last assessed (their methods read).
type SweepStore interface {
	ObservedAt(ctx context.Context, userIDs []string) (map[string]time.Time, error)
}

// Sweep reconciles the stored assessments with the tenant: it enqueues the
// users whose registration changed since their last assessment, who were
// never assessed, or whose assessment is older than MaxAge. Events can be
// lost upstream; the sweep catches what they missed, and its re-evaluations
// are also what drives reminders on the cooldown schedule.
type Sweep struct {
	Registrations RegistrationReader
	Store         SweepStore
	Queue         RequestQueue
	MaxAge        time.Duration
	Now           func() time.Time
	// PolicyChanges, when set, holds the changes of the tenant's own policy
	// that ingest recorded: a run that finds one waiting re-evaluates every
	// user for it (docs/POLICY.md, "Policy changes").
	PolicyChanges PolicyChangeStore
	// Checkpoints and Pages, when both are set, make the sweep resumable
	// (sweep_resume.go): one sweep at a time under a lease, read one report
	// page at a time, its cursor kept between invocations. Registrations is
	// then not used.
	Checkpoints SweepCheckpoints
	Pages       RegistrationPager
	// Budget is how long one invocation walks (by Now) before it keeps its
	// cursor and returns, for the next invocation to continue; 0: no limit.
	Budget time.Duration
	// Lease is how long a sweep's lease lasts from its last checkpoint
	// (default DefaultSweepLease): an invocation that crashed holds the
	// sweep no longer than this.
	Lease time.Duration
	// RegistrationCache, when set, keeps the rows of every report page a
	// resumable sweep reads, for RegistrationTTL (default
	// DefaultRegistrationTTL), for evaluations to take instead of a
	// per-user read.
	RegistrationCache RegistrationCache
	RegistrationTTL   time.Duration
	// Emergency, when set, judges the emergency access set at each run
	// (emergency_sweep.go).
	Emergency *EmergencyAccess
	// Backlog, when set on a resumable sweep with a RegistrationCache,
	// estimates the evaluation backlog's drain time: a run that finds no
	// sweep to do or continue while the estimate is over StormThreshold
	// (default DefaultStormThreshold) walks the report for triage
	// (triage.go). It has no history of its own: every request is
	// counted at one unit.
	Backlog        *DrainGauge
	StormThreshold time.Duration
}

// SweepOptions choose how a sweep acts on first findings.
type SweepOptions struct {
	// Baseline records assessments without nudging anyone about a first
	// finding: the first deployment does not message every user at once.
	Baseline bool
	// Campaign acts on every finding, including first ones.
	Campaign bool
	// PolicyChangesOnly runs only when a change of the tenant's own policy
	// waits for its re-evaluation (or its grace period has ended), and
	// does nothing otherwise: the frequent schedule that gives policy
	// changes effect within minutes rather than at the daily sweep. In a
	// storm of events (Sweep.Backlog) it walks the report for triage.
	PolicyChangesOnly bool
	// Triage walks the registration report to keep its rows, enqueueing
	// nobody (triage.go); a sweep run starts one itself, never a caller.
	Triage bool `json:",omitempty"`
}

// SweepStats counts what a sweep did.
type SweepStats struct {
	Users    int `json:"users"`
	Changed  int `json:"changed"`
	New      int `json:"new"`
	Stale    int `json:"stale"`
	Enqueued int `json:"enqueued"`
	// PolicyChange is the audit id of the policy change this run
	// re-evaluated every user for; GraceEnded counts the changes whose
	// grace period ended, for whose held nudges it re-evaluated every user.
	PolicyChange string `json:"policyChange,omitempty"`
	GraceEnded   int    `json:"graceEnded,omitempty"`
	// A resumable sweep counts from its start, across invocations: Pages
	// are the report pages read, Invocations the runs so far. Done is set
	// by the run that finished the walk; Busy by a run that found another
	// holding the sweep's lease and did nothing.
	Pages       int  `json:"pages,omitempty"`
	Invocations int  `json:"invocations,omitempty"`
	Done        bool `json:"done,omitempty"`
	Busy        bool `json:"busy,omitempty"`
	// Triage is set on a walk for a storm's triage, which keeps the
	// report's rows and enqueues nobody.
	Triage bool `json:"triage,omitempty"`
	// EmergencyAccess is what the run found of the emergency access set.
	EmergencyAccess *EmergencyStats `json:"emergencyAccess,omitempty"`
}

const sweepChunk = 100

// A sweep makes one read of assessment times and one enqueue per 100
// users, so a walk over a large tenant meets transient failures (a
// throttled read, an unavailable queue) on nearly every run; ending the
// walk at the first would leave the users after it unswept, run after
// run. Each request is tried sweepAttempts times, waiting sweepRetryWait,
// then twice as long, between tries; invalid input is not tried again.
const (
	sweepAttempts  = 5
	sweepRetryWait = 50 * time.Millisecond
)

// retry runs op until it succeeds, fails with invalid input, ctx ends, or
// sweepAttempts tries have failed; it returns op's last error.
func retry(ctx context.Context, what string, op func() error) error {
	wait := sweepRetryWait
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || errors.Is(err, model.ErrInvalidInput) || attempt == sweepAttempts {
			return err
		}
		zerolog.Ctx(ctx).Warn().Err(err).Int("attempt", attempt).Msg("sweep: " + what + " failed; tried again")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// sweep walks the registration report once (Run). Without Campaign, a sweep
// request is a baseline for users never assessed, so that only changes are
// acted on; with Baseline every request is a baseline.
//
// When changes of the tenant's own policy wait (PolicyChanges), every user
// is due, not only the changed, new and stale ones: a policy-change request
// names the latest change, and the others waiting are swept with it. A
// change whose grace period has ended makes every user due as well, so
// that the held first nudges go out. Users never assessed are baselines
// as in any sweep that is not a campaign.
func (s *Sweep) sweep(ctx context.Context, opt SweepOptions) (SweepStats, error) {
	if s.Checkpoints != nil && s.Pages != nil {
		return s.runResumable(ctx, opt)
	}
	var stats SweepStats
	now := s.Now()
	pending, graceDue, err := s.policyChangesDue(ctx, now)
	if err != nil {
		return stats, err
	}
	if opt.PolicyChangesOnly && len(pending) == 0 && len(graceDue) == 0 {
		return stats, nil
	}
	w := s.newRun(ctx, opt, now, &stats, latestChange(pending), len(pending) > 0 || len(graceDue) > 0)
	err = s.Registrations.Registrations(ctx, func(r model.Registration) error {
		stats.Users++
		w.chunk = append(w.chunk, r)
		if len(w.chunk) == sweepChunk {
			return w.flush()
		}
		return nil
	})
	if err != nil {
		return stats, fmt.Errorf("sweep: read the registration report: %w", err)
	}
	if err := w.flush(); err != nil {
		return stats, err
	}
	// Marked only once every user is enqueued: a sweep that fails is run
	// again, and the queue drops what it already has.
	for _, c := range pending {
		if err := s.PolicyChanges.MarkPolicySwept(ctx, c.Change.AuditID, now, stats.Enqueued, false); err != nil {
			return stats, fmt.Errorf("sweep: policy change %s: %w", c.Change.AuditID, err)
		}
	}
	for _, c := range graceDue {
		if err := s.PolicyChanges.MarkPolicySwept(ctx, c.Change.AuditID, now, stats.Enqueued, true); err != nil {
			return stats, fmt.Errorf("sweep: policy change %s: %w", c.Change.AuditID, err)
		}
		stats.GraceEnded++
	}
	return stats, nil
}

// policyChangesDue returns the policy changes waiting for their sweep, and
// those whose grace period has ended, oldest first.
func (s *Sweep) policyChangesDue(ctx context.Context, now time.Time) (pending, graceDue []model.PolicyChangeState, err error) {
	if s.PolicyChanges == nil {
		return nil, nil, nil
	}
	changes, err := s.PolicyChanges.PolicyChanges(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("sweep: read policy changes: %w", err)
	}
	for _, c := range changes {
		switch {
		case c.Pending():
			pending = append(pending, c)
		case c.GraceDue(now):
			graceDue = append(graceDue, c)
		}
	}
	return pending, graceDue, nil
}

// latestChange is the change in force among those pending (oldest
// first), or nil.
func latestChange(pending []model.PolicyChangeState) *model.PolicyChange {
	if len(pending) == 0 {
		return nil
	}
	return &pending[len(pending)-1].Change
}

// newRun starts a walk that enqueues its requests as of now, for the
// policy change in force (nil: none), every user when everyone.
func (s *Sweep) newRun(ctx context.Context, opt SweepOptions, now time.Time, stats *SweepStats, change *model.PolicyChange, everyone bool) *sweepRun {
	w := &sweepRun{s: s, ctx: ctx, opt: opt, now: now, stats: stats, reason: model.ReasonSweep, change: change, everyone: everyone}
	if opt.Campaign {
		w.reason = model.ReasonCampaign
	}
	if change != nil {
		stats.PolicyChange = change.AuditID
	}
	return w
}

// sweepRun is one sweep's walk: the users read so far and not yet sent
// (chunk), and what decides their requests.
type sweepRun struct {
	s        *Sweep
	ctx      context.Context
	opt      SweepOptions
	now      time.Time
	reason   string
	change   *model.PolicyChange // the policy change in force, if one waits
	everyone bool                // a policy change re-evaluates every user
	chunk    []model.Registration
	stats    *SweepStats
}

// flush enqueues the evaluation requests of the chunk's users that are
// due, reading their assessment times in one request; both reads and
// enqueues are retried.
func (w *sweepRun) flush() error {
	if len(w.chunk) == 0 {
		return nil
	}
	ids := make([]string, len(w.chunk))
	for i, r := range w.chunk {
		ids[i] = r.UserID
	}
	var seen map[string]time.Time
	err := retry(w.ctx, "read assessment times", func() (err error) {
		seen, err = w.s.Store.ObservedAt(w.ctx, ids)
		return err
	})
	if err != nil {
		return fmt.Errorf("sweep: read assessment times: %w", err)
	}
	var reqs []model.EvaluationRequest
	for _, r := range w.chunk {
		at, known := seen[r.UserID]
		if req, due := w.request(r, at, known); due {
			reqs = append(reqs, req)
		}
	}
	w.chunk = w.chunk[:0]
	if len(reqs) == 0 {
		return nil
	}
	// A retried enqueue sends the same requests, with the same
	// deduplication ids: the queue drops what went through before.
	if err := retry(w.ctx, "enqueue", func() error { return w.s.Queue.SendRequests(w.ctx, reqs) }); err != nil {
		return fmt.Errorf("sweep: enqueue %d requests: %w", len(reqs), err)
	}
	w.stats.Enqueued += len(reqs)
	return nil
}

// request says whether a user is due for evaluation (everyone after a
// policy change; otherwise never assessed, changed since, or stale), and
// with which request.
func (w *sweepRun) request(r model.Registration, at time.Time, known bool) (model.EvaluationRequest, bool) {
	switch {
	case w.everyone:
	case !known:
		w.stats.New++
	case r.LastUpdated.After(at):
		w.stats.Changed++
	case w.s.MaxAge > 0 && w.now.Sub(at) >= w.s.MaxAge:
		w.stats.Stale++
	default:
		return model.EvaluationRequest{}, false
	}
	baseline := w.opt.Baseline || (!w.opt.Campaign && !known)
	req := model.EvaluationRequest{UserID: r.UserID, Reason: w.reason, Time: w.now, Baseline: baseline}
	if w.change != nil {
		req.Reason, req.PolicyChange, req.PolicyChangeAt = model.ReasonPolicyChange, w.change.AuditID, w.change.Time
	}
	return req, true
}
