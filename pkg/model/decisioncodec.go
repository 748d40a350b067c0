package model

import (
	"encoding/json"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/credres/credres/internal/jsonstr"
)

// The decision message crosses a queue between the evaluate stage and the
// delivery stages once per decision; encoding/json spends most of its time
// there on reflection. AppendDecisionMessage and DecodeDecisionMessage are
// the same encoding written out by hand: they write exactly the bytes
// json.Marshal writes and decode exactly what json.Unmarshal decodes.
// Strings are written by jsonstr, as encoding/json writes them. Anything
// off the path the decoder knows (a string with escapes, a key that is not
// a field's own name, a number that is not a plain integer, a
// policy-change message) goes to encoding/json itself, so that the two
// agree by construction there too.

// AppendDecisionMessage appends m encoded as json.Marshal encodes it.
func AppendDecisionMessage(b []byte, m *DecisionMessage) ([]byte, error) {
	if m.PolicyChange == nil {
		e := encoder{b: b}
		e.message(m)
		if !e.bad {
			return e.b, nil
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return b, err
	}
	return append(b, data...), nil
}

// AppendAssessment appends a encoded as json.Marshal encodes it; ok is
// false when a holds a time json.Marshal refuses (b then holds part of
// it): the file store writes users' states with it.
func AppendAssessment(b []byte, a *Assessment) (_ []byte, ok bool) {
	e := encoder{b: b}
	e.assessment(a)
	return e.b, !e.bad
}

// DecodeDecisionMessage decodes data into m as json.Unmarshal does.
func DecodeDecisionMessage(data []byte, m *DecisionMessage) error {
	d := decoder{b: data}
	var fresh DecisionMessage
	d.message(&fresh)
	d.ws()
	if !d.bad && d.i == len(d.b) && m.zero() {
		*m = fresh
		return nil
	}
	return json.Unmarshal(data, m)
}

// zero reports whether m is the zero message, which decoding may replace
// whole (json.Unmarshal merges into the fields a message already has).
func (m *DecisionMessage) zero() bool { return reflect.ValueOf(m).Elem().IsZero() }

// encoder appends JSON; bad means a value it does not write as
// encoding/json would (a time out of RFC 3339's range).
type encoder struct {
	b   []byte
	bad bool
	// more is false right after an opening brace.
	more bool
}

func (e *encoder) open() { e.b, e.more = append(e.b, '{'), false }

func (e *encoder) close() { e.b, e.more = append(e.b, '}'), true }

func (e *encoder) key(k string) {
	if e.more {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
	e.more = true
}

func (e *encoder) str(s string) { e.b = jsonstr.Append(e.b, s, true) }

func (e *encoder) field(k, s string) { e.key(k); e.str(s) }

func (e *encoder) fieldOmit(k, s string) {
	if s != "" {
		e.field(k, s)
	}
}

func (e *encoder) int(k string, n int64) { e.key(k); e.b = strconv.AppendInt(e.b, n, 10) }

func (e *encoder) intOmit(k string, n int64) {
	if n != 0 {
		e.int(k, n)
	}
}

func (e *encoder) bool(k string, v bool) { e.key(k); e.b = strconv.AppendBool(e.b, v) }

func (e *encoder) boolOmit(k string, v bool) {
	if v {
		e.bool(k, v)
	}
}

func (e *encoder) time(k string, t time.Time) {
	e.key(k)
	e.b = append(e.b, '"')
	var err error
	if e.b, err = t.AppendText(e.b); err != nil {
		e.bad = true
	}
	e.b = append(e.b, '"')
}

func (e *encoder) timeOmit(k string, t time.Time) {
	if !t.IsZero() {
		e.time(k, t)
	}
}

// strs writes a slice of strings, null when nil.
func strs[S ~string](e *encoder, k string, ss []S) {
	e.key(k)
	e.b = jsonstr.AppendStrings(e.b, ss, true)
}

func strsOmit[S ~string](e *encoder, k string, ss []S) {
	if len(ss) > 0 {
		strs(e, k, ss)
	}
}

// objects writes a slice of objects, null when nil.
func objects[T any](e *encoder, k string, xs []T, one func(*encoder, *T)) {
	e.key(k)
	if xs == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i := range xs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		one(e, &xs[i])
	}
	e.b, e.more = append(e.b, ']'), true
}

func objectsOmit[T any](e *encoder, k string, xs []T, one func(*encoder, *T)) {
	if len(xs) > 0 {
		objects(e, k, xs, one)
	}
}

func (e *encoder) paths(k string, ps [][]Dependency) {
	e.key(k)
	if ps == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i, p := range ps {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		if p == nil {
			e.b = append(e.b, "null"...)
			continue
		}
		e.b = append(e.b, '[')
		for j, dep := range p {
			if j > 0 {
				e.b = append(e.b, ',')
			}
			e.str(dep)
		}
		e.b = append(e.b, ']')
	}
	e.b, e.more = append(e.b, ']'), true
}

func (e *encoder) message(m *DecisionMessage) {
	e.open()
	e.field("id", m.ID)
	e.key("decision")
	e.decision(&m.Decision)
	e.key("user")
	e.summary(&m.User)
	e.key("assessment")
	e.assessment(&m.Assessment)
	e.time("time", m.Time)
	e.close()
}

func (e *encoder) decision(d *Decision) {
	e.open()
	e.field("decision", string(d.Kind))
	e.field("userId", d.UserID)
	strs(e, "violations", d.Violations)
	objects(e, "reasons", d.Reasons, (*encoder).reason)
	e.boolOmit("first", d.First)
	e.boolOmit("reminder", d.Reminder)
	e.boolOmit("escalated", d.Escalated)
	e.intOmit("nudgesIgnored", int64(d.NudgesIgnored))
	e.boolOmit("adminOnly", d.AdminOnly)
	e.fieldOmit("channel", string(d.Channel))
	strsOmit(e, "try", d.Try)
	e.timeOmit("heldUntil", d.HeldUntil)
	e.boolOmit("policyDrop", d.PolicyDrop)
	e.close()
}

func (e *encoder) reason(r *Reason) {
	e.open()
	e.field("code", string(r.Code))
	e.fieldOmit("tier", r.Tier)
	e.intOmit("diversity", int64(r.Diversity))
	e.intOmit("minDiversity", int64(r.MinDiversity))
	e.intOmit("previousDiversity", int64(r.PreviousDiversity))
	strsOmit(e, "violations", r.Violations)
	e.timeOmit("until", r.Until)
	strsOmit(e, "dependencies", r.Dependencies)
	strsOmit(e, "methods", r.Methods)
	e.intOmit("accounts", int64(r.Accounts))
	e.intOmit("nudges", int64(r.Nudges))
	e.intOmit("window", int64(r.Window))
	e.intOmit("cooldown", int64(r.Cooldown))
	e.intOmit("age", int64(r.Age))
	e.close()
}

func (e *encoder) summary(u *UserSummary) {
	e.open()
	e.field("id", u.ID)
	e.field("userPrincipalName", u.UserPrincipalName)
	e.fieldOmit("displayName", u.DisplayName)
	e.fieldOmit("mail", u.Mail)
	e.fieldOmit("preferredLanguage", u.PreferredLanguage)
	objectsOmit(e, "methods", u.Methods, (*encoder).note)
	e.close()
}

func (e *encoder) note(n *MethodNote) {
	e.open()
	e.fieldOmit("kind", string(n.Kind))
	e.fieldOmit("graphType", n.GraphType)
	e.fieldOmit("displayName", n.DisplayName)
	e.fieldOmit("phoneNumber", n.PhoneNumber)
	e.fieldOmit("emailAddress", n.EmailAddress)
	e.fieldOmit("serialNumber", n.SerialNumber)
	e.fieldOmit("words", n.Words)
	e.close()
}

func (e *encoder) assessment(a *Assessment) {
	e.open()
	e.field("id", a.UserID)
	e.field("userPrincipalName", a.UserPrincipalName)
	e.field("tier", a.Tier)
	e.int("diversity", int64(a.Diversity))
	e.int("minDiversity", int64(a.MinDiversity))
	strs(e, "spofs", a.SPOFs)
	e.paths("paths", a.Paths)
	e.bool("passwordless", a.Passwordless)
	e.bool("phishingResistant", a.PhishingResistant)
	e.bool("compliant", a.Compliant)
	e.boolOmit("exempt", a.Exempt)
	e.fieldOmit("excluded", a.Excluded)
	e.boolOmit("emergencyAccess", a.EmergencyAccess)
	e.fieldOmit("onViolation", string(a.OnViolation))
	strs(e, "violations", a.Violations)
	strsOmit(e, "tenantSide", a.TenantSide)
	objects(e, "recommendations", a.Recommendations, (*encoder).recommendation)
	objectsOmit(e, "ignored", a.Ignored, func(e *encoder, m *IgnoredMethod) {
		e.open()
		e.field("id", m.ID)
		e.field("kind", string(m.Kind))
		e.fieldOmit("graphType", m.GraphType)
		e.field("reason", m.Reason)
		e.close()
	})
	objectsOmit(e, "warnings", a.Warnings, func(e *encoder, w *MethodWarning) {
		e.open()
		e.field("id", w.ID)
		e.field("kind", string(w.Kind))
		e.field("sameAs", w.SameAs)
		e.field("reason", w.Reason)
		e.close()
	})
	objectsOmit(e, "conditionalAccess", a.ConditionalAccess, func(e *encoder, c *CAResult) {
		e.open()
		e.field("id", c.ID)
		e.field("scope", c.Scope)
		e.boolOmit("reportOnly", c.ReportOnly)
		e.bool("satisfied", c.Satisfied)
		e.close()
	})
	objectsOmit(e, "tenantRecommendations", a.TenantRecommendations, func(e *encoder, t *TenantRecommendation) {
		e.open()
		e.field("enable", t.Enable)
		strs(e, "add", t.Add)
		e.field("action", t.Action)
		e.close()
	})
	objectsOmit(e, "proof", a.Proof, (*encoder).proof)
	if len(a.UnprovenPaths) > 0 {
		e.paths("unprovenPaths", a.UnprovenPaths)
	}
	e.boolOmit("restsOnUnproven", a.RestsOnUnproven)
	e.timeOmit("heldUntil", a.HeldUntil)
	e.close()
}

func (e *encoder) recommendation(r *Recommendation) {
	e.open()
	strs(e, "add", r.Add)
	e.field("action", r.Action)
	e.int("diversity", int64(r.Diversity))
	e.int("cost", int64(r.Cost))
	objectsOmit(e, "devices", r.Devices, func(e *encoder, d *DeviceAdvice) {
		e.open()
		e.field("kind", string(d.Kind))
		e.fieldOmit("device", d.Device)
		e.boolOmit("second", d.Second)
		strsOmit(e, "carrying", d.Carrying)
		e.close()
	})
	e.boolOmit("conditional", r.Conditional)
	e.close()
}

func (e *encoder) proof(p *MethodProof) {
	e.open()
	e.field("id", p.ID)
	e.field("kind", string(p.Kind))
	e.fieldOmit("name", p.Name)
	e.field("proof", string(p.Proof))
	e.timeOmit("lastUsed", p.LastUsed)
	e.timeOmit("lastFailed", p.LastFailed)
	e.close()
}

// decoder reads the JSON the encoder writes, in one pass; bad means the
// input is off that path (or not JSON at all) and encoding/json decides.
type decoder struct {
	b   []byte
	i   int
	bad bool
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, taking
// it if so.
func (d *decoder) next(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *decoder) want(c byte) {
	if !d.next(c) {
		d.bad = true
	}
}

func (d *decoder) null() bool {
	d.ws()
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// raw returns a string's bytes between its quotes: only strings without
// escapes, control characters or invalid UTF-8, which decode as they are.
func (d *decoder) raw() []byte {
	if d.bad || !d.next('"') {
		d.bad = true
		return nil
	}
	start, ascii := d.i, true
	for ; d.i < len(d.b); d.i++ {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				d.bad = true
			}
			return s
		case c == '\\' || c < 0x20:
			d.bad = true
			return nil
		case c >= 0x80:
			ascii = false
		}
	}
	d.bad = true
	return nil
}

func (d *decoder) str() string { return string(d.raw()) }

func (d *decoder) int() int64 {
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	// A plain integer, without a leading zero: JSON allows no other, and
	// fractions and exponents are left to encoding/json.
	if d.i == digits || (d.b[digits] == '0' && d.i-digits > 1) || (d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E')) {
		d.bad = true
		return 0
	}
	n, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	if err != nil {
		d.bad = true
	}
	return n
}

func (d *decoder) bool() bool {
	d.ws()
	switch {
	case len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "true":
		d.i += 4
		return true
	case len(d.b)-d.i >= 5 && string(d.b[d.i:d.i+5]) == "false":
		d.i += 5
		return false
	}
	d.bad = true
	return false
}

// time reads a time written as the encoder writes it: one that reads back
// to the same text, so that encoding/json reads the same instant and zone.
func (d *decoder) time() time.Time {
	s := d.raw()
	var t time.Time
	if d.bad {
		return t
	}
	var buf [40]byte
	if err := t.UnmarshalText(s); err != nil {
		d.bad = true
	} else if text, err := t.AppendText(buf[:0]); err != nil || string(text) != string(s) {
		d.bad = true
	}
	return t
}

// object reads an object, handing each key to field, which reads the
// value and returns the field's number, or -1 for a key it does not know.
// A key read twice is left to encoding/json.
func (d *decoder) object(field func(d *decoder, key []byte) int) {
	if !d.next('{') {
		d.bad = true
		return
	}
	if d.next('}') {
		return
	}
	var seen uint64
	for !d.bad {
		key := d.raw()
		d.want(':')
		if d.bad {
			return
		}
		n := field(d, key)
		if n < 0 || seen&(1<<n) != 0 {
			d.bad = true
			return
		}
		seen |= 1 << n
		if d.next('}') {
			return
		}
		d.want(',')
	}
}

// array reads an array (nil for null, empty for []), one element at a
// time.
func array[T any](d *decoder, one func(*decoder, *T)) []T {
	if d.null() {
		return nil
	}
	if !d.next('[') {
		d.bad = true
		return nil
	}
	out := []T{}
	if d.next(']') {
		return out
	}
	for !d.bad {
		var x T
		one(d, &x)
		out = append(out, x)
		if d.next(']') {
			return out
		}
		d.want(',')
	}
	return nil
}

func strsOf[S ~string](d *decoder) []S {
	return array(d, func(d *decoder, s *S) { *s = S(d.str()) })
}

func pathsOf(d *decoder) [][]Dependency {
	return array(d, func(d *decoder, p *[]Dependency) { *p = strsOf[Dependency](d) })
}

func (d *decoder) message(m *DecisionMessage) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "id":
			m.ID = d.str()
			return 0
		case "decision":
			d.decision(&m.Decision)
			return 1
		case "user":
			d.summary(&m.User)
			return 2
		case "assessment":
			d.assessment(&m.Assessment)
			return 3
		case "time":
			m.Time = d.time()
			return 4
		}
		return -1
	})
}

