// Package jsonstr writes JSON strings exactly as encoding/json writes them,
// without its reflection, for the hand-written encoders on hot paths (the
// decision message, journal lines, outbox lines, the report). One
// implementation keeps them all byte for byte with encoding/json.
package jsonstr

import (
	"unicode/utf8"
)

// Append appends s quoted as encoding/json quotes a string: with
// json.Marshal's HTML escaping when html is true, as an Encoder with
// SetEscapeHTML(false) writes it otherwise.
func Append(b []byte, s string, html bool) []byte {
	b = append(b, '"')
	i := PlainPrefix(s)
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] && !(html && (c == '<' || c == '>' || c == '&')) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				// Other control bytes, and <, >, & when escaping for HTML.
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			// Invalid UTF-8 becomes U+FFFD, written as it is, as encoding/json
			// writes it.
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
		case r == '\u2028' || r == '\u2029':
			// encoding/json escapes the JavaScript line separators always.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendStrings appends ss as encoding/json writes a slice of strings:
// null when nil, the strings as Append writes them otherwise.
func AppendStrings[S ~string](b []byte, ss []S, html bool) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = Append(b, string(s), html)
	}
	return append(b, ']')
}

// Plain reports whether s goes between quotes unchanged whether or not HTML
// is escaped: ASCII from the space up (DEL included, as encoding/json
// writes it) without the quote, the backslash, <, > and &.
func Plain(s string) bool {
	for i := PlainPrefix(s); i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !safe[c] || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// PlainPrefix returns how many bytes at the start of s, eight at a time,
// are plain as Plain means it; the
// bytes from there on are still to be checked one by one.
func PlainPrefix(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// A byte of 0x80 or above, below 0x20, or equal to '"', '\\', '<',
		// '>' or '&' sets the high bit of some byte (no byte is missed; a
		// false alarm only ends the fast scan early).
		bad := x | (x - 0x20*ones) | zeroByte(x^'"'*ones) | zeroByte(x^'\\'*ones) |
			zeroByte(x^'<'*ones) | zeroByte(x^'>'*ones) | zeroByte(x^'&'*ones)
		if bad&highs != 0 {
			break
		}
	}
	return i
}

// zeroByte sets the high bit of some byte when some byte of x is zero.
func zeroByte(x uint64) uint64 { return (x - 0x0101010101010101) &^ x }

// safe marks the ASCII bytes a JSON string holds as they are when HTML is
// not escaped: from the space up, but the quote and the backslash.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hex = "0123456789abcdef"
