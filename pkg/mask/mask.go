// Package mask hides personal data before it reaches a message, a ticket or
// a log line: mail and ticket systems are not places for phone numbers or
// full email addresses. Masking keeps just enough for a person to recognise
// their own number or address.
//
// It also keeps what tenant data holds from acting on where it is shown:
// Line and Text remove the control characters (escape sequences, carriage
// returns, bidirectional overrides) that a display name could carry to a
// terminal, a ticket field or a mail header.
package mask

import (
	"strings"
	"unicode"
)

const dots = "•••"

// minShownNational is the fewest national digits a number must have for
// its last four to be shown: fewer, and four would be most of the number.
const minShownNational = 8

// Phone keeps the country code and the last four digits of a number:
// "+1 2065550123" becomes "+1 ••• ••• 0123". A number whose national part
// has fewer than eight digits keeps only its country code ("+1 •••"), so
// that never more than half of the national number shows. Nothing but
// digits, "+", spaces and the mask leaves Phone.
func Phone(number string) string {
	number = strings.TrimSpace(number)
	if number == "" {
		return ""
	}
	var digits []rune
	for _, r := range number {
		if unicode.IsDigit(r) {
			digits = append(digits, r)
		}
	}
	country, cc := "", ""
	if strings.HasPrefix(number, "+") {
		// Graph writes numbers as "+<country> <national>".
		if c, _, ok := strings.Cut(strings.TrimPrefix(number, "+"), " "); ok && len([]rune(c)) <= 3 && isDigits(c) {
			country, cc = "+"+c+" ", c
		}
	}
	if len(digits)-len([]rune(cc)) < minShownNational {
		return country + dots
	}
	return country + dots + " " + dots + " " + string(digits[len(digits)-4:])
}

// Email keeps the first character of the local part and the domain:
// "adele.vance@contoso.example" becomes "a•••@contoso.example". What follows
// the first "@" is shown only when it is a domain name (letters, digits and
// hyphens in dot-separated labels); anything else, a second address or a
// line break among them, is masked whole: "a•••@•••".
func Email(address string) string {
	address = strings.TrimSpace(address)
	if address == "" {
		return ""
	}
	local, domain, ok := strings.Cut(address, "@")
	if !ok || local == "" {
		return dots
	}
	first := []rune(local)[0]
	lead := string(first) + dots
	if !unicode.IsGraphic(first) || unicode.IsSpace(first) {
		lead = dots
	}
	if !isDomain(domain) {
		return lead + "@" + dots
	}
	return lead + "@" + domain
}

// isDomain reports whether s is a domain name: at most 253 characters of
// labels of 1 to 63 letters, digits and inner hyphens, separated by dots.
func isDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		}
	}
	return true
}

// Line makes s safe to show on one line: white space of any kind (line
// breaks and tabs included) becomes single spaces, other control characters
// and bidirectional formatting characters are removed, and the ends are
// trimmed. Display names and ticket titles go through it.
func Line(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
		case unsafe(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Text makes multi-line s safe to show: it keeps line feeds and tabs, turns
// carriage returns into line feeds (CR LF into one) and removes every other
// control character and bidirectional formatting character.
func Text(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	cr := false
	for _, r := range s {
		switch {
		case r == '\r':
			b.WriteByte('\n')
		case r == '\n':
			if !cr {
				b.WriteByte('\n')
			}
		case r == '\t':
			b.WriteByte('\t')
		case unsafe(r):
		default:
			b.WriteRune(r)
		}
		cr = r == '\r'
	}
	return b.String()
}

// unsafe reports whether r does more on a terminal or in a header than show
// itself.
func unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

func isDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}
