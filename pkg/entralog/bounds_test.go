package entralog_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
)

// A record in which a key appears twice is malformed: encoding/json would
// keep the last (matching keys without regard to case), so the record could
// mean two things. The records beside it are still read.
func TestDuplicateKeysAreMalformed(t *testing.T) {
	t.Parallel()
	good := `{"activityDisplayName":"Add member to group"}`
	for _, tc := range []struct {
		name, in string
		want     []string
		good     int
	}{
		{"in-a-record", `{"records":[` + good + `,{"activityDisplayName":"x","ActivityDisplayName":"User registered security info"},` + good + `]}`,
			[]string{`record 1: invalid input: duplicate key "ActivityDisplayName"`}, 2},
		{"deep-in-a-record", `[` + good + `,{"activityDisplayName":"Update user","targetResources":[{"type":"User","id":"a","id":"b"}]}]`,
			[]string{`record 1: invalid input: duplicate key "id" in targetResources[0]`}, 1},
		{"in-the-envelope", `{"records":[],"records":[` + good + `]}`,
			[]string{`document 0: invalid input: duplicate key "records"`}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, parse := range []struct {
				name string
				fn   func([]byte) (int, error)
			}{
				{"Parse", func(b []byte) (int, error) {
					batch, err := entralog.Parse(b)
					return batch.Skipped[entralog.SkipIrrelevantActivity], err
				}},
				{"ParseAudit", func(b []byte) (int, error) {
					batch, err := entralog.ParseAudit(b)
					return batch.Skipped[entralog.SkipIrrelevantActivity], err
				}},
			} {
				skipped, err := parse.fn([]byte(tc.in))
				var got []string
				for _, e := range splitErrors(err) {
					got = append(got, e.Error())
					if !errors.Is(e, model.ErrInvalidInput) {
						t.Errorf("%s: %v is not invalid input", parse.name, e)
					}
				}
				if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("%s: errors %q, want %q", parse.name, got, tc.want)
				}
				if skipped != tc.good {
					t.Errorf("%s: %d good records read, want %d", parse.name, skipped, tc.good)
				}
			}
		})
	}
}

// null, trailing garbage and an empty input are errors, never an empty
// success.
func TestNullAndTrailingDataAreErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`null`: "record 0: invalid input: null, not a JSON object",
		`{"records":[{"activityDisplayName":"Add member to group"}]} }`: "document 1: invalid input: invalid character '}' looking for beginning of value at byte 61",
		`{"records":[]} xyz`: "document 1: invalid input: invalid character 'x' looking for beginning of value at byte 16",
		"":                   "invalid input: no JSON document",
		" \n ":               "invalid input: no JSON document",
	} {
		_, err := entralog.Parse([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("%q: err %v, want %s", in, err, want)
		}
		err = entralog.ParseReader(strings.NewReader(in), 1<<20, func(entralog.Batch, error) error { return nil })
		if in == "null" {
			continue // the record error goes to emit
		}
		if err == nil || err.Error() != want {
			t.Errorf("ParseReader %q: err %v, want %s", in, err, want)
		}
	}
}

// endless is a reader that never ends: an array opened and never closed.
type endless struct{ opened bool }

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	if !e.opened {
		p[0], n, e.opened = '[', 1, true
	}
	for n < len(p) {
		p[n] = ' '
		n++
	}
	return n, nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A stream is read one document at a time, each within the limit: an
// endless one is bad input, not a process out of memory.
func TestParseReaderBoundsEachDocument(t *testing.T) {
	t.Parallel()
	emit := func(entralog.Batch, error) error { return nil }
	err := entralog.ParseReader(&endless{}, 1<<20, emit)
	if !errors.Is(err, model.ErrInvalidInput) ||
		err.Error() != "document 0: invalid input: document larger than 1048576 bytes (1 MiB)" {
		t.Errorf("endless document: %v", err)
	}
	err = entralog.ParseReader(zeros{}, 1<<20, emit)
	if !errors.Is(err, model.ErrInvalidInput) || !strings.HasPrefix(err.Error(), "document 0: invalid input: invalid character '\\x00'") {
		t.Errorf("zeros: %v", err)
	}

	// Many documents, each small: the limit is per document, and positions
	// count across the stream.
	rec := `{"activityDisplayName":"Add member to group"}`
	var in bytes.Buffer
	for range 200 {
		in.WriteString(`{"records":[` + rec + `,` + rec + `]}` + "\n")
	}
	in.WriteString(`[` + rec + `,7]`)
	var docs, records int
	var errs []string
	err = entralog.ParseReader(&in, 200, func(b entralog.Batch, err error) error {
		docs++
		records += b.Records
		for _, e := range splitErrors(err) {
			errs = append(errs, e.Error())
		}
		return nil
	})
	if err != nil || docs != 201 || records != 402 {
		t.Errorf("err %v, %d documents, %d records", err, docs, records)
	}
	if want := "record 401: invalid input: a number, not a JSON object"; strings.Join(errs, ";") != want {
		t.Errorf("errors %q, want %s", errs, want)
	}

	stop := errors.New("stop")
	err = entralog.ParseReader(strings.NewReader(rec+rec+rec), 0, func(entralog.Batch, error) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("emit error: %v", err)
	}
	if err := entralog.ParseReader(io.LimitReader(zeros{}, 0), 10, emit); err == nil || err.Error() != "invalid input: no JSON document" {
		t.Errorf("empty: %v", err)
	}
}
