// Command credres is the operator CLI of credres: it assesses users'
// credential resilience from a directory snapshot or live from Microsoft
// Graph, explains one user, answers what-if questions about outages, parses
// Entra audit records and runs the whole pipeline locally.
//
// Exit status: 0 success, 1 bad input (the message names the file, the
// record and the cause; valid records are still processed), 2 usage error.
package main

import (
	"embed"
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

// commands are credres's commands, each in a file of its name.
var commands = []command{
	{"assess", "evaluate every user of a directory snapshot (or live from Graph)", runAssess},
	{"demo", "run ingest → evaluate → nudge/ticket locally, with no cloud", runDemo},
	{"doctor", "check a deployment from a terminal: Graph, Event Hubs, tables, queues", runDoctor},
	{"explain", "explain one user's assessment in plain sentences", runExplain},
	{"export", "write a directory snapshot of the live tenant for offline use", runExport},
	{"parse", "normalise Entra audit and sign-in records into events (JSON Lines)", runParse},
	{"report", "tenant resilience report: outages, risks, hybrid exposure (HTML, JSON or CSV)", runReport},
	{"whatif", "who would be locked out if dependencies failed together", runWhatif},
}

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

// helpFiles hold each command's usage text, help/<command>.txt: the
// synopsis on the first line, a blank line, then what the command does.
//
//go:embed help/*.txt
var helpFiles embed.FS

// helpText returns the synopsis and the description of the named command.
func helpText(name string) (synopsis, about string) {
	data, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic(fmt.Sprintf("credres: no usage text for command %s: %v", name, err))
	}
	synopsis, about, _ = strings.Cut(strings.TrimSuffix(string(data), "\n"), "\n\n")
	return synopsis, about
}

// flags returns the named command's flag set, with the usage text of
// help/<name>.txt.
func flags(e env, name string) *flag.FlagSet {
	synopsis, about := helpText(name)
	return flagSet(e, name, synopsis, about)
}

// flagSet returns a flag set that prints the command's usage and reports
// errors instead of exiting.
func flagSet(e env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("credres "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: credres %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses the flags of a command that takes no arguments; it returns
// the exit status to stop with, or -1 to go on.
func parse(e env, fs *flag.FlagSet, args []string) int {
	if code := parseArgs(e, fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	return -1
}

// parseArgs parses flags and leaves the arguments after them to the
// command; it returns the exit status to stop with, or -1 to go on.
func parseArgs(e env, fs *flag.FlagSet, args []string) int {
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
