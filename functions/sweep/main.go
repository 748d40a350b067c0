// Command sweep is the Lambda function that reconciles stored assessments
// with the tenant's registration report on a schedule, enqueueing the users
// whose registration changed, who were never assessed, or whose assessment
// is older than CREDRES_SWEEP_MAX_AGE.
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
	deploy.Main("sweep", func(ctx context.Context, env *deploy.Env, log zerolog.Logger) (any, error) {
		reports, err := graph.FromEnv(ctx, os.Getenv, env.Secrets)
		if err != nil {
			return nil, err
		}
		stage, err := env.Sweep(reports)
		if err != nil {
			return nil, err
		}
		return handler.Sweep(stage, log), nil
	})
}
