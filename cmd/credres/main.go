// Command credres is the operator CLI of credres: it assesses users'
// credential resilience from a directory snapshot or live from Microsoft
// Graph, explains one user, answers what-if questions about outages, parses
// Entra audit records and runs the whole pipeline locally.
//
// Exit status: 0 success, 1 bad input (the message names the file, the
// record and the cause; valid records are still processed), 2 usage error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit statuses.
const (
	exitOK       = 0
	exitBadInput = 1
	exitUsage    = 2
)

// env is what a command reads and writes, so tests run commands in process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// status is what run learns of a command besides its exit status.
	status *status
}

// status records, while a command runs, that it reported bad input and
// went on with the rest (a snapshot's invalid users left out): the command
// then exits 1 however it ends.
type status struct {
	badInput bool
}

// partialInput reports the errors of input that was read in part (each
// joined error on its own line) and makes the command exit 1 when it would
// have exited 0.
func partialInput(e env, err error) {
	for _, one := range splitErrors(err) {
		fmt.Fprintf(e.stderr, "credres: %v\n", one)
	}
	if e.status != nil {
		e.status.badInput = true
	}
}

type command struct {
	name, summary string
	run           func(e env, args []string) int
}

var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	os.Exit(run(env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:]))
}

func run(e env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "--version", "-version", "version":
		return printVersion(e.stdout)
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			return run(e, []string{args[1], "--help"})
		}
		usage(e.stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			e.status = &status{}
			code := c.run(e, args[1:])
			if code == exitOK && e.status.badInput {
				code = exitBadInput
			}
			return code
		}
	}
	fmt.Fprintf(e.stderr, "credres: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "credres: credential resilience for Microsoft Entra ID")
	fmt.Fprintln(w, "\nUsage: credres <command> [flags]\n\nCommands:")
	sorted := append([]command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'credres <command> --help' for a command's flags, 'credres --version' for the version.")
	fmt.Fprintln(w, "Exit status: 0 success, 1 bad input, 2 usage error.")
}

// flags returns a flag set that prints the command's usage and reports
// errors instead of exiting.
func flags(e env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("credres "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: credres %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; it returns the exit status to stop with, or -1 to go on.
func parse(e env, fs *flag.FlagSet, args []string) int {
	fs.SetOutput(e.stderr)
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return exitOK
		}
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	return -1
}

// usageError reports a usage problem and returns exitUsage.
func usageError(e env, fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", fs.Name())
	return exitUsage
}

// inputError reports bad input and returns exitBadInput. Each joined error
// gets its own line, so that every bad record is named.
func inputError(e env, err error) int {
	for _, one := range splitErrors(err) {
		fmt.Fprintf(e.stderr, "credres: %v\n", one)
	}
	return exitBadInput
}

// stringList is a repeatable flag that also takes comma-separated values.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}
