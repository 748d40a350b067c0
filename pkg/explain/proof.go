package explain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/credres/credres/pkg/mask"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// Usage says what the sign-in logs prove about the user's paths
// (docs/USAGE.md): which methods are proven and which are not, when each
// was last used or last failed, the paths that exist only through unproven
// methods, whether the user is within policy only through them, and the
// uses that belong to no registered method. When the tier judges no proof
// (the user matches no tier), it says when each method was last used,
// without a verdict.
//
// A user without usage is not judged: when logsRead is true (the sign-in
// logs showed other users), that is said; otherwise nothing is.
func Usage(u *model.User, a *model.Assessment, logsRead bool) []string {
	if len(u.Usage) == 0 {
		if logsRead {
			return []string{"The sign-in logs never show this user, so their paths are not judged: credres cannot tell a method never used from logs it never received."}
		}
		return nil
	}
	var out []string
	if len(a.Proof) == 0 {
		var lines []string
		for i := range u.Methods {
			m := &u.Methods[i]
			if m.Kind == model.KindPassword {
				continue
			}
			used, failed := model.LastUse(model.MatchUsage(u, m))
			lines = append(lines, Method(*m)+": "+lastUse(used, failed, false))
		}
		if len(lines) > 0 {
			out = append(out, "Sign-in logs, not judged (no proof window applies to the user): "+strings.Join(lines, "; ")+".")
		}
		return append(out, unmatched(u)...)
	}
	var proven, unproven []string
	for _, p := range a.Proof {
		line := Method(methodByID(u, p.ID)) + ": " + lastUse(p.LastUsed, p.LastFailed, p.Proof == model.ProofStale)
		if p.Proven() {
			proven = append(proven, line)
		} else {
			unproven = append(unproven, line)
		}
	}
	if len(proven) > 0 {
		out = append(out, "Proven by the sign-in logs (worked within the proof window): "+strings.Join(proven, "; ")+".")
	}
	if len(unproven) > 0 {
		out = append(out, "Unproven (not used successfully within the proof window): "+strings.Join(unproven, "; ")+".")
	}
	switch {
	case len(a.UnprovenPaths) > 0:
		var deps []string
		for _, p := range a.UnprovenPaths {
			var names []string
			for _, d := range p {
				names = append(names, Dependency(u, d))
			}
			deps = append(deps, strings.Join(names, " + "))
		}
		if uncounted(a) {
			// The tier does not count them: they are not among a.Paths.
			out = append(out, fmt.Sprintf("%d sign-in %s %s only through unproven methods and %s not counted: %s.", len(a.UnprovenPaths), plural(len(a.UnprovenPaths), "path", "paths"), plural(len(a.UnprovenPaths), "exists", "exist"), plural(len(a.UnprovenPaths), "is", "are"), strings.Join(deps, "; ")))
			break
		}
		out = append(out, fmt.Sprintf("%d of the user's %d sign-in %s %s only through unproven methods: %s.", len(a.UnprovenPaths), len(a.Paths), plural(len(a.Paths), "path", "paths"), plural(len(a.UnprovenPaths), "exists", "exist"), strings.Join(deps, "; ")))
	case len(a.Paths) == 1 && len(unproven) == 0:
		out = append(out, "The user's one sign-in path is proven.")
	case len(a.Paths) > 0 && len(unproven) == 0:
		out = append(out, fmt.Sprintf("All %d of the user's sign-in paths are proven.", len(a.Paths)))
	case len(a.Paths) > 0:
		out = append(out, "Every sign-in path also exists through proven methods.")
	}
	if a.RestsOnUnproven {
		if a.Compliant {
			out = append(out, "The user is within policy only through unproven paths: without them they would fall below it. Signing in once with each unproven method checks that it still works; in tiers with a proofWindow, credres asks the user to.")
		} else {
			out = append(out, "Counting the unproven paths, the user would be within policy; the tier does not count them.")
		}
	}
	return append(out, unmatched(u)...)
}

// uncounted reports whether the tier left the unproven methods out
// (countUnproven: false).
func uncounted(a *model.Assessment) bool {
	return slices.ContainsFunc(a.Ignored, func(ig model.IgnoredMethod) bool { return ig.Reason == rules.IgnoredUnproven })
}

// unmatched names the usage records that belong to no registered method:
// a method since removed, or one of several the log does not name.
func unmatched(u *model.User) []string {
	var lines []string
	for _, us := range u.Usage {
		belongs := slices.ContainsFunc(u.Methods, func(m model.Method) bool {
			return slices.Contains(model.MatchUsage(u, &m), us)
		})
		if belongs {
			continue
		}
		lines = append(lines, usedMethod(us)+": "+lastUse(us.LastUsed, us.LastFailed, false))
	}
	if len(lines) == 0 {
		return nil
	}
	return []string{"The sign-in logs also show uses that belong to no registered method (a method since removed, or one of several the log does not name): " + strings.Join(lines, "; ") + "."}
}

// usedMethod names the method a usage record speaks of.
func usedMethod(us model.MethodUsage) string {
	switch us.Kind {
	case model.KindMobilePhone, model.KindAlternateMobilePhone, model.KindOfficePhone:
		s := Method(model.Method{Kind: us.Kind})
		if us.Instance != "" {
			return s + " ending in " + mask.Line(us.Instance)
		}
		return s + " (the log names no number)"
	}
	s := Method(model.Method{Kind: us.Kind, DisplayName: us.Instance})
	if us.Instance == "" && us.Kind != model.KindSoftwareOath && us.Kind != model.KindPassword {
		s += " (the log names none)"
	}
	return s
}

func lastUse(used, failed time.Time, stale bool) string {
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	switch {
	case used.IsZero() && failed.IsZero():
		return "never used"
	case used.IsZero():
		return "failed on " + day(failed) + ", never worked"
	case failed.After(used):
		return "failed on " + day(failed) + ", last worked on " + day(used)
	case stale:
		return "last worked on " + day(used) + ", before the proof window"
	}
	return "last used on " + day(used)
}
