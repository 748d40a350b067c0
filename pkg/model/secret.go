package model

import "context"

// SecretSource reads a credential by name: an AWS Secrets Manager ARN in
// the Lambda functions (secrets.Manager), an environment variable in local
// runs (secrets.Env). It is the one interface through which Graph, Event
// Hubs, the Azure app credential and the delivery channels get secrets.
type SecretSource interface {
	Secret(ctx context.Context, name string) (string, error)
}
