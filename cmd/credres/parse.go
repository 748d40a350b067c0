package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/credres/credres/pkg/entralog"
)

func init() {
	register(command{"parse", "normalise Entra audit records into method-change events (JSON Lines)", runParse})
}

func runParse(e env, args []string) int {
	fs := flags(e, "parse", "[FILE...]",
		"Reads Entra audit records (an Event Hubs body {\"records\":[...]}, a diagnostic record,\na Graph directoryAudit object or a Graph list {\"value\":[...]}) from the files, or\nfrom standard input when none are given, and writes one method-change event per\nrelevant record as JSON Lines. Skipped records are counted on standard error;\na malformed record is named with its file and position, and the others are\nstill written (exit status 1).")
	if code := parse(e, fs, args); code >= 0 {
		return code
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)

	skipped := map[string]int{}
	records, events, bad := 0, 0, 0
	handle := func(name string, data []byte) {
		batch, err := entralog.ParseAudit(data)
		records += batch.Records
		for _, ev := range batch.Events {
			if encErr := enc.Encode(ev); encErr != nil {
				err = errors.Join(err, encErr)
			}
			events++
		}
		for reason, n := range batch.Skipped {
			skipped[reason] += n
		}
		if err != nil {
			bad++
			for _, one := range splitErrors(err) {
				fmt.Fprintf(e.stderr, "credres: %s: %v\n", name, one)
			}
		}
	}
	if fs.NArg() == 0 {
		data, err := io.ReadAll(e.stdin)
		if err != nil {
			fmt.Fprintf(e.stderr, "credres: standard input: %v\n", err)
			return exitBadInput
		}
		handle("standard input", data)
	}
	for _, name := range fs.Args() {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(e.stderr, "credres: %v\n", err)
			bad++
			continue
		}
		handle(name, data)
	}
	w.Flush()
	fmt.Fprintf(e.stderr, "credres: %d records, %d events", records, events)
	if len(skipped) > 0 {
		reasons := make([]string, 0, len(skipped))
		for r := range skipped {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		fmt.Fprint(e.stderr, "; skipped:")
		for i, r := range reasons {
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(e.stderr, "%s %d %s", sep, skipped[r], r)
		}
	}
	fmt.Fprintln(e.stderr)
	if bad > 0 {
		return exitBadInput
	}
	return exitOK
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
