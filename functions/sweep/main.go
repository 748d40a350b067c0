// Command sweep is the Lambda function that reconciles stored assessments with the
// tenant's registration report on a schedule, enqueueing the users whose
// registration changed, who were never assessed, or whose assessment is
// older than CREDRES_SWEEP_MAX_AGE.
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
	log := deploy.Logger("sweep")
	stage, err := setup(log.WithContext(context.Background()))
	if err != nil {
		log.Error().Err(err).Msg("start-up failed")
		os.Exit(1)
	}
	lambda.Start(handler.Sweep(stage, log))
}

func setup(ctx context.Context) (*pipeline.Sweep, error) {
	env, err := deploy.Load(ctx, os.Getenv)
	if err != nil {
		return nil, err
	}
	reports, err := graph.FromEnv(ctx, os.Getenv, env.Secrets)
	if err != nil {
		return nil, err
	}
	return env.Sweep(reports)
}
