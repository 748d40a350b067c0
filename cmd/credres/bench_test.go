package main

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/graphjson"
)

var (
	snapshotOnce sync.Once
	snapshotFile string
)

// snapshot100k writes a generated 100 000-user snapshot once per run.
func snapshot100k(b *testing.B) string {
	snapshotOnce.Do(func() {
		dir, err := os.MkdirTemp("", "credres-bench")
		if err != nil {
			b.Fatal(err)
		}
		snapshotFile = filepath.Join(dir, "tenant-100k.json")
		f, err := os.Create(snapshotFile)
		if err != nil {
			b.Fatal(err)
		}
		if err := synth.WriteTenant(f, 100_000, 1); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	})
	return snapshotFile
}

// BenchmarkAssess100k compares `credres assess --format json` over a
// generated 100 000-user snapshot with the baseline of only decoding the
// same file, in the same run (docs/PERFORMANCE.md reports the ratio).
func BenchmarkAssess100k(b *testing.B) {
	file := snapshot100k(b)
	b.Run("decode-only", func(b *testing.B) {
		for b.Loop() {
			if _, err := graphjson.LoadDirectory(file); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("assess-json", func(b *testing.B) {
		for b.Loop() {
			if code := run(env{stdout: io.Discard, stderr: io.Discard}, []string{"assess", "--directory", file, "--format", "json"}); code != 0 {
				b.Fatalf("exit %d", code)
			}
		}
	})
	b.Run("assess-table", func(b *testing.B) {
		for b.Loop() {
			if code := run(env{stdout: io.Discard, stderr: io.Discard}, []string{"assess", "--directory", file}); code != 0 {
				b.Fatalf("exit %d", code)
			}
		}
	})
}
