package local

import (
	"context"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// Chain yields the messages of each receiver in turn, as one Event Hubs
// partition carrying all of them would: the sample audit records and the
// sample sign-ins, for instance.
func Chain(rs ...pipeline.AuditReceiver) pipeline.AuditReceiver {
	return &chain{rs: rs}
}

type chain struct {
	rs []pipeline.AuditReceiver
	// read are the receivers Next has returned messages from since the
	// last commit.
	read []pipeline.AuditReceiver
}

// Next returns the current receiver's next messages, moving on to the next
// receiver when it is drained.
func (c *chain) Next(ctx context.Context) ([]model.AuditMessage, error) {
	for len(c.rs) > 0 {
		msgs, err := c.rs[0].Next(ctx)
		if err != nil {
			return nil, err
		}
		if len(msgs) > 0 {
			if n := len(c.read); n == 0 || c.read[n-1] != c.rs[0] {
				c.read = append(c.read, c.rs[0])
			}
			return msgs, nil
		}
		c.rs = c.rs[1:]
	}
	return nil, nil
}

// Commit checkpoints every receiver that returned messages since the last
// commit.
func (c *chain) Commit(ctx context.Context) error {
	for _, r := range c.read {
		if err := r.Commit(ctx); err != nil {
			return err
		}
	}
	c.read = c.read[:0]
	return nil
}
