package templatetest

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
)

// The Makefile beside the template, read for its variables.

type makefile struct {
	vars    map[string]string
	targets map[string][]string // target -> recipe lines
}

var assignment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*(:=|\?=|\+=|=)\s*(.*)$`)

// parseMakefile reads variable assignments and explicit rules; it is
// enough for the Makefile this project writes, not for make in general.
func parseMakefile(b []byte) makefile {
	m := makefile{vars: map[string]string{}, targets: map[string][]string{}}
	var current []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	var cont string
	for sc.Scan() {
		line := cont + sc.Text()
		cont = ""
		if strings.HasSuffix(line, "\\") {
			cont = strings.TrimSuffix(line, "\\") + " "
			continue
		}
		if strings.HasPrefix(line, "\t") {
			for _, tg := range current {
				m.targets[tg] = append(m.targets[tg], strings.TrimPrefix(line, "\t"))
			}
			continue
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if a := assignment.FindStringSubmatch(line); a != nil {
			current = nil
			switch a[2] {
			case "?=":
				if _, ok := m.vars[a[1]]; !ok {
					m.vars[a[1]] = a[3]
				}
			case "+=":
				m.vars[a[1]] = strings.TrimSpace(m.vars[a[1]] + " " + a[3])
			default:
				m.vars[a[1]] = a[3]
			}
			continue
		}
		head, rest, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(head, ".") {
			current = nil
			continue
		}
		current = strings.Fields(head)
		for _, tg := range current {
			if _, seen := m.targets[tg]; !seen {
				m.targets[tg] = nil
			}
		}
		// An inline recipe after ';' belongs to the targets too.
		if i := strings.Index(rest, "#"); i >= 0 {
			rest = rest[:i]
		}
		if _, inline, ok := strings.Cut(rest, ";"); ok {
			for _, tg := range current {
				m.targets[tg] = append(m.targets[tg], strings.TrimSpace(inline))
			}
		}
	}
	return m
}

var makeVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand substitutes the Makefile's own variables; others (ARTIFACTS_DIR,
// set by sam build) stay as written.
func (m makefile) expand(s string) string {
	for range 10 {
		next := makeVar.ReplaceAllStringFunc(s, func(v string) string {
			if val, ok := m.vars[v[2:len(v)-1]]; ok {
				return val
			}
			return v
		})
		if next == s {
			return s
		}
		s = next
	}
	return s
}
