package eventhubs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// closeTimeout bounds Close, which the ingest handler calls with a context
// that no longer has the budget's deadline.
const closeTimeout = 10 * time.Second

// Receivers opens a hub's partitions for one drain at a time. It
// implements handler.Receivers: Open claims the partitions that no live run
// owns and opens a receiver on each at its checkpoint; Close closes them and
// releases the claims. A Lambda environment keeps one Receivers, and so one
// connection, across its invocations.
type Receivers struct {
	cfg   Config
	store CheckpointStore
	hub   hub
	now   func() time.Time

	mu   sync.Mutex
	open []*receiver
}

// NewReceivers validates cfg, resolves its credential (fetching the
// connection string secret, if one is configured) and returns Receivers
// reading the hub with checkpoints and claims in store. The connection to
// Event Hubs opens on first use.
func NewReceivers(ctx context.Context, cfg Config, store CheckpointStore) (*Receivers, error) {
	if store == nil {
		return nil, fmt.Errorf("eventhubs: new receivers: %w: no checkpoint store", model.ErrInvalidInput)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h, ns, err := connect(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	cfg.Namespace = ns
	return newReceivers(cfg, store, h), nil
}

// newReceivers assembles Receivers on a hub; cfg must be validated and name
// its namespace.
func newReceivers(cfg Config, store CheckpointStore, h hub) *Receivers {
	return &Receivers{cfg: cfg, store: store, hub: h, now: time.Now}
}

// Open claims every partition that no other live run owns and returns a
// receiver for each, positioned after its checkpoint (or per Config.StartAt
// without one). Partitions owned by a live run are left to it this time; a
// claim lost to a concurrent run is skipped likewise. Each receiver reads
// for at most half of OwnershipExpiry, so a claim never lapses while its
// run still reads. Open fails while the previous drain is not closed.
func (r *Receivers) Open(ctx context.Context) ([]pipeline.AuditReceiver, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open != nil {
		return nil, fmt.Errorf("eventhubs: open: the previous drain is not closed")
	}
	log := zerolog.Ctx(ctx)
	ns, name, group := r.cfg.Namespace, r.cfg.EventHub, r.cfg.ConsumerGroup
	owner, err := newETag()
	if err != nil {
		return nil, fmt.Errorf("eventhubs: open: owner id: %w", err)
	}
	ids, err := r.hub.Partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("eventhubs: list partitions of %s/%s: %w", ns, name, err)
	}
	owned, err := r.store.ListOwnership(ctx, ns, name, group, nil)
	if err != nil {
		return nil, err
	}
	current := make(map[string]azeventhubs.Ownership, len(owned))
	for _, o := range owned {
		current[o.PartitionID] = o
	}
	now := r.now()
	var claims []azeventhubs.Ownership
	var busy []string
	for _, id := range ids {
		o, ok := current[id]
		if ok && o.OwnerID != "" && now.Before(o.LastModifiedTime.Add(r.cfg.OwnershipExpiry)) {
			busy = append(busy, id)
			continue
		}
		claim := azeventhubs.Ownership{
			FullyQualifiedNamespace: ns, EventHubName: name, ConsumerGroup: group,
			PartitionID: id, OwnerID: owner,
		}
		if ok {
			claim.ETag = o.ETag
		}
		claims = append(claims, claim)
	}
	claimed, err := r.store.ClaimOwnership(ctx, claims, nil)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(claimed, func(a, b azeventhubs.Ownership) int { return comparePartitions(a.PartitionID, b.PartitionID) })

	recs, err := r.openClaimed(ctx, claimed)
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		if rerr := r.release(rctx, claimed); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	r.open = recs
	ev := log.Debug()
	if len(busy) > 0 || len(claimed) < len(claims) {
		ev = log.Info()
	}
	ev.Int("partitions", len(ids)).Int("claimed", len(claimed)).Strs("ownedByOtherRun", busy).
		Int("lostClaims", len(claims)-len(claimed)).Msg("eventhubs: partitions opened")
	if d, ok := ctx.Deadline(); ok && time.Until(d) > r.cfg.OwnershipExpiry/2 {
		log.Warn().Dur("ownershipExpiry", r.cfg.OwnershipExpiry).
			Msg("eventhubs: the budget is longer than half the ownership expiry; partitions stop reading at half of it")
	}
	out := make([]pipeline.AuditReceiver, len(recs))
	for i, rec := range recs {
		out[i] = rec
	}
	return out, nil
}

// openClaimed opens a receiver on each claimed partition; on an error it
// closes those it opened.
func (r *Receivers) openClaimed(ctx context.Context, claimed []azeventhubs.Ownership) ([]*receiver, error) {
	recs := []*receiver{}
	if len(claimed) == 0 {
		return recs, nil
	}
	cps, err := r.store.ListCheckpoints(ctx, r.cfg.Namespace, r.cfg.EventHub, r.cfg.ConsumerGroup, nil)
	if err != nil {
		return nil, err
	}
	byPartition := make(map[string]azeventhubs.Checkpoint, len(cps))
	for _, cp := range cps {
		byPartition[cp.PartitionID] = cp
	}
	for _, o := range claimed {
		start, from, err := r.startPosition(ctx, o.PartitionID, byPartition)
		if err == nil {
			var src partitionSource
			src, err = r.hub.NewPartitionClient(o.PartitionID, start)
			if err == nil {
				recs = append(recs, &receiver{
					r: r, partition: o.PartitionID, src: src, claim: o, from: from,
					stopAt: o.LastModifiedTime.Add(r.cfg.OwnershipExpiry / 2),
				})
				continue
			}
			err = fmt.Errorf("eventhubs: open partition %s: %w", o.PartitionID, err)
		}
		for _, rec := range recs {
			_ = rec.src.Close(context.WithoutCancel(ctx)) // the open error is the one to report
		}
		return nil, err
	}
	return recs, nil
}

// startPosition is just after the partition's checkpoint, preferring the
// offset as the SDK's Processor does (with geo-replication it stays
// meaningful across a failover), and that checkpoint. Without a checkpoint
// it is the earliest retained event, or with StartLatest the partition's
// current end, which is stored as the checkpoint at once: otherwise a run
// that reads nothing would leave the next run to start at a later end,
// skipping what came between.
func (r *Receivers) startPosition(ctx context.Context, id string, cps map[string]azeventhubs.Checkpoint) (azeventhubs.StartPosition, *azeventhubs.Checkpoint, error) {
	if cp, ok := cps[id]; ok {
		if cp.Offset != nil {
			return azeventhubs.StartPosition{Offset: cp.Offset}, &cp, nil
		}
		if cp.SequenceNumber != nil {
			return azeventhubs.StartPosition{SequenceNumber: cp.SequenceNumber}, &cp, nil
		}
	}
	earliest := azeventhubs.StartPosition{Earliest: to.Ptr(true)}
	if r.cfg.StartAt != StartLatest {
		return earliest, nil, nil
	}
	tail, err := r.hub.Tail(ctx, id)
	if err != nil {
		return azeventhubs.StartPosition{}, nil, fmt.Errorf("eventhubs: partition %s properties: %w", id, err)
	}
	base := azeventhubs.Checkpoint{
		FullyQualifiedNamespace: r.cfg.Namespace, EventHubName: r.cfg.EventHub, ConsumerGroup: r.cfg.ConsumerGroup,
		PartitionID: id, SequenceNumber: to.Ptr(tail.SequenceNumber),
	}
	start := earliest // an empty partition has nothing to skip
	if !tail.Empty {
		base.Offset = to.Ptr(tail.Offset)
		start = azeventhubs.StartPosition{Offset: base.Offset}
	}
	if err := r.store.SetCheckpoint(ctx, base, nil); err != nil {
		return azeventhubs.StartPosition{}, nil, err
	}
	return start, &base, nil
}

// Close closes the open receivers and releases their claims, so that the
// next run need not wait for them to expire. It ends the drain that Open
// began; the connection stays for the next Open.
func (r *Receivers) Close(ctx context.Context) error {
	r.mu.Lock()
	recs := r.open
	r.open = nil
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, closeTimeout)
	defer cancel()
	var errs []error
	claims := make([]azeventhubs.Ownership, 0, len(recs))
	for _, rec := range recs {
		if err := rec.src.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("eventhubs: close partition %s: %w", rec.partition, err))
		}
		claims = append(claims, rec.claim)
	}
	if err := r.release(ctx, claims); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// release gives claims up (an empty owner), each only if it is still ours:
