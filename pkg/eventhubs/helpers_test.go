package eventhubs

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/pkg/pipeline"
)

var (
	_ pipeline.Receivers     = (*Receivers)(nil)
	_ pipeline.AuditReceiver = (*receiver)(nil)
)

const (
	testNamespace = "credres-test.servicebus.windows.net"
	testGroup     = "credres"
)

// newTestStore creates a checkpoint table of its own on the local DynamoDB
// and returns a store on it that keeps time by now.
func newTestStore(t *testing.T, now func() time.Time) *DynamoDBCheckpointStore {
	t.Helper()
	client := awstest.DynamoDB(t)
	table := awstest.UniqueName(t)
	ctx := context.Background()
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table %s: %v", table, err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	s := NewDynamoDBCheckpointStore(client, table)
	s.now = now
	return s
}

// testConfig is a validated configuration with short waits.
func testConfig(t *testing.T, mods ...func(*Config)) Config {
	t.Helper()
	cfg := Config{
		Namespace:     testNamespace,
		ConsumerGroup: testGroup,
		MaxEvents:     3,
		ReceiveWait:   50 * time.Millisecond,
		OpenWait:      5 * time.Second,
		CommitReserve: 10 * time.Millisecond,
	}
	for _, m := range mods {
		m(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newRun returns Receivers on the fake hub, as a new process (a new run of
// the function) would have them.
func newRun(t *testing.T, h *fakeHub, store CheckpointStore, c *clock, mods ...func(*Config)) *Receivers {
	t.Helper()
	r := newReceivers(testConfig(t, mods...), store, h)
	r.now = c.Now
	return r
}

// drain reads every receiver until it is drained, committing after each
// batch, and returns the bodies read per partition.
func drain(t *testing.T, ctx context.Context, recs []pipeline.AuditReceiver) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, r := range recs {
		p := r.(*receiver).partition
		for {
			msgs, err := r.Next(ctx)
			if err != nil {
				t.Fatalf("next on partition %s: %v", p, err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				got[p] = append(got[p], string(m.Body))
			}
			if err := r.Commit(ctx); err != nil {
				t.Fatalf("commit partition %s: %v", p, err)
			}
		}
	}
	return got
}

// openRun opens a drain, failing the test on an error.
func openRun(t *testing.T, ctx context.Context, r *Receivers) []pipeline.AuditReceiver {
	t.Helper()
	recs, err := r.Open(ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return recs
}

func closeRun(t *testing.T, ctx context.Context, r *Receivers) {
	t.Helper()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// checkpoints returns the stored checkpoints by partition as
// "offset/sequence number".
func checkpoints(t *testing.T, s CheckpointStore) map[string]string {
	t.Helper()
	cps, err := s.ListCheckpoints(context.Background(), testNamespace, DefaultEventHub, testGroup, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, cp := range cps {
		off, seq := "-", "-"
		if cp.Offset != nil {
			off = *cp.Offset
		}
		if cp.SequenceNumber != nil {
			seq = strconv.FormatInt(*cp.SequenceNumber, 10)
		}
		out[cp.PartitionID] = off + "/" + seq
	}
	return out
}

// at is the checkpoint string of the event with sequence number n.
func at(n int64) string { return offsetOf(n) + "/" + strconv.FormatInt(n, 10) }
