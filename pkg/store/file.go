// Package store keeps credres's durable state: each user's last assessment,
// nudge history and ticket, and the claims that make delivery idempotent.
// FileStore keeps it in a local folder for the local runner; DynamoDB keeps
// it in Amazon DynamoDB for the Lambda functions. Both satisfy the same
// pipeline interfaces and the same contract tests.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/credres/credres/pkg/model"
)

// FileStore keeps state as JSON files under a folder:
//
//	users/<hash of user id>.json   model.UserState
//	claims/<hash of key>.json      delivery claims with their expiry
//
// It serialises access within one process; the local runner is one process.
// While open it is the folder's only writer, so it keeps the users' states
// it has read or written and reads each file at most once.
//
// Between Hold and Flush, changes to users' state stay in memory and Flush
// writes each changed user's file once: the local runner holds a batch's
// changes, so a user named by ten events of a batch costs one write, not
// one per change. Claims are always written at once: they guard deliveries.
type FileStore struct {
	dir string
	now func() time.Time
	mu  sync.Mutex
	// held is the users changed since Hold, nil when not holding.
	held map[string]userFile
	// known is each user's state as this store last read or wrote it.
	known map[string]userFile
}

// OpenFileStore opens (creating if needed) a store under dir. now is the
// clock that claims expire by.
func OpenFileStore(dir string, now func() time.Time) (*FileStore, error) {
	for _, sub := range []string{"users", "claims"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", dir, err)
		}
	}
	return &FileStore{dir: dir, now: now}, nil
}

func fileName(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16]) + ".json"
}

func (s *FileStore) userPath(id string) string { return filepath.Join(s.dir, "users", fileName(id)) }

func (s *FileStore) readJSON(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return true, nil
}

// writeJSON writes through a temporary file and a rename, so that a crash
// never leaves half a file.
func (s *FileStore) writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

type userFile struct {
	UserID string `json:"userId"`
	model.UserState
}

// clone copies what a caller could change in place, so that a held state
// is changed only through the store, as a file is.
func (f userFile) clone() userFile {
	if a := f.Assessment; a != nil {
		c := *a
		f.Assessment = &c
	}
	if t := f.Ticket; t != nil {
		c := *t
		f.Ticket = &c
	}
	f.History.Nudges = slices.Clone(f.History.Nudges)
	return f
}

func (s *FileStore) load(id string) (userFile, error) {
	if f, ok := s.held[id]; ok {
		return f.clone(), nil
	}
	if f, ok := s.known[id]; ok {
		return f.clone(), nil
	}
	var f userFile
	if _, err := s.readJSON(s.userPath(id), &f); err != nil {
		return f, fmt.Errorf("store: load user %s: %w", id, err)
	}
	f.UserID = id
	s.remember(f)
	return f.clone(), nil
}

func (s *FileStore) remember(f userFile) {
	if s.known == nil {
		s.known = map[string]userFile{}
	}
	s.known[f.UserID] = f.clone()
}

func (s *FileStore) save(f userFile) error {
	if s.held != nil {
		s.held[f.UserID] = f
		return nil
	}
	if err := s.writeJSON(s.userPath(f.UserID), f); err != nil {
		delete(s.known, f.UserID) // the file may or may not have changed
		return fmt.Errorf("store: save user %s: %w", f.UserID, err)
	}
	s.remember(f)
	return nil
}

func (s *FileStore) update(id string, change func(*model.UserState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(id)
	if err != nil {
		return err
	}
	if err := change(&f.UserState); err != nil {
		return err
	}
	return s.save(f)
}

// Hold keeps users' changes in memory until Flush.
func (s *FileStore) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = map[string]userFile{}
	}
}

// Flush writes every user changed since Hold, each once, and stops holding.
// A user whose file could not be written stays held, so a later Flush
// tries again.
func (s *FileStore) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := s.held
	s.held = nil
	var errs []error
	for id, f := range held {
		if err := s.save(f); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(held, id)
	}
	if len(held) > 0 {
		s.held = held
	}
	return errors.Join(errs...)
}

