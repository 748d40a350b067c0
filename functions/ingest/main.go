// Command ingest is the Lambda function that drains Entra audit logs from
// Azure Event Hubs every minute, within a time budget, and enqueues one
// evaluation request per affected user. Checkpoints, kept in DynamoDB,
// advance only after the requests were enqueued.
package main

import (
	"context"
	"os"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/azcred"
	"github.com/credres/credres/pkg/config"
	"github.com/credres/credres/pkg/deploy"
	"github.com/credres/credres/pkg/eventhubs"
	"github.com/credres/credres/pkg/handler"
)

func main() {
	deploy.Main("ingest", func(ctx context.Context, env *deploy.Env, log zerolog.Logger) (any, error) {
		stage, budget, err := env.Ingest()
		if err != nil {
			return nil, err
		}
		hcfg, err := eventhubs.LoadConfig(os.Getenv)
		if err != nil {
			return nil, err
		}
		hcfg.Secrets = env.Secrets
		if hcfg.ConnectionString == "" && hcfg.ConnectionSecretARN == "" {
			// No shared access policy: the app registration reads the hub with
			// the "Azure Event Hubs Data Receiver" role (docs/EVENTHUBS.md).
			if hcfg.Credential, _, err = azcred.Credential(ctx, azcred.AppFromEnv(os.Getenv, env.Secrets)); err != nil {
				return nil, err
			}
		}
		checkpoints := eventhubs.NewDynamoDBCheckpointStore(env.DynamoDB, env.Required(config.EnvCheckpointTable))
		if err := env.Err(); err != nil {
			return nil, err
		}
		receivers, err := eventhubs.NewReceivers(ctx, hcfg, checkpoints)
		if err != nil {
			return nil, err
		}
		return handler.Ingest(stage, receivers, budget, log), nil
	})
}
