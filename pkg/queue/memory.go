// Package queue carries evaluation requests and decisions between the
// pipeline's stages: Memory in one process (the local runner, tests), SQS
// between Lambda functions. Both deduplicate like an SQS FIFO queue.
package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// Memory is an in-process FIFO queue with deduplication by id, for the local
// runner. Unlike SQS its deduplication never expires: one run of the local
// runner is one window.
type Memory struct {
	mu   sync.Mutex
	msgs []pipeline.Message
	seen map[string]bool
	next int
	// scratch is where decisions are encoded before being copied out.
	scratch []byte
}

// NewMemory returns an empty queue.
func NewMemory() *Memory { return &Memory{seen: map[string]bool{}} }

func (q *Memory) push(group, dedup string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("queue: encode: %w", err)
	}
	q.pushBody(group, dedup, data)
	return nil
}

func (q *Memory) pushBody(group, dedup string, data []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.seen[dedup] {
		return
	}
	q.seen[dedup] = true
	q.next++
	q.msgs = append(q.msgs, pipeline.Message{ID: "m" + strconv.Itoa(q.next), GroupID: group, Body: data})
}

// SendRequests enqueues evaluation requests, one group per user.
func (q *Memory) SendRequests(_ context.Context, reqs []model.EvaluationRequest) error {
	for _, r := range reqs {
		if err := q.push(r.UserID, r.DeduplicationID(), r); err != nil {
			return err
		}
	}
	return nil
}

// SendDecisions enqueues decisions, one group per user, in the bodies SQS
// would carry (model.AppendDecisionMessage writes what json.Marshal does).
func (q *Memory) SendDecisions(_ context.Context, ds []model.DecisionMessage) error {
	for i := range ds {
		d := &ds[i]
		data, err := q.encode(d)
		if err != nil {
			return fmt.Errorf("queue: encode: %w", err)
		}
		q.pushBody(d.Decision.UserID, d.ID, data)
	}
	return nil
}

// encode encodes d into the queue's scratch buffer and returns a copy of
// just its length: a body grown in place would be allocated several
// times over.
func (q *Memory) encode(d *model.DecisionMessage) ([]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var err error
	if q.scratch, err = model.AppendDecisionMessage(q.scratch[:0], d); err != nil {
		return nil, err
	}
	return bytes.Clone(q.scratch), nil
}

// Receive removes and returns up to max messages (all when max <= 0),
// counting the delivery in each one's ReceiveCount as SQS does.
func (q *Memory) Receive(max int) []pipeline.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.msgs)
	if max > 0 && max < n {
		n = max
	}
	out := append([]pipeline.Message(nil), q.msgs[:n]...)
	for i := range out {
		out[i].ReceiveCount++
	}
	q.msgs = q.msgs[n:]
	return out
}

// Return puts messages back at the front, as SQS makes failed messages
// visible again; their ReceiveCount goes on from what it was. Returning none costs nothing: the local runner returns
// after every batch.
func (q *Memory) Return(msgs []pipeline.Message) {
	if len(msgs) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(append([]pipeline.Message(nil), msgs...), q.msgs...)
}

// Len is the number of messages waiting.
func (q *Memory) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}
