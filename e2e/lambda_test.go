package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credres/credres/internal/awstest"
)

// Bounds of the polling and waiting the helpers do; a test never sleeps otherwise.
const (
	startTimeout  = 10 * time.Second // until the emulator accepts connections
	stopTimeout   = 5 * time.Second  // after SIGTERM, before SIGKILL
	invokeTimeout = 60 * time.Second // one invocation, answered by the emulator
	logTimeout    = 5 * time.Second  // until the emulator's output shows an invocation's end
	pollInterval  = 20 * time.Millisecond
	// functionTimeout is the Lambda timeout the emulator enforces (AWS_LAMBDA_FUNCTION_TIMEOUT).
	functionTimeout = "30"
)

// function is one Lambda function: its bootstrap running under Amazon's runtime interface
// emulator on two free loopback ports, invoked over the emulator's HTTP API.
type function struct {
	name string
	url  string
	cmd  *exec.Cmd
	// stdout is what the emulator writes to its standard output: the function's standard output
	// and standard error (the emulator hands the runtime its own stdout for both) and the
	// emulator's START, END and REPORT lines around each invocation.
	stdout *lockedBuffer
	// stderr is the emulator's own log.
	stderr *lockedBuffer
	exited chan struct{}
	calls  int
}

// startFunction starts the named function with exactly env as its environment (nothing of
// the test process's environment leaks in) and waits until the emulator accepts connections.
// The emulator runs the bootstrap on the first invocation. When the test ends, the emulator is
// stopped by its process id (it kills the runtime it started) and the function's whole output
// is checked: every line is the emulator's, the Lambda runtime's error report, or a JSON log
// line of the function's logger, and no line carries the sample tenant's personal data.
func startFunction(t *testing.T, name string, env map[string]string) *function {
	t.Helper()
	rie := awstest.RIE(t)
	bootstrap, ok := bootstraps[name]
	if !ok {
		t.Fatalf("no bootstrap built for function %q", name)
	}
	var errs []string
	// A free port found by listening and closing can be taken by someone else before the
	// emulator binds it; the emulator then exits at once, and another pair is tried.
	for range 3 {
		f, err := tryStart(t, rie, name, bootstrap, env)
		if err == nil {
			return f
		}
		errs = append(errs, err.Error())
	}
	t.Fatalf("start %s under aws-lambda-rie:\n%s", name, strings.Join(errs, "\n"))
	return nil
}

func tryStart(t *testing.T, rie, name, bootstrap string, env map[string]string) (*function, error) {
	emulator, err := freeAddress()
	if err != nil {
		return nil, err
	}
	api, err := freeAddress()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", emulator, "--runtime-api-address", api, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = environ(env)
	f := &function{
		name:   name,
		url:    "http://" + emulator + "/2015-03-31/functions/function/invocations",
		cmd:    cmd,
		stdout: &lockedBuffer{},
		stderr: &lockedBuffer{},
		exited: make(chan struct{}),
	}
	cmd.Stdout, cmd.Stderr = f.stdout, f.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", rie, err)
	}
	go func() {
		cmd.Wait()
		close(f.exited)
	}()
	t.Cleanup(func() { checkOutput(t, f) }) // runs after stop: cleanups run last first
	t.Cleanup(f.stop)

	deadline := time.Now().Add(startTimeout)
	for {
		conn, err := net.DialTimeout("tcp", emulator, pollInterval)
		if err == nil {
			conn.Close()
			return f, nil
		}
		select {
		case <-f.exited:
			return nil, fmt.Errorf("aws-lambda-rie exited before answering on %s: %s", emulator, f.stderr)
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("aws-lambda-rie did not answer on %s within %s: %s", emulator, startTimeout, f.stderr)
		}
	}
}

// stop ends the emulator by its process id: SIGTERM makes it kill the runtime and exit;
// SIGKILL if it does not within stopTimeout (the runtime then exits when its Runtime API
// goes away).
func (f *function) stop() {
	select {
	case <-f.exited:
		return
	default:
	}
	f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.exited:
	case <-time.After(stopTimeout):
		f.cmd.Process.Kill()
		<-f.exited
	}
}

func freeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// result is one invocation as the emulator answered it.
type result struct {
	requestID string
	status    int
	header    http.Header
	body      []byte
	// logs are the JSON lines the function's logger wrote during the invocation, in order.
	logs []logLine
	// startup are the lines the function logged while starting, before its handler ran: the
	// emulator starts the runtime on the first invocation, so they come with it.
	startup []logLine
	// runtimeErrors are the error reports the Lambda runtime library (aws-lambda-go) printed
	// with the standard log package when the handler returned an error.
	runtimeErrors []string
}

// logLine is one JSON log line.
type logLine map[string]any

func (l logLine) str(key string) string {
	s, _ := l[key].(string)
	return s
}

// invoke sends payload as one invocation with its own request id, and returns the answer and,
// when the function answered (status 200), the function's output for the invocation.
func (f *function) invoke(t *testing.T, payload []byte) result {
	t.Helper()
	f.calls++
	res := result{requestID: fmt.Sprintf("e2e-%s-%d", f.name, f.calls)}
	ctx, cancel := context.WithTimeout(t.Context(), invokeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	// The emulator uses this header as the invocation's request id, which the runtime passes
	// to the handler: the logs must carry it.
	req.Header.Set("X-Amzn-RequestId", res.requestID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v\nemulator log:\n%s", f.name, err, f.stderr)
	}
	defer resp.Body.Close()
	res.status, res.header = resp.StatusCode, resp.Header
	if res.body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatalf("invoke %s: read the answer: %v", f.name, err)
	}
	if res.status == http.StatusOK {
		res.logs, res.runtimeErrors = f.invocationOutput(t, res.requestID)
		if f.calls == 1 {
			for len(res.logs) > 0 && res.logs[0]["requestId"] == nil {
				res.startup, res.logs = append(res.startup, res.logs[0]), res.logs[1:]
			}
		}
	}
	return res
}

