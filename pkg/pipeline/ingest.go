package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// Ingest turns audit records into evaluation requests, and sign-in records
// into method usage (docs/USAGE.md).
type Ingest struct {
	Queue RequestQueue
	Dead  DeadLetters
	// TenantID, when set, ignores records of other tenants sharing the hub.
	TenantID string
	// Usage keeps what the sign-ins say about each user's methods; nil
	// counts sign-ins and keeps nothing.
	Usage UsageStore
	// ProofWindow is the shortest proofWindow of the policy's tiers. A
	// sign-in that moves a method to another state of proof, judged with
	// it, requests an evaluation of the user; zero (no tier judges proof)
	// requests none.
	ProofWindow time.Duration
	// PolicyChanges keeps the changes of the tenant's own policy for the
	// sweep's tenant-wide re-evaluation; nil counts them as skipped
	// ("policy-change-not-kept").
	PolicyChanges PolicyChangeStore
	// Now stamps when a policy change was recorded; nil uses the change's
	// own time.
	Now func() time.Time

	memo usageMemo
}

// IngestStats counts what a drain did.
type IngestStats struct {
	Messages  int            `json:"messages"`
	Records   int            `json:"records"`
	Requests  int            `json:"requests"`
	Skipped   map[string]int `json:"skipped"`
	Malformed int            `json:"malformed"`
	// Refused counts requests no queue can take (an invalid user id), kept
	// as dead letters.
	Refused int `json:"refused,omitempty"`
	// Unkept counts inputs that even the dead letters refused; each is
	// logged with its position.
	Unkept int `json:"unkept,omitempty"`
	// SignInRecords counts the records of Records that were sign-ins
	// (user, service principal or managed identity).
	SignInRecords int `json:"signInRecords,omitempty"`
	// SignIns counts user sign-ins that proved something (sign-in records
	// without a user or without proof are in Skipped).
	SignIns int `json:"signIns,omitempty"`
	// UnknownMethods counts sign-in steps whose method credres does not
	// map, by the value as logged.
	UnknownMethods map[string]int `json:"unknownMethods,omitempty"`
	// UsageWrites counts the methods written to the usage store (one
	// conditional write each); UsageKnown the users of a batch whose
	// usage was already stored that day, so nothing was written.
	UsageWrites int `json:"usageWrites,omitempty"`
	UsageKnown  int `json:"usageKnown,omitempty"`
	// ProofChanges counts users whose methods changed state of proof: each
	// is one evaluation request.
	ProofChanges int `json:"proofChanges,omitempty"`
	// PolicyChanges counts the changes of the tenant's own policy recorded
	// for the sweep; PolicyRepeats those already recorded (the same audit
	// record delivered again).
	PolicyChanges int `json:"policyChanges,omitempty"`
	PolicyRepeats int `json:"policyRepeats,omitempty"`
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
//
// No single record holds back the checkpoint: a malformed record goes to
// the dead letters with its reason and the rest of its message proceeds; a
// request the queue can never take (a user id that is no message group, or
// one the queue refuses) is dead-lettered alone and the others are sent;
// and a dead letter that its queue refuses as invalid is logged with its
// position, size and digest and counted in Unkept. Only failures that may
// pass (the queue or the dead letters unavailable, throttling) stop the
// drain, with the checkpoint where it was.
func (in *Ingest) Drain(ctx context.Context, r AuditReceiver) (IngestStats, error) {
	var stats IngestStats
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
		b := &ingestBatch{usage: newUsageBatch()}
		for _, m := range msgs {
			if err := in.message(ctx, &stats, m, b); err != nil {
				return stats, err
			}
		}
		// Usage is written before the requests it causes are sent, so that
		// the evaluation reads it.
		ureqs, err := in.recordUsage(ctx, &stats, b.usage)
		if err != nil {
			return stats, err
		}
		for _, req := range ureqs {
			b.reqs, b.from = append(b.reqs, req), append(b.from, "usage")
		}
		if err := in.enqueue(ctx, &stats, b.reqs, b.from); err != nil {
			return stats, err
		}
		if err := r.Commit(ctx); err != nil {
			return stats, fmt.Errorf("ingest: checkpoint: %w", err)
		}
	}
}

