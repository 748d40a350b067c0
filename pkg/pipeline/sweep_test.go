package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/store"
)

// everyOtherFails fails every other call of the sweep's read of assessment
// times (throttled) and of its enqueue (unavailable): a tenant-wide walk
// makes one of each per 100 users, and meets transient failures.
type everyOtherFails struct {
	*store.FileStore
	q            *queue.Memory
	reads, sends int
}

func (f *everyOtherFails) ObservedAt(ctx context.Context, ids []string) (map[string]time.Time, error) {
	if f.reads++; f.reads%2 == 1 {
		return nil, fmt.Errorf("%w: ProvisionedThroughputExceededException", model.ErrThrottled)
	}
	return f.FileStore.ObservedAt(ctx, ids)
}

func (f *everyOtherFails) SendRequests(ctx context.Context, rs []model.EvaluationRequest) error {
	if f.sends++; f.sends%2 == 1 {
		return errors.New("queue: send: connection reset")
	}
	return f.q.SendRequests(ctx, rs)
}

// A sweep over many users rides out transient failures of single requests:
// each chunk's read and enqueue are tried again, and the walk goes on to
// every user instead of ending at the first failure, which a large tenant
// meets on nearly every run.
func TestSweepRidesOutTransientFailures(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fs, err := store.OpenFileStore(t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	var regs registrations
	for i := range 1000 {
		regs = append(regs, model.Registration{UserID: fmt.Sprint("u-", i)})
	}
	f := &everyOtherFails{FileStore: fs, q: queue.NewMemory()}
	sw := pipeline.Sweep{Registrations: regs, Store: f, Queue: f, Now: func() time.Time { return now }}
	stats, err := sw.Run(context.Background(), pipeline.SweepOptions{Campaign: true})
	if err != nil || stats.Users != 1000 || stats.Enqueued != 1000 {
		t.Fatalf("stats %+v, err %v; want every user enqueued", stats, err)
	}
	if n := f.q.Len(); n != 1000 {
		t.Errorf("%d requests queued, want 1000", n)
	}
}

// A failure that can never succeed is not tried again.
func TestSweepDoesNotRetryInvalidInput(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fs, err := store.OpenFileStore(t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	invalid := &invalidQueue{}
	sw := pipeline.Sweep{Registrations: registrations{{UserID: "u-1"}}, Store: fs, Queue: invalid, Now: func() time.Time { return now }}
	if _, err := sw.Run(context.Background(), pipeline.SweepOptions{}); !errors.Is(err, model.ErrInvalidInput) || invalid.calls != 1 {
		t.Errorf("err %v after %d sends, want invalid input after one", err, invalid.calls)
	}
}

type invalidQueue struct{ calls int }

func (q *invalidQueue) SendRequests(context.Context, []model.EvaluationRequest) error {
	q.calls++
	return fmt.Errorf("%w: message group id", model.ErrInvalidInput)
}
