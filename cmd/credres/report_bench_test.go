package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/model"
)

var (
	ptaOnce sync.Once
	ptaFile string
)

// snapshot100kPTA writes the snapshot of snapshot100k once more, its tenant
// switched to pass-through authentication without the hash-sync fallback:
// the case where the report evaluates every synchronised user a second time.
func snapshot100kPTA(b *testing.B) string {
	ptaOnce.Do(func() {
		d := synth.Tenant(100_000, 1)
		d.Tenant.PasswordAuth, d.Tenant.PHSFallback = model.PasswordPTA, false
		var buf bytes.Buffer
		if err := synth.WriteJSON(&buf, d); err != nil {
			b.Fatal(err)
		}
		ptaFile = filepath.Join(filepath.Dir(snapshot100k(b)), "tenant-100k-pta.json")
		if err := os.WriteFile(ptaFile, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	})
	return ptaFile
}

// BenchmarkReport100k runs `credres report` over the generated 100 000-user
// snapshot of BenchmarkAssess100k, every pair of dependency kinds included,
// and over the same users in a pass-through tenant. The vs-assess
// benchmarks run `credres assess --format json` and `credres report
// --format json` on the same snapshot in turns, each iteration, and report
// the ratio of their times as report/assess: on a loaded machine, runs far
// apart in time compare the load as much as the code. docs/REPORT.md
// quotes them.
func BenchmarkReport100k(b *testing.B) {
	file := snapshot100k(b)
	b.Run("report-json", cli("report", "--directory", file, "--format", "json"))
	b.Run("report-html", cli("report", "--directory", file, "--out", filepath.Join(b.TempDir(), "report.html")))
	b.Run("vs-assess", versusAssess(file))
	pta := snapshot100kPTA(b)
	b.Run("pta/vs-assess", versusAssess(pta))
}

func cli(args ...string) func(b *testing.B) {
	return func(b *testing.B) {
		for b.Loop() {
			runOrFail(b, args...)
		}
	}
}

func runOrFail(b *testing.B, args ...string) time.Duration {
	start := time.Now()
	if code := run(env{stdout: io.Discard, stderr: io.Discard}, args); code != 0 {
		b.Fatalf("%v: exit %d", args, code)
	}
	return time.Since(start)
}

func versusAssess(file string) func(b *testing.B) {
	return func(b *testing.B) {
		assess := []string{"assess", "--directory", file, "--format", "json"}
		report := []string{"report", "--directory", file, "--format", "json"}
		var ta, tr time.Duration
		i := 0
		for b.Loop() {
			// Alternate which goes first, so that neither always finds
			// the heap the other left.
			if i%2 == 0 {
				ta += runOrFail(b, assess...)
				tr += runOrFail(b, report...)
			} else {
				tr += runOrFail(b, report...)
				ta += runOrFail(b, assess...)
			}
			i++
		}
		b.ReportMetric(ta.Seconds()/float64(i), "assess-s/op")
		b.ReportMetric(tr.Seconds()/float64(i), "report-s/op")
		b.ReportMetric(float64(tr)/float64(ta), "report/assess")
	}
}
