// Command benchscale measures the offline commands on generated tenants of
// growing size and prints the table of docs/PERFORMANCE.md ("Tenants of a
// million users"): wall time and peak resident memory of `credres assess
// --format json`, `report --format json` and `whatif --format json`, each
// as a ratio to the floor measured in the same run, and the peak memory as a
// ratio to the snapshot's size (and `report`'s own peak).
//
// The floor is what any assessment must do: read the file, make one JSON
// pass over it (the standard library's validating scanner), evaluate every
// user (rules.Engine.EvaluateAll, on every core, as assess does) and encode
// the assessments as JSON. Each part is timed on its own, in this process,
// on the same snapshot.
//
// Snapshots are generated with internal/synth into a temporary directory (or
// -dir) and deleted at the end; with -keep they stay, and a later run with
// the same -dir, -keep and -seed reads them again rather than generating
// them. Usage (make bench-scale):
//
//	go build -o bin/credres ./cmd/credres
//	go run ./scripts/benchscale -credres bin/credres [-before OLD-BINARY] [-users 1000,10000,100000,1000000]
//
// -before names a credres binary built from an older commit; its assess
// and report runs alternate with the new one's, so that the two compare in
// one run (the older binary's report against its own assess).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/rules"
)

func main() {
	credres := flag.String("credres", "bin/credres", "the credres `binary` to measure")
	before := flag.String("before", "", "an older credres `binary` to compare assess with, in the same run")
	beforeMax := flag.Int("before-max", 100_000, "largest tenant the older binary runs on")
	users := flag.String("users", "1000,10000,100000,1000000", "tenant `sizes`, comma-separated")
	runs := flag.Int("runs", 1, "runs of each command per size (the median is shown)")
	dir := flag.String("dir", "", "`directory` for the generated snapshots (default: a new temporary one, removed at the end)")
	seed := flag.Int64("seed", 1, "synth seed")
	keep := flag.Bool("keep", false, "keep the generated snapshots in -dir, and read those already there")
	floorOf := flag.String("floor", "", "measure the floor on `snapshot` and print it (how this program runs the floor in a process of its own)")
	flag.Parse()
	if *floorOf != "" {
		f := measureFloor(*floorOf)
		fmt.Println(int64(f.wall), int64(f.cpu))
		return
	}

	if *dir == "" {
		d, err := os.MkdirTemp("", "credres-bench-scale")
		check(err)
		defer os.RemoveAll(d)
		*dir = d
	}
	var sizes []int
	for _, s := range strings.Split(*users, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		check(err)
		sizes = append(sizes, n)
	}

	fmt.Printf("| users | snapshot | floor (wall / CPU) | assess --format json (wall / CPU) | ratio to floor (wall / CPU) | peak RSS | RSS / snapshot | report / assess (wall / CPU) | report peak RSS | whatif / assess (wall / CPU) |")
	if *before != "" {
		fmt.Printf(" before: assess (wall / CPU) | before: ratio to floor | before: peak RSS | before: RSS / snapshot | before: report / assess (wall / CPU) |")
	}
	fmt.Println()
	fmt.Printf("|---|---|---|---|---|---|---|---|---|---|")
	if *before != "" {
		fmt.Printf("---|---|---|---|---|")
	}
	fmt.Println()
	for _, n := range sizes {
		file := filepath.Join(*dir, fmt.Sprintf("tenant-%d-seed-%d.json", n, *seed))
		size := snapshot(file, n, *seed, *keep)
		floor := floorInChild(file)
		var assess, report, whatif, old, oldReport []result
		for range *runs {
			older := *before != "" && n <= *beforeMax
			if older {
				old = append(old, measure(*before, "assess", "--directory", file, "--format", "json"))
			}
			assess = append(assess, measure(*credres, "assess", "--directory", file, "--format", "json"))
			report = append(report, measure(*credres, "report", "--directory", file, "--format", "json"))
			if older {
				oldReport = append(oldReport, measure(*before, "report", "--directory", file, "--format", "json"))
			}
			whatif = append(whatif, measure(*credres, "whatif", "--directory", file, "--down", "phone-carrier", "--format", "json"))
		}
		a, r, w := median(assess), median(report), median(whatif)
		fmt.Printf("| %s | %s | %s / %s | %s / %s | %.2f / %.2f | %s | %.2f | %.2f / %.2f | %s | %.2f / %.2f |",
			count(n), mb(size), secs(floor.wall), secs(floor.cpu), secs(a.wall), secs(a.cpu),
			ratio(a.wall, floor.wall), ratio(a.cpu, floor.cpu), mb(a.rss), float64(a.rss)/float64(size),
			ratio(r.wall, a.wall), ratio(r.cpu, a.cpu), mb(r.rss), ratio(w.wall, a.wall), ratio(w.cpu, a.cpu))
		if *before != "" {
			if len(old) > 0 {
				o, ro := median(old), median(oldReport)
				fmt.Printf(" %s / %s | %.2f / %.2f | %s | %.2f | %.2f / %.2f |", secs(o.wall), secs(o.cpu), ratio(o.wall, floor.wall), ratio(o.cpu, floor.cpu), mb(o.rss), float64(o.rss)/float64(size), ratio(ro.wall, o.wall), ratio(ro.cpu, o.cpu))
			} else {
				fmt.Printf(" not run | | | | |")
			}
		}
		fmt.Println()
		if !*keep {
			os.Remove(file)
		}
	}
}