// ingestBatch is what one receive's messages ask for: evaluation requests,
// each with the position it came from, and method usage.
type ingestBatch struct {
	reqs  []model.EvaluationRequest
	from  []string
	usage *usageBatch
}

// message parses one message into b: its sign-ins' usage, its policy
// changes (recorded at once), its audit events' requests. Malformed
// records and requests no queue can take go to the dead letters.
func (in *Ingest) message(ctx context.Context, stats *IngestStats, m model.AuditMessage, b *ingestBatch) error {
	stats.Messages++
	batch, perr := entralog.Parse(m.Body)
	stats.Records += batch.Records
	stats.SignInRecords += batch.SignInRecords
	for reason, n := range batch.Skipped {
		stats.add(reason, n)
	}
	for name, n := range batch.Unknown {
		stats.unknown(name, n)
	}
	for i := range batch.SignIns {
		si := &batch.SignIns[i]
		if in.TenantID != "" && si.TenantID != "" && si.TenantID != in.TenantID {
			stats.add("other-tenant", 1)
			continue
		}
		if err := model.ValidateUserID(si.UserID); err != nil {
			// No store or queue can key it: the record is malformed.
			perr = errors.Join(perr, fmt.Errorf("sign-in %s: %w", si.ID, err))
			continue
		}
		stats.SignIns++
		b.usage.add(si)
	}
	if perr != nil {
		stats.Malformed++
		zerolog.Ctx(ctx).Warn().Str("position", m.Position).Err(perr).Msg("malformed audit records go to the dead letters")
		if err := in.deadLetter(ctx, stats, m.Position, m.Body, perr.Error()); err != nil {
			return err
		}
	}
	for _, pc := range batch.PolicyChanges {
		if err := in.recordPolicyChange(ctx, stats, m.Position, pc); err != nil {
			return err
		}
	}
	for _, ev := range batch.Audit {
		if in.TenantID != "" && ev.TenantID != "" && ev.TenantID != in.TenantID {
			stats.add("other-tenant", 1)
			continue
		}
		req := model.EvaluationRequest{
			UserID: ev.UserID, TenantID: ev.TenantID, Reason: model.ReasonAudit,
			AuditID: ev.AuditID, Activity: ev.Activity, Time: ev.Time,
		}
		if err := req.Validate(); err != nil {
			if err := in.deadLetterRequest(ctx, stats, m.Position, req, err); err != nil {
				return err
			}
			continue
		}
		b.reqs = append(b.reqs, req)
		b.from = append(b.from, m.Position)
	}
	return nil
}

// recordPolicyChange keeps a change of the tenant's own policy for the
// sweep, before the checkpoint moves past it; a repeat of a recorded one
// changes nothing, so that the tenant is re-evaluated once per change.
func (in *Ingest) recordPolicyChange(ctx context.Context, stats *IngestStats, position string, pc model.PolicyChange) error {
	if in.TenantID != "" && pc.TenantID != "" && pc.TenantID != in.TenantID {
		stats.add("other-tenant", 1)
		return nil
	}
	if in.PolicyChanges == nil {
		stats.add("policy-change-not-kept", 1)
		return nil
	}
	at := pc.Time
	if in.Now != nil {
		at = in.Now()
	}
	added, err := in.PolicyChanges.AddPolicyChange(ctx, pc, at)
	switch {
	case errors.Is(err, model.ErrInvalidInput):
		body, _ := json.Marshal(pc)
		return in.deadLetter(ctx, stats, position, body, err.Error())
	case err != nil:
		return fmt.Errorf("ingest: record policy change %s: %w", pc.AuditID, err)
	case added:
		stats.PolicyChanges++
		zerolog.Ctx(ctx).Info().Str("auditId", pc.AuditID).Str("activity", pc.Activity).Str("policyId", pc.PolicyID).
			Msg("the tenant changed its own policy; the sweep re-evaluates every user")
	default:
		stats.PolicyRepeats++
	}
	return nil
}

