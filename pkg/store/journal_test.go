package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/fill"
	"github.com/credres/credres/pkg/model"
)

// journalLines counts the journal's lines about user id.
func journalLines(t *testing.T, dir, id string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, journalName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	n := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		var r journalRecord
		if json.Unmarshal(line, &r) == nil && r.User != nil && r.User.UserID == id {
			n++
		}
	}
	return n
}

func openAt(t *testing.T, dir string, now time.Time) *FileStore {
	t.Helper()
	s, err := OpenFileStore(dir, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func diversity(t *testing.T, s *FileStore, id string) int {
	t.Helper()
	st, err := s.LoadUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Assessment == nil {
		return -1
	}
	return st.Assessment.Diversity
}

// A crash in the middle of Flush leaves the batch's lines written before
// it and one line cut short: the next Open keeps the first, drops the
// other (those users keep their state from before the batch) and appends
// after them.
func TestFileStoreCrashMidBatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	ctx := context.Background()
	s := openAt(t, dir, t0)
	save := func(s *FileStore, id string, div int, at time.Time) {
		t.Helper()
		if err := s.SaveAssessment(ctx, id, model.Assessment{UserID: id, Diversity: div}, at, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	s.Hold()
	save(s, "u1", 1, t0)
	save(s, "u2", 1, t0)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	// The next batch, as a crash would leave it: u1's line whole, u2's cut.
	var batch bytes.Buffer
	for _, id := range []string{"u1", "u2"} {
		f := userFile{UserID: id, UserState: model.UserState{Assessment: &model.Assessment{UserID: id, Diversity: 2}, ObservedAt: t0.Add(time.Hour)}}
		line, err := json.Marshal(journalRecord{User: &f})
		if err != nil {
			t.Fatal(err)
		}
		batch.Write(append(line, '\n'))
	}
	torn := batch.Bytes()[:batch.Len()-20]
	j, err := os.OpenFile(filepath.Join(dir, journalName), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Write(torn); err != nil {
		t.Fatal(err)
	}
	j.Close()

	after := openAt(t, dir, t0)
	if d1, d2 := diversity(t, after, "u1"), diversity(t, after, "u2"); d1 != 2 || d2 != 1 {
		t.Fatalf("after the crash: u1 diversity %d (want 2, its line is whole), u2 %d (want 1, from before the batch)", d1, d2)
	}
	save(after, "u2", 3, t0.Add(2*time.Hour))
	again := openAt(t, dir, t0)
	if d := diversity(t, again, "u2"); d != 3 {
		t.Fatalf("a line appended after the dropped tail reads diversity %d, want 3", d)
	}
	if n := journalLines(t, dir, "u2"); n != 2 {
		t.Fatalf("u2 has %d whole lines, want 2 (the cut one is gone)", n)
	}
}

// A line that cannot be read and is not the last is damage, not a crash's
// tail: Open fails rather than forget what follows it.
func TestFileStoreDamagedJournal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openAt(t, dir, time.Now())
	if err := s.SetSnooze(context.Background(), "u1", time.Now()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, journalName)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte("{\"user\":\n"), data...), 0o644)
	_, err := OpenFileStore(dir, time.Now)
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("open = %v, want an error naming line 1", err)
	}
}

// A failed Flush leaves nothing of the batch on disk and the users held.
func TestFileStoreFailedFlush(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openAt(t, dir, time.Now())
	ctx := context.Background()
	s.Hold()
	if err := s.SetSnooze(ctx, "u1", time.Now()); err != nil {
		t.Fatal(err)
	}
	s.j.f.Close() // every write fails
	if err := s.Flush(); err == nil {
		t.Fatal("Flush succeeded on a closed journal")
	}
	if n := journalLines(t, dir, "u1"); n != 0 {
		t.Fatalf("a failed Flush left %d lines", n)
	}
	if st, _ := s.LoadUser(ctx, "u1"); st.History.SnoozedUntil.IsZero() {
		t.Fatal("the failed batch's change is gone from the store")
	}
	if s.held == nil || len(s.held) != 1 {
		t.Fatalf("held after a failed Flush: %v", s.held)
	}
}

// A folder of the earlier layout, a file per user and per claim, is read
// once and folded into the journal.
func TestFileStoreReadsEarlierLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	write := func(sub, name string, v any) string {
		t.Helper()
		data, _ := json.MarshalIndent(v, "", "  ")
		path := filepath.Join(dir, sub, fileName(name))
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	user := write("users", "u1", userFile{UserID: "u1", UserState: model.UserState{Assessment: &model.Assessment{UserID: "u1", Diversity: 2}, ObservedAt: t0}})
	claim := write("claims", "k1", claimFile{Key: "k1", Done: true, Expires: t0.Add(time.Hour)})

	s := openAt(t, dir, t0)
	if d := diversity(t, s, "u1"); d != 2 {
		t.Fatalf("u1 diversity %d, want 2 from its file", d)
	}
	if r, err := s.Claim(context.Background(), "k1", time.Minute); err != nil || r != model.AlreadyDone {
		t.Fatalf("claim k1 = %v, %v; want already done", r, err)
	}
	for _, f := range []string{user, claim} {
		if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s is still there (%v)", f, err)
		}
	}
	again := openAt(t, dir, t0)
	if d := diversity(t, again, "u1"); d != 2 {
		t.Fatalf("reopened, u1 diversity %d, want 2", d)
	}
}

