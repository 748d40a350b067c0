package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/report"
	"github.com/credres/credres/pkg/rules"
)

// proofFlags are the flags of the offline commands that judge paths by the
// sign-in logs (docs/USAGE.md): the sign-in records to read beside the
// snapshot's usage, the time to judge at and the proof window of the tiers
// that set none.
type proofFlags struct {
	signIns stringList
	now     string
	window  string
}

func (f *proofFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.signIns, "signins", "sign-in records to add to the snapshot's usage: a `file` or folder (repeatable)")
	fs.StringVar(&f.now, "now", "", "judge method usage at this RFC 3339 `time` instead of the clock")
	fs.StringVar(&f.window, "proof-window", rules.Duration(report.DefaultProofWindow).String(), "the proof `window` of the tiers that set none (180d, 36h)")
}

// proof is what proofFlags resolve to.
type proof struct {
	now     time.Time
	window  time.Duration
	signIns []entralog.SignIn
}

// check parses --now and --proof-window (usage errors).
func (f *proofFlags) check() (proof, error) {
	var p proof
	p.now = time.Now().UTC()
	if f.now != "" {
		t, err := time.Parse(time.RFC3339, f.now)
		if err != nil {
			return p, fmt.Errorf("--now %q is not an RFC 3339 time", f.now)
		}
		p.now = t.UTC()
	}
	w, err := rules.ParseDuration(f.window)
	if err != nil || w <= 0 {
		return p, fmt.Errorf("--proof-window %q is not a positive duration (180d, 36h)", f.window)
	}
	p.window = w
	return p, nil
}

// read reads the sign-ins named by --signins into the directory's usage
// (bad input).
func (p *proof) read(f *proofFlags, dir *model.Directory) error {
	if err := p.load(f); err != nil {
		return err
	}
	report.MergeSignIns(dir, p.signIns)
	return nil
}

// load reads the sign-ins named by --signins (bad input), without folding
// them into any user's usage.
func (p *proof) load(f *proofFlags) error {
	sis, err := readSignIns(f.signIns)
	if err != nil {
		return err
	}
	p.signIns = sis
	return nil
}

// engine returns the engine that judges paths by the sign-in logs at now,
// every tier without a proofWindow given the window.
func (p *proof) engine(e *rules.Engine) *rules.Engine {
	return rules.New(report.WithProofWindow(e.Policy(), p.window)).At(p.now)
}

// hasUsage reports whether some user of the directory carries usage.
func hasUsage(d *model.Directory) bool {
	for i := range d.Users {
		if len(d.Users[i].Usage) > 0 {
			return true
		}
	}
	return false
}

// readSignIns reads the user sign-ins of the files named (a folder means
// its .json and .jsonl files), in any shape credres parse accepts; audit
// records among them are ignored. A malformed record is an error naming its
// file and position.
func readSignIns(paths []string) ([]entralog.SignIn, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("sign-ins: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("sign-ins: %w", err)
		}
		for _, en := range entries {
			if ext := strings.ToLower(filepath.Ext(en.Name())); !en.IsDir() && (ext == ".json" || ext == ".jsonl") {
				files = append(files, filepath.Join(p, en.Name()))
			}
		}
	}
	slices.Sort(files)
	var out []entralog.SignIn
	for _, f := range files {
		// One document at a time, as credres parse reads: memory holds the
		// sign-ins and one document, and a document over the limit is an
		// error.
		r, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("sign-ins: %w", err)
		}
		var errs []error
		err = entralog.ParseReader(r, maxDocumentBytes, func(b entralog.Batch, err error) error {
			out = append(out, b.SignIns...)
			if err != nil {
				errs = append(errs, err)
			}
			return nil
		})
		r.Close()
		if err = errors.Join(append(errs, err)...); err != nil {
			return nil, model.PrefixErrors("sign-ins "+f, err)
		}
	}
	return out, nil
}
