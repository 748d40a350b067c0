package entralog

import (
	"bytes"
	"encoding/json"

	"github.com/credres/credres/pkg/model"
)

// The one-pass reader. Read with encoding/json, a record is scanned six
// times: copied out of its page, searched for repeated keys (jsonkeys),
// probed for its category (classify), decoded, then its targets and its
// initiator decoded again from their raw bytes. The reader below does all
// of that in one walk over bytes already known to be valid JSON (the
// document is checked as a whole first): it checks every object's keys for
// repeats as it goes, fills the fields the normalisation reads, and notes
// what classify needs. A record classify finds a sign-in is read again, in
// a walk that fills the sign-in fields: the two kinds share key names for
// fields read differently.
//
// It reads exactly as encoding/json does, or not at all: whenever a record
// holds something whose reading is not plain, it gives up and the record
// goes through encoding/json, which also words its error. It gives up on a
// key with an escape or a byte outside ASCII (encoding/json then folds
// Unicode case), on a key repeated in one object (the error names it), on
// an object of more than maxKeys keys, on nesting deeper than maxDepth, and
// on a "properties" (or a sign-in's mfaDetail or signInEventTypes) of
// another JSON type than encoding/json accepts there. Targets, their
// modified properties, an initiator and sign-in steps of an unusual shape
// are kept raw and decoded by encoding/json when needed. So results and
// error texts are the same by construction; TestOnePassMatchesEncodingJSON
// and FuzzOnePass compare the two readings.

// maxKeys bounds the keys of one object the reader compares pairwise;
// larger objects are left to jsonkeys, which switches to a map.
const maxKeys = 64

// maxDepth bounds the nesting the reader follows; encoding/json stops at
// 10 000 anyway.
const maxDepth = 10_000

// reader walks one document or record. ok turns false when the input needs
// encoding/json.
type reader struct {
	// general sends every document and record to encoding/json, as they
	// were read before this reader: tests compare the two readings.
	general bool

	data  []byte
	i     int
	depth int
	ok    bool
	// keys holds the keys of the objects being read, outermost first.
	keys [][]byte
	// rec, signIn and signInProps hold the record being read.
	rec         record
	signIn      signInRecord
	signInProps signInProps
}

func (s *reader) reset(data []byte) {
	s.data, s.i, s.depth, s.ok = data, 0, 0, true
	s.keys = s.keys[:0]
}

func (s *reader) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end checks that nothing but whitespace is left.
func (s *reader) end() {
	if s.ws(); s.i != len(s.data) {
		s.ok = false
	}
}

// peek returns the first byte of the next value, or 0 at the end.
func (s *reader) peek() byte {
	s.ws()
	if s.i >= len(s.data) {
		s.ok = false
		return 0
	}
	return s.data[s.i]
}

// skipString passes over the string that starts at s.i.
func (s *reader) skipString() {
	s.i = stringEnd(s.data, s.i)
	if s.i > len(s.data) {
		s.i, s.ok = len(s.data), false
	}
}

// stringEnd returns where the string that starts at data[i] ends, past its
// closing quote (past the end of data when it has none). In valid JSON a
// quote ends the string unless an odd number of backslashes precede it.
func stringEnd(data []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(data[j:], '"')
		if k < 0 {
			return len(data) + 1
		}
		j += k
		escapes := 0
		for b := j - 1; data[b] == '\\'; b-- {
			escapes++
		}
		j++
		if escapes%2 == 0 {
			return j
		}
	}
}

// key reads an object's key; it must be plain ASCII without escapes.
func (s *reader) key() []byte {
	if s.peek() != '"' {
		s.ok = false
		return nil
	}
	start := s.i
	s.skipString()
	key := s.data[start+1 : s.i-1]
	for _, c := range key {
		if c == '\\' || c >= 0x80 {
			s.ok = false
			return nil
		}
	}
	return key
}

// object reads the object that starts at s.i, calling member for each key
// once the reader stands before its value; member must read the value.
// Keys are checked for repeats, compared as encoding/json matches them.
func (s *reader) object(member func(key []byte)) {
	if s.depth++; s.depth > maxDepth {
		s.ok = false
	}
	s.i++
	base := len(s.keys)
	for s.ok {
		c := s.peek()
		if c == '}' {
			s.i++
			break
		}
		if c == ',' {
			s.i++
		}
		key := s.key()
		if !s.ok || !s.newKey(base, key) {
			s.ok = false
			break
		}
		if s.peek() != ':' {
			s.ok = false
			break
		}
		s.i++
		s.ws()
		member(key)
	}
	s.keys = s.keys[:base]
	s.depth--
}

