package wiring

// The Lambda event adapters: SQS batches with partial batch failures, and
// scheduled invocations. Each invocation gets a logger carrying its request
// id; the pipeline logs through it with user object ids only.

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/pipeline"
)

// withRequest returns ctx carrying log with the invocation's request id.
func withRequest(ctx context.Context, log zerolog.Logger) (context.Context, zerolog.Logger) {
	l := log
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		l = log.With().Str("requestId", lc.AwsRequestID).Logger()
	}
	return l.WithContext(ctx), l
}

func messages(ev events.SQSEvent) []pipeline.Message {
	out := make([]pipeline.Message, len(ev.Records))
	for i, r := range ev.Records {
		out[i] = pipeline.Message{ID: r.MessageId, GroupID: r.Attributes["MessageGroupId"], Body: []byte(r.Body)}
	}
	return out
}

// response reports failed messages; for a FIFO queue, once a message of a
// group failed every later message of that group in the batch is reported
// too, so that the group's order holds.
func response(ev events.SQSEvent, failures []pipeline.Failure) events.SQSEventResponse {
	failed := map[string]bool{}
	for _, f := range failures {
		failed[f.MessageID] = true
	}
	brokenGroups := map[string]bool{}
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, r := range ev.Records {
		group := r.Attributes["MessageGroupId"]
		if failed[r.MessageId] || (group != "" && brokenGroups[group]) {
			if group != "" {
				brokenGroups[group] = true
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp
}

// SQSHandler is the signature of an SQS-triggered function.
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Evaluate handles the evaluation queue.
func Evaluate(stage *pipeline.Evaluate, log zerolog.Logger) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ctx, l := withRequest(ctx, log)
		outcomes, failures := stage.Handle(ctx, messages(ev))
		l.Info().Int("messages", len(ev.Records)).Int("users", len(outcomes)).Int("failed", len(failures)).Msg("evaluate batch done")
		return response(ev, failures), nil
	}
}

// Nudge handles the nudge queue.
func Nudge(stage *pipeline.NudgeStage, log zerolog.Logger) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ctx, l := withRequest(ctx, log)
		failures := stage.Handle(ctx, messages(ev))
		l.Info().Int("messages", len(ev.Records)).Int("failed", len(failures)).Msg("nudge batch done")
		return response(ev, failures), nil
	}
}

// Ticket handles the ticket queue.
func Ticket(stage *pipeline.TicketStage, log zerolog.Logger) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ctx, l := withRequest(ctx, log)
		failures := stage.Handle(ctx, messages(ev))
		l.Info().Int("messages", len(ev.Records)).Int("failed", len(failures)).Msg("ticket batch done")
		return response(ev, failures), nil
	}
}

// ScheduleInput is the JSON the scheduler passes to the scheduled functions
// (the `Input` of the template's schedules).
type ScheduleInput struct {
	// Baseline and Campaign choose the sweep's behaviour on first findings.
	Baseline bool `json:"baseline,omitempty"`
	Campaign bool `json:"campaign,omitempty"`
}

// Receivers opens one audit receiver per Event Hubs partition for a drain.
type Receivers interface {
	Open(ctx context.Context) ([]pipeline.AuditReceiver, error)
	Close(ctx context.Context) error
}

// IngestResult is what the ingest function returns (and logs).
type IngestResult struct {
	Partitions int                  `json:"partitions"`
	Stats      pipeline.IngestStats `json:"stats"`
}

// Ingest drains every partition within budget (less than the function's
// timeout, so that checkpoints are written before Lambda stops it). An
// error fails the invocation; the checkpoints written so far hold.
func Ingest(stage *pipeline.Ingest, receivers Receivers, budget time.Duration, log zerolog.Logger) func(ctx context.Context, in ScheduleInput) (IngestResult, error) {
	return func(ctx context.Context, _ ScheduleInput) (IngestResult, error) {
		ctx, l := withRequest(ctx, log)
		ctx, cancel := context.WithTimeout(ctx, budget)
		defer cancel()
		rs, err := receivers.Open(ctx)
		if err != nil {
			l.Error().Err(err).Msg("ingest: open partitions")
			return IngestResult{}, fmt.Errorf("ingest: open partitions: %w", err)
		}
		defer receivers.Close(context.WithoutCancel(ctx))
		res := IngestResult{Partitions: len(rs)}
		type result struct {
			stats pipeline.IngestStats
			err   error
		}
		done := make(chan result, len(rs))
		for _, r := range rs {
			go func() {
				st, err := stage.Drain(ctx, r)
				done <- result{st, err}
			}()
		}
		var firstErr error
		for range rs {
			r := <-done
			merge(&res.Stats, r.stats)
			if r.err != nil && firstErr == nil {
				firstErr = r.err
			}
		}
		ev := l.Info()
		if firstErr != nil {
			ev = l.Error().Err(firstErr)
		}
		ev.Int("partitions", res.Partitions).Int("records", res.Stats.Records).Int("requests", res.Stats.Requests).
			Int("malformed", res.Stats.Malformed).Msg("ingest done")
		return res, firstErr
	}
}

func merge(into *pipeline.IngestStats, s pipeline.IngestStats) {
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

// Sweep runs the reconciliation sweep.
func Sweep(stage *pipeline.Sweep, log zerolog.Logger) func(ctx context.Context, in ScheduleInput) (pipeline.SweepStats, error) {
	return func(ctx context.Context, in ScheduleInput) (pipeline.SweepStats, error) {
		ctx, l := withRequest(ctx, log)
		if in.Baseline && in.Campaign {
			err := fmt.Errorf("sweep: baseline and campaign exclude each other")
			l.Error().Err(err).Msg("sweep rejected")
			return pipeline.SweepStats{}, err
		}
		stats, err := stage.Run(ctx, pipeline.SweepOptions{Baseline: in.Baseline, Campaign: in.Campaign})
		ev := l.Info()
		if err != nil {
			ev = l.Error().Err(err)
		}
		ev.Int("users", stats.Users).Int("enqueued", stats.Enqueued).Bool("baseline", in.Baseline).Bool("campaign", in.Campaign).Msg("sweep done")
		return stats, err
	}
}
