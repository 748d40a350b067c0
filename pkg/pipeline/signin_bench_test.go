package pipeline_test

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/eventhubs"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/store"
)

// The size of BenchmarkIngestSignIns's stream (docs/PERFORMANCE.md).
var (
	benchSignIns = flag.Int("signins.records", 1_000_000, "sign-in records of BenchmarkIngestSignIns")
	benchUsers   = flag.Int("signins.users", 20_000, "users of BenchmarkIngestSignIns's tenant")
	benchAudit   = flag.Int("signins.audit", 50_000, "audit records of BenchmarkIngestSignIns's baseline")
)

// benchProofWindow is the window ingest judges changes of proof with in the
// benchmarks: a policy with a proofWindow, so that the requests are made.
const benchProofWindow = 90 * 24 * time.Hour

// memUsage is the usage store in memory, counting the UpdateItem requests
// store.DynamoDB makes for the same calls: one per method.
type memUsage struct {
	mu          sync.Mutex
	users       map[string]map[string]model.MethodUsage
	calls       int
	updateItems int
}

func (m *memUsage) RecordUsage(_ context.Context, userID string, updates []model.MethodUsage) ([]model.UsageChange, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.users == nil {
		m.users = map[string]map[string]model.MethodUsage{}
	}
	methods := m.users[userID]
	if methods == nil {
		methods = map[string]model.MethodUsage{}
		m.users[userID] = methods
	}
	var changes []model.UsageChange
	for _, u := range updates {
		before, ok := methods[u.Key()]
		if !ok {
			before = model.MethodUsage{Kind: u.Kind, Instance: u.Instance}
		}
		// store.DynamoDB's conditional write: every day it sets must be
		// newer than the stored one; when one is not, the request fails
		// and a second one sets only what is still newer.
		for w := u; ; {
			m.updateItems++
			if newerDays(before, w) {
				after, _ := before.Advance(w)
				methods[u.Key()] = after
				changes = append(changes, model.UsageChange{Before: before, After: after})
				break
			}
			next, changed := before.Advance(w)
			if !changed {
				break
			}
			w = model.MethodUsage{Kind: w.Kind, Instance: w.Instance}
			if !next.LastUsed.Equal(before.LastUsed) {
				w.LastUsed = next.LastUsed
			}
			if !next.LastFailed.Equal(before.LastFailed) {
				w.LastFailed = next.LastFailed
			}
		}
	}
	return changes, nil
}

// newerDays reports whether each day w sets is after the stored one.
func newerDays(stored, w model.MethodUsage) bool {
	for _, f := range [][2]time.Time{{stored.LastUsed, w.LastUsed}, {stored.LastFailed, w.LastFailed}} {
		if !f[1].IsZero() && !f[0].IsZero() && !f[0].Before(model.Day(f[1])) {
			return false
		}
	}
	return true
}

func (m *memUsage) LoadUsage(_ context.Context, userID string) ([]model.MethodUsage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []model.MethodUsage
	for _, u := range m.users[userID] {
		out = append(out, u)
	}
	return out, nil
}

// countQueue counts the evaluation requests sent.
type countQueue struct{ n int }

func (q *countQueue) SendRequests(_ context.Context, rs []model.EvaluationRequest) error {
	q.n += len(rs)
	return nil
}

// genReceiver yields Event Hubs batches of at most eventhubs.DefaultMaxEvents
// bodies, generated as they are asked for, the generation outside the
// measured time and allocations.
type genReceiver struct {
	b    *testing.B
	next func() ([]byte, error)
	// gen is the time and allocations spent generating.
	gen       time.Duration
	genBytes  uint64
	genAllocs uint64
	n         int
}

func (r *genReceiver) Next(context.Context) ([]model.AuditMessage, error) {
	r.b.StopTimer()
	defer r.b.StartTimer()
	start := time.Now()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var msgs []model.AuditMessage
	for len(msgs) < eventhubs.DefaultMaxEvents {
		body, err := r.next()
		if err != nil {
			return nil, err
		}
		if body == nil {
			break
		}
		msgs = append(msgs, model.AuditMessage{Body: body, Position: fmt.Sprint(r.n)})
		r.n++
	}
	runtime.ReadMemStats(&after)
	r.genBytes += after.TotalAlloc - before.TotalAlloc
	r.genAllocs += after.Mallocs - before.Mallocs
	r.gen += time.Since(start)
	return msgs, nil
}

func (r *genReceiver) Commit(context.Context) error { return nil }