// newKey adds key to the keys of the object whose keys start at base and
// reports whether it is new there.
func (s *reader) newKey(base int, key []byte) bool {
	if len(s.keys)-base >= maxKeys {
		return false
	}
	for _, k := range s.keys[base:] {
		if len(k) == len(key) && asciiEqualFold(k, key) {
			return false
		}
	}
	s.keys = append(s.keys, key)
	return true
}

// array reads the array that starts at s.i, calling item before each
// element; item must read it.
func (s *reader) array(item func()) {
	if s.depth++; s.depth > maxDepth {
		s.ok = false
	}
	s.i++
	for s.ok {
		c := s.peek()
		if c == ']' {
			s.i++
			break
		}
		if c == ',' {
			s.i++
			s.ws()
		}
		item()
	}
	s.depth--
}

// walk reads any value, checking the keys of every object in it.
func (s *reader) walk() {
	switch s.peek() {
	case '{':
		s.object(func([]byte) { s.walk() })
	case '[':
		s.array(s.walk)
	case '"':
		s.skipString()
	default:
		s.literal()
	}
}

// literal passes over a number, true, false or null.
func (s *reader) literal() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return
		}
		s.i++
	}
}

// value walks the next value and returns its bytes.
func (s *reader) value() []byte {
	s.ws()
	start := s.i
	s.walk()
	return s.data[start:s.i]
}

// text reads the next value as a text field, as encoding/json would.
func (s *reader) text() text {
	var t text
	if err := t.UnmarshalJSON(s.value()); err != nil {
		s.ok = false
	}
	return t
}

// given reads the next value as far as classify looks at it.
func (s *reader) given() given {
	return given{present: true, set: isSet(s.value())}
}

// skip passes over the next value without looking at its keys.
func (s *reader) skip() {
	s.ws()
	data, i, depth := s.data, s.i, 0
	for i < len(data) {
		switch data[i] {
		case '"':
			i = stringEnd(data, i)
		case '{', '[':
			depth++
			i++
			continue
		case '}', ']':
			depth--
			i++
		default:
			if depth > 0 {
				i++ // whitespace, a separator, or part of a literal
				continue
			}
			s.i = i
			s.literal()
			return
		}
		if depth <= 0 {
			break
		}
	}
	if depth != 0 || i > len(data) {
		s.ok = false
	}
	s.i = min(i, len(data))
}

// is reports whether key names the field name, as encoding/json matches
// an ASCII key: exactly or without regard to case.
func is(key []byte, name string) bool {
	return len(key) == len(name) && asciiEqualFold(key, name)
}

