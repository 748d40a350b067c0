package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/awstest"
)

// functions are the Lambda functions of template.yaml, one folder each under functions/.
var functions = []string{"ingest", "evaluate", "nudge", "ticket", "sweep"}

// bootstraps maps a function's name to its bootstrap, built once by TestMain; nil when the local
// servers are not configured, in which case every test skips (or fails under CI) through
// package awstest.
var bootstraps map[string]string

// buildTimeout bounds the build of the five bootstraps. With a warm build cache it takes about
// 15 s on two cores; a cold cache recompiles the Microsoft Graph SDK, which takes minutes.
const buildTimeout = 10 * time.Minute

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var missing []string
	for _, name := range []string{awstest.EnvRIE, awstest.EnvDynamoDBEndpoint, awstest.EnvSQSEndpoint} {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "e2e: %s not set, and CI must not skip the end-to-end tests: run them through `make test`, which starts the local servers\n",
				strings.Join(missing, ", "))
			return 1
		}
		// The tests skip one by one with awstest's message; nothing is built.
		fmt.Fprintf(os.Stderr, "e2e: skipped: %s not set; run `make test`, or `scripts/testservers.sh start` and source .cache/testservers/env\n",
			strings.Join(missing, ", "))
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "credres-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	bootstraps, err = build(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Printf("e2e: built %d bootstraps in %s\n", len(bootstraps), time.Since(start).Round(100*time.Millisecond))
	}
	return m.Run()
}

// build compiles every function for this machine as the Makefile compiles them for Lambda
// (-tags lambda.norpc, a binary named bootstrap) into dir/<name>/bootstrap. One go command
// builds all five, so that they share one load of the package graph and the go command runs
// the compiles and links in parallel.
func build(dir string) (map[string]string, error) {
	out := filepath.Join(dir, "build")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	// go test runs tests in the package's folder; the module root is its parent.
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out+string(filepath.Separator), "./functions/...")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build -tags lambda.norpc ./functions/...: %v\n%s", err, output)
	}
	paths := map[string]string{}
	for _, name := range functions {
		dst := filepath.Join(dir, name, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(out, name), dst); err != nil {
			return nil, fmt.Errorf("bootstrap of %s: %w", name, err)
		}
		paths[name] = dst
	}
	return paths, nil
}
