package wiring

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// delays records what the handler asked to delay.
type delays map[string]time.Duration

func (d delays) Delay(_ context.Context, receipts []string, by time.Duration) error {
	for _, r := range receipts {
		d[r] = by
	}
	return nil
}

// throttledReader answers every read with throttling, or a timeout for
// the user "slow".
type throttledReader struct{}

func (throttledReader) ReadUsers(_ context.Context, ids []string) []model.UserResult {
	out := make([]model.UserResult, len(ids))
	for i, id := range ids {
		out[i].Err = fmt.Errorf("%w: 429 after retries", model.ErrThrottled)
		if id == "slow" {
			out[i].Err = fmt.Errorf("read %s: i/o timeout", id)
		}
	}
	return out
}

// A throttled message is reported failed and waits ThrottledRetry, longer
// than the visibility timeout, before its next delivery; other failures
// keep the queue's usual pace.
func TestThrottledMessagesWaitLonger(t *testing.T) {
	record := func(id, user string) events.SQSMessage {
		return events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id, Attributes: map[string]string{"MessageGroupId": user},
			Body: fmt.Sprintf(`{"userId":%q,"reason":"sweep","time":"2026-11-26T09:00:00Z"}`, user)}
	}
	got := delays{}
	h := Evaluate(&pipeline.Evaluate{Users: throttledReader{}, Now: time.Now}, got, zerolog.Nop())
	resp, err := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record("m1", "u1"), record("m2", "slow")}})
	if err != nil || len(resp.BatchItemFailures) != 2 {
		t.Fatalf("response %+v, %v: want both messages failed", resp, err)
	}
	if len(got) != 1 || got["rh-m1"] != pipeline.ThrottledRetry {
		t.Errorf("delayed %v, want only the throttled message, by %s", got, pipeline.ThrottledRetry)
	}
}
