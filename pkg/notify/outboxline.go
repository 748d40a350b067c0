package notify

import (
	"unicode/utf8"

	"github.com/credres/credres/pkg/model"
)

// appendNudgeLine appends rec as json.Marshal writes it; ok is false when
// it holds what only encoding/json is trusted to write (a control
// character other than a line break or tab, invalid UTF-8, a line or
// paragraph separator, a time outside RFC 3339's years). A nudge line is
// mostly its text and HTML, which encoding/json would scan once to escape
// and once more through reflection.
func appendNudgeLine(b []byte, rec *model.NudgeRecord) ([]byte, bool) {
	ok := true
	str := func(key, s string, omitEmpty bool) {
		if omitEmpty && s == "" {
			return
		}
		b = append(b, key...)
		var fine bool
		b, fine = appendJSONString(b, s)
		ok = ok && fine
	}
	str(`{"decisionId":`, rec.DecisionID, false)
	str(`,"userId":`, rec.UserID, false)
	str(`,"decision":`, rec.Decision, false)
	if rec.Reminder {
		b = append(b, `,"reminder":true`...)
	}
	var fine, fine2 bool
	b, fine = appendJSONStrings(append(b, `,"violations":`...), rec.Violations)
	b, fine2 = appendJSONStrings(append(b, `,"reasons":`...), rec.Reasons)
	ok = ok && fine && fine2
	b = append(b, `,"time":"`...)
	var err error
	if b, err = rec.Time.AppendText(b); err != nil {
		return b, false
	}
	b = append(b, '"')
	str(`,"channel":`, string(rec.Channel), false)
	str(`,"to":`, rec.To, true)
	str(`,"language":`, rec.Language, true)
	str(`,"subject":`, rec.Subject, true)
	str(`,"text":`, rec.Text, true)
	str(`,"html":`, rec.HTML, true)
	if rec.DryRun {
		b = append(b, `,"dryRun":true`...)
	}
	return append(b, '}'), ok
}

// appendJSONStrings appends ss as encoding/json writes a slice of strings,
// null when nil.
func appendJSONStrings[S ~string](b []byte, ss []S) ([]byte, bool) {
	if ss == nil {
		return append(b, "null"...), true
	}
	b = append(b, '[')
	ok := true
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		var fine bool
		b, fine = appendJSONString(b, string(s))
		ok = ok && fine
	}
	return append(b, ']'), ok
}

// appendJSONString appends s quoted as encoding/json quotes it, escaping
// the quote, the backslash, line breaks, tabs and the bytes it escapes for
// HTML; ok is false for anything else it would escape or replace.
func appendJSONString(b []byte, s string) ([]byte, bool) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
				return b, false
			}
			i += size
			continue
		}
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '\r':
			esc = `\r`
		case c == '\t':
			esc = `\t`
		case c == '<':
			esc = `\u003c`
		case c == '>':
			esc = `\u003e`
		case c == '&':
			esc = `\u0026`
		case c < 0x20:
			return b, false
		default:
			i++
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}
