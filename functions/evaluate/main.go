// Command evaluate is the Lambda function that re-evaluates the users named
// on the evaluation queue: it reads each user live from Microsoft Graph,
// assesses them, stores the assessment and publishes decisions.
package main

import "github.com/credres/credres/pkg/wiring"

func main() { wiring.Main("evaluate", wiring.EvaluateFunction) }
