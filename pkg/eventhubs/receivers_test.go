package eventhubs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// bodies returns the bodies fakeHub.addN gives events from..to-1 of a partition.
func bodies(partition string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf(`{"records":[],"p":%q,"i":%d}`, partition, i))
	}
	return out
}

func partitionsOf(recs []pipeline.AuditReceiver) []string {
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.(*receiver).partition)
	}
	return ids
}

func TestReceiversDrainSeveralPartitions(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newTestStore(t, c.Now)
	h := newFakeHub("0", "1", "2", "3", "10")
	h.addN("0", 7)
	h.addN("1", 1)
	h.addN("3", 3)
	h.addN("10", 4) // "2" stays empty
	ctx := context.Background()
	r := newRun(t, h, s, c)

	recs := openRun(t, ctx, r)
	if got, want := partitionsOf(recs), []string{"0", "1", "2", "3", "10"}; !slices.Equal(got, want) {
		t.Fatalf("opened partitions %v, want %v", got, want)
	}
	first, err := recs[0].Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 3 || first[0].Position != "partition 0 offset 4096 seq 0" || first[2].Position != "partition 0 offset 5120 seq 2" {
		t.Fatalf("first batch of partition 0: %d messages, positions %q … %q", len(first), first[0].Position, first[len(first)-1].Position)
	}
	if err := recs[0].Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := drain(t, ctx, recs)
	closeRun(t, ctx, r)

	want := map[string][]string{"0": bodies("0", 3, 7), "1": bodies("1", 0, 1), "3": bodies("3", 0, 3), "10": bodies("10", 0, 4)}
	if !maps.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Fatalf("read %v\nwant %v", got, want)
	}
	if got, want := checkpoints(t, s), map[string]string{"0": at(6), "1": at(0), "3": at(2), "10": at(3)}; !maps.Equal(got, want) {
		t.Fatalf("checkpoints %v, want %v", got, want)
	}
	if n := h.openReaders(); n != 0 {
		t.Fatalf("%d partition clients left open after Close", n)
	}
	owns, err := s.ListOwnership(ctx, testNamespace, DefaultEventHub, testGroup, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range owns {
		if o.OwnerID != "" {
			t.Fatalf("partition %s still owned by %q after Close", o.PartitionID, o.OwnerID)
		}
	}
	if len(owns) != 5 {
		t.Fatalf("%d ownership records, want 5", len(owns))
	}
}

func TestReceiversCheckpointAdvancesOnlyAfterCommit(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newTestStore(t, c.Now)
	h := newFakeHub("0")
	h.addN("0", 5)
	ctx := context.Background()

	// The first run reads a batch and dies before committing it: no Commit,
	// no Close, so its claim stays behind too.
	crashed := openRun(t, ctx, newRun(t, h, s, c))
	lost, err := crashed[0].Next(ctx)
	if err != nil || len(lost) != 3 {
		t.Fatalf("first run's batch: %d messages, %v", len(lost), err)
	}
	if cps := checkpoints(t, s); len(cps) != 0 {
		t.Fatalf("a batch that was never committed moved the checkpoint: %v", cps)
	}

	next := newRun(t, h, s, c)
	if recs := openRun(t, ctx, next); len(recs) != 0 {
		t.Fatalf("the dead run's unexpired claim was taken: opened %v", partitionsOf(recs))
	}
	closeRun(t, ctx, next)

	c.Advance(DefaultOwnershipExpiry)
	recs := openRun(t, ctx, next)
	if len(recs) != 1 {
		t.Fatalf("the expired claim was not taken over: opened %v", partitionsOf(recs))
	}
	again, err := recs[0].Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(again, lost, func(a, b model.AuditMessage) bool {
		return string(a.Body) == string(b.Body) && a.Position == b.Position
	}) {
		t.Fatalf("the next run read %d other messages than the uncommitted batch", len(again))
	}
	if err := recs[0].Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := recs[0].Next(ctx); err != nil { // events 3 and 4, never committed
		t.Fatal(err)
	}
	if got := checkpoints(t, s); got["0"] != at(2) {
		t.Fatalf("checkpoint %q, want the committed batch's last event %q", got["0"], at(2))
	}

	c.Advance(DefaultOwnershipExpiry)
	third := newRun(t, h, s, c)
	got := drain(t, ctx, openRun(t, ctx, third))
	closeRun(t, ctx, third)
	if want := bodies("0", 3, 5); !slices.Equal(got["0"], want) {
		t.Fatalf("after a crash past the first commit the next run read %v, want %v", got["0"], want)
	}
}

