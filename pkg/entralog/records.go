package entralog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/credres/credres/internal/bounded"
	"github.com/credres/credres/internal/jsonkeys"
	"github.com/credres/credres/pkg/model"
)

// Batch is one input document normalised: the audit events and the user
// sign-ins, in input order, and a count of everything set aside.
type Batch struct {
	Audit   []model.MethodChangeEvent
	SignIns []SignIn
	// PolicyChanges are the changes of the tenant's own policy (the
	// authentication methods policy, authentication strengths and
	// Conditional Access policies), in input order: each asks for a
	// tenant-wide re-evaluation.
	PolicyChanges []model.PolicyChange
	// Skipped counts well-formed records set aside, by reason: the audit
	// skip reasons (Skip…) and the sign-in ones (SkipSignIn…).
	Skipped map[string]int
	// Unknown counts sign-in steps whose authenticationMethod credres does
	// not map, by the value as logged. They are kept (kind "unknown") and
	// never fatal.
	Unknown map[string]int
	// Records is how many records were seen; SignInRecords how many of them
	// were sign-in records (with or without a user).
	Records       int
	SignInRecords int
}

// Parse normalises one document of Entra log records, audit and sign-in
// records mixed, as one Event Hub receives them from a diagnostic setting
// that sends AuditLogs, SignInLogs and NonInteractiveUserSignInLogs:
//
//   - an Event Hubs body {"records":[…]}, each record's fields under
//     "properties" and its diagnostic category in "category";
//   - Graph objects (directoryAudit or signIn), alone, in a list
//     {"value":[…]} or in a JSON array;
//   - several documents one after another (JSON Lines).
//
// A record is a sign-in when its category is SignInLogs or
// NonInteractiveUserSignInLogs, or, without a category, when it has a
// Graph signIn's createdDateTime with authenticationDetails or appId.
// ServicePrincipalSignInLogs and ManagedIdentitySignInLogs records, and
// user sign-ins without a userId, are skipped as SkipSignInNoUser. Every
// other record goes to the audit normalisation (ParseAudit).
//
// Like ParseAudit, Parse never stops at a bad record: err joins one error
// per malformed record, each wrapping model.ErrInvalidInput and naming the
// record's position ("record 3: …"); invalid JSON ends the input there.
func Parse(data []byte) (Batch, error) {
	return parse(data, &reader{})
}

// parse is Parse with s reading the records.
func parse(data []byte, s *reader) (Batch, error) {
	b := newBatch()
	var errs []error
	if !s.general && json.Valid(data) {
		// The usual body is one document: checked as a whole, it needs no
		// decoder to find where it ends.
		errs = b.document(s, bytes.TrimSpace(data), 0)
		return b, errors.Join(errs...)
	}
	err := documents(bytes.NewReader(data), nil, 0, func(doc json.RawMessage, docs int) {
		errs = append(errs, b.document(s, doc, docs)...)
	})
	return b, errors.Join(append(errs, err)...)
}

// ParseReader is Parse over a stream read one document at a time, so that
// memory holds one document, never the stream: emit is called after each
// document with what it held (Records counts that document's records;
// errors name records by their position in the whole stream, as Parse's
// do). A document longer than maxDocument bytes (counted from the end of
// the one before; 0 for no limit) ends the stream with an error wrapping
// model.ErrInvalidInput, as invalid JSON does; so does an emit error.
func ParseReader(r io.Reader, maxDocument int64, emit func(Batch, error) error) error {
	return parseReader(r, maxDocument, &reader{}, emit)
}

// parseReader is ParseReader with s reading the records.
func parseReader(r io.Reader, maxDocument int64, s *reader, emit func(Batch, error) error) error {
	var lim *bounded.Reader
	if maxDocument > 0 {
		lim = bounded.NewReader(r, maxDocument)
		lim.What = "document"
		r = lim
	}
	records := 0
	var emitErr error
	err := documents(r, lim, maxDocument, func(doc json.RawMessage, docs int) {
		if emitErr != nil {
			return
		}
		b := newBatch()
		b.Records = records // positions count across the stream
		errs := b.document(s, doc, docs)
		b.Records, records = b.Records-records, b.Records
		emitErr = emit(b, errors.Join(errs...))
	})
	return errors.Join(err, emitErr)
}

func newBatch() Batch {
	return Batch{Skipped: map[string]int{}, Unknown: map[string]int{}}
}