// asciiEqualFold compares a and b, of equal length, without regard to ASCII
// case.
func asciiEqualFold[S1, S2 []byte | string](a S1, b S2) bool {
	for i := range len(a) {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// split returns the records of a document as splitRecords does, looking
// only for where each ends; false when the document needs splitRecords,
// to read it or to say what is wrong with it.
func (s *reader) split(doc []byte) ([]json.RawMessage, bool) {
	if s.general {
		return nil, false
	}
	s.reset(doc)
	switch s.peek() {
	case '[':
		items := s.items()
		s.end()
		return items, s.ok
	case '{':
	default:
		return []json.RawMessage{doc}, s.ok
	}
	var records, value list
	s.object(func(key []byte) {
		switch {
		case is(key, "records"):
			records = s.list()
		case is(key, "value"):
			value = s.list()
		default:
			s.skip()
		}
	})
	if s.end(); !s.ok {
		return nil, false
	}
	for _, l := range []list{records, value} {
		if !isSet(l.raw) {
			continue
		}
		if l.raw[0] != '[' {
			return nil, false
		}
		return l.items, true
	}
	return []json.RawMessage{doc}, true
}

// list is a page's "records" or "value": its bytes and, when it is an
// array, its items.
type list struct {
	raw   []byte
	items []json.RawMessage
}

// list reads the next value as a page's list.
func (s *reader) list() list {
	s.ws()
	start := s.i
	if s.peek() != '[' {
		s.skip()
		return list{raw: s.data[start:s.i]}
	}
	items := s.items()
	return list{raw: s.data[start:s.i], items: items}
}

// items returns the elements of the array that starts at s.i.
func (s *reader) items() []json.RawMessage {
	var items []json.RawMessage
	s.array(func() {
		start := s.i
		s.skip()
		items = append(items, s.data[start:s.i])
	})
	return items
}

// record reads one record: an audit record's fields into r, and what
// classify looks at into probe.
func (s *reader) record(raw []byte, r *record, probe *recordProbe) {
	s.reset(raw)
	if s.peek() != '{' {
		s.ok = false
		return
	}
	s.object(func(key []byte) {
		if v, ok := s.auditField(&r.env.directoryAudit, key); ok {
			if is(key, "activityDisplayName") {
				probe.ActivityDisplayName = given{present: true, set: isSet(v)}
			}
			return
		}
		switch {
		case is(key, "time"):
			r.env.Time = s.text()
		case is(key, "operationName"):
			r.env.OperationName = s.text()
		case is(key, "category"):
			r.env.Category = s.text()
			probe.Category = r.env.Category
		case is(key, "resourceId"):
			r.env.ResourceID = s.text()
		case is(key, "resultDescription"):
			r.env.ResultDescription = s.text()
		case is(key, "properties"):
			probe.Properties = given{present: true, set: s.properties(r)}
		case is(key, "createdDateTime"):
			probe.CreatedDateTime = s.given()
		case is(key, "authenticationDetails"):
			probe.AuthDetails = s.given()
		case is(key, "appId"):
			probe.AppID = s.given()
		default:
			s.walk()
		}
	})
	s.end()
}

// properties reads an Event Hubs record's properties, which must be an
// object or null, and reports whether it was an object.
func (s *reader) properties(r *record) bool {
	switch s.peek() {
	case 'n':
		s.literal()
		return false
	case '{':
	default:
		s.ok = false
		return false
	}
	r.env.Properties = &r.props
	s.object(func(key []byte) {
		if _, ok := s.auditField(&r.props, key); !ok {
			s.walk()
		}
	})
	return true
}

// auditField reads the value of key into p when key names one of p's
// fields, and returns its bytes.
func (s *reader) auditField(p *directoryAudit, key []byte) ([]byte, bool) {
	start := s.i
	switch {
	case is(key, "id"):
		p.ID = s.text()
	case is(key, "activityDisplayName"):
		p.ActivityDisplayName = s.text()
	case is(key, "activityDateTime"):
		p.ActivityDateTime = s.text()
	case is(key, "result"):
		p.Result = s.value()
	case is(key, "resultReason"):
		p.ResultReason = s.text()
	case is(key, "initiatedBy"):
		p.initiator, p.initiatorRead = s.initiator()
		p.InitiatedBy = s.data[start:s.i]
	case is(key, "targetResources"):
		p.targets, p.targetsRead = s.targets()
		p.TargetResources = s.data[start:s.i]
	case is(key, "tenantId"):
		p.TenantID = s.text()
	case is(key, "targetResourceType"):
		p.TargetResourceType = s.text()
	default:
		return nil, false
	}
	return s.data[start:s.i], true
}

// objectArray reads an array of objects, each into a T through member
// (called for each of its keys); false (the value walked) when the value is
// not an array, or an item is not an object.
func objectArray[T any](s *reader, member func(t *T, key []byte)) ([]T, bool) {
	if s.peek() != '[' {
		s.walk()
		return nil, false
	}
	var items []T
	all := true
	s.array(func() {
		if s.peek() != '{' {
			all = false
			s.walk()
			return
		}
		var t T
		s.object(func(key []byte) { member(&t, key) })
		items = append(items, t)
	})
	return items, all
}

// targets reads targetResources; false (the value walked) when it is not an
// array of objects, which decodeTargets then reads or reports.
func (s *reader) targets() ([]targetResource, bool) {
	return objectArray(s, func(t *targetResource, key []byte) {
		switch {
		case is(key, "id"):
			t.ID = s.text()
		case is(key, "type"):
			t.Type = s.text()
		case is(key, "userPrincipalName"):
			t.UserPrincipalName = s.text()
		case is(key, "modifiedProperties"):
			start := s.i
			t.props, t.propsRead = s.modifiedProperties()
			t.ModifiedProperties = s.data[start:s.i]
		default:
			s.walk()
		}
	})
}

// modifiedProperties reads a target's modifiedProperties; false (the value
// walked) when it is not an array of objects, which targetResource.modified
// then reads or reports.
func (s *reader) modifiedProperties() ([]modifiedProperty, bool) {
	return objectArray(s, func(mp *modifiedProperty, key []byte) {
		switch {
		case is(key, "displayName"):
			mp.DisplayName = s.text()
		case is(key, "oldValue"):
			mp.OldValue = s.value()
		case is(key, "newValue"):
			mp.NewValue = s.value()
		default:
			s.walk()
		}
	})
}

// initiator reads initiatedBy; false (the value walked) when it is not an
// object whose user and app are each an object or null, which initiatorOf
// then reads.
func (s *reader) initiator() (model.Initiator, bool) {
	var ini model.Initiator
	if s.peek() != '{' {
		s.walk()
		return ini, false
	}
	read := true
	s.object(func(key []byte) {
		switch {
		case is(key, "user"):
			read = s.pair("id", &ini.UserID, "userPrincipalName", &ini.UserPrincipalName) && read
		case is(key, "app"):
			read = s.pair("appId", &ini.AppID, "displayName", &ini.AppDisplayName) && read
		default:
			s.walk()
		}
	})
	return ini, read
}

// pair reads two text fields of an object into v1 and v2; false (the value
// walked) when it is neither an object nor null.
func (s *reader) pair(k1 string, v1 *string, k2 string, v2 *string) bool {
	switch s.peek() {
	case 'n':
		s.literal()
		return true
	case '{':
	default:
		s.walk()
		return false
	}
	s.object(func(key []byte) {
		switch {
		case is(key, k1):
			*v1 = s.text().String()
		case is(key, k2):
			*v2 = s.text().String()
		default:
			s.walk()
		}
	})
	return true
}

// normaliseSignIn is the function normaliseSignIn, the record read in one
// walk when it is plain.
func (s *reader) normaliseSignIn(raw json.RawMessage, unknown map[string]int) (SignIn, string, error) {
	if !s.general {
		rec := &s.signIn
		*rec = signInRecord{}
		if s.signInRecord(raw, rec); s.ok {
			return rec.normalise(unknown)
		}
	}
	return normaliseSignIn(raw, unknown)
}

// signInRecord reads a sign-in record into rec as encoding/json would.
func (s *reader) signInRecord(raw []byte, rec *signInRecord) {
	s.reset(raw)
	if s.peek() != '{' {
		s.ok = false
		return
	}
	s.object(func(key []byte) {
		if s.signInField(&rec.signInProps, key) {
			return
		}
		switch {
		case is(key, "time"):
			rec.Time = s.text()
		case is(key, "category"):
			rec.Category = s.text()
		case is(key, "operationName"):
			rec.Operation = s.text()
		case is(key, "properties"):
			rec.Properties = s.signInProperties()
		default:
			s.walk()
		}
	})
	s.end()
}

// signInProperties reads a sign-in record's properties, an object or null.
func (s *reader) signInProperties() *signInProps {
	switch s.peek() {
	case 'n':
		s.literal()
		return nil
	case '{':
	default:
		s.ok = false
		return nil
	}
	p := &s.signInProps
	*p = signInProps{}
	s.object(func(key []byte) {
		if !s.signInField(p, key) {
			s.walk()
		}
	})
	return p
}

// signInField reads the value of key into p when key names one of p's
// fields.
func (s *reader) signInField(p *signInProps, key []byte) bool {
	var t *text
	switch {
	case is(key, "id"):
		t = &p.ID
	case is(key, "createdDateTime"):
		t = &p.CreatedDateTime
	case is(key, "userId"):
		t = &p.UserID
	case is(key, "userPrincipalName"):
		t = &p.UserPrincipalName
	case is(key, "tenantId"):
		t = &p.TenantID
	case is(key, "servicePrincipalId"):
		t = &p.ServicePrincipal
	case is(key, "appId"):
		t = &p.AppID
	case is(key, "activityDisplayName"):
		t = &p.ActivityDisplayName
	case is(key, "isInteractive"):
		p.IsInteractive = s.value()
	case is(key, "authenticationDetails"):
		start := s.i
		p.steps, p.stepsRead = s.steps()
		p.AuthenticationDetails = s.data[start:s.i]
	case is(key, "mfaDetail"):
		p.MFADetail = s.mfaDetail()
	case is(key, "signInEventTypes"):
		p.SignInEventTypes = s.texts()
	default:
		return false
	}
	if t != nil {
		*t = s.text()
	}
	return true
}

// steps reads authenticationDetails; false (the value walked) when it is
// not an array of objects, which decodeSteps then reads or reports.
func (s *reader) steps() ([]authDetail, bool) {
	return objectArray(s, func(d *authDetail, key []byte) {
		switch {
		case is(key, "authenticationMethod"):
			d.Method = s.text()
		case is(key, "authenticationMethodDetail"):
			d.Detail = s.text()
		case is(key, "succeeded"):
			d.Succeeded = s.value()
		case is(key, "authenticationStepDateTime"):
			d.StepTime = s.text()
		case is(key, "authenticationStepResultDetail"):
			d.ResultText = s.text()
		case is(key, "authenticationStepRequirement"):
			d.Requirement = s.text()
		default:
			s.walk()
		}
	})
}

// mfaDetail reads mfaDetail, an object or null.
func (s *reader) mfaDetail() *mfaDetail {
	switch s.peek() {
	case 'n':
		s.literal()
		return nil
	case '{':
	default:
		s.ok = false
		return nil
	}
	m := &mfaDetail{}
	s.object(func(key []byte) {
		switch {
		case is(key, "authMethod"):
			m.AuthMethod = s.text()
		case is(key, "authDetail"):
			m.AuthDetail = s.text()
		default:
			s.walk()
		}
	})
	return m
}

// texts reads an array of text fields, or null.
func (s *reader) texts() []text {
	switch s.peek() {
	case 'n':
		s.literal()
		return nil
	case '[':
	default:
		s.ok = false
		return nil
	}
	var list []text
	s.array(func() { list = append(list, s.text()) })
	return list
}
