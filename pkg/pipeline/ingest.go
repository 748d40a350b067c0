package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
)

// AuditReceiver yields audit messages and checkpoints them. Commit
// checkpoints everything Next has returned so far.
type AuditReceiver interface {
	// Next returns the next messages; an empty result with a nil error means
	// the source is drained for now.
	Next(ctx context.Context) ([]model.AuditMessage, error)
	Commit(ctx context.Context) error
}

// RequestQueue takes evaluation requests (an SQS FIFO queue in the cloud).
type RequestQueue interface {
	SendRequests(ctx context.Context, reqs []model.EvaluationRequest) error
}

// DeadLetters keeps input that can never be processed, with the reason, so
// that an operator can look at it without it blocking the stream.
type DeadLetters interface {
	DeadLetter(ctx context.Context, body []byte, reason string) error
}

// Ingest turns audit records into evaluation requests.
type Ingest struct {
	Queue RequestQueue
	Dead  DeadLetters
	// TenantID, when set, ignores records of other tenants sharing the hub.
	TenantID string
}

// IngestStats counts what a drain did.
type IngestStats struct {
	Messages  int            `json:"messages"`
	Records   int            `json:"records"`
	Requests  int            `json:"requests"`
	Skipped   map[string]int `json:"skipped"`
	Malformed int            `json:"malformed"`
}

func (s *IngestStats) add(reason string, n int) {
	if s.Skipped == nil {
		s.Skipped = map[string]int{}
	}
	s.Skipped[reason] += n
}

// Drain reads the receiver until it is drained or ctx ends. After every
// batch the requests are enqueued first and the checkpoint committed
// second, so a crash between the two repeats the batch (the FIFO queue
// drops the repeated requests by their audit record id) and loses nothing.
// A malformed record goes to the dead letters with its reason; the rest of
// its message proceeds.
func (in *Ingest) Drain(ctx context.Context, r AuditReceiver) (IngestStats, error) {
	var stats IngestStats
	log := zerolog.Ctx(ctx)
	for {
		if err := ctx.Err(); err != nil {
			return stats, nil // the time budget ended; the checkpoint holds
		}
		msgs, err := r.Next(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return stats, nil
			}
			return stats, fmt.Errorf("ingest: receive: %w", err)
		}
		if len(msgs) == 0 {
			return stats, nil
		}
		var reqs []model.EvaluationRequest
		for _, m := range msgs {
			stats.Messages++
			batch, perr := entralog.ParseAudit(m.Body)
			stats.Records += batch.Records
			for reason, n := range batch.Skipped {
				stats.add(reason, n)
			}
			if perr != nil {
				stats.Malformed++
				log.Warn().Str("position", m.Position).Err(perr).Msg("malformed audit records go to the dead letters")
				if in.Dead != nil {
					if err := in.Dead.DeadLetter(ctx, m.Body, fmt.Sprintf("%s: %v", m.Position, perr)); err != nil {
						return stats, fmt.Errorf("ingest: dead-letter %s: %w", m.Position, err)
					}
				}
			}
			for _, ev := range batch.Events {
				if in.TenantID != "" && ev.TenantID != "" && ev.TenantID != in.TenantID {
					stats.add("other-tenant", 1)
					continue
				}
				reqs = append(reqs, model.EvaluationRequest{
					UserID: ev.UserID, TenantID: ev.TenantID, Reason: model.ReasonAudit,
					AuditID: ev.AuditID, Activity: ev.Activity, Time: ev.Time,
				})
			}
		}
		if len(reqs) > 0 {
			if err := in.Queue.SendRequests(ctx, reqs); err != nil {
				return stats, fmt.Errorf("ingest: enqueue %d requests: %w", len(reqs), err)
			}
			stats.Requests += len(reqs)
		}
		if err := r.Commit(ctx); err != nil {
			return stats, fmt.Errorf("ingest: checkpoint: %w", err)
		}
	}
}

// Receivers opens one audit receiver per Event Hubs partition for a drain.
type Receivers interface {
	Open(ctx context.Context) ([]AuditReceiver, error)
	Close(ctx context.Context) error
}

// IngestResult is what a run of the ingest stage returns (and the ingest
// function logs).
type IngestResult struct {
	Partitions int         `json:"partitions"`
	Stats      IngestStats `json:"stats"`
}

// Run drains every partition at once within budget (less than the
// function's timeout, so that checkpoints are written before Lambda stops
// it). The error is the first partition's; the checkpoints written so far
// hold.
func (in *Ingest) Run(ctx context.Context, receivers Receivers, budget time.Duration) (IngestResult, error) {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	rs, err := receivers.Open(ctx)
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest: open partitions: %w", err)
	}
	defer receivers.Close(context.WithoutCancel(ctx))
	res := IngestResult{Partitions: len(rs)}
	type result struct {
		stats IngestStats
		err   error
	}
	done := make(chan result, len(rs))
	for _, r := range rs {
		go func() {
			st, err := in.Drain(ctx, r)
			done <- result{st, err}
		}()
	}
	var firstErr error
	for range rs {
		r := <-done
		res.Stats.merge(r.stats)
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
	}
	return res, firstErr
}

func (into *IngestStats) merge(s IngestStats) {
	into.Messages += s.Messages
	into.Records += s.Records
	into.Requests += s.Requests
	into.Malformed += s.Malformed
	for k, v := range s.Skipped {
		if into.Skipped == nil {
			into.Skipped = map[string]int{}
		}
		into.Skipped[k] += v
	}
}