// floorInChild measures the floor in a process of its own. The floor holds
// the whole directory; measured in this process, it would raise this
// process's peak resident memory, which every command started after it
// inherits in its own figure (Linux carries the peak over a fork and an
// exec), and the commands' peak memory would read as the floor's.
func floorInChild(file string) result {
	self, err := os.Executable()
	check(err)
	out, err := exec.Command(self, "-floor", file).Output()
	check(err)
	var wall, cpu int64
	_, err = fmt.Sscan(string(out), &wall, &cpu)
	check(err)
	return result{wall: time.Duration(wall), cpu: time.Duration(cpu)}
}

// snapshot writes the snapshot of synth.Tenant(n, seed) to file, or with
// reuse keeps the one already there, and returns its size. A snapshot is
// written under another name and renamed, so that a run stopped while
// writing leaves none to be read again.
func snapshot(file string, n int, seed int64, reuse bool) int64 {
	if st, err := os.Stat(file); reuse && err == nil {
		return st.Size()
	}
	f, err := os.Create(file + ".partial")
	check(err)
	check(synth.WriteTenant(f, n, seed))
	check(f.Close())
	check(os.Rename(file+".partial", file))
	st, err := os.Stat(file)
	check(err)
	return st.Size()
}

// measureFloor times the floor's four parts on the snapshot in file.
func measureFloor(file string) result {
	dir, err := graphjson.LoadDirectoryWith(file, graphjson.DirectoryOptions{})
	check(err)
	runtime.GC()

	cpu0 := cpuTime()
	start := time.Now()
	data, err := os.ReadFile(file)
	check(err)
	if !json.Valid(data) {
		check(fmt.Errorf("%s: not JSON", file))
	}
	readAndScan := time.Since(start)
	cpu1 := cpuTime()
	data = nil
	runtime.GC()

	cpu2 := cpuTime()
	start = time.Now()
	as := rules.New(nil).EvaluateAll(dir)
	evaluate := time.Since(start)

	start = time.Now()
	w := bufio.NewWriterSize(io.Discard, 1<<16)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range as {
		buf.Reset()
		check(enc.Encode(&as[i]))
		w.Write(buf.Bytes())
	}
	check(w.Flush())
	encode := time.Since(start)
	cpu3 := cpuTime()
	debug.FreeOSMemory()
	return result{wall: readAndScan + evaluate + encode, cpu: cpu1 - cpu0 + cpu3 - cpu2}
}

type result struct {
	wall time.Duration
	cpu  time.Duration // user and system
	rss  int64         // bytes
}

// measure runs the binary with args, its output discarded, and returns its
// wall time and peak resident memory.
func measure(bin string, args ...string) result {
	cmd := exec.Command(bin, args...)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	check(err)
	defer null.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = null, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		check(fmt.Errorf("%s %s: %v: %s", bin, strings.Join(args, " "), err, stderr.Bytes()))
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return result{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), rss: ru.Maxrss * 1024}
}

func median(rs []result) result {
	walls := make([]time.Duration, len(rs))
	cpus := make([]time.Duration, len(rs))
	rsss := make([]int64, len(rs))
	for i, r := range rs {
		walls[i], cpus[i], rsss[i] = r.wall, r.cpu, r.rss
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	slices.Sort(rsss)
	return result{wall: walls[len(walls)/2], cpu: cpus[len(cpus)/2], rss: rsss[len(rsss)/2]}
}

// cpuTime is this process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
}
