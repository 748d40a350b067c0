// Command nudge is the Lambda function that delivers nudges from the nudge
// queue's decisions, by mail through Microsoft Graph (or the Teams activity
// feed, or the nudge outbox queue), and stops reminders when a user is back
// within policy.
package main

import "github.com/credres/credres/pkg/wiring"

func main() { wiring.Main("nudge", wiring.NudgeFunction) }
