package store

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/credres/credres/internal/jsonstr"
	"github.com/credres/credres/pkg/model"
)

// journalName is the file store's journal: one JSON object per line, each
// a user's whole state, the nudges appended to a user's history since
// their last line, or one claim; a later line about the same user or claim
// key replaces what the earlier said (or, for nudges, adds to it). Lines are only appended,
// each batch's in one write; the journal is rewritten whole (through a
// temporary file and a rename) only when most of its lines are stale.
const journalName = "journal.jsonl"

// journalRecord is one line of the journal.
type journalRecord struct {
	User   *userFile   `json:"user,omitempty"`
	Nudged *nudgedLine `json:"nudged,omitempty"`
	Claim  *claimFile  `json:"claim,omitempty"`
}

// nudgedLine says that nudges at these times, oldest first, were appended
// to the user's history, nothing else changing: the nudge stage's change,
// a line of a hundred bytes instead of the user's whole state and last
// assessment.
type nudgedLine struct {
	UserID string      `json:"userId"`
	At     []time.Time `json:"at"`
}

// compactSlack is how many stale lines the journal may hold, beyond as
// many as it has live records, before it is rewritten.
const compactSlack = 4096

// journal is the open journal file.
type journal struct {
	path string
	f    *os.File
	// size is the length of the journal's whole lines: a failed append
	// is cut back to it.
	size int64
	// lines is how many lines the journal holds, stale ones included.
	lines int
	// err, once set, fails every later append: the journal could not be
	// restored after a failed write.
	err error
	// buf is the last append's lines, reused.
	buf []byte
}

// append writes records as lines, in one write. On failure the journal is
// cut back to its length before, so it never keeps part of a batch that
// was reported as failed.
func (j *journal) append(records []journalRecord) error {
	if j.err != nil {
		return j.err
	}
	buf := j.buf[:0]
	for i := range records {
		var err error
		if buf, err = appendRecord(buf, &records[i]); err != nil {
			return err
		}
		buf = append(buf, '\n')
	}
	if _, err := j.f.Write(buf); err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			j.err = fmt.Errorf("journal %s could not be restored after a failed write: %w", j.path, terr)
		}
		return err
	}
	j.size += int64(len(buf))
	j.lines += len(records)
	if cap(buf) <= 1<<20 {
		j.buf = buf
	}
	return nil
}

// appendRecord appends r's line as json.Marshal writes it. Claims, nudges
// and users' states are written out by hand; a time out of RFC 3339's years
// (which json.Marshal refuses) and a ticket are left to encoding/json.
func appendRecord(out []byte, r *journalRecord) ([]byte, error) {
	b := out
	switch {
	case r.User == nil && r.Nudged == nil && r.Claim != nil:
		b = jsonstr.Append(append(b, `{"claim":{"key":`...), r.Claim.Key, true)
		b = append(b, `,"done":`...)
		b = strconv.AppendBool(b, r.Claim.Done)
		b = append(b, `,"expires":"`...)
		var err error
		if b, err = r.Claim.Expires.AppendText(b); err == nil {
			return append(b, `"}}`...), nil
		}
	case r.User == nil && r.Nudged != nil && r.Claim == nil && r.Nudged.At != nil:
		b = jsonstr.Append(append(b, `{"nudged":{"userId":`...), r.Nudged.UserID, true)
		b = append(b, `,"at":[`...)
		var err error
		for i, at := range r.Nudged.At {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			if b, err = at.AppendText(b); err != nil {
				break
			}
			b = append(b, '"')
		}
		if err == nil {
			return append(b, "]}}"...), nil
		}
	case r.User != nil && r.Nudged == nil && r.Claim == nil:
		if b, ok := appendUser(b, r.User); ok {
			return b, nil
		}
	}
	line, err := json.Marshal(r)
	return append(out, line...), err
}

// appendUser appends a user's line as json.Marshal writes it; ok is false
// for what it leaves to encoding/json: a ticket (rare), a time out of RFC
// 3339's years.
func appendUser(b []byte, f *userFile) (_ []byte, ok bool) {
	if f.Ticket != nil {
		return b, false
	}
	b = jsonstr.Append(append(b, `{"user":{"userId":`...), f.UserID, true)
	if f.Assessment != nil {
		if b, ok = model.AppendAssessment(append(b, `,"assessment":`...), f.Assessment); !ok {
			return b, false
		}
	}
	times := func(key string, ts ...time.Time) {
		b = append(b, key...)
		for i, t := range ts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			var err error
			if b, err = t.AppendText(b); err != nil {
				ok = false
				return
			}
			b = append(b, '"')
		}
	}
	ok = true
	if !f.ObservedAt.IsZero() {
		times(`,"observedAt":`, f.ObservedAt)
	}
	if !f.Since.IsZero() {
		times(`,"since":`, f.Since)
	}
	h := &f.History
	b = append(b, `,"history":{`...)
	sep := ""
	if len(h.Nudges) > 0 {
		times(`"nudges":[`, h.Nudges...)
		b, sep = append(b, ']'), ","
	}
	if h.TicketOpen {
		b, sep = append(append(b, sep...), `"ticketOpen":true`...), ","
	}
	if !h.SnoozedUntil.IsZero() {
		times(sep+`"snoozedUntil":`, h.SnoozedUntil)
	}
	return append(b, "}}}"...), ok
}

