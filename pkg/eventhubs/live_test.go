package eventhubs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// Environment of the live test. It reads a real hub and never runs in CI.
const (
	// envLiveNamespace turns the live test on: the hub's fully qualified
	// namespace.
	envLiveNamespace = "CREDRES_LIVE_EVENTHUB_NAMESPACE"
	// envLiveName and envLiveGroup default to DefaultEventHub and
	// DefaultConsumerGroup.
	envLiveName  = "CREDRES_LIVE_EVENTHUB_NAME"
	envLiveGroup = "CREDRES_LIVE_EVENTHUB_CONSUMER_GROUP"
	// envLiveConnection is a Listen connection string; without it the test
	// authenticates with DefaultAzureCredential (az login, workload identity).
	envLiveConnection = "CREDRES_LIVE_EVENTHUB_CONNECTION_STRING"
	// envLiveSend, a connection string with Send, makes the test send a
	// marker event to partition 0 and expect to read it exactly once.
	envLiveSend = "CREDRES_LIVE_EVENTHUB_SEND_CONNECTION_STRING"
)

// TestLiveEventHub reads a real hub with checkpoints in the local DynamoDB:
// a first run (StartAt latest) sets a baseline checkpoint on every
// partition; with a Send connection string a marker event is then sent and
// a second run must read it, a third must not. Bodies are counted, never
// logged: a real audit hub carries user names.
func TestLiveEventHub(t *testing.T) {
	ns := os.Getenv(envLiveNamespace)
	if ns == "" {
		t.Skipf("%s is not set: the live Event Hubs test runs only against a namespace you name", envLiveNamespace)
	}
	store := newTestStore(t, time.Now)
	cfg := Config{
		Namespace:        ns,
		EventHub:         os.Getenv(envLiveName),
		ConsumerGroup:    os.Getenv(envLiveGroup),
		ConnectionString: os.Getenv(envLiveConnection),
		StartAt:          StartLatest,
		ReceiveWait:      5 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := NewReceivers(ctx, cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})

	run := func(marker []byte) (messages, markers int) {
		t.Helper()
		runCtx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		recs, err := r.Open(runCtx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := r.Close(runCtx); err != nil {
				t.Error(err)
			}
		}()
		if len(recs) == 0 {
			t.Fatal("no partition could be claimed")
		}
		for _, rec := range recs {
			for {
				msgs, err := rec.Next(runCtx)
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) == 0 {
					break
				}
				messages += len(msgs)
				for _, m := range msgs {
					if marker != nil && bytes.Equal(m.Body, marker) {
						markers++
					}
				}
				if err := rec.Commit(runCtx); err != nil {
					t.Fatal(err)
				}
			}
		}
		return messages, markers
	}

	n, _ := run(nil)
	t.Logf("first run read %d messages that arrived during it", n)
	cps, err := store.ListCheckpoints(ctx, r.cfg.Namespace, r.cfg.EventHub, r.cfg.ConsumerGroup, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := r.hub.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != len(parts) {
		t.Fatalf("%d checkpoints after the first run for %d partitions", len(cps), len(parts))
	}

	send := os.Getenv(envLiveSend)
	if send == "" {
		t.Logf("%s is not set: not sending a marker event", envLiveSend)
		return
	}
	marker := liveMarker(t)
	producer, err := azeventhubs.NewProducerClientFromConnectionString(send, r.cfg.EventHub, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close(context.Background())
	batch, err := producer.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionID: to.Ptr("0")})
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.AddEventData(&azeventhubs.EventData{Body: marker}, nil); err != nil {
		t.Fatal(err)
	}
	if err := producer.SendEventDataBatch(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	if _, found := run(marker); found != 1 {
		t.Fatalf("the second run read the marker %d times, want once", found)
	}
	if _, found := run(marker); found != 0 {
		t.Fatalf("the third run read the marker again (%d times)", found)
	}
}

func liveMarker(t *testing.T) []byte {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return []byte(`{"records":[],"credresLiveTest":"` + hex.EncodeToString(b[:]) + `"}`)
}
