package entralog_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/entralog"
)

// BenchmarkParse normalises the Event Hubs bodies `credres demo` ingests:
// 1 000 generated audit records over a 2 000-user tenant, 100 to a body,
// in the mix a tenant sends (registrations, deletions, reviews, group
// changes). It reports the cost per record: wall time, CPU time (user and
// system, the collector's too, which a loaded machine does not inflate) and
// allocations.
func BenchmarkParse(b *testing.B) {
	const records = 1_000
	bodies, err := synth.AuditBodies(synth.Tenant(2_000, 1), synth.AuditStream{Events: records, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	benchParse(b, bodies, records, func(batch entralog.Batch) int { return len(batch.Audit) })
}

// BenchmarkParseSignIns is BenchmarkParse over generated sign-in records
// (synth.SignIns: interactive and non-interactive user sign-ins, service
// principals and managed identities), 100 to a body.
func BenchmarkParseSignIns(b *testing.B) {
	const records = 1_000
	gen, err := synth.NewSignIns(synth.Tenant(2_000, 1), synth.SignInStream{Records: records, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var bodies [][]byte
	for {
		body, err := gen.Body()
		if err != nil {
			b.Fatal(err)
		}
		if body == nil {
			break
		}
		bodies = append(bodies, body)
	}
	benchParse(b, bodies, records, func(batch entralog.Batch) int { return batch.SignInRecords })
}

// benchParse parses bodies, records records in all, each body to at least
// one thing counted by found.
func benchParse(b *testing.B, bodies [][]byte, records int, found func(entralog.Batch) int) {
	size := 0
	for _, body := range bodies {
		size += len(body)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime(b)
	for b.Loop() {
		seen := 0
		for _, body := range bodies {
			batch, err := entralog.Parse(body)
			if err != nil || found(batch) == 0 {
				b.Fatalf("got %d, err %v", found(batch), err)
			}
			seen += batch.Records
		}
		if seen != records {
			b.Fatalf("%d records read, want %d", seen, records)
		}
	}
	cpu := cpuTime(b) - cpu0
	runtime.ReadMemStats(&after)
	n := float64(b.N * records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/record")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