func TestReceiversRestartResumesAfterCheckpoint(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newTestStore(t, c.Now)
	h := newFakeHub("0", "1")
	h.addN("0", 4)
	h.addN("1", 2)
	ctx := context.Background()

	first := newRun(t, h, s, c)
	drain(t, ctx, openRun(t, ctx, first))
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	h.addN("0", 3)
	c.Advance(time.Minute)
	second := newRun(t, h, s, c) // a new process: only the store remembers
	got := drain(t, ctx, openRun(t, ctx, second))
	closeRun(t, ctx, second)
	if want := map[string][]string{"0": bodies("0", 4, 7)}; !maps.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Fatalf("restart read %v, want only the new events %v", got, want)
	}

	c.Advance(time.Minute)
	if got := drain(t, ctx, openRun(t, ctx, second)); len(got) != 0 {
		t.Fatalf("a run with nothing new read %v", got)
	}
	closeRun(t, ctx, second)
}

func TestReceiversOwnership(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a-live-run-keeps-its-partitions", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		s := newTestStore(t, c.Now)
		h := newFakeHub("0", "1")
		a, b := newRun(t, h, s, c), newRun(t, h, s, c)
		if recs := openRun(t, ctx, a); len(recs) != 2 {
			t.Fatalf("first run opened %v", partitionsOf(recs))
		}
		c.Advance(DefaultOwnershipExpiry - time.Second)
		if recs := openRun(t, ctx, b); len(recs) != 0 {
			t.Fatalf("a second run took %v from a live run", partitionsOf(recs))
		}
		closeRun(t, ctx, b)
		closeRun(t, ctx, a) // releases: no need to wait for expiry
		if recs := openRun(t, ctx, b); len(recs) != 2 {
			t.Fatalf("after the first run closed the second opened %v", partitionsOf(recs))
		}
		closeRun(t, ctx, b)
	})

	t.Run("concurrent-runs-never-share-a-partition", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		s := newTestStore(t, c.Now)
		ids := []string{"0", "1", "2", "3"}
		h := newFakeHub(ids...)
		const rounds = 6
		added := 0
		read := map[string][]string{}
		var mu sync.Mutex
		for round := range rounds {
			for _, id := range ids {
				h.addN(id, 2+round)
				added += 2 + round
			}
			runs := []*Receivers{newRun(t, h, s, c), newRun(t, h, s, c), newRun(t, h, s, c)}
			opened := make([][]string, len(runs))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, r := range runs {
				wg.Go(func() {
					<-start
					recs, err := r.Open(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					opened[i] = partitionsOf(recs)
					got := drainConcurrently(t, ctx, recs)
					mu.Lock()
					for p, b := range got {
						read[p] = append(read[p], b...)
					}
					mu.Unlock()
					if err := r.Close(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			close(start)
			wg.Wait()
			if n := h.overlapCount(); n != 0 {
				t.Fatalf("round %d: a partition was opened by two runs at once (opened %v)", round, opened)
			}
			c.Advance(time.Minute)
		}
		total := 0
		for _, id := range ids {
			total += len(read[id])
			for i, b := range read[id] {
				if want := bodies(id, i, i+1)[0]; b != want {
					t.Fatalf("partition %s read out of order or twice at %d: %s, want %s", id, i, b, want)
				}
			}
		}
		if total != added {
			t.Fatalf("read %d events, added %d", total, added)
		}
	})

	t.Run("a-run-stops-reading-at-half-its-claim", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		s := newTestStore(t, c.Now)
		h := newFakeHub("0")
		h.addN("0", 5)
		r := newRun(t, h, s, c)
		recs := openRun(t, ctx, r)
		c.Advance(DefaultOwnershipExpiry / 2)
		msgs, err := recs[0].Next(ctx)
		if err != nil || len(msgs) != 0 {
			t.Fatalf("Next past half the claim = %d messages, %v; want drained", len(msgs), err)
		}
		closeRun(t, ctx, r)
	})
}

// drainConcurrently drains every receiver in a goroutine of its own, as the
// ingest handler does.
func drainConcurrently(t *testing.T, ctx context.Context, recs []pipeline.AuditReceiver) map[string][]string {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string][]string{}
	for _, r := range recs {
		wg.Go(func() {
			p := r.(*receiver).partition
			for {
				msgs, err := r.Next(ctx)
				if err != nil {
					t.Errorf("next on partition %s: %v", p, err)
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					out[p] = append(out[p], string(m.Body))
				}
				mu.Unlock()
				if err := r.Commit(ctx); err != nil {
					t.Errorf("commit partition %s: %v", p, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return out
}

func TestReceiversEmptyHubIsDrainedAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("partitions-without-events", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		s := newTestStore(t, c.Now)
		h := newFakeHub("0", "1", "2")
		r := newRun(t, h, s, c)
		recs := openRun(t, ctx, r)
		began := time.Now()
		for _, rec := range recs {
			msgs, err := rec.Next(ctx)
			if err != nil || len(msgs) != 0 {
				t.Fatalf("Next on an empty partition = %d messages, %v", len(msgs), err)
			}
			if err := rec.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// Each empty receive lasts one ReceiveWait (50 ms); the bound is loose
		// for a loaded machine but far below the default 2 s wait.
		if took := time.Since(began); took > 1500*time.Millisecond {
			t.Fatalf("three empty partitions took %s to report drained", took)
		}
		closeRun(t, ctx, r)
		if cps := checkpoints(t, s); len(cps) != 0 {
			t.Fatalf("empty partitions got checkpoints %v", cps)
		}
	})

	t.Run("no-partitions", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		r := newRun(t, newFakeHub(), newTestStore(t, c.Now), c)
		recs, err := r.Open(ctx)
		if err != nil || len(recs) != 0 {
			t.Fatalf("Open on a hub without partitions = %d receivers, %v", len(recs), err)
		}
		closeRun(t, ctx, r)
	})
}

func TestReceiversDeadline(t *testing.T) {
	t.Parallel()

	t.Run("no-receive-starts-inside-the-commit-reserve", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		s := newTestStore(t, c.Now)
		h := newFakeHub("0")
		h.addN("0", 2)
		r := newRun(t, h, s, c, func(cfg *Config) { cfg.CommitReserve = time.Minute })
		recs := openRun(t, context.Background(), r)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		msgs, err := recs[0].Next(ctx)
		if err != nil || len(msgs) != 0 {
			t.Fatalf("Next with less than the reserve left = %d messages, %v; want drained", len(msgs), err)
		}
		closeRun(t, context.Background(), r)
	})

	t.Run("events-arriving-as-the-context-ends-are-left-for-the-next-run", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		s := newTestStore(t, c.Now)
		h := newFakeHub("0")
		h.addN("0", 2)
		h.holdUntilDone = true
		r := newRun(t, h, s, c, func(cfg *Config) { cfg.ReceiveWait = 30 * time.Second })
		recs := openRun(t, context.Background(), r)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		msgs, err := recs[0].Next(ctx)
		if !errors.Is(err, context.Canceled) || len(msgs) != 0 {
			t.Fatalf("Next as the context ended = %d messages, %v; want none and the context's error", len(msgs), err)
		}
		// The ingest stage treats that error as the end of the budget.
		stats, err := (&pipeline.Ingest{Queue: &queue{}}).Drain(ctx, recs[0])
		if err != nil || stats.Messages != 0 {
			t.Fatalf("Drain on an ended context = %+v, %v", stats, err)
		}
		closeRun(t, context.Background(), r)
		if cps := checkpoints(t, s); len(cps) != 0 {
			t.Fatalf("dropped events were checkpointed: %v", cps)
		}
	})

	t.Run("the-budget-ends-a-drain-cleanly", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		s := newTestStore(t, c.Now)
		h := newFakeHub("0")
		// Far more than a 5 s budget can read three events and one
		// checkpoint write at a time; the budget is generous so that a cold
		// DynamoDB Local still leaves time to read something.
		const backlog = 100000
		h.addN("0", backlog)
		r := newRun(t, h, s, c, func(cfg *Config) { cfg.CommitReserve = time.Second })
		stage := &pipeline.Ingest{Queue: &queue{}}
		ingest := func(ctx context.Context) (pipeline.IngestResult, error) { return stage.Run(ctx, r, 5*time.Second) }
		res, err := ingest(context.Background())
		if err != nil {
			t.Fatalf("the budget's end failed the drain: %v", err)
		}
		n := res.Stats.Messages
		if n == 0 || n >= backlog {
			t.Fatalf("drained %d of %d messages in a 5 s budget", n, backlog)
		}
		if got := checkpoints(t, s)["0"]; got != at(int64(n-1)) {
			t.Fatalf("checkpoint %s after %d messages, want %s", got, n, at(int64(n-1)))
		}
		c.Advance(time.Minute)
		recs := openRun(t, context.Background(), r)
		msgs, err := recs[0].Next(context.Background())
		if err != nil || len(msgs) == 0 || string(msgs[0].Body) != bodies("0", n, n+1)[0] {
			t.Fatalf("the next run did not resume at event %d: %d messages, %v", n, len(msgs), err)
		}
		closeRun(t, context.Background(), r)
	})
}

func TestReceiversFirstReadWaitsForTheLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	s := newTestStore(t, c.Now)
	h := newFakeHub("0")
	h.addN("0", 2)
	h.linkDelay = 300 * time.Millisecond // six receive waits

	// Events wait behind a slow link: the first read is given OpenWait, so
	// the run reads them instead of taking the slow link for a drained one.
	first := newRun(t, h, s, c)
	recs := openRun(t, ctx, first)
	msgs, err := recs[0].Next(ctx)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("first read behind a slow link = %d messages, %v; want 2", len(msgs), err)
	}
	if w := h.lastWait("0"); w <= time.Second {
		t.Fatalf("the first read of a partition with events was given %s, want OpenWait", w)
	}
	if err := recs[0].Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if msgs, err := recs[0].Next(ctx); err != nil || len(msgs) != 0 {
		t.Fatalf("second read = %d messages, %v; want drained", len(msgs), err)
	}
	if w := h.lastWait("0"); w > 50*time.Millisecond {
		t.Fatalf("a later read was given %s, want ReceiveWait", w)
	}
	closeRun(t, ctx, first)

	// Nothing after the checkpoint: the first read gets the short wait, so
	// an idle partition does not hold the run for OpenWait.
	c.Advance(time.Minute)
	second := newRun(t, h, s, c)
	recs = openRun(t, ctx, second)
	if msgs, err := recs[0].Next(ctx); err != nil || len(msgs) != 0 {
		t.Fatalf("idle partition = %d messages, %v; want drained", len(msgs), err)
	}
	if w := h.lastWait("0"); w > 50*time.Millisecond {
		t.Fatalf("the first read of an idle partition was given %s, want ReceiveWait", w)
	}
	closeRun(t, ctx, second)

	// New events after the checkpoint: the long wait again.
	h.addN("0", 1)
	c.Advance(time.Minute)
	third := newRun(t, h, s, c)
	recs = openRun(t, ctx, third)
	if msgs, err := recs[0].Next(ctx); err != nil || len(msgs) != 1 {
		t.Fatalf("read after the checkpoint = %d messages, %v; want 1", len(msgs), err)
	}
	closeRun(t, ctx, third)
}

