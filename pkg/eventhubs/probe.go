package eventhubs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// probeWait is how long Probe listens on a partition: long enough for the
// service to refuse an unknown consumer group or a missing Listen right,
// which it does when the receiver attaches.
const probeWait = 3 * time.Second

// Probe checks from a terminal what ingest needs of the hub before its
// first run: it connects with cfg's credential, reads the hub's partitions,
// and opens a receiver of the consumer group on the first partition at its
// end (reading nothing that is there). It returns the partition ids, or the
// service's refusal.
func Probe(ctx context.Context, cfg Config) ([]string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h, _, err := connect(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer h.Close(context.WithoutCancel(ctx))
	ids, err := h.Partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("eventhubs: probe: hub %s: %w", cfg.EventHub, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("eventhubs: probe: hub %s has no partitions", cfg.EventHub)
	}
	latest := true
	p, err := h.NewPartitionClient(ids[0], azeventhubs.StartPosition{Latest: &latest})
	if err != nil {
		return nil, fmt.Errorf("eventhubs: probe: consumer group %s: %w", cfg.ConsumerGroup, err)
	}
	defer p.Close(context.WithoutCancel(ctx))
	wait, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	if _, err := p.ReceiveEvents(wait, 1); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("eventhubs: probe: consumer group %s: %w", cfg.ConsumerGroup, err)
	}
	return ids, nil
}
