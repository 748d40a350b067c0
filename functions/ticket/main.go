// Command ticket is the Lambda function that opens, updates and resolves
// helpdesk tickets from the ticket queue's decisions: on the helpdesk queue,
// in ServiceNow, in Jira or through a signed webhook.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/credres/credres/pkg/deploy"
	"github.com/credres/credres/pkg/handler"
	"github.com/credres/credres/pkg/pipeline"
)

func main() {
	log := deploy.Logger("ticket")
	stage, err := setup(log.WithContext(context.Background()))
	if err != nil {
		log.Error().Err(err).Msg("start-up failed")
		os.Exit(1)
	}
	lambda.Start(handler.Ticket(stage, log))
}

func setup(ctx context.Context) (*pipeline.TicketStage, error) {
	env, err := deploy.Load(ctx, os.Getenv)
	if err != nil {
		return nil, err
	}
	sender, err := env.TicketSender()
	if err != nil {
		return nil, err
	}
	return env.Ticket(sender)
}
