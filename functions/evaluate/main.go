// Command evaluate is the Lambda function that re-evaluates the users named
// on the evaluation queue: it reads each user live from Microsoft Graph,
// assesses them, stores the assessment and publishes decisions.
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
	deploy.Main("evaluate", func(ctx context.Context, env *deploy.Env, log zerolog.Logger) (any, error) {
		users, err := graph.FromEnv(ctx, os.Getenv, env.Secrets)
		if err != nil {
			return nil, err
		}
		stage, err := env.Evaluate(users)
		if err != nil {
			return nil, err
		}
		return handler.Evaluate(stage, log), nil
	})
}