// enqueue sends reqs. When the queue refuses the batch as invalid, the
// requests go one by one, so that only the ones it refuses are
// dead-lettered; any other failure is returned.
func (in *Ingest) enqueue(ctx context.Context, stats *IngestStats, reqs []model.EvaluationRequest, from []string) error {
	if len(reqs) == 0 {
		return nil
	}
	err := in.Queue.SendRequests(ctx, reqs)
	if err == nil {
		stats.Requests += len(reqs)
		return nil
	}
	if !errors.Is(err, model.ErrInvalidInput) {
		return fmt.Errorf("ingest: enqueue %d requests: %w", len(reqs), err)
	}
	for i, req := range reqs {
		err := in.Queue.SendRequests(ctx, reqs[i:i+1])
		switch {
		case err == nil:
			stats.Requests++
		case errors.Is(err, model.ErrInvalidInput):
			if err := in.deadLetterRequest(ctx, stats, from[i], req, err); err != nil {
				return err
			}
		default:
			return fmt.Errorf("ingest: enqueue request %s: %w", req.DeduplicationID(), err)
		}
	}
	return nil
}

// deadLetterRequest keeps a request that can never be queued.
func (in *Ingest) deadLetterRequest(ctx context.Context, stats *IngestStats, position string, req model.EvaluationRequest, why error) error {
	stats.Refused++
	zerolog.Ctx(ctx).Warn().Str("position", position).Str("auditId", req.AuditID).Err(why).
		Msg("an evaluation request the queue cannot take goes to the dead letters")
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("ingest: encode refused request %s: %w", req.DeduplicationID(), err)
	}
	return in.deadLetter(ctx, stats, position, body, why.Error())
}

// deadLetter keeps body with its reason. A dead letter refused as invalid
// is logged and counted rather than returned: it would be refused again on
// every run, and the whole partition would stop behind it.
func (in *Ingest) deadLetter(ctx context.Context, stats *IngestStats, position string, body []byte, reason string) error {
	if in.Dead == nil {
		return nil
	}
	err := in.Dead.DeadLetter(ctx, body, position+": "+reason)
	if err == nil {
		return nil
	}
	if errors.Is(err, model.ErrInvalidInput) {
		stats.Unkept++
		sum := sha256.Sum256(body)
		zerolog.Ctx(ctx).Error().Str("position", position).Int("bytes", len(body)).
			Str("sha256", hex.EncodeToString(sum[:])).Err(err).
			Msg("the dead letters refused this input; it is skipped, read it again from the stream at this position")
		return nil
	}
	return fmt.Errorf("ingest: dead-letter %s: %w", position, err)
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

func (s *IngestStats) unknown(name string, n int) {
	if s.UnknownMethods == nil {
		s.UnknownMethods = map[string]int{}
	}
	s.UnknownMethods[name] += n
}

func (into *IngestStats) merge(s IngestStats) {
	into.Messages += s.Messages
	into.SignInRecords += s.SignInRecords
	into.SignIns += s.SignIns
	into.UsageWrites += s.UsageWrites
	into.UsageKnown += s.UsageKnown
	into.ProofChanges += s.ProofChanges
	into.PolicyChanges += s.PolicyChanges
	into.PolicyRepeats += s.PolicyRepeats
	for k, v := range s.UnknownMethods {
		into.unknown(k, v)
	}
	into.Records += s.Records
	into.Requests += s.Requests
	into.Malformed += s.Malformed
	into.Refused += s.Refused
	into.Unkept += s.Unkept
	for k, v := range s.Skipped {
		if into.Skipped == nil {
			into.Skipped = map[string]int{}
		}
		into.Skipped[k] += v
	}
}
