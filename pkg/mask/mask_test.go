package mask

import (
	"strings"
	"testing"
	"unicode"
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
		// Short national numbers keep nothing: four of five digits would
		// be the number.
		"+1 23456":    "+1 •••",
		"+49 1234567": "+49 •••",
		"1234567":     "•••",
		"+123 45678":  "+123 •••",
		// Eight national digits show half.
		"+49 12345678": "+49 ••• ••• 5678",
		// Nothing but digits leaves the mask, not even a control character.
		"+1 206555\x1b[2J0123": "+1 ••• ••• 0123",
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
		"Pat@Contoso.Example":         "P•••@Contoso.Example",
		"jo@bücher.example":           "j•••@bücher.example",
		// What follows the first @ is only shown when it is a domain name.
		"a@contoso.example\r\nBcc: victim@fabrikam.example": "a•••@•••",
		"a@contoso.example victim@fabrikam.example":         "a•••@•••",
		"a@b@fabrikam.example":                              "a•••@•••",
		"a@":                                                "a•••@•••",
		"a@-contoso.example":                                "a•••@•••",
		"a@contoso..example":                                "a•••@•••",
		"a@contoso.example.":                                "a•••@•••",
		"a@contoso\x1b[31m.example":                         "a•••@•••",
		// A control character is not a first letter.
		"\x1b[2J@contoso.example": "•••@contoso.example",
		"@contoso.example":        "•••",
	} {
		if got := Email(in); got != want {
			t.Errorf("Email(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLine(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Adele Vance":                  "Adele Vance",
		"Adele\r\nVance":               "Adele Vance",
		"Adele\tVance":                 "Adele Vance",
		"\x1b[31mAdele\x1b[0m":         "[31mAdele[0m",
		"Adele\x00\x07\x7f\u0085Vance": "Adele Vance",
		"Ad\u202eele":                  "Adele",
		"  Zoë Müller ":                "Zoë Müller",
		"\xff":                         "\ufffd",
	} {
		if got := Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Hello\nworld\n":        "Hello\nworld\n",
		"Hello\r\nworld\r\n":    "Hello\nworld\n",
		"a\tb":                  "a\tb",
		"\x1b]0;owned\x07title": "]0;ownedtitle",
		"x\u2066y\u2069":        "xy",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

// acts reports whether r would do more on a terminal than show itself.
func acts(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

func FuzzPhone(f *testing.F) {
	f.Add("+1 2065555555")
	f.Add("+1 23456")
	f.Add("+123 4567")
	f.Fuzz(func(t *testing.T, s string) {
		out := Phone(s)
		digits := 0
		for _, r := range s {
			if unicode.IsDigit(r) {
				digits++
			}
		}
		shown := 0
		for _, r := range out {
			if unicode.IsDigit(r) {
				shown++
			}
			if acts(r) {
				t.Fatalf("Phone(%q) = %q holds a control character", s, out)
			}
		}
		// At most the country code (three digits) and half of the rest, and
		// never more than four of the rest.
		cc := 0
		if rest, ok := strings.CutPrefix(out, "+"); ok {
			cc = len([]rune(strings.Fields(rest)[0]))
		}
		if national := shown - cc; national > 4 || national > (digits-cc)/2 {
			t.Errorf("Phone(%q) = %q shows %d of %d national digits", s, out, national, digits-cc)
		}
	})
}

func FuzzEmail(f *testing.F) {
	f.Add("adele.vance@contoso.example")
	f.Add("a@contoso.example\r\nBcc: victim@fabrikam.example")
	f.Fuzz(func(t *testing.T, s string) {
		out := Email(s)
		if strings.Count(out, "@") > 1 {
			t.Fatalf("Email(%q) = %q shows more than one address", s, out)
		}
		for _, r := range out {
			if acts(r) || unicode.IsSpace(r) {
				t.Fatalf("Email(%q) = %q holds a control or space character", s, out)
			}
		}
		local, domain, ok := strings.Cut(out, "@")
		if out != "" && !strings.HasSuffix(local, "•••") {
			t.Errorf("Email(%q) = %q shows the local part", s, out)
		}
		if n := len([]rune(strings.TrimSuffix(local, "•••"))); n > 1 {
			t.Errorf("Email(%q) = %q shows %d characters of the local part", s, out, n)
		}
		if ok && domain != "•••" {
			_, after, _ := strings.Cut(strings.TrimSpace(s), "@")
			if domain != after {
				t.Errorf("Email(%q) = %q shows a domain that is not the address's", s, out)
			}
		}
	})
}

func FuzzLine(f *testing.F) {
	f.Add("Adele\r\n\x1b[31mVance")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range Line(s) {
			if acts(r) {
				t.Fatalf("Line(%q) = %q holds a control character", s, Line(s))
			}
		}
		for _, r := range Text(s) {
			if acts(r) && r != '\n' && r != '\t' {
				t.Fatalf("Text(%q) = %q holds a control character", s, Text(s))
			}
		}
	})
}
