// Package notify delivers what the pipeline decided: nudges to users and
// ticket events to helpdesks. Outbox writes them as JSON Lines files, which
// is how the local runner shows what would have been sent.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/credres/credres/pkg/model"
)

// Outbox appends delivered messages to <dir>/nudges.jsonl and
// <dir>/tickets.jsonl, one JSON object per line.
type Outbox struct {
	dir string
	mu  sync.Mutex
}

// OpenOutbox creates dir if needed.
func OpenOutbox(dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Outbox{dir: dir}, nil
}

// NudgesFile and TicketsFile are the outbox files' names.
const (
	NudgesFile  = "nudges.jsonl"
	TicketsFile = "tickets.jsonl"
)

func (o *Outbox) append(name string, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("outbox: encode: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(o.dir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("outbox: write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("outbox: write %s: %w", name, err)
	}
	return nil
}

// SendNudge appends a nudge line.
func (o *Outbox) SendNudge(_ context.Context, _ model.DecisionMessage, rec model.NudgeRecord) error {
	return o.append(NudgesFile, rec)
}

// SendTicket appends a ticket line.
func (o *Outbox) SendTicket(_ context.Context, _ model.DecisionMessage, rec model.TicketRecord) error {
	return o.append(TicketsFile, rec)
}

// DryRunFile holds what a dry run would have sent.
const DryRunFile = "dry-run.jsonl"

// RecordDryRun appends an intended message, with its full content, to
// <dir>/dry-run.jsonl.
func (o *Outbox) RecordDryRun(_ context.Context, kind string, record any) error {
	return o.append(DryRunFile, struct {
		Kind   string `json:"kind"`
		Record any    `json:"record"`
	}{kind, record})
}
