package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release, set at build time:
//
//	go build -ldflags "-X main.version=v1.2.0" ./cmd/credres
//
// (make build sets it from git describe). Without it, the version comes
// from the build information the go command records: the module version
// when installed with go install, otherwise the VCS revision.
var version = ""

// versionString describes this binary: its version, the VCS revision and
// time it was built from (with "+dirty" for uncommitted changes), and the
// Go release that built it.
func versionString(info *debug.BuildInfo, ok bool) string {
	v := version
	var rev, when string
	dirty := false
	if ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	out := "credres " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+dirty"
		}
		out += " (" + rev
		if when != "" {
			out += " " + when
		}
		out += ")"
	}
	goVersion := runtime.Version()
	if ok && info.GoVersion != "" {
		goVersion = info.GoVersion
	}
	return out + " " + goVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
}

func printVersion(w io.Writer) int {
	info, ok := debug.ReadBuildInfo()
	fmt.Fprintln(w, versionString(info, ok))
	return exitOK
}
