package awstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/credres/credres/internal/awstest"
)

// testTimeout bounds each test's calls, so a hung server fails the test instead of the whole run.
const testTimeout = 60 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// TestDynamoDB proves the local server does what the store will rely on: on-demand tables, TTL,
// conditional writes that fail with the SDK's typed error, and consistent reads.
func TestDynamoDB(t *testing.T) {
	t.Parallel()
	db := awstest.DynamoDB(t)
	ctx := testContext(t)
	table := createTable(ctx, t, db)

	t.Run("ttl-attribute-is-accepted", func(t *testing.T) {
		_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(table),
			TimeToLiveSpecification: &dbtypes.TimeToLiveSpecification{
				AttributeName: aws.String("expires_at"),
				Enabled:       aws.Bool(true),
			},
		})
		if err != nil {
			t.Fatalf("UpdateTimeToLive: %v", err)
		}
		out, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatalf("DescribeTimeToLive: %v", err)
		}
		desc := out.TimeToLiveDescription
		if status := desc.TimeToLiveStatus; status != dbtypes.TimeToLiveStatusEnabled && status != dbtypes.TimeToLiveStatusEnabling {
			t.Errorf("TTL status = %q, want ENABLED or ENABLING", status)
		}
		if got := aws.ToString(desc.AttributeName); got != "expires_at" {
			t.Errorf("TTL attribute = %q, want expires_at", got)
		}
	})

	t.Run("conditional-put-rejects-an-existing-item", func(t *testing.T) {
		item := map[string]dbtypes.AttributeValue{"pk": str("user-1"), "state": str("first")}
		if err := putIfAbsent(ctx, db, table, item); err != nil {
			t.Fatalf("first put: %v", err)
		}
		item["state"] = str("second")
		err := putIfAbsent(ctx, db, table, item)
		var failed *dbtypes.ConditionalCheckFailedException
		if !errors.As(err, &failed) {
			t.Fatalf("second put: err = %v, want ConditionalCheckFailedException", err)
		}
	})

	// The checkpoint store's optimistic concurrency: write only if absent or still at the etag read.
	t.Run("etag-compare-and-swap", func(t *testing.T) {
		swap := func(oldETag, newETag string) error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:                           aws.String(table),
				Item:                                map[string]dbtypes.AttributeValue{"pk": str("partition-0"), "etag": str(newETag)},
				ConditionExpression:                 aws.String("attribute_not_exists(pk) OR etag = :old"),
				ExpressionAttributeValues:           map[string]dbtypes.AttributeValue{":old": str(oldETag)},
				ReturnValuesOnConditionCheckFailure: dbtypes.ReturnValuesOnConditionCheckFailureAllOld,
			})
			return err
		}
		if err := swap("", "e1"); err != nil {
			t.Fatalf("claim of an absent item: %v", err)
		}
		if err := swap("e1", "e2"); err != nil {
			t.Fatalf("swap at the current etag: %v", err)
		}
		err := swap("e1", "e3")
		var failed *dbtypes.ConditionalCheckFailedException
		if !errors.As(err, &failed) {
			t.Fatalf("swap at a stale etag: err = %v, want ConditionalCheckFailedException", err)
		}
		if got := attrString(failed.Item, "etag"); got != "e2" {
			t.Errorf("item returned with the failure has etag %q, want e2", got)
		}
	})

	t.Run("consistent-read-sees-the-latest-write", func(t *testing.T) {
		expires := time.Now().Add(time.Hour).Unix()
		for _, state := range []string{"old", "new"} {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: aws.String(table),
				Item: map[string]dbtypes.AttributeValue{
					"pk":         str("user-2"),
					"state":      str(state),
					"expires_at": &dbtypes.AttributeValueMemberN{Value: strconv.FormatInt(expires, 10)},
				},
			})
			if err != nil {
				t.Fatalf("put %s: %v", state, err)
			}
		}
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(table),
			Key:            map[string]dbtypes.AttributeValue{"pk": str("user-2")},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			t.Fatalf("GetItem: %v", err)
		}
		if got := attrString(out.Item, "state"); got != "new" {
			t.Errorf("state = %q, want new", got)
		}
		if n, ok := out.Item["expires_at"].(*dbtypes.AttributeValueMemberN); !ok || n.Value != strconv.FormatInt(expires, 10) {
			t.Errorf("expires_at = %#v, want number %d", out.Item["expires_at"], expires)
		}
	})
}

// TestSQSFIFODeduplication: with content-based deduplication off, the MessageDeduplicationId
// alone decides, so a second send with the same id is accepted and dropped.
func TestSQSFIFODeduplication(t *testing.T) {
	t.Parallel()
	q := awstest.SQS(t)
	ctx := testContext(t)
	url := createQueue(ctx, t, q, awstest.UniqueName(t)+".fifo", map[string]string{
		"FifoQueue":                 "true",
		"ContentBasedDeduplication": "false",
	})

	for _, body := range []string{"first", "second"} {
		_, err := q.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl:               aws.String(url),
			MessageBody:            aws.String(body),
			MessageGroupId:         aws.String("user-1"),
			MessageDeduplicationId: aws.String("assessment-1"),
		})
		if err != nil {
			t.Fatalf("send %s: %v", body, err)
		}
	}

	msgs := receive(ctx, t, q, url, 1)
	if len(msgs) != 1 || aws.ToString(msgs[0].Body) != "first" {
		t.Fatalf("received %s, want only the first message", bodies(msgs))
	}
	if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: msgs[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	if msgs := receive(ctx, t, q, url, 1); len(msgs) != 0 {
		t.Errorf("after deleting the first message, received %s, want nothing", bodies(msgs))
	}
}