// LoadUser returns the user's state; a user never seen has the zero state.
func (s *FileStore) LoadUser(_ context.Context, userID string) (model.UserState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(userID)
	return f.UserState, err
}

// SaveAssessment stores a and since when observedAt is newer than the
// stored version.
func (s *FileStore) SaveAssessment(_ context.Context, userID string, a model.Assessment, observedAt, since time.Time) error {
	return s.update(userID, func(st *model.UserState) error {
		if !st.ObservedAt.IsZero() && !observedAt.After(st.ObservedAt) {
			return fmt.Errorf("store: save assessment %s: %w: stored %s is not older than %s", userID, model.ErrConflict,
				st.ObservedAt.Format(time.RFC3339Nano), observedAt.Format(time.RFC3339Nano))
		}
		st.Assessment, st.ObservedAt, st.Since = &a, observedAt, since
		return nil
	})
}

// RecordNudge appends a nudge to the user's history.
func (s *FileStore) RecordNudge(_ context.Context, userID string, at time.Time) error {
	return s.update(userID, func(st *model.UserState) error {
		st.History.Nudges = appendNudge(st.History.Nudges, at)
		return nil
	})
}

// ClearNudges ends the user's nudge episode.
func (s *FileStore) ClearNudges(_ context.Context, userID string) error {
	return s.update(userID, func(st *model.UserState) error {
		st.History.Nudges = nil
		return nil
	})
}

// SetTicket stores the user's ticket and mirrors its status in the history.
func (s *FileStore) SetTicket(_ context.Context, userID string, t *model.Ticket) error {
	return s.update(userID, func(st *model.UserState) error {
		st.Ticket = t
		st.History.TicketOpen = t != nil && t.Status == model.TicketOpen
		return nil
	})
}

// SetSnooze suppresses the user's nudges until the given time.
func (s *FileStore) SetSnooze(_ context.Context, userID string, until time.Time) error {
	return s.update(userID, func(st *model.UserState) error {
		st.History.SnoozedUntil = until
		return nil
	})
}

// ObservedAt returns when each known user was last assessed.
func (s *FileStore) ObservedAt(ctx context.Context, userIDs []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(userIDs))
	for _, id := range userIDs {
		st, err := s.LoadUser(ctx, id)
		if err != nil {
			return nil, err
		}
		if !st.ObservedAt.IsZero() {
			out[id] = st.ObservedAt
		}
	}
	return out, nil
}

type claimFile struct {
	Key     string    `json:"key"`
	Done    bool      `json:"done"`
	Expires time.Time `json:"expires"`
}

// Claim takes key for lease unless it is done or held by a live claim.
func (s *FileStore) Claim(_ context.Context, key string, lease time.Duration) (model.ClaimResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := filepath.Join(s.dir, "claims", fileName(key))
	var c claimFile
	found, err := s.readJSON(path, &c)
	if err != nil {
		return 0, fmt.Errorf("store: claim %s: %w", key, err)
	}
	now := s.now()
	if found && now.Before(c.Expires) {
		if c.Done {
			return model.AlreadyDone, nil
		}
		return model.InProgress, nil
	}
	if err := s.writeJSON(path, claimFile{Key: key, Expires: now.Add(lease)}); err != nil {
		return 0, fmt.Errorf("store: claim %s: %w", key, err)
	}
	return model.Claimed, nil
}

// Complete marks key done for retention.
func (s *FileStore) Complete(_ context.Context, key string, retention time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := filepath.Join(s.dir, "claims", fileName(key))
	if err := s.writeJSON(path, claimFile{Key: key, Done: true, Expires: s.now().Add(retention)}); err != nil {
		return fmt.Errorf("store: complete %s: %w", key, err)
	}
	return nil
}

// maxNudgeHistory bounds the history kept per user: escalation looks at a
// window of a few nudges, and a user ignoring credres for years must not
// grow without bound.
const maxNudgeHistory = 20

func appendNudge(ns []time.Time, at time.Time) []time.Time {
	ns = append(ns, at)
	if len(ns) > maxNudgeHistory {
		ns = ns[len(ns)-maxNudgeHistory:]
	}
	return ns
}
