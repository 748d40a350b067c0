package eventhubs

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// fakeHub is an in-memory hub. Its partitions hold events with sequence
// numbers from 0 and byte-like string offsets, as Event Hubs gives them. A
// receive returns the events already there at once (the real client would
// go on waiting for more until its context ends) and, with none, waits for
// its context to end and returns the context's error, as the real one does.
type fakeHub struct {
	mu     sync.Mutex
	ids    []string
	events map[string][]event
	// readers counts the open partition clients per partition; overlaps
	// counts the times a second one was opened beside a first.
	readers  map[string]int
	overlaps int
	opened   int
	// fail makes receives on a partition fail with the error.
	fail map[string]error
	// holdUntilDone makes a receive wait for its context to end before
	// returning what it has, like a real receive cut short by a deadline.
	holdUntilDone bool
	// linkDelay is how long the first receive of a partition client takes
	// to open its link before any event can arrive. A receive whose context
	// ends first abandons the link, and the next receive starts over, as
	// the SDK's does.
	linkDelay time.Duration
	// waits records, per partition, how long each receive was given.
	waits  map[string][]time.Duration
	closed bool
}

func newFakeHub(ids ...string) *fakeHub {
	return &fakeHub{ids: ids, events: map[string][]event{}, readers: map[string]int{}, fail: map[string]error{}, waits: map[string][]time.Duration{}}
}

// offsetOf gives sequence number n its offset: offsets grow with the bytes
// before the event, so they are not the sequence numbers.
func offsetOf(n int64) string { return strconv.FormatInt(4096+n*512, 10) }

// add appends events with the given bodies to a partition.
func (h *fakeHub) add(partition string, bodies ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range bodies {
		n := int64(len(h.events[partition]))
		h.events[partition] = append(h.events[partition], event{Body: []byte(b), Offset: offsetOf(n), SequenceNumber: n})
	}
}

// addN appends n events whose bodies name the partition and their index.
func (h *fakeHub) addN(partition string, n int) {
	for range n {
		h.mu.Lock()
		i := len(h.events[partition])
		h.mu.Unlock()
		h.add(partition, fmt.Sprintf(`{"records":[],"p":%q,"i":%d}`, partition, i))
	}
}

func (h *fakeHub) Partitions(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return append([]string(nil), h.ids...), nil
}

func (h *fakeHub) Tail(_ context.Context, partition string) (partitionTail, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	evs := h.events[partition]
	if len(evs) == 0 {
		return partitionTail{Empty: true, Offset: "-1", SequenceNumber: -1}, nil
	}
	last := evs[len(evs)-1]
	return partitionTail{Offset: last.Offset, SequenceNumber: last.SequenceNumber}, nil
}

func (h *fakeHub) NewPartitionClient(partition string, start azeventhubs.StartPosition) (partitionSource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	evs := h.events[partition]
	var cursor int
	switch {
	case start.Offset != nil:
		cursor = -1
		for i, e := range evs {
			if e.Offset == *start.Offset {
				cursor = i + 1
				if start.Inclusive {
					cursor = i
				}
			}
		}
		if cursor < 0 {
			return nil, fmt.Errorf("fake: partition %s has no offset %s", partition, *start.Offset)
		}
	case start.SequenceNumber != nil:
		cursor = int(*start.SequenceNumber) + 1
		if start.Inclusive {
			cursor--
		}
	case start.Latest != nil && *start.Latest:
		cursor = len(evs)
	case start.Earliest != nil && *start.Earliest:
		cursor = 0
	default:
		return nil, fmt.Errorf("fake: partition %s: no start position", partition)
	}
	h.readers[partition]++
	h.opened++
	if h.readers[partition] > 1 {
		h.overlaps++
	}
	return &fakeSource{hub: h, partition: partition, cursor: cursor}, nil
}

func (h *fakeHub) Close(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	return nil
}

func (h *fakeHub) overlapCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.overlaps
}

// lastWait is how long the last receive on the partition was given.
func (h *fakeHub) lastWait(partition string) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.waits[partition]
	if len(w) == 0 {
		return 0
	}
	return w[len(w)-1]
}

func (h *fakeHub) openReaders() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.readers {
		n += c
	}
	return n
}

type fakeSource struct {
	hub       *fakeHub
	partition string
	cursor    int
	linked    bool
	closed    bool
}

func (s *fakeSource) take(n int) ([]event, error) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("fake: partition client %s is closed", s.partition)
	}
	if err := h.fail[s.partition]; err != nil {
		return nil, err
	}
	evs := h.events[s.partition]
	if s.cursor >= len(evs) {
		return nil, nil
	}
	end := min(s.cursor+n, len(evs))
	out := append([]event(nil), evs[s.cursor:end]...)
	s.cursor = end
	return out, nil
}

func (s *fakeSource) ReceiveEvents(ctx context.Context, n int) ([]event, error) {
	s.hub.mu.Lock()
	hold, delay := s.hub.holdUntilDone, s.hub.linkDelay
	if d, ok := ctx.Deadline(); ok {
		s.hub.waits[s.partition] = append(s.hub.waits[s.partition], time.Until(d))
	}
	s.hub.mu.Unlock()
	if !s.linked && delay > 0 {
		link := time.NewTimer(delay)
		defer link.Stop()
		select {
		case <-link.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.linked = true
	if hold {
		<-ctx.Done()
	}
	evs, err := s.take(n)
	if err != nil || len(evs) > 0 {
		return evs, err
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *fakeSource) Close(context.Context) error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.hub.readers[s.partition]--
	}
	return nil
}

// clock is a settable time source shared by the receivers and the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 18, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
