package notify

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

// nudgeLineStrings are what a nudge line's strings may be: plain words,
// the rendered nudges of the golden files, and what encoding/json escapes.
func nudgeLineStrings(t testing.TB) []string {
	ss := []string{"", "d-1", "u-1", "nudge", "email", "en", "a***@contoso.example", "Add another way to sign in",
		"R&D <lab> \"quoted\" back\\slash", "line\nbreak\r\ntab\t", "Jürgen Müller 日本語 🔑", "\x7f", "\x00", "\x1f\x08\x0c",
		"\xff bad", "sep\u2028\u2029", "\u00e9\u0301"}
	files, err := filepath.Glob(filepath.Join("testdata", "nudge", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("golden nudges: %v, %d files", err, len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, string(data))
	}
	return ss
}

// A nudge line written by hand is the line encoding/json writes.
func TestNudgeLineAsEncodingJSON(t *testing.T) {
	t.Parallel()
	ss := nudgeLineStrings(t)
	r := rand.New(rand.NewPCG(1, 2))
	str := func() string { return ss[r.IntN(len(ss))] }
	t0 := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	times := []time.Time{t0, {}, t0.Add(123456789), t0.In(time.FixedZone("", 3600)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	handWritten := 0
	for range 5000 {
		rec := model.NudgeRecord{DecisionID: str(), UserID: str(), Decision: str(), Reminder: r.IntN(2) == 0,
			Time: times[r.IntN(len(times))], Channel: model.Channel(str()), To: str(), Language: str(), Subject: str(),
			Text: str(), HTML: str(), DryRun: r.IntN(2) == 0}
		switch r.IntN(3) {
		case 1:
			rec.Violations, rec.Reasons = []model.Violation{}, []string{}
		case 2:
			rec.Violations, rec.Reasons = []model.Violation{model.Violation(str()), model.Violation(str())}, []string{str()}
		}
		want, err := json.Marshal(rec)
		got, ok := appendNudgeLine([]byte("prefix"), &rec)
		if !ok {
			continue
		}
		handWritten++
		if err != nil || string(got) != "prefix"+string(want) {
			t.Fatalf("line\n%s\nencoding/json's\n%s (%v)", got[6:], want, err)
		}
	}
	if handWritten < 3000 {
		t.Errorf("only %d of 5000 lines written by hand (a time out of range goes to encoding/json)", handWritten)
	}
}

func FuzzNudgeLine(f *testing.F) {
	for _, s := range nudgeLineStrings(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec := model.NudgeRecord{DecisionID: s, Reasons: []string{s}, Text: s, HTML: s}
		got, ok := appendNudgeLine(nil, &rec)
		want, err := json.Marshal(rec)
		if ok && (err != nil || string(got) != string(want)) {
			t.Fatalf("line\n%q\nencoding/json's\n%q (%v)", got, want, err)
		}
	})
}
