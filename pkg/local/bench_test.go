package local

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/rules"
)

// bodies is a receiver of Event Hubs bodies, all in one batch.
type bodies struct {
	msgs []model.AuditMessage
	done bool
}

func (b *bodies) Next(context.Context) ([]model.AuditMessage, error) {
	if b.done {
		return nil, nil
	}
	b.done = true
	return b.msgs, nil
}
func (b *bodies) Commit(context.Context) error { return nil }

// BenchmarkDemo runs what `credres demo` runs after reading its snapshot:
// 10 000 generated audit events through ingest, evaluate, nudge and ticket,
// over tenants of 2 000 and 100 000 users, the state in a fresh folder each
// time, messages rendered. It reports events per second of wall time and
// per second of the process's CPU time (user and system, every goroutine,
// the collector's too), which a shared machine's load does not inflate
// (docs/PERFORMANCE.md).
func BenchmarkDemo(b *testing.B) {
	for _, users := range []int{2_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			d := synth.Tenant(users, 1)
			const events = 10_000
			bs, err := synth.AuditBodies(d, synth.AuditStream{Events: events, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			engine := rules.New(nil)
			render, err := notify.NewRenderer(engine.Policy().Nudges, "")
			if err != nil {
				b.Fatal(err)
			}
			var elapsed, cpu time.Duration
			for b.Loop() {
				in := &bodies{}
				for i, body := range bs {
					in.msgs = append(in.msgs, model.AuditMessage{Body: body, Position: fmt.Sprint(i)})
				}
				start, cpu0 := time.Now(), cpuTime(b)
				res, err := Run(context.Background(), Config{
					Directory: d, Events: in, StateDir: b.TempDir(), Engine: engine,
					Now: func() time.Time { return synth.AsOf }, Render: render,
				})
				elapsed += time.Since(start)
				cpu += cpuTime(b) - cpu0
				if err != nil || len(res.Dead) > 0 || res.Ingest.Records != events {
					b.Fatalf("run: %v, %d dead letters, %d records", err, len(res.Dead), res.Ingest.Records)
				}
			}
			b.ReportMetric(float64(events*b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(events*b.N)/cpu.Seconds(), "events/cpu-s")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
