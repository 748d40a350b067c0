package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// QueueDepth tells how many requests wait in the evaluation queue (visible
// and in flight).
type QueueDepth interface {
	Depth(ctx context.Context) (int, error)
}

// DrainGauge estimates how long the evaluation backlog takes to clear at
// Graph's budget, and logs it after every batch as a CloudWatch embedded
// metric (namespace credres: EvaluationBacklog, the requests waiting, and
// BacklogDrainHours). The estimate is the queue's depth times the budget
// units a request has cost lately (a request covered by an earlier read
// costs none, a read one or two), over the evaluators' units per hour.
type DrainGauge struct {
	Queue QueueDepth
	// UnitsPerHour is what the evaluators may spend of Graph's reports
	// budget in an hour, all processes together (4 per 10 s: 1 440).
	UnitsPerHour float64

	mu sync.Mutex
	// cost is the units a request has cost, a moving average over the
	// last batches (weight drainWeight to the latest).
	cost float64
	seen bool
}

// drainWeight is the share of the latest batch in the moving average: about
// the last 20 batches count.
const drainWeight = 0.05

// observe records that a batch of messages cost units.
func (g *DrainGauge) observe(messages, units int) {
	if g == nil || messages == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c := float64(units) / float64(messages)
	if !g.seen {
		g.cost, g.seen = c, true
		return
	}
	g.cost += drainWeight * (c - g.cost)
}

// Estimate returns the requests waiting and the hours they take to clear.
func (g *DrainGauge) Estimate(ctx context.Context) (backlog int, hours float64, err error) {
	backlog, err = g.Queue.Depth(ctx)
	if err != nil {
		return backlog, 0, err
	}
	return backlog, g.hours(backlog), nil
}

// hours is how long backlog requests take to clear at the recent cost.
func (g *DrainGauge) hours(backlog int) float64 {
	if g.UnitsPerHour <= 0 {
		return 0
	}
	g.mu.Lock()
	cost := g.cost
	if !g.seen {
		cost = 1
	}
	g.mu.Unlock()
	return float64(backlog) * cost / g.UnitsPerHour
}

// report logs the estimate for a backlog read as an embedded metric; a
// queue that could not be read costs the metric, not the batch.
func (g *DrainGauge) report(ctx context.Context, now time.Time, backlog int, err error) {
	log := zerolog.Ctx(ctx)
	if err != nil {
		log.Warn().Err(err).Msg("the evaluation backlog cannot be read")
		return
	}
	log.Info().Interface("_aws", drainMetrics(now)).Str("stage", "evaluate").
		Int("EvaluationBacklog", backlog).Float64("BacklogDrainHours", g.hours(backlog)).Msg("evaluation backlog")
}

// drainMetrics is the CloudWatch embedded metric format's directive for
// the backlog's two metrics.
func drainMetrics(now time.Time) map[string]any {
	return map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  "credres",
			"Dimensions": [][]string{{"stage"}},
			"Metrics": []any{
				map[string]string{"Name": "EvaluationBacklog", "Unit": "Count"},
				map[string]string{"Name": "BacklogDrainHours", "Unit": "None"},
			},
		}},
	}
}