func TestReceiversStartAtLatest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	s := newTestStore(t, c.Now)
	h := newFakeHub("0", "1")
	h.addN("0", 5) // backlog to skip; "1" starts empty
	latest := func(cfg *Config) { cfg.StartAt = StartLatest }

	first := newRun(t, h, s, c, latest)
	if got := drain(t, ctx, openRun(t, ctx, first)); len(got) != 0 {
		t.Fatalf("the first run read the backlog: %v", got)
	}
	closeRun(t, ctx, first)
	if got, want := checkpoints(t, s), map[string]string{"0": at(4), "1": "-/-1"}; !maps.Equal(got, want) {
		t.Fatalf("baseline checkpoints %v, want %v", got, want)
	}

	// Events that arrive between two runs are read, though the first run
	// committed nothing itself.
	h.addN("0", 2)
	h.addN("1", 2)
	c.Advance(time.Minute)
	second := newRun(t, h, s, c, latest)
	got := drain(t, ctx, openRun(t, ctx, second))
	closeRun(t, ctx, second)
	want := map[string][]string{"0": bodies("0", 5, 7), "1": bodies("1", 0, 2)}
	if !maps.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Fatalf("second run read %v, want %v", got, want)
	}
}

func TestReceiversErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a-receive-error-names-the-partition", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		h := newFakeHub("7")
		h.fail["7"] = errors.New("link detached")
		r := newRun(t, h, newTestStore(t, c.Now), c)
		recs := openRun(t, ctx, r)
		_, err := recs[0].Next(ctx)
		if err == nil || err.Error() != "eventhubs: receive partition 7: link detached" {
			t.Fatalf("err = %v", err)
		}
		closeRun(t, ctx, r)
	})

	t.Run("a-failed-open-releases-its-claims", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		s := newTestStore(t, c.Now)
		h := newFakeHub("0", "1")
		h.addN("0", 1)
		// A checkpoint at an offset the partition does not have makes the
		// partition client fail to open.
		if err := s.SetCheckpoint(ctx, azeventhubs.Checkpoint{
			FullyQualifiedNamespace: testNamespace, EventHubName: DefaultEventHub, ConsumerGroup: testGroup,
			PartitionID: "1", Offset: to.Ptr("999999"), SequenceNumber: to.Ptr[int64](999),
		}, nil); err != nil {
			t.Fatal(err)
		}
		r := newRun(t, h, s, c)
		_, err := r.Open(ctx)
		if err == nil || !strings.HasPrefix(err.Error(), "eventhubs: open partition 1: ") {
			t.Fatalf("err = %v", err)
		}
		if n := h.openReaders(); n != 0 {
			t.Fatalf("%d partition clients left open", n)
		}
		owns, err := s.ListOwnership(ctx, testNamespace, DefaultEventHub, testGroup, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range owns {
			if o.OwnerID != "" {
				t.Fatalf("partition %s still claimed after a failed open", o.PartitionID)
			}
		}
		if recs := openRun(t, ctx, newRun(t, newFakeHub("0"), s, c)); len(recs) != 1 {
			t.Fatalf("partition 0 could not be claimed at once after the failed open")
		}
	})

	t.Run("open-twice-without-close", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		r := newRun(t, newFakeHub("0"), newTestStore(t, c.Now), c)
		openRun(t, ctx, r)
		if _, err := r.Open(ctx); err == nil {
			t.Fatal("a second Open before Close succeeded")
		}
		closeRun(t, ctx, r)
	})
}

