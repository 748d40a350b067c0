package queue

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/pkg/model"
)

// Depth counts the messages waiting, visible and in flight.
func TestSQSDepth(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	url := createQueue(t, client, ".fifo", nil)
	q := NewSQS(client, url)
	ctx := context.Background()
	var reqs []model.EvaluationRequest
	for i := range 12 {
		reqs = append(reqs, auditRequest(fmt.Sprintf("user-%02d", i), "audit-"+strconv.Itoa(i)))
	}
	if err := q.SendRequests(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Depth(ctx); err != nil || n != 12 {
		t.Fatalf("depth %d (%v), want 12", n, err)
	}
	// Received, not deleted: in flight, still waiting.
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 2, WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) == 0 {
		t.Fatalf("receive: %v", err)
	}
	if n, err := q.Depth(ctx); err != nil || n != 12 {
		t.Errorf("depth with %d in flight %d (%v), want 12", len(out.Messages), n, err)
	}
	receive(t, client, url, 12-len(out.Messages)) // received and deleted
	if n, err := q.Depth(ctx); err != nil || n != len(out.Messages) {
		t.Errorf("depth after the others were deleted %d (%v), want %d", n, err, len(out.Messages))
	}
}
