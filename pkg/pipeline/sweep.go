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
}

// SweepOptions choose how a sweep acts on first findings.
type SweepOptions struct {
	// Baseline records assessments without nudging anyone about a first
	// finding: the first deployment does not message every user at once.
	Baseline bool
	// Campaign acts on every finding, including first ones.
	Campaign bool
}

// SweepStats counts what a sweep did.
type SweepStats struct {
	Users    int `json:"users"`
	Changed  int `json:"changed"`
	New      int `json:"new"`
	Stale    int `json:"stale"`
	Enqueued int `json:"enqueued"`
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
func (s *Sweep) Run(ctx context.Context, opt SweepOptions) (SweepStats, error) {
	var stats SweepStats
	now := s.Now()
	reason := model.ReasonSweep
	if opt.Campaign {
		reason = model.ReasonCampaign
	}
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
			reqs = append(reqs, model.EvaluationRequest{UserID: r.UserID, Reason: reason, Time: now, Baseline: baseline})
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
	return stats, flush()
}
