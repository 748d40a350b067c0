// Command ticket is the Lambda function that opens, updates and resolves
// helpdesk tickets from the ticket queue's decisions: on the helpdesk queue,
// in ServiceNow, in Jira or through a signed webhook.
package main

import "github.com/credres/credres/pkg/wiring"

func main() { wiring.Main("ticket", wiring.TicketFunction) }
