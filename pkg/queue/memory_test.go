package queue_test

import (
	"context"
	"testing"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/queue"
)

// A message returned to the queue counts its deliveries as SQS does, so
// that a stage can tell a first delivery from a retry.
func TestMemoryCountsDeliveries(t *testing.T) {
	q := queue.NewMemory()
	if err := q.SendRequests(context.Background(), []model.EvaluationRequest{{UserID: "u-1", Reason: model.ReasonSweep}}); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 3; want++ {
		got := q.Receive(1)
		if len(got) != 1 || got[0].ReceiveCount != want {
			t.Fatalf("delivery %d: %+v", want, got)
		}
		q.Return(got)
	}
}
