package graphjson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// lexer reads JSON from a stream one token at a time, holding only a window
// of the input: a snapshot of a million users is read in a buffer of a few
// kilobytes (as large as its largest single value being captured). It
// accepts exactly the JSON that encoding/json accepts; strings with escapes
// or non-ASCII bytes are handed to encoding/json, so that they decode as
// they always did (invalid UTF-8 becomes U+FFFD).
type lexer struct {
	r    io.Reader // nil when buf is the whole input
	buf  []byte
	pos  int
	keep int   // start of the bytes a refill must keep: a token or a captured value; -1 for none
	off  int64 // input offset of buf[0]
	eof  bool
	err  error // a read error other than io.EOF
}

const maxDepth = 10000 // encoding/json's limit

// errSyntax is what every malformed input reports, with where.
var errSyntax = errors.New("invalid JSON")

func newLexer(r io.Reader) *lexer {
	return &lexer{r: r, buf: make([]byte, 0, 64<<10), keep: -1}
}

func newBytesLexer(data []byte) *lexer {
	return &lexer{buf: data, eof: true, keep: -1}
}

// fillHolding is fill while a token is being scanned: i and start index the
// buffer, and fill may move the bytes under them (from keep on), so both are
// moved by as much as keep was.
func (l *lexer) fillHolding(i, start *int) bool {
	shift := l.keep
	if !l.fill() {
		return false
	}
	*i -= shift - l.keep
	*start -= shift - l.keep
	return true
}

