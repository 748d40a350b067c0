// Command ingest is the Lambda function that drains Entra audit logs from
// Azure Event Hubs every minute, within a time budget, and enqueues one
// evaluation request per affected user. Checkpoints, kept in DynamoDB,
// advance only after the requests were enqueued.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/credres/credres/pkg/azcred"
	"github.com/credres/credres/pkg/config"
	"github.com/credres/credres/pkg/deploy"
	"github.com/credres/credres/pkg/eventhubs"
	"github.com/credres/credres/pkg/handler"
	"github.com/credres/credres/pkg/pipeline"
)

func main() {
	log := deploy.Logger("ingest")
	stage, receivers, budget, err := setup(log.WithContext(context.Background()))
	if err != nil {
		log.Error().Err(err).Msg("start-up failed")
		os.Exit(1)
	}
	lambda.Start(handler.Ingest(stage, receivers, budget, log))
}

func setup(ctx context.Context) (*pipeline.Ingest, *eventhubs.Receivers, time.Duration, error) {
	env, err := deploy.Load(ctx, os.Getenv)
	if err != nil {
		return nil, nil, 0, err
	}
	stage, budget, err := env.Ingest()
	if err != nil {
		return nil, nil, 0, err
	}
	hcfg, err := eventhubs.LoadConfig(os.Getenv)
	if err != nil {
		return nil, nil, 0, err
	}
	hcfg.Secrets = env.Secrets
	if hcfg.ConnectionString == "" && hcfg.ConnectionSecretARN == "" {
		// No shared access policy: the app registration reads the hub with
		// the "Azure Event Hubs Data Receiver" role (docs/EVENTHUBS.md).
		cred, _, err := azcred.Credential(ctx, azcred.AppFromEnv(os.Getenv, env.Secrets))
		if err != nil {
			return nil, nil, 0, err
		}
		hcfg.Credential = cred
	}
	checkpoints := eventhubs.NewDynamoDBCheckpointStore(env.DynamoDB, env.Required(config.EnvCheckpointTable))
	if err := env.Err(); err != nil {
		return nil, nil, 0, err
	}
	receivers, err := eventhubs.NewReceivers(ctx, hcfg, checkpoints)
	return stage, receivers, budget, err
}
