package wiring

// The Lambda event adapters: SQS batches with partial batch failures, and
// scheduled invocations. Each invocation gets a logger carrying its request
// id; the pipeline logs through it with user object ids only.

import (
	"context"
	"fmt"
	"strconv"
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

// Redelivery delays the next delivery of received messages, by receipt
// handle (queue.SQS on the function's source queue).
type Redelivery interface {
	Delay(ctx context.Context, receipts []string, d time.Duration) error
}

// delay extends the visibility timeout of the failed messages that ask for
// a later retry (throttling). Should that fail, they come back after the
// queue's own visibility timeout, which is logged and no worse than before.
func delay(ctx context.Context, source Redelivery, ev events.SQSEvent, failures []pipeline.Failure) {
	if source == nil {
		return
	}
	receipts := map[time.Duration][]string{}
	for _, f := range failures {
		if f.RetryAfter <= 0 {
			continue
		}
		for _, r := range ev.Records {
			if r.MessageId == f.MessageID {
				receipts[f.RetryAfter] = append(receipts[f.RetryAfter], r.ReceiptHandle)
			}
		}
	}
	for d, rs := range receipts {
		if err := source.Delay(ctx, rs, d); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Int("messages", len(rs)).Msg("throttled messages come back after the usual visibility timeout")
		}
	}
}

func messages(ev events.SQSEvent) []pipeline.Message {
	out := make([]pipeline.Message, len(ev.Records))
	for i, r := range ev.Records {
		// A count SQS did not give, or gave unreadable, stays 0: unknown.
		n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		out[i] = pipeline.Message{ID: r.MessageId, GroupID: r.Attributes["MessageGroupId"], Body: []byte(r.Body), ReceiveCount: n}
	}
	return out
}

// response reports failed messages, with pipeline.HoldBack's FIFO rule
// applied, so that a user's later messages never overtake a failed one.
func response(ev events.SQSEvent, failures []pipeline.Failure) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, f := range pipeline.HoldBack(messages(ev), failures) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: f.MessageID})
	}
	return resp
}

// SQSHandler is the signature of an SQS-triggered function.
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Evaluate handles the evaluation queue; source, when set, delays throttled
// messages (as in Nudge and Ticket).
func Evaluate(stage *pipeline.Evaluate, source Redelivery, log zerolog.Logger) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ctx, l := withRequest(ctx, log)
		outcomes, failures := stage.Handle(ctx, messages(ev))
		delay(ctx, source, ev, failures)
		l.Info().Int("messages", len(ev.Records)).Int("users", len(outcomes)).Int("failed", len(failures)).Msg("evaluate batch done")
		return response(ev, failures), nil
	}
}

// Nudge handles the nudge queue.
func Nudge(stage *pipeline.NudgeStage, source Redelivery, log zerolog.Logger) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ctx, l := withRequest(ctx, log)
		failures := stage.Handle(ctx, messages(ev))
		delay(ctx, source, ev, failures)
		l.Info().Int("messages", len(ev.Records)).Int("failed", len(failures)).Msg("nudge batch done")
		return response(ev, failures), nil
	}
}

// Ticket handles the ticket queue.
func Ticket(stage *pipeline.TicketStage, source Redelivery, log zerolog.Logger) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ctx, l := withRequest(ctx, log)
		failures := stage.Handle(ctx, messages(ev))
		delay(ctx, source, ev, failures)
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
	// PolicyChanges runs the sweep only for changes of the tenant's own
	// policy (re-evaluation of every user, or the end of a grace period):
	// the frequent schedule; without any, the run does nothing.
	PolicyChanges bool `json:"policyChanges,omitempty"`
}

// Ingest drains every partition within budget (less than the function's
// timeout, so that checkpoints are written before Lambda stops it). An
// error fails the invocation; the checkpoints written so far hold.
func Ingest(stage *pipeline.Ingest, receivers pipeline.Receivers, budget time.Duration, log zerolog.Logger) func(ctx context.Context, in ScheduleInput) (pipeline.IngestResult, error) {
	return func(ctx context.Context, _ ScheduleInput) (pipeline.IngestResult, error) {
		ctx, l := withRequest(ctx, log)
		res, err := stage.Run(ctx, receivers, budget)
		ev := l.Info()
		if err != nil {
			ev = l.Error().Err(err)
		}
		ev.Int("partitions", res.Partitions).Int("records", res.Stats.Records).Int("requests", res.Stats.Requests).
			Int("malformed", res.Stats.Malformed).Msg("ingest done")
		return res, err
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
		stats, err := stage.Run(ctx, pipeline.SweepOptions{Baseline: in.Baseline, Campaign: in.Campaign, PolicyChangesOnly: in.PolicyChanges})
		ev := l.Info()
		if err != nil {
			ev = l.Error().Err(err)
		}
		ev.Int("users", stats.Users).Int("enqueued", stats.Enqueued).Bool("baseline", in.Baseline).Bool("campaign", in.Campaign).
			Bool("policyChangesOnly", in.PolicyChanges).Str("policyChange", stats.PolicyChange).Int("graceEnded", stats.GraceEnded).
			Int("pages", stats.Pages).Int("invocations", stats.Invocations).Bool("done", stats.Done).Bool("busy", stats.Busy).Msg("sweep done")
		return stats, err
	}
}
