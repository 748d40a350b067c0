package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what the helper reported.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.fatal = true
}

func TestAssert(t *testing.T) {
	file := filepath.Join(t.TempDir(), "out.txt")
	if err := os.WriteFile(file, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		got, want string
	}{
		{"one\ntwo\n", ""},
		{"one\nthree\n", `line 2:` + "\n" + `  got  "three\n"` + "\n" + `  want "two\n"`},
		{"one\n", `line 2: got no more lines, want "two\n"`},
		{"one\ntwo\nthree", `line 3: got "three", want no more lines`},
	} {
		r := &recorder{TB: t}
		Assert(r, file, tc.got)
		switch {
		case tc.want == "" && len(r.errors) > 0:
			t.Errorf("%q: %v", tc.got, r.errors)
		case tc.want != "" && (len(r.errors) != 1 || !strings.Contains(r.errors[0], tc.want)):
			t.Errorf("%q: reported %q, want it to name %q", tc.got, r.errors, tc.want)
		}
	}
}

func TestAssertJSONAndMissingFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "v.json")
	if err := os.WriteFile(file, []byte("{\n  \"a\": 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	AssertJSON(r, file, map[string]int{"a": 1})
	if len(r.errors) > 0 {
		t.Errorf("equal JSON reported: %v", r.errors)
	}
	r = &recorder{TB: t}
	Assert(r, filepath.Join(dir, "missing.txt"), []byte("x"))
	if !r.fatal || !strings.Contains(r.errors[0], "-update") {
		t.Errorf("a missing file: %v", r.errors)
	}
}

func TestUpdateWritesTheFile(t *testing.T) {
	*update = true
	defer func() { *update = false }()
	file := filepath.Join(t.TempDir(), "new", "out.txt")
	r := &recorder{TB: t}
	Assert(r, file, "fresh\n")
	if data, err := os.ReadFile(file); err != nil || string(data) != "fresh\n" || len(r.errors) > 0 {
		t.Errorf("-update wrote %q, %v; reported %v", data, err, r.errors)
	}
	if !Updating() {
		t.Error("Updating is false under -update")
	}
}