// TestIngestSampleEvents drains the sample audit bodies through the ingest
// handler: every body is read once, and the checkpoints keep a second run
// from reading them again.
func TestIngestSampleEvents(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../events/audit/eventhub-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("sample events: %v (%d files)", err, len(files))
	}
	c := newClock()
	s := newTestStore(t, c.Now)
	h := newFakeHub("0", "1")
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h.add(fmt.Sprint(i%2), string(b))
	}
	q := &queue{}
	r := newRun(t, h, s, c)
	stage := &pipeline.Ingest{Queue: q}
	ingest := func(ctx context.Context) (pipeline.IngestResult, error) { return stage.Run(ctx, r, 10*time.Second) }

	res, err := ingest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Partitions != 2 || res.Stats.Messages != len(files) || res.Stats.Malformed != 0 {
		t.Fatalf("first run: %+v, want %d messages from 2 partitions", res, len(files))
	}
	if res.Stats.Requests == 0 || res.Stats.Requests != q.count() {
		t.Fatalf("first run enqueued %d requests, reported %d", q.count(), res.Stats.Requests)
	}

	c.Advance(time.Minute)
	res, err = ingest(context.Background())
	if err != nil || res.Stats.Messages != 0 {
		t.Fatalf("second run: %+v, %v; want nothing read again", res, err)
	}
}

// queue collects evaluation requests.
type queue struct {
	mu   sync.Mutex
	reqs []model.EvaluationRequest
}

func (q *queue) SendRequests(_ context.Context, reqs []model.EvaluationRequest) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reqs = append(q.reqs, reqs...)
	return nil
}

func (q *queue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.reqs)
}