// fill reads more input, keeping buf[keep:] (or buf[pos:]); it reports
// whether anything was added.
func (l *lexer) fill() bool {
	if l.eof || l.r == nil {
		return false
	}
	from := l.pos
	if l.keep >= 0 && l.keep < from {
		from = l.keep
	}
	if from > 0 {
		n := copy(l.buf, l.buf[from:])
		l.buf = l.buf[:n]
		l.pos -= from
		if l.keep >= 0 {
			l.keep -= from
		}
		l.off += int64(from)
	}
	if len(l.buf) == cap(l.buf) {
		l.buf = append(l.buf, make([]byte, cap(l.buf))...)[:len(l.buf)]
	}
	for {
		n, err := l.r.Read(l.buf[len(l.buf):cap(l.buf)])
		l.buf = l.buf[:len(l.buf)+n]
		if err != nil {
			l.eof = true
			if err != io.EOF {
				l.err = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// held returns where the kept bytes start, as an input offset that survives
// refills (-1 for none), for release to restore.
func (l *lexer) held() int64 {
	if l.keep < 0 {
		return -1
	}
	return l.off + int64(l.keep)
}

func (l *lexer) release(at int64) {
	if at < 0 {
		l.keep = -1
		return
	}
	l.keep = int(at - l.off)
}

func (l *lexer) syntax(what string) error {
	if l.err != nil {
		return l.err
	}
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, l.off+int64(l.pos))
}

// peek skips white space and returns the next byte without consuming it.
func (l *lexer) peek() (byte, error) {
	for {
		for l.pos < len(l.buf) {
			switch c := l.buf[l.pos]; c {
			case ' ', '\t', '\n', '\r':
				l.pos++
			default:
				return c, nil
			}
		}
		if !l.fill() {
			return 0, l.syntax("unexpected end of input")
		}
	}
}

// expect consumes the byte c, after white space.
func (l *lexer) expect(c byte) error {
	got, err := l.peek()
	if err != nil {
		return err
	}
	if got != c {
		return l.syntax(fmt.Sprintf("%q where %q was expected", got, c))
	}
	l.pos++
	return nil
}

// end checks that nothing but white space follows.
func (l *lexer) end() error {
	if _, err := l.peek(); err == nil {
		return l.syntax("data after the top-level value")
	}
	if l.err != nil {
		return l.err
	}
	return nil
}

// more is called after an element of an array or object: it consumes a
// comma and reports true, or consumes the closing byte and reports false.
func (l *lexer) more(closing byte) (bool, error) {
	c, err := l.peek()
	if err != nil {
		return false, err
	}
	switch c {
	case ',':
		l.pos++
		return true, nil
	case closing:
		l.pos++
		return false, nil
	}
	return false, l.syntax(fmt.Sprintf("%q after an element", c))
}

// first is called after an opening bracket: it reports whether the array or
// object has an element, consuming the closing byte when it has none.
func (l *lexer) first(closing byte) (bool, error) {
	c, err := l.peek()
	if err != nil {
		return false, err
	}
	if c == closing {
		l.pos++
		return false, nil
	}
	return true, nil
}

// rawString scans a string token and returns its contents between the
// quotes, undecoded, and whether they are plain (printable ASCII without
// escapes, so the bytes are the value). The slice is valid until the next
// call. The lexer must be at the opening quote.
func (l *lexer) rawString() ([]byte, bool, error) {
	if err := l.expect('"'); err != nil {
		return nil, false, err
	}
	// Most strings are short, plain and whole in the buffer.
	if j := bytes.IndexByte(l.buf[l.pos:], '"'); j >= 0 {
		if s := l.buf[l.pos : l.pos+j]; printableASCII(s) {
			l.pos += j + 1
			return s, true, nil
		}
	}
	return l.slowString()
}

// printableASCII reports whether s holds only bytes from 0x20 to 0x7f and
// no backslash: a string token whose bytes are its value.
func printableASCII(s []byte) bool {
	if bytes.IndexByte(s, '\\') >= 0 {
		return false
	}
	const lo, hi = 0x2020202020202020, 0x8080808080808080
	for len(s) >= 8 {
		w := binary.LittleEndian.Uint64(s)
		// A byte below 0x20 borrows into its top bit; one at 0x80 or
		// above has it set already.
		if ((w-lo)|w)&hi != 0 {
			return false
		}
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// slowString is rawString for strings with escapes, non-ASCII bytes or
// control characters, or not yet wholly read.
func (l *lexer) slowString() ([]byte, bool, error) {
	start := l.pos - 1
	saved := l.held()
	if l.keep < 0 || l.keep > start {
		l.keep = start
	}
	defer l.release(saved)
	plain := true
	i := l.pos
	for {
		if i >= len(l.buf) {
			if !l.fillHolding(&i, &start) {
				l.pos = i
				return nil, false, l.syntax("unterminated string")
			}
			continue
		}
		c := l.buf[i]
		switch {
		case c == '"':
			l.pos = i + 1
			return l.buf[start+1 : i], plain, nil
		case c == '\\':
			plain = false
			if i+1 >= len(l.buf) {
				if !l.fillHolding(&i, &start) {
					l.pos = i
					return nil, false, l.syntax("unterminated string")
				}
				continue
			}
			switch l.buf[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for len(l.buf) < i+6 {
					if !l.fillHolding(&i, &start) {
						l.pos = i
						return nil, false, l.syntax("unterminated string")
					}
				}
				for _, h := range l.buf[i+2 : i+6] {
					if !isHex(h) {
						l.pos = i
						return nil, false, l.syntax("invalid \\u escape")
					}
				}
				i += 6
			default:
				l.pos = i
				return nil, false, l.syntax("invalid escape")
			}
		case c < 0x20:
			l.pos = i
			return nil, false, l.syntax("control character in string")
		case c >= utf8.RuneSelf:
			plain = false
			i++
		default:
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// decodeString returns the Go string of a token returned by rawString.
func decodeString(raw []byte, plain bool) (string, error) {
	if plain {
		return string(raw), nil
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", err
	}
	return s, nil
}

// literal consumes true, false or null and returns its first byte.
func (l *lexer) literal() (byte, error) {
	c, err := l.peek()
	if err != nil {
		return 0, err
	}
	var word string
	switch c {
	case 't':
		word = "true"
	case 'f':
		word = "false"
	case 'n':
		word = "null"
	default:
		return 0, l.syntax(fmt.Sprintf("%q where a literal was expected", c))
	}
	for len(l.buf)-l.pos < len(word) {
		if !l.fill() {
			return 0, l.syntax("unexpected end of input")
		}
	}
	if string(l.buf[l.pos:l.pos+len(word)]) != word {
		return 0, l.syntax("invalid literal")
	}
	l.pos += len(word)
	return c, nil
}

// number consumes a number token and returns its bytes, valid until the
// next call.
func (l *lexer) number() ([]byte, error) {
	if _, err := l.peek(); err != nil {
		return nil, err
	}
	saved := l.held()
	if l.keep < 0 || l.keep > l.pos {
		l.keep = l.pos
	}
	defer l.release(saved)
	start, i := l.pos, l.pos
	// cur returns the byte at i, reading more input when needed (a refill
	// moves start and i with the bytes).
	cur := func() (byte, bool) {
		for i >= len(l.buf) {
			if !l.fillHolding(&i, &start) {
				return 0, false
			}
		}
		return l.buf[i], true
	}
	digits := func() int {
		n := 0
		for c, ok := cur(); ok && '0' <= c && c <= '9'; c, ok = cur() {
			i++
			n++
		}
		return n
	}
	// RFC 8259: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?
	c, ok := cur()
	if ok && c == '-' {
		i++
		c, ok = cur()
	}
	switch {
	case !ok:
		return nil, l.syntax("unexpected end of input")
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		digits()
	default:
		return nil, l.syntax("invalid number")
	}
	if c, ok := cur(); ok && c == '.' {
		i++
		if digits() == 0 {
			return nil, l.syntax("invalid number")
		}
	}
	if c, ok := cur(); ok && (c == 'e' || c == 'E') {
		i++
		if c, ok := cur(); ok && (c == '+' || c == '-') {
			i++
		}
		if digits() == 0 {
			return nil, l.syntax("invalid number")
		}
	}
	l.pos = i
	return l.buf[start:i], nil
}

// skip consumes any value, checking that it is well formed.
func (l *lexer) skip(depth int) error {
	if depth > maxDepth {
		return l.syntax("exceeded max depth")
	}
	c, err := l.peek()
	if err != nil {
		return err
	}
	switch c {
	case '{':
		l.pos++
		ok, err := l.first('}')
		for ; ok && err == nil; ok, err = l.more('}') {
			if _, _, err := l.rawString(); err != nil {
				return err
			}
			if err := l.expect(':'); err != nil {
				return err
			}
			if err := l.skip(depth + 1); err != nil {
				return err
			}
		}
		return err
	case '[':
		l.pos++
		ok, err := l.first(']')
		for ; ok && err == nil; ok, err = l.more(']') {
			if err := l.skip(depth + 1); err != nil {
				return err
			}
		}
		return err
	case '"':
		_, _, err := l.rawString()
		return err
	case 't', 'f', 'n':
		_, err := l.literal()
		return err
	}
	_, err = l.number()
	return err
}

// capture consumes any value and returns a copy of its bytes.
func (l *lexer) capture(depth int) ([]byte, error) {
	start, err := l.hold()
	if err != nil {
		return nil, err
	}
	defer l.release(start.saved)
	if err := l.skip(depth); err != nil {
		return nil, err
	}
	return bytes.Clone(l.since(start)), nil
}

// mark is where a value being captured starts.
type mark struct {
	at    int64 // input offset
	saved int64 // the kept position before, for release
}

// hold skips white space and marks the start of the next value: refills
// keep it in the buffer until release(m.saved).
func (l *lexer) hold() (mark, error) {
	if _, err := l.peek(); err != nil {
		return mark{}, err
	}
	m := mark{at: l.off + int64(l.pos), saved: l.held()}
	if l.keep < 0 || l.keep > l.pos {
		l.keep = l.pos
	}
	return m, nil
}

// since returns the bytes from the mark to the current position, valid
// until the next call.
func (l *lexer) since(m mark) []byte {
	return l.buf[int(m.at-l.off):l.pos]
}

// recover is called after an error inside the value that starts at m,
// which must still be held: it goes back to the value's start and skips it
// whole. It reports whether that worked, that is whether the value is
// well-formed JSON: then the error was about what the value holds, and
// reading can go on after it.
func (l *lexer) recover(m mark, depth int) bool {
	if l.err != nil {
		return false
	}
	l.pos = int(m.at - l.off)
	return l.skip(depth) == nil
}

// isNull consumes a null and reports true, or consumes nothing.
func (l *lexer) isNull() (bool, error) {
	c, err := l.peek()
	if err != nil || c != 'n' {
		return false, err
	}
	_, err = l.literal()
	return err == nil, err
}