// TestSQSRedriveToDeadLetterQueue: a message received maxReceiveCount (1) times without being
// deleted moves to the dead-letter queue on the next receive once its visibility timeout ends.
func TestSQSRedriveToDeadLetterQueue(t *testing.T) {
	t.Parallel()
	q := awstest.SQS(t)
	ctx := testContext(t)
	name := awstest.UniqueName(t)
	dlq := createQueue(ctx, t, q, name+"-dlq", nil)
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(dlq),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes of the DLQ: %v", err)
	}
	redrive, err := json.Marshal(map[string]string{
		"deadLetterTargetArn": attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)],
		"maxReceiveCount":     "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	src := createQueue(ctx, t, q, name, map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     string(redrive),
	})

	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(src), MessageBody: aws.String("poison")}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	first := receive(ctx, t, q, src, 1)
	if len(first) != 1 || aws.ToString(first[0].Body) != "poison" {
		t.Fatalf("first receive got %s, want the message", bodies(first))
	}
	if got := first[0].Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]; got != "1" {
		t.Errorf("ApproximateReceiveCount = %q, want 1", got)
	}

	time.Sleep(1500 * time.Millisecond) // past the 1 s visibility timeout; the message is not deleted
	if again := receive(ctx, t, q, src, 1); len(again) != 0 {
		t.Fatalf("receive after the visibility timeout got %s from the source queue, want nothing", bodies(again))
	}
	var dead []sqstypes.Message
	for deadline := time.Now().Add(10 * time.Second); len(dead) == 0 && time.Now().Before(deadline); {
		dead = receive(ctx, t, q, dlq, 1)
	}
	if len(dead) != 1 || aws.ToString(dead[0].Body) != "poison" {
		t.Fatalf("DLQ holds %s, want the poison message", bodies(dead))
	}
	if dead[0].MessageId == nil || aws.ToString(dead[0].MessageId) != aws.ToString(first[0].MessageId) {
		t.Errorf("DLQ message id = %q, want the original %q", aws.ToString(dead[0].MessageId), aws.ToString(first[0].MessageId))
	}
}

func TestRIEIsExecutable(t *testing.T) {
	t.Parallel()
	path := awstest.RIE(t)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("%s: %v", awstest.EnvRIE, err)
	}
	if info.Mode()&0o111 == 0 {
		t.Errorf("%s: %s is not executable (mode %v)", awstest.EnvRIE, path, info.Mode())
	}
}

func TestUniqueName(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{3,60}$`)
	tests := []struct{ name string }{
		{"short"},
		{"spaces and/slashes: are replaced"},
		{strings.Repeat("a-very-long-subtest-name-", 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := awstest.UniqueName(t), awstest.UniqueName(t)
			for _, got := range []string{a, b} {
				if !valid.MatchString(got) {
					t.Errorf("UniqueName = %q, not a valid table and queue name of at most 60 characters", got)
				}
			}
			if a == b {
				t.Errorf("two calls both returned %q", a)
			}
		})
	}
}

func createTable(ctx context.Context, t *testing.T, db *dynamodb.Client) string {
	t.Helper()
	name := awstest.UniqueName(t)
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          dbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: dbtypes.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable %s: %v", name, err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("DeleteTable %s: %v", name, err)
		}
	})
	waiter := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	out, err := waiter.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second)
	if err != nil {
		t.Fatalf("table %s never became active: %v", name, err)
	}
	if s := out.Table.BillingModeSummary; s == nil || s.BillingMode != dbtypes.BillingModePayPerRequest {
		t.Errorf("table %s billing = %#v, want PAY_PER_REQUEST", name, s)
	}
	return name
}

func putIfAbsent(ctx context.Context, db *dynamodb.Client, table string, item map[string]dbtypes.AttributeValue) error {
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	return err
}

func createQueue(ctx context.Context, t *testing.T, q *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := q.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Errorf("DeleteQueue %s: %v", name, err)
		}
	})
	return url
}

// receive long-polls for up to waitSeconds and returns what arrived, with the receive count.
func receive(ctx context.Context, t *testing.T, q *sqs.Client, url string, waitSeconds int32) []sqstypes.Message {
	t.Helper()
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         10,
		WaitTimeSeconds:             waitSeconds,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage from %s: %v", url, err)
	}
	return out.Messages
}

func bodies(msgs []sqstypes.Message) string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = aws.ToString(m.Body)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

func str(s string) *dbtypes.AttributeValueMemberS { return &dbtypes.AttributeValueMemberS{Value: s} }

func attrString(item map[string]dbtypes.AttributeValue, name string) string {
	if s, ok := item[name].(*dbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