// A journal mostly of stale lines is rewritten with one line per user and
// per live claim; claims past their expiry go.
func TestFileStoreCompacts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	s, err := OpenFileStore(dir, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.compactSlack = 10
	ctx := context.Background()
	for i := range 30 {
		if err := s.RecordNudge(ctx, "u1", now.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Claim(ctx, "short", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "long", time.Hour); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Minute)
	for i := range 20 {
		if err := s.SetSnooze(ctx, "u2", now.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if s.j.lines > 2*3+10 {
		t.Fatalf("the journal has %d lines for 2 users and 1 live claim", s.j.lines)
	}
	if _, ok := s.claims["short"]; ok {
		t.Fatal("the expired claim was kept")
	}
	again := openAt(t, dir, now)
	st, err := again.LoadUser(ctx, "u1")
	if err != nil || len(st.History.Nudges) != maxNudgeHistory {
		t.Fatalf("u1 after compaction: %d nudges, %v", len(st.History.Nudges), err)
	}
	if r, err := again.Claim(ctx, "long", time.Minute); err != nil || r != model.AlreadyDone {
		t.Fatalf("claim long after compaction = %v, %v", r, err)
	}
}

// The lines written by hand are those encoding/json writes.
func TestJournalLinesAsEncodingJSON(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 6, 2, 8, 0, 0, 123456789, time.UTC)
	times := []time.Time{t0, {}, t0.In(time.FixedZone("", 5*3600+30*60)), t0.In(time.FixedZone("X", 17)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	keys := []string{"nudge/d-1", "", `quote " backslash \`, "R&D <x>", "Jürgen", "\x00\n", "\xff"}
	var records []journalRecord
	for _, k := range keys {
		for _, at := range times {
			records = append(records,
				journalRecord{Claim: &claimFile{Key: k, Done: true, Expires: at}},
				journalRecord{Claim: &claimFile{Key: k, Expires: at}},
				journalRecord{Nudged: &nudgedLine{UserID: k, At: []time.Time{at}}},
				journalRecord{Nudged: &nudgedLine{UserID: k, At: []time.Time{t0, at, t0}}})
		}
		records = append(records,
			journalRecord{Nudged: &nudgedLine{UserID: k}},
			journalRecord{Nudged: &nudgedLine{UserID: k, At: []time.Time{}}},
			journalRecord{User: &userFile{UserID: k}, Claim: &claimFile{Key: k, Expires: t0}},
			journalRecord{Nudged: &nudgedLine{UserID: k, At: []time.Time{t0}}, Claim: &claimFile{Key: k, Expires: t0}})
	}
	for _, r := range records {
		want, wantErr := json.Marshal(&r)
		got, err := appendRecord([]byte("prefix"), &r)
		if (err == nil) != (wantErr == nil) || (err == nil && string(got) != "prefix"+string(want)) {
			t.Errorf("line\n%s (%v)\nencoding/json's\n%s (%v)", got, err, want, wantErr)
		}
	}
}

// A nudge is a line of its own, not the user's whole state again; a fresh
// store reads the same state from it, the history bounded as it is live.
func TestFileStoreNudgesAreLinesOfTheirOwn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	ctx := context.Background()
	s := openAt(t, dir, t0)
	s.Hold()
	if err := s.SaveAssessment(ctx, "u1", model.Assessment{UserID: "u1", Diversity: 1, Violations: []model.Violation{"no-mfa-path"}}, t0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordNudge(ctx, "u1", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, journalName))
	for batch := range 3 {
		s.Hold()
		for i := range 10 {
			at := t0.Add(time.Duration(batch*10+i+1) * time.Minute)
			for _, id := range []string{"u1", "u2"} { // u2 was never written whole
				if err := s.RecordNudge(ctx, id, at); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	s.Hold()
	if err := s.RecordNudge(ctx, "u1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSnooze(ctx, "u1", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordNudge(ctx, "u1", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, journalName))
	lines := strings.Split(strings.TrimSuffix(string(data[len(before):]), "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d lines for three batches of nudges to two users and a snooze, want 7:\n%s", len(lines), data[len(before):])
	}
	for _, line := range lines[:6] {
		if !strings.HasPrefix(line, `{"nudged":`) || strings.Contains(line, "assessment") {
			t.Errorf("a batch of nudges wrote %s", line)
		}
	}
	if !strings.HasPrefix(lines[6], `{"user":`) {
		t.Errorf("a batch with a snooze wrote %s, not the user's state", lines[6])
	}
	fresh := openAt(t, dir, t0)
	for _, id := range []string{"u1", "u2"} {
		live, _ := s.LoadUser(ctx, id)
		read, _ := fresh.LoadUser(ctx, id)
		if len(live.History.Nudges) != maxNudgeHistory || !reflect.DeepEqual(live, read) {
			t.Errorf("%s: live %d nudges, read back %d; equal %v", id, len(live.History.Nudges), len(read.History.Nudges), reflect.DeepEqual(live, read))
		}
	}
}

// A journal written before nudges had lines of their own (every change the
// user's whole state) reads as it did, and takes nudge lines after it.
func TestFileStoreReadsJournalOfWholeStates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	earlier := `{"user":{"userId":"u1","assessment":{"id":"u1","userPrincipalName":"","tier":"standard","diversity":1,"minDiversity":2,"spofs":null,"paths":null,"passwordless":false,"phishingResistant":false,"compliant":false,"violations":["below-min-diversity"],"recommendations":null},"observedAt":"2025-06-02T08:00:00Z","history":{}}}
{"claim":{"key":"nudge/d1","done":false,"expires":"2025-06-02T08:15:00Z"}}
{"user":{"userId":"u1","assessment":{"id":"u1","userPrincipalName":"","tier":"standard","diversity":1,"minDiversity":2,"spofs":null,"paths":null,"passwordless":false,"phishingResistant":false,"compliant":false,"violations":["below-min-diversity"],"recommendations":null},"observedAt":"2025-06-02T08:00:00Z","history":{"nudges":["2025-06-02T08:01:00Z"]}}}
{"claim":{"key":"nudge/d1","done":true,"expires":"2025-07-02T08:01:00Z"}}
`
	if err := os.WriteFile(filepath.Join(dir, journalName), []byte(earlier), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	s := openAt(t, dir, t0)
	st, err := s.LoadUser(ctx, "u1")
	if err != nil || st.Assessment == nil || st.Assessment.Tier != "standard" || len(st.History.Nudges) != 1 {
		t.Fatalf("u1 from the earlier journal: %+v, %v", st, err)
	}
	if r, err := s.Claim(ctx, "nudge/d1", time.Minute); err != nil || r != model.AlreadyDone {
		t.Fatalf("claim from the earlier journal = %v, %v; want already done", r, err)
	}
	if err := s.RecordNudge(ctx, "u1", t0); err != nil {
		t.Fatal(err)
	}
	again := openAt(t, dir, t0)
	st, err = again.LoadUser(ctx, "u1")
	if err != nil || st.Assessment == nil || st.Assessment.Tier != "standard" || len(st.History.Nudges) != 2 || !st.History.Nudges[1].Equal(t0) {
		t.Fatalf("u1 after a nudge line: %+v, %v", st, err)
	}
}

// A user's line written by hand is the line encoding/json writes. Users'
// states are filled by reflection, each field left zero or set at random,
// so that a field added to the state later is compared too.
func TestJournalUserLinesAsEncodingJSON(t *testing.T) {
	t.Parallel()
	f := randomFiller{r: rand.New(rand.NewPCG(1, 2))}
	handWritten := 0
	for range 3000 {
		var u userFile
		f.fill(reflect.ValueOf(&u).Elem())
		if f.r.IntN(2) == 0 {
			u.Ticket = nil
		}
		r := journalRecord{User: &u}
		want, wantErr := json.Marshal(&r)
		got, err := appendRecord([]byte("prefix"), &r)
		if (err == nil) != (wantErr == nil) || (err == nil && string(got) != "prefix"+string(want)) {
			t.Fatalf("line\n%s (%v)\nencoding/json's\n%s (%v)", got, err, want, wantErr)
		}
		if _, ok := appendUser(nil, &u); ok {
			handWritten++
		}
	}
	if handWritten < 300 {
		t.Errorf("only %d of 3000 users' lines written by hand", handWritten)
	}
}

// randomFiller leaves each field it reaches zero or sets it, at random,
// strings among them those encoding/json escapes, times among them those
// it refuses.
type randomFiller struct{ r *rand.Rand }

var fillerStrings = []string{"u-1", "standard", "below-min-diversity", "R&D <x>", `q"b\`, "Jürgen", "\x00", "\xff", "\u2028"}

func (f randomFiller) fill(v reflect.Value) {
	fill.Filler{Leaf: f.leaf, Skip: func() bool { return f.r.IntN(3) == 0 }, Len: func() int { return f.r.IntN(3) }}.Fill(v)
}

func (f randomFiller) leaf(v reflect.Value) bool {
	if v.Type() == reflect.TypeFor[time.Time]() {
		ts := []time.Time{time.Date(2025, 6, 2, 8, 0, 0, 123, time.UTC), time.Date(2025, 6, 2, 8, 0, 0, 0, time.FixedZone("", 3600)),
			time.Date(2025, 6, 2, 8, 0, 0, 0, time.FixedZone("X", 17))}
		if f.r.IntN(20) == 0 {
			ts = []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
		}
		v.Set(reflect.ValueOf(ts[f.r.IntN(len(ts))]))
		return true
	}
	switch v.Kind() {
	case reflect.String:
		if f.r.IntN(30) == 0 {
			v.SetString(fillerStrings[3+f.r.IntN(len(fillerStrings)-3)])
		} else {
			v.SetString(fillerStrings[f.r.IntN(3)])
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(f.r.Int64N(100) - 10)
	case reflect.Bool:
		v.SetBool(true)
	default:
		return false
	}
	return true
}
