package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"

	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
)

func runParse(e env, args []string) int {
	fs := flags(e, "parse")
	if code := parseArgs(e, fs, args); code >= 0 {
		return code
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)

	skipped, unknown := map[string]int{}, map[string]int{}
	records, events, signIns, bad := 0, 0, 0, 0
	// Each input is read one document at a time, so that a stream of any
	// length is parsed in the memory of its largest document.
	report := func(name string, err error) {
		for _, one := range splitErrors(err) {
			fmt.Fprintf(e.stderr, "credres: %s: %v\n", name, one)
		}
	}
	handle := func(name string, r io.Reader) {
		failed := false
		err := entralog.ParseReader(r, maxDocumentBytes, func(batch entralog.Batch, err error) error {
			records += batch.Records
			for _, ev := range batch.Audit {
				if encErr := enc.Encode(auditLine{"audit", ev}); encErr != nil {
					return encErr
				}
				events++
			}
			for _, si := range batch.SignIns {
				if encErr := enc.Encode(signInLine{"signin", si}); encErr != nil {
					return encErr
				}
				signIns++
			}
			for reason, n := range batch.Skipped {
				skipped[reason] += n
			}
			for method, n := range batch.Unknown {
				unknown[method] += n
			}
			if err != nil {
				failed = true
				report(name, err)
			}
			return nil
		})
		if err != nil {
			failed = true
			report(name, err)
		}
		if failed {
			bad++
		}
	}
	if fs.NArg() == 0 {
		handle("standard input", e.stdin)
	}
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(e.stderr, "credres: %v\n", err)
			bad++
			continue
		}
		handle(name, f)
		f.Close()
	}
	w.Flush()
	fmt.Fprintf(e.stderr, "credres: %d records, %d events, %d sign-ins", records, events, signIns)
	printCounts(e.stderr, "skipped", skipped, false)
	printCounts(e.stderr, "unknown sign-in methods", unknown, true)
	fmt.Fprintln(e.stderr)
	if bad > 0 {
		return exitBadInput
	}
	return exitOK
}

// maxDocumentBytes is the largest JSON document parse reads (an Event Hubs
// body is at most 1 MB, a Graph page a few): past it the input is bad.
var maxDocumentBytes int64 = 256 << 20

// auditLine and signInLine put the line's kind first.
type auditLine struct {
	Kind string `json:"kind"`
	model.MethodChangeEvent
}

type signInLine struct {
	Kind string `json:"kind"`
	entralog.SignIn
}

// printCounts writes "; title: 2 a, 1 b" in key order.
func printCounts(w io.Writer, title string, counts map[string]int, quote bool) {
	if len(counts) == 0 {
		return
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "; %s:", title)
	for i, k := range keys {
		sep := ","
		if i == 0 {
			sep = ""
		}
		if quote {
			k2 := strconv.Quote(k)
			fmt.Fprintf(w, "%s %d %s", sep, counts[k], k2)
			continue
		}
		fmt.Fprintf(w, "%s %d %s", sep, counts[k], k)
	}
}

// splitErrors returns the individual errors of a joined error.
func splitErrors(err error) []error {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []error
		for _, one := range joined.Unwrap() {
			out = append(out, splitErrors(one)...)
		}
		return out
	}
	return []error{err}
}
