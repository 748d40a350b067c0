package wiring

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// The evaluation stage sees each message's ApproximateReceiveCount; a
// count SQS did not give is 0, unknown.
func TestMessagesCarryTheReceiveCount(t *testing.T) {
	var ev events.SQSEvent
	readEvent(t, "sqs-evaluate.json", &ev)
	ev.Records[1].Attributes["ApproximateReceiveCount"] = "3"
	delete(ev.Records[2].Attributes, "ApproximateReceiveCount")
	got := messages(ev)
	if got[0].ReceiveCount != 1 || got[1].ReceiveCount != 3 || got[2].ReceiveCount != 0 {
		t.Errorf("receive counts %d, %d, %d; want 1, 3, 0", got[0].ReceiveCount, got[1].ReceiveCount, got[2].ReceiveCount)
	}
}