var (
	// emulatorLine is a line the emulator writes around an invocation.
	emulatorLine = regexp.MustCompile(`^(START|END|REPORT) RequestId: (\S+)`)
	// checksumWarning is the AWS SDK's warning that a DynamoDB response had no CRC32
	// header. DynamoDB Local sends none with its error responses (a failed conditional write,
	// which the delivery claims cause on purpose); DynamoDB does, so Lambda never logs this.
	checksumWarning = regexp.MustCompile(`^failed to close HTTP response body, this may affect connection reuse: response did not match expected checksum, 0, \d+$`)
)

// Sources of log lines the function's code does not write itself (pkg/wiring sends them
// to the same JSON log): aws-lambda-go reporting a handler's error through the standard
// log package, and the AWS SDK's own logger.
const (
	sourceRuntime = "runtime"
	sourceSDK     = "aws-sdk"
)

// runtimeError returns the error JSON of aws-lambda-go's report of a handler's error.
func runtimeError(l logLine) (string, bool) {
	if l.str("source") != sourceRuntime || !strings.HasPrefix(l.str("message"), `{"errorMessage":`) {
		return "", false
	}
	return l.str("message"), true
}

// sdkChecksumWarning reports the one SDK warning DynamoDB Local causes.
func sdkChecksumWarning(l logLine) bool {
	return l.str("source") == sourceSDK && checksumWarning.MatchString(l.str("message"))
}

// invocationOutput waits until the emulator's output shows the invocation's REPORT line,
// which it writes after the function answered, and returns the function's lines between
// the invocation's START and END lines.
func (f *function) invocationOutput(t *testing.T, requestID string) ([]logLine, []string) {
	t.Helper()
	report := "REPORT RequestId: " + requestID
	deadline := time.Now().Add(logTimeout)
	for !strings.Contains(f.stdout.String(), report) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q in the output within %s:\n%s", f.name, report, logTimeout, f.stdout)
		}
		time.Sleep(pollInterval)
	}
	var logs []logLine
	var runtimeErrors []string
	in := false
	for _, line := range lines(f.stdout.String()) {
		if m := emulatorLine.FindStringSubmatch(line); m != nil {
			if m[2] == requestID {
				in = m[1] == "START"
			}
			continue
		}
		if !in {
			continue
		}
		var l logLine
		if err := json.Unmarshal([]byte(line), &l); err != nil || sdkChecksumWarning(l) {
			continue
		}
		if msg, ok := runtimeError(l); ok {
			runtimeErrors = append(runtimeErrors, msg)
			continue
		}
		logs = append(logs, l)
	}
	return logs, runtimeErrors
}

// waitForLog polls the function's output until a JSON line satisfies match, and returns it.
func (f *function) waitForLog(t *testing.T, what string, match func(logLine) bool) logLine {
	t.Helper()
	deadline := time.Now().Add(logTimeout)
	for {
		for _, line := range lines(f.stdout.String()) {
			var l logLine
			if json.Unmarshal([]byte(line), &l) == nil && match(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no log line %s within %s; output:\n%s\nemulator log:\n%s", f.name, what, logTimeout, f.stdout, f.stderr)
		}
		time.Sleep(pollInterval)
	}
}

// checkOutput checks the function's whole output once the emulator has stopped.
func checkOutput(t *testing.T, f *function) {
	t.Helper()
	for _, problem := range outputProblems(f.name, f.stdout.String(), personalData(t)) {
		t.Error(problem)
	}
}

// outputProblems checks every line of a function's output: it is the emulator's, the
// runtime's error report, or a JSON line of the function's logger (with its name, level, time
// and message), and it carries none of the forbidden strings and no phone number.
func outputProblems(function, output string, forbidden []string) []string {
	var problems []string
	report := func(i int, line, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s output line %d %s: %s", function, i+1, fmt.Sprintf(format, args...), line))
	}
	for i, line := range lines(output) {
		for _, p := range forbidden {
			if strings.Contains(line, p) {
				report(i, line, "carries personal data %q", p)
			}
		}
		if phoneLike.MatchString(line) {
			report(i, line, "carries something like a phone number")
		}
		if emulatorLine.MatchString(line) {
			continue
		}
		var l logLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			report(i, line, "is not a JSON log line")
			continue
		}
		if sdkChecksumWarning(l) {
			continue
		}
		if msg, ok := runtimeError(l); ok && !json.Valid([]byte(msg)) {
			report(i, line, "is a runtime error report that is not JSON")
		}
		if src := l.str("source"); src == sourceSDK && !sdkChecksumWarning(l) {
			report(i, line, "is an unexpected AWS SDK message")
		}
		if got := l.str("function"); got != function {
			report(i, line, "names function %q", got)
		}
		for _, key := range []string{"level", "time", "message"} {
			if _, ok := l[key]; !ok {
				report(i, line, "has no %q", key)
			}
		}
	}
	return problems
}

// phoneLike matches an international phone number written with digits (a masked one, such as
// "+1 ••• ••• 0100", does not match).
var phoneLike = regexp.MustCompile(`\+\d[\d ().-]{6,}\d`)

func lines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimRight(line, "\r"); strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	return out
}

// lockedBuffer collects a process's output while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
