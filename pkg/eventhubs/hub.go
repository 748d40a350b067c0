package eventhubs

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/credres/credres/pkg/model"
)

// event is one received event: its body and where it sits in its partition.
type event struct {
	Body           []byte
	Offset         string
	SequenceNumber int64
}

// partitionTail is the position of a partition's last enqueued event.
type partitionTail struct {
	Empty          bool
	Offset         string
	SequenceNumber int64
}

// hub is the part of an Event Hubs consumer the receivers use.
type hub interface {
	// Partitions lists the hub's partition ids.
	Partitions(ctx context.Context) ([]string, error)
	// Tail gives the position of the partition's last event.
	Tail(ctx context.Context, partition string) (partitionTail, error)
	// NewPartitionClient opens a reader of one partition from start.
	NewPartitionClient(partition string, start azeventhubs.StartPosition) (partitionSource, error)
	// Close ends the connection.
	Close(ctx context.Context) error
}

// partitionSource reads one partition in order.
type partitionSource interface {
	// ReceiveEvents returns up to n events, waiting until n have arrived or
	// ctx ends: with some events it returns them and a nil error, with none
	// ctx's error.
	ReceiveEvents(ctx context.Context, n int) ([]event, error)
	Close(ctx context.Context) error
}

// sdkHub is a hub on azeventhubs.
type sdkHub struct {
	cc       *azeventhubs.ConsumerClient
	prefetch int32
}

// connect builds the consumer client for cfg, choosing the credential in
// Config's documented order, and returns the fully qualified namespace the
// checkpoints are kept under. The connection itself opens lazily.
func connect(ctx context.Context, cfg *Config) (*sdkHub, string, error) {
	opts := &azeventhubs.ConsumerClientOptions{ApplicationID: "credres"}
	// Prefetching more than one Next takes only holds events in memory that
	// an ending budget throws away; audit bodies can be large.
	prefetch := int32(min(cfg.MaxEvents, 5000))
	conn := cfg.ConnectionString
	if conn == "" && cfg.ConnectionSecretARN != "" {
		if cfg.Secrets == nil {
			return nil, "", fmt.Errorf("eventhubs: connect: %w: a connection secret ARN is configured but no secret source", model.ErrInvalidInput)
		}
		v, err := cfg.Secrets.Secret(ctx, cfg.ConnectionSecretARN)
		if err != nil {
			return nil, "", fmt.Errorf("eventhubs: connect: fetch connection string from secret store: %w", err)
		}
		conn = strings.TrimSpace(v)
	}
	if conn != "" {
		props, err := azeventhubs.ParseConnectionString(conn)
		if err != nil {
			return nil, "", fmt.Errorf("eventhubs: connect: %w: connection string: %v", model.ErrInvalidInput, err)
		}
		ns := props.FullyQualifiedNamespace
		if cfg.Namespace != "" && !strings.EqualFold(cfg.Namespace, ns) {
			return nil, "", fmt.Errorf("eventhubs: connect: %w: the connection string names namespace %s, the configuration %s", model.ErrInvalidInput, ns, cfg.Namespace)
		}
		name := cfg.EventHub
		if props.EntityPath != nil {
			// A policy on the hub itself carries EntityPath; the SDK then
			// wants no hub name beside it.
			if *props.EntityPath != cfg.EventHub {
				return nil, "", fmt.Errorf("eventhubs: connect: %w: the connection string is for hub %s, the configuration names %s", model.ErrInvalidInput, *props.EntityPath, cfg.EventHub)
			}
			name = ""
		}
		cc, err := azeventhubs.NewConsumerClientFromConnectionString(conn, name, cfg.ConsumerGroup, opts)
		if err != nil {
			return nil, "", fmt.Errorf("eventhubs: connect %s/%s: %w", ns, cfg.EventHub, err)
		}
		return &sdkHub{cc: cc, prefetch: prefetch}, ns, nil
	}
	cred := cfg.Credential
	if cred == nil {
		c, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, "", fmt.Errorf("eventhubs: connect: default Azure credential: %w", err)
		}
		cred = c
	}
	cc, err := azeventhubs.NewConsumerClient(cfg.Namespace, cfg.EventHub, cfg.ConsumerGroup, cred, opts)
	if err != nil {
		return nil, "", fmt.Errorf("eventhubs: connect %s/%s: %w", cfg.Namespace, cfg.EventHub, err)
	}
	return &sdkHub{cc: cc, prefetch: prefetch}, cfg.Namespace, nil
}

func (h *sdkHub) Partitions(ctx context.Context) ([]string, error) {
	props, err := h.cc.GetEventHubProperties(ctx, nil)
	if err != nil {
		return nil, err
	}
	return props.PartitionIDs, nil
}

func (h *sdkHub) Tail(ctx context.Context, partition string) (partitionTail, error) {
	p, err := h.cc.GetPartitionProperties(ctx, partition, nil)
	if err != nil {
		return partitionTail{}, err
	}
	return partitionTail{Empty: p.IsEmpty, Offset: p.LastEnqueuedOffset, SequenceNumber: p.LastEnqueuedSequenceNumber}, nil
}

func (h *sdkHub) NewPartitionClient(partition string, start azeventhubs.StartPosition) (partitionSource, error) {
	// No OwnerLevel: an epoch receiver would disconnect every other reader
	// of the consumer group on this partition (a SIEM sharing $Default, say).
	// The checkpoint store's claims keep credres's own runs apart.
	pc, err := h.cc.NewPartitionClient(partition, &azeventhubs.PartitionClientOptions{StartPosition: start, Prefetch: h.prefetch})
	if err != nil {
		return nil, err
	}
	return sdkPartition{pc}, nil
}

func (h *sdkHub) Close(ctx context.Context) error { return h.cc.Close(ctx) }

// sdkPartition is a partitionSource on azeventhubs.PartitionClient.
type sdkPartition struct{ pc *azeventhubs.PartitionClient }

func (p sdkPartition) ReceiveEvents(ctx context.Context, n int) ([]event, error) {
	evs, err := p.pc.ReceiveEvents(ctx, n, nil)
	if err != nil {
		return nil, err
	}
	out := make([]event, len(evs))
	for i, e := range evs {
		out[i] = event{Body: e.Body, Offset: e.Offset, SequenceNumber: e.SequenceNumber}
	}
	return out, nil
}

func (p sdkPartition) Close(ctx context.Context) error { return p.pc.Close(ctx) }