// documents calls fn with each top-level JSON value of r and its position.
// It returns the error that ends the input: invalid JSON, a read error, or
// no document at all. With lim, each document may be lim's size past the
// end of the one before: maxDocument.
func documents(r io.Reader, lim *bounded.Reader, maxDocument int64, fn func(doc json.RawMessage, pos int)) error {
	dec := json.NewDecoder(r)
	docs := 0
	for ; ; docs++ {
		if lim != nil {
			lim.Limit = dec.InputOffset() + maxDocument
		}
		var doc json.RawMessage
		err := dec.Decode(&doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				err = fmt.Errorf("%v at byte %d", err, syn.Offset)
			}
			return fmt.Errorf("document %d: %w: %v", docs, model.ErrInvalidInput, err)
		}
		fn(doc, docs)
	}
	if docs == 0 {
		return fmt.Errorf("%w: no JSON document", model.ErrInvalidInput)
	}
	return nil
}

// document adds the records of one document (number pos) to b and returns
// the errors of the malformed ones.
func (b *Batch) document(s *reader, doc json.RawMessage, pos int) []error {
	records, ok := s.split(doc)
	if !ok {
		var err error
		if records, err = splitRecords(doc); err != nil {
			return []error{fmt.Errorf("document %d: %w", pos, err)}
		}
	}
	var errs []error
	for _, rec := range records {
		n := b.Records
		b.Records++
		if err := b.add(s, rec); err != nil {
			errs = append(errs, fmt.Errorf("record %d: %w", n, err))
		}
	}
	return errs
}

func (b *Batch) add(s *reader, rec json.RawMessage) error {
	kind, r, skip, err := s.readAny(rec, true)
	switch kind {
	case recordNoUserSignIn:
		b.SignInRecords++
		b.Skipped[SkipSignInNoUser]++
		return nil
	case recordSignIn:
		b.SignInRecords++
		si, skip, err := s.normaliseSignIn(rec, b.Unknown)
		switch {
		case err != nil:
			return err
		case skip != "":
			b.Skipped[skip]++
		default:
			b.SignIns = append(b.SignIns, si)
		}
		return nil
	}
	if r == nil {
		if err == nil {
			b.Skipped[skip]++
		}
		return err
	}
	ev, pc, skip, err := r.normaliseAny()
	switch {
	case err != nil:
		return err
	case skip != "":
		b.Skipped[skip]++
	case pc != nil:
		b.PolicyChanges = append(b.PolicyChanges, *pc)
	default:
		b.Audit = append(b.Audit, ev)
	}
	return nil
}

// splitRecords returns the records of one top-level JSON value: the items
// of {"records":[…]}, {"value":[…]} or an array; anything else is one record.
func splitRecords(doc json.RawMessage) ([]json.RawMessage, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 {
		return nil, nil
	}
	switch doc[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(doc, &items); err != nil {
			return nil, fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
		}
		return items, nil
	case '{':
		if err := jsonkeys.Check(doc, false); err != nil {
			return nil, fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
		}
		var page struct {
			Records recordList `json:"records"`
			Value   recordList `json:"value"`
		}
		if err := json.Unmarshal(doc, &page); err != nil {
			return nil, fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
		}
		for _, c := range []struct {
			name string
			l    recordList
		}{{"records", page.Records}, {"value", page.Value}} {
			if !c.l.set {
				continue
			}
			if c.l.notArray != "" {
				return nil, fmt.Errorf("%w: %q is %s, not an array", model.ErrInvalidInput, c.name, c.l.notArray)
			}
			return c.l.items, nil
		}
	}
	return []json.RawMessage{doc}, nil
}

// recordList is a page's "records" or "value", decoded in the page's one
// pass: set when it is there and not null, then its items, or the JSON type
// it has instead of an array.
type recordList struct {
	set      bool
	items    []json.RawMessage
	notArray string
}

// UnmarshalJSON implements json.Unmarshaler; it is called for null too.
func (l *recordList) UnmarshalJSON(b []byte) error {
	if l.set = isSet(b); !l.set {
		return nil
	}
	if v := bytes.TrimSpace(b); v[0] != '[' {
		l.notArray = jsonKind(v)
		return nil
	}
	return json.Unmarshal(b, &l.items)
}

// checkKeys rejects a record in which a key appears twice in one object:
// encoding/json would keep the last without a word, and matches keys
// without regard to case, so the record could mean two things.
func checkKeys(rec json.RawMessage) error {
	if err := jsonkeys.Check(rec, true); err != nil {
		return fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
	}
	return nil
}
