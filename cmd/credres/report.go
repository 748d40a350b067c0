package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/report"
	"github.com/credres/credres/pkg/rules"
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
	b, code := buildReport(e, fs, *directory, *policyFile, &g, &pf, pr)
	if code >= 0 {
		return code
	}
	write := reportWriter(b, f, pr.now)
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

// reportWriter writes the report in format. JSON and CSV are written
// straight from the rows the builder kept; the HTML page is made from the
// whole report.
func reportWriter(b *report.Builder, format string, now time.Time) func(io.Writer) error {
	switch format {
	case "json":
		return func(w io.Writer) error { return b.WriteJSON(w, now) }
	case "csv":
		return func(w io.Writer) error { return b.WriteCSV(w, now) }
	}
	r := b.Report()
	r.GeneratedAt = now
	return r.WriteHTML
}

// buildReport reads the snapshot and builds its report. A snapshot file is
// read a batch of users at a time and never held (docs/PERFORMANCE.md);
// the sign-ins of --signins are folded into each user's usage as they are
// read.
func buildReport(e env, fs *flag.FlagSet, file, policyFile string, g *graphFlags, pf *proofFlags, pr proof) (*report.Builder, int) {
	var dir *model.Directory
	if file == "" || g.enabled || len(g.users) > 0 { // --graph, or a usage error
		var code int
		if dir, code = loadSource(e, fs, file, g); code >= 0 {
			return nil, code
		}
	}
	engine, err := loadEngine(policyFile)
	if err == nil {
		err = pr.load(pf)
	}
	if err != nil {
		return nil, inputError(e, err)
	}
	if dir == nil {
		return reportStreamed(e, file, engine, pr)
	}
	b := newReportBuilder(engine, pr, dir)
	b.Add(dir.Users)
	return b, -1
}

// reportStreamed builds the report of the snapshot in file while it is
// read. The users it could not read are named on standard error and left
// out, and the command exits 1; a snapshot not read whole stops it.
func reportStreamed(e env, file string, engine *rules.Engine, pr proof) (*report.Builder, int) {
	var b *report.Builder
	invalid, err := streamFile(file, graphjson.Stream{
		Head: func(d *model.Directory) error {
			if os.Getenv("GOGC") == "" { // streamFile restores the target it found
				debug.SetGCPercent(reportGCPercent)
			}
			b = newReportBuilder(engine, pr, d)
			return nil
		},
		Users: func(us []model.User) error {
			b.Add(us)
			return nil
		},
	})
	if err != nil {
		return nil, inputError(e, err)
	}
	if invalid != nil {
		partialInput(e, invalid)
	}
	return b, -1
}

// reportGCPercent is the garbage collector's target while report reads a
// snapshot, in place of streamFile's. Unlike assess, report keeps what it
// reads of every user, but without pointers (report.Builder): a collection
// marks about what it marks for assess however much is kept, and with
// streamFile's target the heap would grow to three times what is kept. At
// a million users this lowers report's peak memory from about 730 to 550
// MB and its CPU time by about 5% (docs/PERFORMANCE.md).
const reportGCPercent = 100

// newReportBuilder starts the report of the directory head, its usage
// section judged at --now by --proof-window.
func newReportBuilder(engine *rules.Engine, pr proof, head *model.Directory) *report.Builder {
	b := report.NewBuilder(head, engine.At(pr.now))
	b.JudgeUsage(pr.engine(engine), pr.signIns, pr.now, pr.window)
	return b
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
