package main

import (
	"fmt"
	"strconv"
	"strings"
)

// samconfig is a SAM CLI configuration file: tables ("default.deploy.parameters")
// of keys and values. Values are strings, booleans, numbers (kept as their
// text) or arrays of strings.
type samconfig map[string]map[string]any

// parseSAMConfig reads the part of TOML a samconfig.toml uses: comments,
// [table] headers, key = value with basic ("...") or literal ('...')
// strings, booleans, numbers, and arrays of strings that may span lines and
// hold comments. Anything else is an error naming the line.
func parseSAMConfig(text string) (samconfig, error) {
	cfg := samconfig{}
	table := ""
	cfg[table] = map[string]any{}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(stripComment(lines[i]))
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") || strings.HasPrefix(line, "[[") {
				return nil, fmt.Errorf("line %d: %q is not a table header", i+1, line)
			}
			table = strings.TrimSpace(line[1 : len(line)-1])
			if cfg[table] == nil {
				cfg[table] = map[string]any{}
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not key = value", i+1, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "" {
			return nil, fmt.Errorf("line %d: a value without a key", i+1)
		}
		if _, dup := cfg[table][key]; dup {
			return nil, fmt.Errorf("line %d: %s is set twice in [%s]", i+1, key, table)
		}
		if strings.HasPrefix(value, "[") {
			// Gather the array up to its closing bracket.
			start := i
			for !arrayClosed(value) {
				i++
				if i >= len(lines) {
					return nil, fmt.Errorf("line %d: the array of %s is not closed", start+1, key)
				}
				value += "\n" + stripComment(lines[i])
			}
			items, err := parseArray(value)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", start+1, key, err)
			}
			cfg[table][key] = items
			continue
		}
		v, rest, err := parseScalar(value)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", i+1, key, err)
		}
		if strings.TrimSpace(rest) != "" {
			return nil, fmt.Errorf("line %d: %s: unexpected %q after the value", i+1, key, rest)
		}
		cfg[table][key] = v
	}
	return cfg, nil
}

// outsideStrings calls visit with each rune of s that is not inside a TOML
// string ("basic", with backslash escapes, or 'literal'), and its index,
// until visit returns false.
func outsideStrings(s string, visit func(i int, r rune) bool) {
	var quote rune
	escaped := false
	for i, r := range s {
		switch {
		case escaped:
			escaped = false
		case quote == '"' && r == '\\':
			escaped = true
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '"' || r == '\''):
			quote = r
		case quote == 0:
			if !visit(i, r) {
				return
			}
		}
	}
}

// stripComment removes a # comment that is not inside a string.
func stripComment(line string) string {
	end := len(line)
	outsideStrings(line, func(i int, r rune) bool {
		if r == '#' {
			end = i
			return false
		}
		return true
	})
	return line[:end]
}

// arrayClosed reports whether s, which starts an array, holds its closing
// bracket.
func arrayClosed(s string) bool {
	depth, closed := 0, false
	outsideStrings(s, func(_ int, r rune) bool {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
			closed = depth == 0
		}
		return !closed
	})
	return closed
}

// parseArray reads [ "a", 'b', ] into its strings.
func parseArray(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(s[1:])
	var out []string
	for {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "]") {
			if rest := strings.TrimSpace(s[1:]); rest != "" {
				return nil, fmt.Errorf("unexpected %q after the array", rest)
			}
			return out, nil
		}
		v, rest, err := parseScalar(s)
		if err != nil {
			return nil, err
		}
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("only arrays of strings are supported, not %v", v)
		}
		out = append(out, str)
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, ",") {
			rest = rest[1:]
		} else if !strings.HasPrefix(rest, "]") {
			return nil, fmt.Errorf("expected , or ] after %q", str)
		}
		s = rest
	}
}

// parseScalar reads one value at the start of s and returns the rest.
func parseScalar(s string) (any, string, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			c := s[i]
			switch c {
			case '"':
				return b.String(), s[i+1:], nil
			case '\\':
				if i+1 >= len(s) {
					return nil, "", fmt.Errorf("a string ends in a backslash")
				}
				i++
				switch s[i] {
				case '"', '\\':
					b.WriteByte(s[i])
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					return nil, "", fmt.Errorf("escape \\%c is not supported", s[i])
				}
			case '\n':
				return nil, "", fmt.Errorf("a string is not closed on its line")
			default:
				b.WriteByte(c)
			}
		}
		return nil, "", fmt.Errorf("a string is not closed")
	case strings.HasPrefix(s, "'"):
		end := strings.IndexAny(s[1:], "'\n")
		if end < 0 || s[1+end] != '\'' {
			return nil, "", fmt.Errorf("a literal string is not closed on its line")
		}
		return s[1 : 1+end], s[2+end:], nil
	}
	word := s
	if i := strings.IndexAny(s, ",] \t\n"); i >= 0 {
		word = s[:i]
	}
	switch word {
	case "true", "false":
		return word == "true", s[len(word):], nil
	}
	if _, err := strconv.ParseFloat(word, 64); err == nil && word != "" {
		return word, s[len(word):], nil
	}
	return nil, "", fmt.Errorf("%q is not a string, boolean or number", word)
}

// str returns a string setting of a table, "" when unset.
func (c samconfig) str(table, key string) string {
	v, _ := c[table][key].(string)
	return v
}