// heapPeak samples the heap's live and unswept objects every millisecond
// until stopped, and returns the largest sample above the heap when it
// started (the tenant and the generator the benchmark holds, which an
// ingest function does not).
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64() - min(base, sample[0].Value.Uint64()); v > peak.Load() {
			peak.Store(v)
		}
	}
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		return peak.Load()
	}
}

// drained is what one measured drain did.
type drained struct {
	stats       pipeline.IngestStats
	elapsed     time.Duration
	bytes, allc uint64
	// peak is the largest heap above the heap before the drain; live what
	// stays of it after a collection at the end (the memory of the days
	// stored, and the in-memory usage store).
	peak, live uint64
}

// drain runs one warm ingest over the receiver and measures it without the
// generation.
func drain(b *testing.B, in *pipeline.Ingest, r *genReceiver) drained {
	b.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapPeak()
	start := time.Now()
	stats, err := in.Drain(context.Background(), r)
	elapsed := time.Since(start) - r.gen
	peak := stop()
	runtime.ReadMemStats(&after)
	if err != nil || stats.Malformed > 0 {
		b.Fatalf("drain: %v, stats %+v", err, stats)
	}
	var end runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&end)
	runtime.KeepAlive(in) // its memory of the days stored is part of what stays
	live := end.HeapAlloc - min(before.HeapAlloc, end.HeapAlloc)
	return drained{stats: stats, elapsed: elapsed, peak: peak, live: live,
		bytes: after.TotalAlloc - before.TotalAlloc - r.genBytes, allc: after.Mallocs - before.Mallocs - r.genAllocs}
}

