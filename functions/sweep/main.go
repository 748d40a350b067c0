// Command sweep is the Lambda function that reconciles stored assessments
// with the tenant's registration report on a schedule, enqueueing the users
// whose registration changed, who were never assessed, or whose assessment
// is older than CREDRES_SWEEP_MAX_AGE.
package main

import "github.com/credres/credres/pkg/wiring"

func main() { wiring.Main("sweep", wiring.SweepFunction) }