// a claim that expired and was taken over is left to its new owner.
func (r *Receivers) release(ctx context.Context, claims []azeventhubs.Ownership) error {
	if len(claims) == 0 {
		return nil
	}
	give := make([]azeventhubs.Ownership, len(claims))
	for i, o := range claims {
		o.OwnerID = ""
		give[i] = o
	}
	_, err := r.store.ClaimOwnership(ctx, give, nil)
	return err
}

// Shutdown closes the connection to Event Hubs. A Lambda function need not
// call it; a process that ends its work (the local runner, a test) should.
func (r *Receivers) Shutdown(ctx context.Context) error {
	if err := r.Close(ctx); err != nil {
		return err
	}
	if err := r.hub.Close(ctx); err != nil {
		return fmt.Errorf("eventhubs: close connection to %s/%s: %w", r.cfg.Namespace, r.cfg.EventHub, err)
	}
	return nil
}

// receiver reads one claimed partition; it implements pipeline.AuditReceiver
// and is used by one goroutine at a time.
type receiver struct {
	r         *Receivers
	partition string
	src       partitionSource
	claim     azeventhubs.Ownership
	// from is the checkpoint the run started at, nil without one.
	from *azeventhubs.Checkpoint
	// started is set by the first receive, which may wait OpenWait.
	started bool
	// stopAt ends reading at half the claim's life, leaving the rest for the
	// last commit and for clocks that disagree.
	stopAt time.Time
	// pending is the last event handed out and not yet committed.
	pending *event
}

