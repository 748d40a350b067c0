// Package local runs the whole pipeline in one process: audit files stand in
// for Event Hubs, a directory snapshot for Microsoft Graph, in-process queues
// for SQS and a folder for DynamoDB. The handlers are the ones the Lambda
// functions run.
package local

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/credres/credres/internal/bounded"
	"github.com/credres/credres/pkg/model"
)

// FileReceiver yields audit files as audit messages, one batch in all.
type FileReceiver struct {
	msgs []model.AuditMessage
	done bool
	// Committed is true once the batch was checkpointed.
	Committed bool
}

// MaxAuditFileBytes is the largest audit file ReadAuditFiles reads: each
// file stands for one Event Hubs message (at most 1 MB), and is held whole.
var MaxAuditFileBytes int64 = 256 << 20

// ReadAuditFiles reads path (a file, or every .json file under a folder, in
// name order) from fsys, or from the operating system when fsys is nil.
func ReadAuditFiles(fsys fs.FS, path string) (*FileReceiver, error) {
	shown := func(f string) string { return f }
	if fsys == nil {
		dir := filepath.Dir(path)
		fsys, path = os.DirFS(dir), filepath.Base(path)
		shown = func(f string) string { return filepath.Join(dir, f) }
	}
	info, err := fs.Stat(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	var files []string
	if info.IsDir() {
		err := fs.WalkDir(fsys, path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".json") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		sort.Strings(files)
	} else {
		files = []string{path}
	}
	r := &FileReceiver{}
	for _, f := range files {
		data, err := readBounded(fsys, f, MaxAuditFileBytes)
		if err != nil {
			return nil, fmt.Errorf("events: %s: %w", shown(f), err)
		}
		r.msgs = append(r.msgs, model.AuditMessage{Body: data, Position: f})
	}
	return r, nil
}

// readBounded reads a file of at most limit bytes: a file that never ends
// (a device, a pipe) is an error, not a process out of memory.
func readBounded(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return bounded.ReadAll(f, limit)
}

// Next returns all files once, then nothing.
func (r *FileReceiver) Next(context.Context) ([]model.AuditMessage, error) {
	if r.done {
		return nil, nil
	}
	r.done = true
	return r.msgs, nil
}

// Commit records that the batch was handled.
func (r *FileReceiver) Commit(context.Context) error {
	r.Committed = true
	return nil
}

// SnapshotReader answers user reads from a directory snapshot.
type SnapshotReader struct {
	Dir *model.Directory
	// Reads counts the users read, as Graph reads would be counted.
	Reads int

	index *model.UserIndex // built at the first read
}

// ReadUsers returns each user of the snapshot, or ErrNotFound.
func (s *SnapshotReader) ReadUsers(_ context.Context, ids []string) []model.UserResult {
	if s.index == nil {
		s.index = s.Dir.Index()
	}
	out := make([]model.UserResult, len(ids))
	for i, id := range ids {
		s.Reads++
		u, ok := s.index.Find(id)
		if !ok {
			out[i].Err = fmt.Errorf("user %s: %w", id, model.ErrNotFound)
			continue
		}
		out[i].User = *u
	}
	return out
}

// Registrations walks the snapshot's users as the registration report would.
// A snapshot has no registration times, so a sweep over it finds new and
// stale users, never changed ones.
func (s *SnapshotReader) Registrations(_ context.Context, fn func(model.Registration) error) error {
	for _, u := range s.Dir.Users {
		if err := fn(model.Registration{UserID: u.ID, MethodsRegistered: u.MethodsRegistered}); err != nil {
			return err
		}
	}
	return nil
}
