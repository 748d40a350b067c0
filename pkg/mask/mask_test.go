package mask

import (
	"strings"
	"testing"
)

func TestPhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+1 2065555555":     "+1 ••• ••• 5555",
		"+44 7700900123":    "+44 ••• ••• 0123",
		"+1 (206) 555-0123": "+1 ••• ••• 0123",
		"2065550123":        "••• ••• 0123",
		"12345":             "•••",
		"":                  "",
	} {
		if got := Phone(in); got != want {
			t.Errorf("Phone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"adele.vance@contoso.example": "a•••@contoso.example",
		"x@fabrikam.example":          "x•••@fabrikam.example",
		"no-at-sign":                  "•••",
		"":                            "",
	} {
		if got := Email(in); got != want {
			t.Errorf("Email(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzPhone(f *testing.F) {
	f.Add("+1 2065555555")
	f.Fuzz(func(t *testing.T, s string) {
		out := Phone(s)
		// Never more than four digits of the original survive, plus the country code.
		digits := 0
		for _, r := range strings.TrimPrefix(out, "+") {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if digits > 7 {
			t.Errorf("Phone(%q) = %q keeps %d digits", s, out, digits)
		}
	})
}
