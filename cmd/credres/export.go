package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/credres/credres/pkg/model"
)

func init() {
	register(command{"export", "write a directory snapshot of the live tenant for offline use", runExport})
}

func runExport(e env, args []string) int {
	fs := flags(e, "export", "--graph --out FILE [--user ID|UPN]...",
		"Reads the live tenant from Microsoft Graph (every user, through the registration\nreport, or only the --user ones) and writes a directory snapshot (docs/SNAPSHOT.md),\nso that assess, explain, whatif and report run offline. Reads are paced to Graph's\nbudget; progress goes to standard error.")
	out := fs.String("out", "", "snapshot `file` to write")
	var g graphFlags
	g.register(fs, true)
	if code := parse(e, fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	if !g.enabled {
		return usageError(e, fs, "--graph is required: export reads the live tenant")
	}
	if *out == "" {
		return usageError(e, fs, "--out FILE is required")
	}
	dir, err := g.directory(e)
	if err != nil {
		return inputError(e, err)
	}
	if err := writeSnapshot(*out, dir); err != nil {
		return inputError(e, err)
	}
	fmt.Fprintf(e.stderr, "credres: wrote %d users to %s\n", len(dir.Users), *out)
	return exitOK
}

// writeSnapshot writes through a temporary file, so that an interrupted
// export never leaves half a snapshot where a good one was.
func writeSnapshot(path string, dir *model.Directory) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credres-export-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<16)
	if err := writeJSON(w, dir); err != nil {
		tmp.Close()
		return fmt.Errorf("export: write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("export: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
