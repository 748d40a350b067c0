package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// hostileTenant is the sample tenant with display names that try to act on
// a terminal: an escape sequence that sets the window title, a line break, a
// clear-screen sequence and a right-to-left override.
func hostileTenant(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(sampleTenant)
	if err != nil {
		t.Fatal(err)
	}
	var snap map[string]any
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	for _, u := range snap["users"].([]any) {
		u := u.(map[string]any)
		name, _ := u["displayName"].(string)
		u["displayName"] = "\x1b]0;owned\x07" + name + "\r\nRoot\x1b[2J\u202e\u0085"
	}
	out, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tenant.json")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// controls lists the characters of s that do more on a terminal than show
// themselves (line feeds and tabs aside).
func controls(s string) []rune {
	var out []rune
	for _, r := range s {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			out = append(out, r)
		}
	}
	return out
}

func TestTerminalOutputHoldsNoControlCharacters(t *testing.T) {
	tenant := hostileTenant(t)
	for _, args := range [][]string{
		{"explain", "--directory", tenant, "--user", "adele.vance@contoso.example"},
		{"assess", "--directory", tenant},
		{"demo", "--directory", tenant, "--state", t.TempDir(), "--now", "2026-11-26T09:00:00Z"},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, out, errOut := credres(t, "", args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if c := controls(out + errOut); len(c) > 0 {
				t.Errorf("output holds control characters %q:\n%s", c, out)
			}
			if !strings.Contains(out, "Root") && args[0] != "assess" {
				t.Errorf("the display name is not shown:\n%s", out)
			}
		})
	}
}

func TestExplainKeepsTheDisplayNameOnOneLine(t *testing.T) {
	code, out, _ := credres(t, "", "explain", "--directory", hostileTenant(t), "--user", "adele.vance@contoso.example")
	first, _, _ := strings.Cut(out, "\n")
	if code != exitOK || first != `]0;ownedAdele Vance Root[2J (adele.vance@contoso.example) is in tier "standard".` {
		t.Errorf("exit %d, first line %q", code, first)
	}
}
