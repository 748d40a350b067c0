package entralog_test

import (
	"runtime"
	"testing"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/entralog"
)

// BenchmarkParse normalises the Event Hubs bodies `credres demo` ingests:
// 1 000 generated audit records over a 2 000-user tenant, 100 to a body,
// in the mix a tenant sends (registrations, deletions, reviews, group
// changes). It reports the cost per record, in time and in allocations.
func BenchmarkParse(b *testing.B) {
	const records = 1_000
	bodies, err := synth.AuditBodies(synth.Tenant(2_000, 1), synth.AuditStream{Events: records, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	for _, body := range bodies {
		size += len(body)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		seen := 0
		for _, body := range bodies {
			batch, err := entralog.Parse(body)
			if err != nil || len(batch.Audit) == 0 {
				b.Fatalf("got %d events, err %v", len(batch.Audit), err)
			}
			seen += batch.Records
		}
		if seen != records {
			b.Fatalf("%d records read, want %d", seen, records)
		}
	}
	runtime.ReadMemStats(&after)
	n := float64(b.N * records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/record")
}
