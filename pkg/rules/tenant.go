package rules

import (
	"runtime"
	"sync"

	"github.com/credres/credres/pkg/model"
)

// chunkSize is how many users one worker takes at a time: large enough that
// handing out work costs nothing next to evaluating it.
const chunkSize = 256

// Chunks calls fn for consecutive ranges [lo, hi) covering [0, n), on every
// core, and returns when all are done. Tenant-wide work (assess, report)
// evaluates users independently, so it spreads this way.
func Chunks(n int, fn func(lo, hi int)) {
	var (
		next int
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				lo := next
				next += chunkSize
				mu.Unlock()
				if lo >= n {
					return
				}
				fn(lo, min(lo+chunkSize, n))
			}
		}()
	}
	wg.Wait()
}

// EvaluateAll assesses every user of a directory, on every core; the
// assessments are in the snapshot's order.
func (e *Engine) EvaluateAll(d *model.Directory) []model.Assessment {
	out := make([]model.Assessment, len(d.Users))
	Chunks(len(d.Users), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = e.Evaluate(d.Tenant, &d.Users[i])
		}
	})
	return out
}
