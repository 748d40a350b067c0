package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/credres/credres/pkg/report"
)

func runReport(e env, args []string) int {
	fs := flags(e, "report")
	directory := fs.String("directory", "", "directory snapshot `file` (see docs/SNAPSHOT.md)")
	policyFile := fs.String("policy", "", "policy `file` (YAML); the embedded default policy when empty")
	out := fs.String("out", "", "write the report to `file` instead of standard output")
	format := fs.String("format", "", "output `format`: html, json or csv (default: by --out's extension .html or .csv, json otherwise)")
	var pf proofFlags
	pf.register(fs)
	var g graphFlags
	g.register(fs, false)
	if code := parse(e, fs, args); code >= 0 {
		return code
	}
	f, err := reportFormat(*format, *out)
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	pr, err := pf.check()
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	dir, code := loadSource(e, fs, *directory, &g)
	if code >= 0 {
		return code
	}
	engine, err := loadEngine(*policyFile)
	if err != nil {
		return inputError(e, err)
	}
	if err := pr.read(&pf, dir); err != nil {
		return inputError(e, err)
	}
	// The policy's own proofWindow and countUnproven apply to every figure;
	// the usage section judges the tiers that set none by --proof-window.
	r := report.Build(dir, engine.At(pr.now))
	r.GeneratedAt = pr.now
	if len(pr.signIns) > 0 || hasUsage(dir) {
		r.AddUsage(dir, pr.engine(engine), pr.signIns, pr.now, pr.window)
	}
	write := map[string]func(io.Writer) error{"json": r.WriteJSON, "html": r.WriteHTML, "csv": r.WriteCSV}[f]
	if *out == "" {
		w := bufio.NewWriterSize(e.stdout, 1<<16)
		if err := write(w); err != nil {
			return inputError(e, err)
		}
		if err := w.Flush(); err != nil {
			return inputError(e, fmt.Errorf("report: write: %w", err))
		}
		return exitOK
	}
	if err := writeFile(*out, write); err != nil {
		return inputError(e, err)
	}
	return exitOK
}

// reportFormat resolves --format: by --out's extension when empty (html
// for .html and .htm, csv for .csv, json otherwise).
func reportFormat(format, out string) (string, error) {
	if format == "" {
		switch strings.ToLower(filepath.Ext(out)) {
		case ".html", ".htm":
			return "html", nil
		case ".csv":
			return "csv", nil
		}
		return "json", nil
	}
	switch format {
	case "json", "csv":
		return format, nil
	case "html":
		if out == "" {
			return "", fmt.Errorf("--format html needs --out FILE")
		}
		return format, nil
	}
	return "", fmt.Errorf("--format must be html, json or csv, not %q", format)
}

// writeFile writes through a temporary file in the same directory and
// renames it into place, so that a scheduled run never leaves a half
// written report where the last good one was.
func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("report: write %s: %w", name, err)
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<16)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		// The report lists the users without multifactor sign-in: for
		// its owner only.
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		return fmt.Errorf("report: write %s: %w", name, err)
	}
	return nil
}
