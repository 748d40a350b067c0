package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionString(t *testing.T) {
	t.Parallel()
	info := &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-03T21:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"from-vcs", info, true, "credres devel (0123456789ab+dirty 2026-12-03T21:00:00Z) go1.27.3" + platform},
		{"go-install", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "v1.4.0"}}, true, "credres v1.4.0 go1.27.3" + platform},
		{"no-build-info", nil, false, "credres devel " + runtime.Version() + platform},
	} {
		if got := versionString(tc.info, tc.ok); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--version", "version"} {
		var out, errOut bytes.Buffer
		if code := run(env{stdout: &out, stderr: &errOut}, []string{arg}); code != exitOK || !strings.HasPrefix(out.String(), "credres ") {
			t.Errorf("%s: exit %d, %q %q", arg, code, out.String(), errOut.String())
		}
	}
}

// TestVersionLdflags builds the CLI as make build does and checks that the
// version given to the linker is the one printed.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "credres")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^credres v9\.8\.7-test( \([0-9a-f]{12}(\+dirty)?( \S+)?\))? go\S+ \S+/\S+\n$`).Match(out) {
		t.Errorf("credres --version = %q", out)
	}
}
