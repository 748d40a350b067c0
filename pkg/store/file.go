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

// FileStore keeps state under a folder:
//
//	journal.jsonl                   users' states, their nudges and delivery claims, one JSON object per line
//	usage/<hash of user id>.json    model.MethodUsage per user
//	policy-changes.json             the tenant's policy changes
//
// The journal is appended to: each change is one line holding the user's
// whole state (or the claim), and a later line replaces an earlier one;
// nudges appended to a user's history, the nudge stage's only change, are
// a line of their own that adds them to the user's last state.
// Opening the store reads it whole; the store then keeps every user's
// state and claim in memory and is the folder's only writer. It serialises
// access within one process; the local runner is one process.
//
// Between Hold and Flush, changes to users' state stay in memory and Flush
// appends each changed user's line once, the whole batch in one write: a
// batch of ten events costs one write, not one file per user. Claims are
// always written at once, one line each: they guard deliveries.
//
// Crashes: nothing is synced to the disk (as before, when every user and
// claim had its own file renamed into place), so what a crash of the
// process leaves is what was written. A crash in the middle of Flush
// leaves the batch's lines written before it, whole, and at most one line
// cut short, which the next Open drops: those users keep their state from
// before the batch, and the local runner delivers the batch again, as it
// does when Flush fails. A claim's line is written before the delivery it
// guards. A folder of the earlier layout (users/<hash>.json,
// claims/<hash>.json) is read once and folded into the journal.
type FileStore struct {
	dir string
	now func() time.Time
	mu  sync.Mutex
	// held is the users changed since Hold, nil when not holding.
	held map[string]heldUser
	// users is each user's state as written to the journal.
	users map[string]userFile
	// claims is each claim as written to the journal.
	claims map[string]claimFile
	j      journal
	// compactSlack is how many stale lines the journal may hold beyond
	// its live records before it is rewritten.
	compactSlack int
}

// OpenFileStore opens (creating if needed) a store under dir. now is the
// clock that claims expire by.
func OpenFileStore(dir string, now func() time.Time) (*FileStore, error) {
	s := &FileStore{dir: dir, now: now, users: map[string]userFile{}, claims: map[string]claimFile{}, compactSlack: compactSlack}
	if err := s.open(); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	return s, nil
}

// open reads the earlier layout's files and the journal, rewrites the
// journal when it holds them or is mostly stale, and opens it for
// appending. The users folder stays: it marks a state folder.
func (s *FileStore) open() error {
	if err := os.MkdirAll(filepath.Join(s.dir, "users"), 0o755); err != nil {
		return err
	}
	legacy, err := s.readLegacy()
	if err != nil {
		return err
	}
	if err := s.replay(); err != nil {
		return err
	}
	if len(legacy) > 0 || s.stale() {
		if err := s.compact(); err != nil {
			return err
		}
		return removeLegacy(legacy)
	}
	return s.openJournal()
}

// Close closes the journal. The store is not used after.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.j.close()
}

func fileName(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16]) + ".json"
}

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

// heldUser is a user's state changed since Hold, and how its line is to be
// written.
type heldUser struct {
	f userFile
	// nudges, unless whole, are all that changed since the user's last
	// line: nudges appended to the history, which a line of their own
	// says in a few bytes instead of the whole state.
	nudges []time.Time
	whole  bool
}

// record is the journal line that brings the user's last line to h.
func (h heldUser) record() journalRecord {
	if h.whole {
		return journalRecord{User: &h.f}
	}
	return journalRecord{Nudged: &nudgedLine{UserID: h.f.UserID, At: h.nudges}}
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

func (s *FileStore) load(id string) userFile {
	if h, ok := s.held[id]; ok {
		return h.f.clone()
	}
	f, ok := s.users[id]
	if !ok {
		f.UserID = id
	}
	return f.clone()
}

// save stores f; nudged, when not nil, is the only change made to the
// stored state: a nudge at that time appended to the history.
func (s *FileStore) save(f userFile, nudged *time.Time) error {
	h, held := s.held[f.UserID]
	if !held {
		h.whole = nudged == nil
	}
	h.f = f
	if nudged != nil && !h.whole {
		h.nudges = append(h.nudges, *nudged)
	} else {
		h.whole, h.nudges = true, nil
	}
	if s.held != nil {
		s.held[f.UserID] = h
		return nil
	}
	if err := s.j.append([]journalRecord{h.record()}); err != nil {
		return fmt.Errorf("store: save user %s: %w", f.UserID, err)
	}
	s.users[f.UserID] = f
	s.compactIfStale()
	return nil
}

func (s *FileStore) update(id string, change func(*model.UserState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.load(id)
	if err := change(&f.UserState); err != nil {
		return err
	}
	return s.save(f, nil)
}

// Hold keeps users' changes in memory until Flush.
func (s *FileStore) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = map[string]heldUser{}
	}
}

// Flush appends every user changed since Hold to the journal, each once,
// in one write, and stops holding. When the write fails, no user's change
// is kept on disk and all stay held, so a later Flush tries again.
func (s *FileStore) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := s.held
	s.held = nil
	if len(held) == 0 {
		return nil
	}
	records := make([]journalRecord, 0, len(held))
	for _, id := range sortedKeys(held) {
		records = append(records, held[id].record())
	}
	if err := s.j.append(records); err != nil {
		s.held = held
		return fmt.Errorf("store: save %d users: %w", len(held), err)
	}
	for id, h := range held {
		s.users[id] = h.f
	}
	s.compactIfStale()
	return nil
}

// LoadUser returns the user's state; a user never seen has the zero state.
func (s *FileStore) LoadUser(_ context.Context, userID string) (model.UserState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(userID).UserState, nil
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

// RecordNudge appends a nudge to the user's history; the journal's line
// says only that.
func (s *FileStore) RecordNudge(_ context.Context, userID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.load(userID)
	f.History.Nudges = appendNudge(f.History.Nudges, at)
	return s.save(f, &at)
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
	now := s.now()
	if c, found := s.claims[key]; found && now.Before(c.Expires) {
		if c.Done {
			return model.AlreadyDone, nil
		}
		return model.InProgress, nil
	}
	if err := s.putClaim(claimFile{Key: key, Expires: now.Add(lease)}); err != nil {
		return 0, fmt.Errorf("store: claim %s: %w", key, err)
	}
	return model.Claimed, nil
}

// Complete marks key done for retention.
func (s *FileStore) Complete(_ context.Context, key string, retention time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.putClaim(claimFile{Key: key, Done: true, Expires: s.now().Add(retention)}); err != nil {
		return fmt.Errorf("store: complete %s: %w", key, err)
	}
	return nil
}

// putClaim appends the claim's line at once.
func (s *FileStore) putClaim(c claimFile) error {
	if err := s.j.append([]journalRecord{{Claim: &c}}); err != nil {
		return err
	}
	s.claims[c.Key] = c
	s.compactIfStale()
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
