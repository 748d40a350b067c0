// Command ingest is the Lambda function that drains Entra audit logs from
// Azure Event Hubs every minute, within a time budget, and enqueues one
// evaluation request per affected user. Checkpoints, kept in DynamoDB,
// advance only after the requests were enqueued.
package main

import "github.com/credres/credres/pkg/wiring"

func main() { wiring.Main("ingest", wiring.IngestFunction) }