func (d *decoder) decision(x *Decision) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "decision":
			x.Kind = DecisionKind(d.str())
			return 0
		case "userId":
			x.UserID = d.str()
			return 1
		case "violations":
			x.Violations = strsOf[Violation](d)
			return 2
		case "reasons":
			x.Reasons = array(d, (*decoder).reason)
			return 3
		case "first":
			x.First = d.bool()
			return 4
		case "reminder":
			x.Reminder = d.bool()
			return 5
		case "escalated":
			x.Escalated = d.bool()
			return 6
		case "nudgesIgnored":
			x.NudgesIgnored = int(d.int())
			return 7
		case "adminOnly":
			x.AdminOnly = d.bool()
			return 8
		case "channel":
			x.Channel = Channel(d.str())
			return 9
		case "try":
			x.Try = strsOf[string](d)
			return 10
		case "heldUntil":
			x.HeldUntil = d.time()
			return 11
		case "policyDrop":
			x.PolicyDrop = d.bool()
			return 12
		}
		return -1
	})
}

// reason reads a reason; a reason written as words (Reason.UnmarshalJSON)
// becomes its code.
func (d *decoder) reason(r *Reason) {
	if d.ws(); d.i < len(d.b) && d.b[d.i] == '"' {
		r.Code = ReasonCode(d.str())
		return
	}
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "code":
			r.Code = ReasonCode(d.str())
			return 0
		case "tier":
			r.Tier = d.str()
			return 1
		case "diversity":
			r.Diversity = int(d.int())
			return 2
		case "minDiversity":
			r.MinDiversity = int(d.int())
			return 3
		case "previousDiversity":
			r.PreviousDiversity = int(d.int())
			return 4
		case "violations":
			r.Violations = strsOf[Violation](d)
			return 5
		case "until":
			r.Until = d.time()
			return 6
		case "dependencies":
			r.Dependencies = strsOf[Dependency](d)
			return 7
		case "methods":
			r.Methods = strsOf[string](d)
			return 8
		case "accounts":
			r.Accounts = int(d.int())
			return 9
		case "nudges":
			r.Nudges = int(d.int())
			return 10
		case "window":
			r.Window = time.Duration(d.int())
			return 11
		case "cooldown":
			r.Cooldown = time.Duration(d.int())
			return 12
		case "age":
			r.Age = time.Duration(d.int())
			return 13
		}
		return -1
	})
}

