// Command evaluate is the Lambda function that re-evaluates the users named on the
// evaluation queue: it reads each user live from Microsoft Graph, assesses
// them, stores the assessment and publishes decisions.
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
	log := deploy.Logger("evaluate")
	stage, err := setup(log.WithContext(context.Background()))
	if err != nil {
		log.Error().Err(err).Msg("start-up failed")
		os.Exit(1)
	}
	lambda.Start(handler.Evaluate(stage, log))
}

func setup(ctx context.Context) (*pipeline.Evaluate, error) {
	env, err := deploy.Load(ctx, os.Getenv)
	if err != nil {
		return nil, err
	}
	users, err := graph.FromEnv(ctx, os.Getenv, env.Secrets)
	if err != nil {
		return nil, err
	}
	return env.Evaluate(users)
}