// BenchmarkIngestSignIns drives the ingest stage (Ingest.Drain, one warm
// function) over a generated stream of sign-in records (synth.SignIns, over
// a day, by default 1 000 000 records for 20 000 users) in Event Hubs
// batches of 100 bodies of 100 records, with the usage store in memory
// counting the UpdateItem requests DynamoDB would get. Before it, in the
// same run, the same function drains a generated audit stream as the
// baseline. It reports sign-in records per second, the ratio to the audit
// baseline's records per second, UpdateItem requests per 1 000 sign-in
// records, evaluation requests, the peak of the heap and the allocations
// per record. Generation is outside every figure. It asserts no timing.
func BenchmarkIngestSignIns(b *testing.B) {
	for range b.N {
		b.StopTimer()
		d := synth.Tenant(*benchUsers, 1)
		// The baseline: audit records into evaluation requests.
		auditBodies, err := synth.AuditBodies(d, synth.AuditStream{Events: *benchAudit, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		gen, err := synth.NewSignIns(d, synth.SignInStream{Records: *benchSignIns, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		// An ingest function holds no tenant: neither do the drains, so
		// that the heap's growth between collections is the function's.
		d = nil
		b.StartTimer()
		i := 0
		ar := &genReceiver{b: b, next: func() ([]byte, error) {
			if i == len(auditBodies) {
				return nil, nil
			}
			i++
			return auditBodies[i-1], nil
		}}
		audit := drain(b, &pipeline.Ingest{Queue: &countQueue{}, Usage: &memUsage{}, ProofWindow: benchProofWindow}, ar)
		auditBodies = nil

		usage, q := &memUsage{}, &countQueue{}
		sr := &genReceiver{b: b, next: gen.Body}
		si := drain(b, &pipeline.Ingest{Queue: q, Usage: usage, ProofWindow: benchProofWindow}, sr)
		if si.stats.Records != *benchSignIns || si.stats.SignInRecords != *benchSignIns || usage.updateItems < si.stats.UsageWrites {
			b.Fatalf("stats %+v, %d UpdateItem", si.stats, usage.updateItems)
		}
		records := float64(si.stats.Records)
		auditRate := float64(audit.stats.Records) / audit.elapsed.Seconds()
		rate := records / si.elapsed.Seconds()
		b.ReportMetric(rate, "signins/s")
		b.ReportMetric(auditRate, "audit-records/s")
		b.ReportMetric(rate/auditRate, "signin/audit-rate")
		b.ReportMetric(float64(usage.updateItems)*1000/records, "UpdateItem/1000-signins")
		b.ReportMetric(float64(q.n)*1000/records, "requests/1000-signins")
		b.ReportMetric(float64(si.peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(si.live)/(1<<20), "live-heap-MB")
		b.ReportMetric(float64(audit.peak)/(1<<20), "audit-peak-heap-MB")
		b.ReportMetric(float64(si.bytes)/records, "B/signin")
		b.ReportMetric(float64(si.allc)/records, "allocs/signin")
		b.Logf("%d sign-in records (%d users): %s processing, %.0f/s; skipped %v; unknown %v; %d users' usage writes of %d methods (%d UpdateItem), %d already known; %d evaluation requests; audit baseline %d records in %s",
			si.stats.Records, *benchUsers, si.elapsed.Round(time.Millisecond), rate, si.stats.Skipped, si.stats.UnknownMethods,
			usage.calls, si.stats.UsageWrites, usage.updateItems, si.stats.UsageKnown, q.n, audit.stats.Records, audit.elapsed.Round(time.Millisecond))
	}
}

// countUpdateItems counts the UpdateItem requests a DynamoDB client sends,
// retries included (the middleware sits after the retry loop).
func countUpdateItems(n *atomic.Int64) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("countUpdateItem",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if middleware.GetOperationName(ctx) == "UpdateItem" {
					n.Add(1)
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}

// BenchmarkIngestSignInsDynamoDB writes the usage of a smaller stream of the
// same mix (20 000 sign-in records for 400 users over a day, 50 a user as
// in the large benchmark) into DynamoDB Local through store.DynamoDB,
// counting the UpdateItem requests the client sends, as the deployed
// function meets the stream: one invocation a minute, each draining the
// minute's records (one body of 14). "warm" is one function environment
// for the day, remembering the days it stored; "cold" starts a new one,
// with an empty memory, for every invocation (the bound). Each count must
// equal the in-memory store's count of the same stream. It needs the local
// servers (make test starts them) and skips without them.
func BenchmarkIngestSignInsDynamoDB(b *testing.B) {
	const records, users, minutes = 20_000, 400, 24 * 60
	d := synth.Tenant(users, 1)
	base := awstest.DynamoDB(b)
	var updates atomic.Int64
	client := dynamodb.New(base.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, countUpdateItems(&updates))
	})
	for _, warm := range []bool{true, false} {
		name := "cold"
		if warm {
			name = "warm"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				table := awstest.UniqueName(b)
				st := store.NewDynamoDB(client, table+"-state", table+"-claims", time.Now)
				if err := st.CreateTables(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() {
					for _, t := range []string{table + "-state", table + "-claims"} {
						_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(t)})
					}
				})
				gen, err := synth.NewSignIns(d, synth.SignInStream{Records: records, PerBody: (records + minutes - 1) / minutes, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				mem := &memUsage{}
				memIn := &pipeline.Ingest{Queue: &countQueue{}, Usage: mem, ProofWindow: benchProofWindow}
				in := &pipeline.Ingest{Queue: &countQueue{}, Usage: st, ProofWindow: benchProofWindow}
				updates.Store(0)
				var stats pipeline.IngestStats
				invocations := 0
				start := time.Now()
				for {
					b.StopTimer()
					body, err := gen.Body()
					b.StartTimer()
					if err != nil {
						b.Fatal(err)
					}
					if body == nil {
						break
					}
					invocations++
					if !warm {
						in = &pipeline.Ingest{Queue: &countQueue{}, Usage: st, ProofWindow: benchProofWindow}
						memIn = &pipeline.Ingest{Queue: &countQueue{}, Usage: mem, ProofWindow: benchProofWindow}
					}
					msgs := []model.AuditMessage{{Body: body, Position: fmt.Sprint(invocations)}}
					for _, ingest := range []*pipeline.Ingest{in, memIn} {
						s, err := ingest.Drain(context.Background(), &batchReceiver{msgs: msgs})
						if err != nil {
							b.Fatal(err)
						}
						if ingest == in {
							stats.Records += s.Records
							stats.UsageWrites += s.UsageWrites
						}
					}
				}
				elapsed := time.Since(start)
				n := updates.Load()
				if int(n) != mem.updateItems {
					b.Fatalf("%d UpdateItem sent, the in-memory store counted %d (ingest's methods written: %d)", n, mem.updateItems, stats.UsageWrites)
				}
				b.ReportMetric(float64(n)*1000/float64(stats.Records), "UpdateItem/1000-signins")
				b.Logf("%s: %d sign-in records in %d invocations, %d methods written, %d UpdateItem against DynamoDB Local in %s",
					name, stats.Records, invocations, stats.UsageWrites, n, elapsed.Round(time.Millisecond))
			}
		})
	}
}

// batchReceiver yields one batch.
type batchReceiver struct {
	msgs []model.AuditMessage
	done bool
}

func (r *batchReceiver) Next(context.Context) ([]model.AuditMessage, error) {
	if r.done {
		return nil, nil
	}
	r.done = true
	return r.msgs, nil
}

func (r *batchReceiver) Commit(context.Context) error { return nil }
