// Package notify delivers what the pipeline decided: nudges to users and
// ticket events to helpdesks. Outbox writes them as JSON Lines files, which
// is how the local runner shows what would have been sent.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/credres/credres/pkg/model"
)

// Outbox appends delivered messages to <dir>/nudges.jsonl and
// <dir>/tickets.jsonl, one JSON object per line. Each file is opened at its
// first line and kept open, in append mode, until Close: a line is one
// write, never a partial one beside another's.
type Outbox struct {
	dir   string
	mu    sync.Mutex
	files map[string]*os.File
	// buf is the last nudge line, reused for the next.
	buf []byte
}

// OpenOutbox creates dir if needed.
func OpenOutbox(dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Outbox{dir: dir, files: map[string]*os.File{}}, nil
}

// Close closes the files the outbox holds open; a later line opens its
// file again.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	for name, f := range o.files {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("outbox: close %s: %w", name, err))
		}
		delete(o.files, name)
	}
	return errors.Join(errs...)
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
	return o.write(name, append(line, '\n'))
}

// appendNudge appends rec's line, written out by hand when it can be
// (appendNudgeLine), into a buffer the outbox reuses.
func (o *Outbox) appendNudge(rec *model.NudgeRecord) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	line, ok := appendNudgeLine(o.buf[:0], rec)
	if !ok {
		data, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("outbox: encode: %w", err)
		}
		line = append(o.buf[:0], data...)
	}
	line = append(line, '\n')
	if cap(line) <= 1<<20 {
		o.buf = line
	}
	return o.write(NudgesFile, line)
}

// write writes one line to the named file, opening it at its first line.
func (o *Outbox) write(name string, line []byte) error {
	var err error
	f := o.files[name]
	if f == nil {
		f, err = os.OpenFile(filepath.Join(o.dir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		o.files[name] = f
	}
	if _, err := f.Write(line); err != nil {
		// The next line opens the file again.
		f.Close()
		delete(o.files, name)
		return fmt.Errorf("outbox: write %s: %w", name, err)
	}
	return nil
}

// SendNudge appends a nudge line.
func (o *Outbox) SendNudge(_ context.Context, _ model.DecisionMessage, rec model.NudgeRecord) error {
	return o.appendNudge(&rec)
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