func (d *decoder) summary(u *UserSummary) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "id":
			u.ID = d.str()
			return 0
		case "userPrincipalName":
			u.UserPrincipalName = d.str()
			return 1
		case "displayName":
			u.DisplayName = d.str()
			return 2
		case "mail":
			u.Mail = d.str()
			return 3
		case "preferredLanguage":
			u.PreferredLanguage = d.str()
			return 4
		case "methods":
			u.Methods = array(d, (*decoder).note)
			return 5
		}
		return -1
	})
}

// note reads a method note; one written as words (MethodNote.UnmarshalJSON)
// keeps them.
func (d *decoder) note(n *MethodNote) {
	if d.ws(); d.i < len(d.b) && d.b[d.i] == '"' {
		n.Words = d.str()
		return
	}
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "kind":
			n.Kind = MethodKind(d.str())
			return 0
		case "graphType":
			n.GraphType = d.str()
			return 1
		case "displayName":
			n.DisplayName = d.str()
			return 2
		case "phoneNumber":
			n.PhoneNumber = d.str()
			return 3
		case "emailAddress":
			n.EmailAddress = d.str()
			return 4
		case "serialNumber":
			n.SerialNumber = d.str()
			return 5
		case "words":
			n.Words = d.str()
			return 6
		}
		return -1
	})
}

