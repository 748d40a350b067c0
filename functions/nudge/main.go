// Command nudge is the Lambda function that delivers nudges from the nudge
// queue's decisions, by mail through Microsoft Graph (or the Teams activity
// feed, or the nudge outbox queue), and stops reminders when a user is back
// within policy.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/credres/credres/pkg/deploy"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/handler"
	"github.com/credres/credres/pkg/pipeline"
)

func main() {
	log := deploy.Logger("nudge")
	stage, err := setup(log.WithContext(context.Background()))
	if err != nil {
		log.Error().Err(err).Msg("start-up failed")
		os.Exit(1)
	}
	lambda.Start(handler.Nudge(stage, log))
}

func setup(ctx context.Context) (*pipeline.NudgeStage, error) {
	env, err := deploy.Load(ctx, os.Getenv)
	if err != nil {
		return nil, err
	}
	client, err := graph.FromEnv(ctx, os.Getenv, env.Secrets)
	if err != nil {
		return nil, err
	}
	sender, err := env.NudgeSender(client, client)
	if err != nil {
		return nil, err
	}
	return env.Nudge(sender)
}