func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// replay reads the journal into the store's users and claims. A last line
// without its newline, or that is not a whole record, is what a crash in
// the middle of an append leaves: it is dropped (the journal is cut back
// to the lines before it), as a rename that never happened left the
// previous file. Any other line that cannot be read is an error.
func (s *FileStore) replay() error {
	path := filepath.Join(s.dir, journalName)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var good int64
	for n := 1; len(data) > 0; n++ {
		line, rest, whole := bytes.Cut(data, []byte("\n"))
		var r journalRecord
		err := json.Unmarshal(line, &r)
		if err == nil && r.User == nil && r.Nudged == nil && r.Claim == nil {
			err = errors.New("neither a user, nudges nor a claim")
		}
		if !whole || (err != nil && len(rest) == 0) {
			break // the tail of an append a crash cut short
		}
		if err != nil {
			return fmt.Errorf("%s line %d: %w", journalName, n, err)
		}
		s.apply(r)
		good += int64(len(line)) + 1
		s.j.lines++
		data = rest
	}
	s.j.path, s.j.size = path, good
	if st, err := os.Stat(path); err == nil && st.Size() > good {
		return os.Truncate(path, good)
	}
	return nil
}

func (s *FileStore) apply(r journalRecord) {
	if r.User != nil {
		s.users[r.User.UserID] = *r.User
	}
	if n := r.Nudged; n != nil {
		f, ok := s.users[n.UserID]
		if !ok {
			f.UserID = n.UserID
		}
		for _, at := range n.At {
			f.History.Nudges = appendNudge(f.History.Nudges, at)
		}
		s.users[n.UserID] = f
	}
	if r.Claim != nil {
		s.claims[r.Claim.Key] = *r.Claim
	}
}

// readLegacy reads the one-file-per-user and one-file-per-claim layout of
// earlier versions (users/<hash>.json, claims/<hash>.json) and returns
// the files read; the journal's lines, newer, are applied over them.
func (s *FileStore) readLegacy() ([]string, error) {
	var files []string
	for _, sub := range []string{"users", "claims"} {
		names, err := filepath.Glob(filepath.Join(s.dir, sub, "*.json"))
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			var r journalRecord
			if sub == "users" {
				r.User = new(userFile)
				_, err = s.readJSON(name, r.User)
			} else {
				r.Claim = new(claimFile)
				_, err = s.readJSON(name, r.Claim)
			}
			if err != nil {
				return nil, err
			}
			if (r.User != nil && r.User.UserID == "") || (r.Claim != nil && r.Claim.Key == "") {
				return nil, fmt.Errorf("%s names no user or key", name)
			}
			s.apply(r)
			files = append(files, name)
		}
	}
	return files, nil
}

// stale says whether the journal holds more stale lines than it may.
func (s *FileStore) stale() bool {
	return s.j.lines > 2*(len(s.users)+len(s.claims))+s.compactSlack
}

// compact rewrites the journal with one line per user and per live claim
// (a claim past its expiry is as good as none), through a temporary file
// and a rename: a crash leaves the old journal or the new one, both whole.
func (s *FileStore) compact() error {
	now := s.now()
	records := make([]journalRecord, 0, len(s.users)+len(s.claims))
	for _, id := range sortedKeys(s.users) {
		f := s.users[id]
		records = append(records, journalRecord{User: &f})
	}
	for _, key := range sortedKeys(s.claims) {
		c := s.claims[key]
		if !now.Before(c.Expires) {
			delete(s.claims, key)
			continue
		}
		records = append(records, journalRecord{Claim: &c})
	}
	tmp := journal{path: s.j.path + ".tmp"}
	var err error
	if tmp.f, err = os.OpenFile(tmp.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644); err != nil {
		return err
	}
	err = tmp.append(records)
	if cerr := tmp.close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.path, s.j.path)
	}
	if err != nil {
		os.Remove(tmp.path)
		return err
	}
	if err := s.j.close(); err != nil {
		return err
	}
	s.j.size, s.j.lines = tmp.size, tmp.lines
	return s.openJournal()
}

// openJournal opens the journal for appending.
func (s *FileStore) openJournal() error {
	f, err := os.OpenFile(s.j.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.j.err = err
		return err
	}
	s.j.f, s.j.err = f, nil
	return nil
}

// compactIfStale compacts a journal grown stale. It only saves space: on
// failure the journal stays as it is, whole, and compaction is tried again
// once as many lines again have been appended.
func (s *FileStore) compactIfStale() {
	if !s.stale() {
		return
	}
	if err := s.compact(); err != nil {
		s.compactSlack += s.j.lines
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(a, b) })
	return keys
}

// removeLegacy deletes the earlier layout's files once the journal holds
// what they said.
func removeLegacy(files []string) error {
	var errs []error
	for _, name := range files {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
