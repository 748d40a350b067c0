// Package golden compares what a test produced with a file kept beside the
// test (a golden file), and rewrites the file instead when the test binary
// runs with -update:
//
//	go test ./pkg/notify -update
//
// rewrites the golden files of pkg/notify's tests; review the diff like code.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files instead of comparing with them")

// Updating reports whether the tests run with -update, for a test that
// writes a file it does not compare (a screenshot).
func Updating() bool { return *update }

// Assert compares got with the file at path (relative to the test's
// package folder). With -update it writes got to the file instead, creating
// its folder.
func Assert[T ~string | ~[]byte](t testing.TB, path string, got T) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if d := firstDifference([]byte(got), want); d != "" {
		t.Errorf("%s differs: %s\nrun the test with -update and review the diff.", path, d)
	}
}

// AssertJSON compares v, as indented JSON ending in a new line, with the
// file at path, as Assert does.
func AssertJSON(t testing.TB, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	Assert(t, path, append(got, '\n'))
}

// firstDifference names the first line on which got and want differ, and
// is empty when they are equal.
func firstDifference(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	g, w := lines(got), lines(want)
	for i := 0; ; i++ {
		switch {
		case i >= len(g):
			return fmt.Sprintf("line %d: got no more lines, want %q", i+1, w[i])
		case i >= len(w):
			return fmt.Sprintf("line %d: got %q, want no more lines", i+1, g[i])
		case !bytes.Equal(g[i], w[i]):
			return fmt.Sprintf("line %d:\n  got  %q\n  want %q", i+1, g[i], w[i])
		}
	}
}

// lines splits b after each new line; a last line without one is a line.
func lines(b []byte) [][]byte {
	l := bytes.SplitAfter(b, []byte("\n"))
	if len(l[len(l)-1]) == 0 {
		l = l[:len(l)-1]
	}
	return l
}