// Next returns the partition's next events. It returns none (drained for
// now) when a receive brings nothing within ReceiveWait (OpenWait for the
// first receive of a partition with events after its checkpoint), when the
// claim is half spent, or when less than CommitReserve is left before ctx's
// deadline. Events that arrive as ctx ends are dropped, not returned: they
// were not committed, so the next run reads them again.
func (rec *receiver) Next(ctx context.Context) ([]model.AuditMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("eventhubs: receive partition %s: %w", rec.partition, err)
	}
	cfg := &rec.r.cfg
	wait := cfg.ReceiveWait
	if !rec.started {
		rec.started = true
		if rec.behind(ctx) {
			wait = max(wait, cfg.OpenWait)
		}
	}
	wait = min(wait, rec.stopAt.Sub(rec.r.now()))
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d)-cfg.CommitReserve)
	}
	if wait <= 0 {
		return nil, nil
	}
	callCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	evs, err := rec.src.ReceiveEvents(callCtx, cfg.MaxEvents)
	if cerr := ctx.Err(); cerr != nil {
		return nil, fmt.Errorf("eventhubs: receive partition %s: %w", rec.partition, cerr)
	}
	if err != nil {
		if callCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, nil // nothing arrived within the wait: drained for now
		}
		return nil, fmt.Errorf("eventhubs: receive partition %s: %w", rec.partition, err)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	msgs := make([]model.AuditMessage, len(evs))
	for i, e := range evs {
		msgs[i] = model.AuditMessage{
			Body:     e.Body,
			Position: fmt.Sprintf("partition %s offset %s seq %d", rec.partition, e.Offset, e.SequenceNumber),
		}
	}
	last := evs[len(evs)-1]
	rec.pending = &last
	return msgs, nil
}

// behind tells whether the partition may hold events after the checkpoint
// the run started at. It errs towards yes (a longer first wait), never
// towards no: sequence numbers are compared for equality only, so that one
// that went backwards (a geo-replication failover) still counts as new.
func (rec *receiver) behind(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, rec.r.cfg.OpenWait)
	defer cancel()
	tail, err := rec.r.hub.Tail(ctx, rec.partition)
	switch {
	case err != nil:
		return true
	case tail.Empty:
		return false
	case rec.from == nil || rec.from.SequenceNumber == nil:
		return true
	}
	return tail.SequenceNumber != *rec.from.SequenceNumber
}

// Commit stores the position of the last event Next returned as the
// partition's checkpoint; with nothing new returned it writes nothing.
func (rec *receiver) Commit(ctx context.Context) error {
	if rec.pending == nil {
		return nil
	}
	cfg := &rec.r.cfg
	cp := azeventhubs.Checkpoint{
		FullyQualifiedNamespace: cfg.Namespace, EventHubName: cfg.EventHub, ConsumerGroup: cfg.ConsumerGroup,
		PartitionID:    rec.partition,
		Offset:         to.Ptr(rec.pending.Offset),
		SequenceNumber: to.Ptr(rec.pending.SequenceNumber),
	}
	if err := rec.r.store.SetCheckpoint(ctx, cp, nil); err != nil {
		return err
	}
	rec.pending = nil
	return nil
}

// comparePartitions orders partition ids numerically when both are numbers
// (Event Hubs names them "0", "1", …), by text otherwise.
func comparePartitions(a, b string) int {
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		return len(a) - len(b)
	}
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
