// Command ticket is the Lambda function that opens, updates and resolves
// helpdesk tickets from the ticket queue's decisions: on the helpdesk queue,
// in ServiceNow, in Jira or through a signed webhook.
package main

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/deploy"
	"github.com/credres/credres/pkg/handler"
)

func main() {
	deploy.Main("ticket", func(ctx context.Context, env *deploy.Env, log zerolog.Logger) (any, error) {
		sender, err := env.TicketSender()
		if err != nil {
			return nil, err
		}
		stage, err := env.Ticket(sender)
		if err != nil {
			return nil, err
		}
		return handler.Ticket(stage, log), nil
	})
}