func (d *decoder) assessment(a *Assessment) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "id":
			a.UserID = d.str()
			return 0
		case "userPrincipalName":
			a.UserPrincipalName = d.str()
			return 1
		case "tier":
			a.Tier = d.str()
			return 2
		case "diversity":
			a.Diversity = int(d.int())
			return 3
		case "minDiversity":
			a.MinDiversity = int(d.int())
			return 4
		case "spofs":
			a.SPOFs = strsOf[Dependency](d)
			return 5
		case "paths":
			a.Paths = pathsOf(d)
			return 6
		case "passwordless":
			a.Passwordless = d.bool()
			return 7
		case "phishingResistant":
			a.PhishingResistant = d.bool()
			return 8
		case "compliant":
			a.Compliant = d.bool()
			return 9
		case "exempt":
			a.Exempt = d.bool()
			return 10
		case "excluded":
			a.Excluded = d.str()
			return 11
		case "emergencyAccess":
			a.EmergencyAccess = d.bool()
			return 12
		case "onViolation":
			a.OnViolation = DecisionKind(d.str())
			return 13
		}
		return d.assessmentLists(a, key)
	})
}

// assessmentLists reads the assessment's fields that are lists of
// objects, and what follows them.
func (d *decoder) assessmentLists(a *Assessment, key []byte) int {
	switch string(key) {
	case "violations":
		a.Violations = strsOf[Violation](d)
		return 14
	case "tenantSide":
		a.TenantSide = strsOf[Violation](d)
		return 15
	case "recommendations":
		a.Recommendations = array(d, (*decoder).recommendation)
		return 16
	case "ignored":
		a.Ignored = array(d, (*decoder).ignored)
		return 17
	case "warnings":
		a.Warnings = array(d, (*decoder).warning)
		return 18
	case "conditionalAccess":
		a.ConditionalAccess = array(d, (*decoder).caResult)
		return 19
	case "tenantRecommendations":
		a.TenantRecommendations = array(d, (*decoder).tenantRecommendation)
		return 20
	case "proof":
		a.Proof = array(d, (*decoder).proof)
		return 21
	case "unprovenPaths":
		a.UnprovenPaths = pathsOf(d)
		return 22
	case "restsOnUnproven":
		a.RestsOnUnproven = d.bool()
		return 23
	case "heldUntil":
		a.HeldUntil = d.time()
		return 24
	}
	return -1
}

