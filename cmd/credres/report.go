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

func init() {
	register(command{"report", "tenant resilience report: outages, risks, hybrid exposure (HTML or JSON)", runReport})
}

func runReport(e env, args []string) int {
	fs := flags(e, "report", "(--directory FILE | --graph) [--policy FILE] [--out FILE] [--format html|json] [--signins PATH] [--now TIME] [--proof-window D]",
		"Builds the tenant resilience report: users by dependency diversity per tier, who would be\n"+
			"locked out if each dependency kind (and the worst pairs of kinds) failed, single points\n"+
			"of failure, telephony-only users, privileged users without a phishing-resistant method,\n"+
			"users without any MFA path, what password hash sync as a fallback would change, and\n"+
			"the recommendations that would bring the most users within policy.\n\n"+
			"HTML is one self-contained page (inline SVG charts, no script, opens offline) and needs\n"+
			"--out; JSON carries the same figures with every user listed, to --out or standard\n"+
			"output. The format defaults to html when --out ends in .html, json otherwise.\n"+
			"Outages follow 'credres whatif': a kind means every instance, tier accept lists do not\n"+
			"apply, and users without any path are listed apart. See docs/REPORT.md.\n\n"+
			"When the snapshot carries method usage (credres export --state-table), or --signins\n"+
			"names sign-in records (files or folders, in any shape 'credres parse' reads), the report\n"+
			"gains a usage section: the share of MFA sign-ins per method, users whose every MFA\n"+
			"sign-in used the phone network, registered methods never used, and users within policy\n"+
			"only through unproven paths. Paths are judged at --now by each tier's proofWindow, and\n"+
			"by --proof-window in the tiers that set none (docs/USAGE.md).")
	directory := fs.String("directory", "", "directory snapshot `file` (see docs/SNAPSHOT.md)")
	policyFile := fs.String("policy", "", "policy `file` (YAML); the embedded default policy when empty")
	out := fs.String("out", "", "write the report to `file` instead of standard output")
	format := fs.String("format", "", "output `format`: html or json (default: html when --out ends in .html, json otherwise)")
	var pf proofFlags
	pf.register(fs)
	var g graphFlags
	g.register(fs, false)
	if code := parse(e, fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	if *format == "" {
		*format = "json"
		if ext := strings.ToLower(filepath.Ext(*out)); ext == ".html" || ext == ".htm" {
			*format = "html"
		}
	}
	if *format != "html" && *format != "json" {
		return usageError(e, fs, "--format must be html or json, not %q", *format)
	}
	if *format == "html" && *out == "" {
		return usageError(e, fs, "--format html needs --out FILE")
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
	if len(pr.signIns) > 0 || hasUsage(dir) {
		r.AddUsage(dir, pr.engine(engine), pr.signIns, pr.now, pr.window)
	}
	write := r.WriteJSON
	if *format == "html" {
		write = r.WriteHTML
	}
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
