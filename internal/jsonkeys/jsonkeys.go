// Package jsonkeys finds keys that appear twice in one JSON object.
// encoding/json keeps the last of two equal keys without a word, and matches
// keys without regard to case, so {"id":"a","ID":"b"} reads as "b": input
// credres reads must not mean two things, so repeated keys are an error.
package jsonkeys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Check reports the first key that appears twice in one object of the JSON
// value data, compared as encoding/json matches keys (without regard to
// case), naming where: `duplicate key "id" in targetResources[0]`. With deep
// false only the top-level object's keys are compared. data must be valid
// JSON (as encoding/json has already checked it); invalid JSON reports no
// duplicate.
func Check(data []byte, deep bool) error {
	s := scanners.Get().(*scanner)
	s.data, s.i, s.deep, s.err = data, 0, deep, nil
	s.value(0)
	err := s.err
	clear(s.keys[:cap(s.keys)])
	clear(s.path[:cap(s.path)])
	s.data, s.path, s.keys = nil, s.path[:0], s.keys[:0]
	scanners.Put(s)
	return err
}

// scanners keeps scanners with their stacks grown, for the many small
// records of a stream.
var scanners = sync.Pool{New: func() any { return new(scanner) }}

type scanner struct {
	data []byte
	i    int
	deep bool
	err  error
	path []frame  // the keys and indexes down to the current value
	keys [][]byte // the keys of the objects being scanned, outermost first
}

// frame is one step of a path: an object's key or an array's index.
type frame struct {
	key     []byte
	index   int
	isIndex bool
}

func (s *scanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value; depth is its nesting.
func (s *scanner) value(depth int) {
	s.ws()
	if s.i >= len(s.data) || s.err != nil {
		return
	}
	switch s.data[s.i] {
	case '{':
		s.object(depth)
	case '[':
		s.i++
		for n := 0; s.err == nil; n++ {
			s.ws()
			if s.i >= len(s.data) {
				return
			}
			if s.data[s.i] == ']' {
				s.i++
				return
			}
			if s.data[s.i] == ',' {
				s.i++
			}
			s.path = append(s.path, frame{index: n, isIndex: true})
			s.value(depth + 1)
			s.path = s.path[:len(s.path)-1]
		}
	case '"':
		s.str()
	default:
		for s.i < len(s.data) {
			switch s.data[s.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}

func (s *scanner) object(depth int) {
	s.i++
	base := len(s.keys)
	defer func() { s.keys = s.keys[:base] }()
	var seen map[string]bool // folded keys, for large objects
	for s.err == nil {
		s.ws()
		if s.i >= len(s.data) {
			return
		}
		switch s.data[s.i] {
		case '}':
			s.i++
			return
		case ',':
			s.i++
			s.ws()
		}
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return
		}
		key := s.key()
		if depth == 0 || s.deep {
			if s.dup(base, &seen, key) {
				s.err = fmt.Errorf("duplicate key %s%s", strconv.Quote(string(key)), s.where())
				return
			}
		}
		s.ws()
		if s.i < len(s.data) && s.data[s.i] == ':' {
			s.i++
		}
		if !s.deep {
			s.skip()
			continue
		}
		s.path = append(s.path, frame{key: key})
		s.value(depth + 1)
		s.path = s.path[:len(s.path)-1]
	}
}

// dup records key of the object whose keys start at s.keys[base] and
// reports whether an equal one was seen.
func (s *scanner) dup(base int, seen *map[string]bool, key []byte) bool {
	if *seen == nil && len(s.keys)-base < 16 {
		for _, k := range s.keys[base:] {
			if bytes.EqualFold(k, key) {
				return true
			}
		}
		s.keys = append(s.keys, key)
		return false
	}
	if *seen == nil {
		*seen = make(map[string]bool, 32)
		for _, k := range s.keys[base:] {
			(*seen)[fold(k)] = true
		}
	}
	folded := fold(key)
	if (*seen)[folded] {
		return true
	}
	(*seen)[folded] = true
	return false
}

// fold maps a key to one spelling of all those that bytes.EqualFold finds
// equal to it.
func fold(key []byte) string {
	return strings.Map(func(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }, string(key))
}

// where names the current object's place, or nothing at the top.
func (s *scanner) where() string {
	if len(s.path) == 0 {
		return ""
	}
	var b []byte
	for i, p := range s.path {
		switch {
		case p.isIndex:
			b = append(append(append(b, '['), strconv.Itoa(p.index)...), ']')
		case i > 0:
			b = append(append(b, '.'), p.key...)
		default:
			b = append(b, p.key...)
		}
	}
	return " in " + string(b)
}

// key reads a string and returns its value (decoded when it has escapes).
func (s *scanner) key() []byte {
	start := s.i
	plain := s.str()
	raw := s.data[start:s.i]
	if len(raw) < 2 {
		return raw
	}
	if plain {
		return raw[1 : len(raw)-1]
	}
	var k string
	if json.Unmarshal(raw, &k) != nil {
		return raw
	}
	return []byte(k)
}

// str skips a string token and reports whether it is plain ASCII without
// escapes.
func (s *scanner) str() bool {
	s.i++
	plain := true
	for s.i < len(s.data) {
		switch c := s.data[s.i]; {
		case c == '"':
			s.i++
			return plain
		case c == '\\':
			plain = false
			s.i += 2
		case c >= utf8.RuneSelf:
			plain = false
			s.i++
		default:
			s.i++
		}
	}
	return plain
}

// skip passes over one value without looking at its keys.
func (s *scanner) skip() {
	s.ws()
	level := 0
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case '"':
			s.str()
			if level == 0 {
				return
			}
			continue
		case '{', '[':
			level++
		case '}', ']':
			if level == 0 {
				return
			}
			level--
			if level == 0 {
				s.i++
				return
			}
		case ',':
			if level == 0 {
				return
			}
		}
		s.i++
	}
}
