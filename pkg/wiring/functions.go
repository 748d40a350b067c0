package wiring

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/azcred"
	"github.com/credres/credres/pkg/eventhubs"
)

// The five functions of template.yaml, each built once per execution
// environment by Main: functions/<name>/main.go is Main(name, <Name>Function).

// IngestFunction drains the audit stream into the evaluation queue.
func IngestFunction(ctx context.Context, env *Env, log zerolog.Logger) (any, error) {
	stage, budget, err := env.Ingest()
	if err != nil {
		return nil, err
	}
	hcfg, err := HubConfig(env.get)
	if err != nil {
		return nil, err
	}
	hcfg.Secrets = env.Secrets
	if hcfg.ConnectionString == "" && hcfg.ConnectionSecretARN == "" {
		// No shared access policy: an app registration of its own reads the
		// hub with the "Azure Event Hubs Data Receiver" role, and nothing
		// else (docs/EVENTHUBS.md).
		if hcfg.Credential, _, err = azcred.Credential(ctx, HubApp(env.get, env.Secrets)); err != nil {
			return nil, err
		}
	}
	checkpoints := eventhubs.NewDynamoDBCheckpointStore(env.DynamoDB, env.Required(EnvCheckpointTable))
	if err := env.Err(); err != nil {
		return nil, err
	}
	receivers, err := eventhubs.NewReceivers(ctx, hcfg, checkpoints)
	if err != nil {
		return nil, err
	}
	return Ingest(stage, receivers, budget, log), nil
}

// EvaluateFunction re-evaluates the users on the evaluation queue, reading
// them live from Microsoft Graph.
func EvaluateFunction(ctx context.Context, env *Env, log zerolog.Logger) (any, error) {
	users, err := NewGraph(ctx, env.get, env.Secrets)
	if err != nil {
		return nil, err
	}
	stage, err := env.Evaluate(users)
	if err != nil {
		return nil, err
	}
	return Evaluate(stage, env.source(EnvEvaluateQueue), log), nil
}

// NudgeFunction delivers nudges: by mail and Teams through Graph, or onto
// the nudge outbox queue.
func NudgeFunction(ctx context.Context, env *Env, log zerolog.Logger) (any, error) {
	client, err := NewGraph(ctx, env.get, env.Secrets)
	if err != nil {
		return nil, err
	}
	sender, err := env.NudgeSender(client, client)
	if err != nil {
		return nil, err
	}
	stage, err := env.Nudge(sender)
	if err != nil {
		return nil, err
	}
	return Nudge(stage, env.source(EnvNudgeQueue), log), nil
}

// TicketFunction delivers ticket events to the helpdesk.
func TicketFunction(_ context.Context, env *Env, log zerolog.Logger) (any, error) {
	sender, err := env.TicketSender()
	if err != nil {
		return nil, err
	}
	stage, err := env.Ticket(sender)
	if err != nil {
		return nil, err
	}
	return Ticket(stage, env.source(EnvTicketQueue), log), nil
}

// SweepFunction reconciles with Graph's registration report.
func SweepFunction(ctx context.Context, env *Env, log zerolog.Logger) (any, error) {
	reports, err := NewGraph(ctx, env.get, env.Secrets)
	if err != nil {
		return nil, err
	}
	stage, err := env.Sweep(reports)
	if err != nil {
		return nil, err
	}
	return Sweep(stage, log), nil
}