func (d *decoder) recommendation(r *Recommendation) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "add":
			r.Add = strsOf[MethodKind](d)
			return 0
		case "action":
			r.Action = d.str()
			return 1
		case "diversity":
			r.Diversity = int(d.int())
			return 2
		case "cost":
			r.Cost = int(d.int())
			return 3
		case "devices":
			r.Devices = array(d, (*decoder).deviceAdvice)
			return 4
		case "conditional":
			r.Conditional = d.bool()
			return 5
		}
		return -1
	})
}

func (d *decoder) deviceAdvice(a *DeviceAdvice) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "kind":
			a.Kind = MethodKind(d.str())
			return 0
		case "device":
			a.Device = d.str()
			return 1
		case "second":
			a.Second = d.bool()
			return 2
		case "carrying":
			a.Carrying = strsOf[string](d)
			return 3
		}
		return -1
	})
}

func (d *decoder) ignored(m *IgnoredMethod) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "id":
			m.ID = d.str()
			return 0
		case "kind":
			m.Kind = MethodKind(d.str())
			return 1
		case "graphType":
			m.GraphType = d.str()
			return 2
		case "reason":
			m.Reason = d.str()
			return 3
		}
		return -1
	})
}

func (d *decoder) warning(w *MethodWarning) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "id":
			w.ID = d.str()
			return 0
		case "kind":
			w.Kind = MethodKind(d.str())
			return 1
		case "sameAs":
			w.SameAs = d.str()
			return 2
		case "reason":
			w.Reason = d.str()
			return 3
		}
		return -1
	})
}

func (d *decoder) caResult(c *CAResult) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "id":
			c.ID = d.str()
			return 0
		case "scope":
			c.Scope = d.str()
			return 1
		case "reportOnly":
			c.ReportOnly = d.bool()
			return 2
		case "satisfied":
			c.Satisfied = d.bool()
			return 3
		}
		return -1
	})
}

func (d *decoder) tenantRecommendation(t *TenantRecommendation) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "enable":
			t.Enable = d.str()
			return 0
		case "add":
			t.Add = strsOf[MethodKind](d)
			return 1
		case "action":
			t.Action = d.str()
			return 2
		}
		return -1
	})
}

func (d *decoder) proof(p *MethodProof) {
	d.object(func(d *decoder, key []byte) int {
		switch string(key) {
		case "id":
			p.ID = d.str()
			return 0
		case "kind":
			p.Kind = MethodKind(d.str())
			return 1
		case "name":
			p.Name = d.str()
			return 2
		case "proof":
			p.Proof = Proof(d.str())
			return 3
		case "lastUsed":
			p.LastUsed = d.time()
			return 4
		case "lastFailed":
			p.LastFailed = d.time()
			return 5
		}
		return -1
	})
}
