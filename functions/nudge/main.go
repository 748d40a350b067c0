// Command nudge is the Lambda function that delivers nudges from the nudge
// queue's decisions, by mail through Microsoft Graph (or the Teams activity
// feed, or the nudge outbox queue), and stops reminders when a user is back
// within policy.
package main

import (
	"context"
	"os"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/deploy"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/handler"
)

func main() {
	deploy.Main("nudge", func(ctx context.Context, env *deploy.Env, log zerolog.Logger) (any, error) {
		client, err := graph.FromEnv(ctx, os.Getenv, env.Secrets)
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
		return handler.Nudge(stage, log), nil
	})
}
