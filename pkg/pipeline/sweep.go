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
	// changes effect within minutes rather than at the daily sweep.
	PolicyChangesOnly bool
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

// Run walks the registration report once. Without Campaign, a sweep
// request is a baseline for users never assessed, so that only changes are
// acted on; with Baseline every request is a baseline.
//
// When changes of the tenant's own policy wait (PolicyChanges), every user
// is due, not only the changed, new and stale ones: a policy-change request
// names the latest change, and the others waiting are swept with it. A
// change whose grace period has ended makes every user due as well, so
// that the held first nudges go out. Users never assessed are baselines
// as in any sweep that is not a campaign.
func (s *Sweep) Run(ctx context.Context, opt SweepOptions) (SweepStats, error) {
	var stats SweepStats
	now := s.Now()
	reason := model.ReasonSweep
	if opt.Campaign {
		reason = model.ReasonCampaign
	}
	var pending, graceDue []model.PolicyChangeState
	if s.PolicyChanges != nil {
		changes, err := s.PolicyChanges.PolicyChanges(ctx)
		if err != nil {
			return stats, fmt.Errorf("sweep: read policy changes: %w", err)
		}
		for _, c := range changes {
			switch {
			case c.Pending():
				pending = append(pending, c)
			case c.GraceDue(now):
				graceDue = append(graceDue, c)
			}
		}
	}
	if opt.PolicyChangesOnly && len(pending) == 0 && len(graceDue) == 0 {
		return stats, nil
	}
	var change *model.PolicyChange
	if len(pending) > 0 {
		// Oldest first: the latest change is the one in force.
		change = &pending[len(pending)-1].Change
		stats.PolicyChange = change.AuditID
	}
	everyone := len(pending) > 0 || len(graceDue) > 0
	var chunk []model.Registration
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		ids := make([]string, len(chunk))
		for i, r := range chunk {
			ids[i] = r.UserID
		}
		var seen map[string]time.Time
		err := retry(ctx, "read assessment times", func() (err error) {
			seen, err = s.Store.ObservedAt(ctx, ids)
			return err
		})
		if err != nil {
			return fmt.Errorf("sweep: read assessment times: %w", err)
		}
		var reqs []model.EvaluationRequest
		for _, r := range chunk {
			at, known := seen[r.UserID]
			var due bool
			switch {
			case everyone:
				due = true
			case !known:
				stats.New++
				due = true
			case r.LastUpdated.After(at):
				stats.Changed++
				due = true
			case s.MaxAge > 0 && now.Sub(at) >= s.MaxAge:
				stats.Stale++
				due = true
			}
			if !due {
				continue
			}
			baseline := opt.Baseline || (!opt.Campaign && !known)
			req := model.EvaluationRequest{UserID: r.UserID, Reason: reason, Time: now, Baseline: baseline}
			if change != nil {
				req.Reason, req.PolicyChange, req.PolicyChangeAt = model.ReasonPolicyChange, change.AuditID, change.Time
			}
			reqs = append(reqs, req)
		}
		chunk = chunk[:0]
		if len(reqs) == 0 {
			return nil
		}
		// A retried enqueue sends the same requests, with the same
		// deduplication ids: the queue drops what went through before.
		if err := retry(ctx, "enqueue", func() error { return s.Queue.SendRequests(ctx, reqs) }); err != nil {
			return fmt.Errorf("sweep: enqueue %d requests: %w", len(reqs), err)
		}
		stats.Enqueued += len(reqs)
		return nil
	}
	err := s.Registrations.Registrations(ctx, func(r model.Registration) error {
		stats.Users++
		chunk = append(chunk, r)
		if len(chunk) == sweepChunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return stats, fmt.Errorf("sweep: read the registration report: %w", err)
	}
	if err := flush(); err != nil {
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
