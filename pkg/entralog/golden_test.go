package entralog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
)

// auditInputs lists the audit corpus: Microsoft doc samples copied verbatim
// and records built from the documented shapes (see testdata/audit/SOURCES.md).
func auditInputs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "audit", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no audit test inputs")
	}
	return files
}

// TestParseAuditGolden normalises every corpus file and compares the batch
// with its .golden.jsonl: a summary line (records seen, skip counts), one line
// per event, then one line per error. Run with -update to rewrite, and review
// the diff like code.
func TestParseAuditGolden(t *testing.T) {
	t.Parallel()
	for _, in := range auditInputs(t) {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			batch, perr := entralog.ParseAudit(readFile(t, in))
			got := goldenLines(t, batch, perr)
			golden.Assert(t, strings.TrimSuffix(in, ".json")+".golden.jsonl", got)
		})
	}
}

// goldenLines renders a batch in a stable, diffable form.
func goldenLines(t *testing.T, batch entralog.AuditBatch, err error) []byte {
	t.Helper()
	var b bytes.Buffer
	line := func(v any) {
		out, merr := json.Marshal(v)
		if merr != nil {
			t.Fatal(merr)
		}
		b.Write(out)
		b.WriteByte('\n')
	}
	line(struct {
		Records int            `json:"records"`
		Skipped map[string]int `json:"skipped"`
	}{batch.Records, batch.Skipped})
	for _, ev := range batch.Events {
		line(ev)
	}
	for _, e := range splitErrors(err) {
		if !errors.Is(e, model.ErrInvalidInput) {
			t.Errorf("error %q does not wrap ErrInvalidInput", e)
		}
		line(struct {
			Error string `json:"error"`
		}{e.Error()})
	}
	return b.Bytes()
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// splitErrors undoes errors.Join so each record's error is checked alone.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
