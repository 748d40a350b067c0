package graphjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/credres/credres/internal/bounded"
	"github.com/credres/credres/internal/jsonkeys"
	"github.com/credres/credres/pkg/model"
)

// DirectoryOptions say what a snapshot is read for.
type DirectoryOptions struct {
	// KeepRaw keeps each method's Graph object verbatim in Method.Raw, for
	// readers that write methods back (exports, round trips, the Graph test
	// server). Readers that only evaluate leave it false: the raw bytes are
	// most of a snapshot's size.
	KeepRaw bool

	// MaxBytes is the largest snapshot read, in bytes: past it the snapshot
	// is invalid input. 0 means DefaultMaxSnapshotBytes.
	MaxBytes int64

	// sizeHint is the snapshot's size when known, to size the users
	// array once instead of growing it.
	sizeHint int64
}

// DefaultMaxSnapshotBytes is the largest snapshot read by default: 4 GiB,
// over four million users as credres export writes them (a million take
// about 914 MB, docs/PERFORMANCE.md). A reader that never ends (/dev/zero,
// a stream that never closes its JSON) is invalid input, not a process out
// of memory.
const DefaultMaxSnapshotBytes = 4 << 30

// bytesPerUser is about the smallest size of a user in a snapshot of
// Graph's objects; the users array is sized from it (its unused end is
// never touched, so it costs no memory).
const bytesPerUser = 640

// DecodeDirectory reads a directory snapshot, keeping every method's Graph
// object (DirectoryOptions.KeepRaw).
//
// A user that cannot be read whole (a method that fails to decode, a
// property of the wrong type, a key given twice, no id, an id another user
// already has) is left out, never read in part: an assessment over a
// partial user would be wrong, not merely incomplete. The directory of the
// other users is returned with an error that names each user left out (its
// position, id and user principal name) and, for a method, the method (its
// position, @odata.type and id); each wraps model.ErrInvalidInput. When the
// snapshot itself cannot be read (invalid JSON, null, a key of the document
// or the tenant given twice, an invalid tenant, larger than MaxBytes) the
// directory is nil.
func DecodeDirectory(r io.Reader) (*model.Directory, error) {
	return DecodeDirectoryWith(r, DirectoryOptions{KeepRaw: true})
}

// LoadDirectory reads a directory snapshot from a file, keeping every
// method's Graph object.
func LoadDirectory(path string) (*model.Directory, error) {
	return LoadDirectoryWith(path, DirectoryOptions{KeepRaw: true})
}

// LoadDirectoryWith reads a directory snapshot from a file; like
// DecodeDirectory, it returns the valid users with an error naming the
// others.
func LoadDirectoryWith(path string, o DirectoryOptions) (*model.Directory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load directory %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		o.sizeHint = st.Size()
	}
	d, err := DecodeDirectoryWith(f, o)
	return d, model.PrefixErrors(path, err)
}

// DecodeDirectoryWith reads a directory snapshot in one pass over the
// stream: users are decoded one at a time as the "users" array is read, and
// each method straight from its bytes, so the reader holds the decoded
// directory and a small window of the input, never the document.
func DecodeDirectoryWith(r io.Reader, o DirectoryOptions) (*model.Directory, error) {
	dd := newDirectoryDecoder(r, o)
	d, err := dd.directory()
	if err == nil {
		err = dd.l.end()
	}
	if err != nil {
		return nil, fmt.Errorf("decode directory: %w: %v", model.ErrInvalidInput, err)
	}
	// The users' ids were checked as they were read; the tenant is checked
	// alone.
	tenant := model.Directory{Tenant: d.Tenant}
	if err := tenant.Validate(); err != nil {
		return nil, model.PrefixErrors("decode directory", errors.Join(append([]error{err}, dd.invalid...)...))
	}
	d.Tenant = tenant.Tenant
	return d, model.PrefixErrors("decode directory", errors.Join(dd.invalid...))
}

func newDirectoryDecoder(r io.Reader, o DirectoryOptions) *directoryDecoder {
	if _, ok := r.(io.ByteReader); !ok {
		// The lexer reads in large blocks itself; this only spares small
		// reads from readers such as network bodies.
		r = bufio.NewReaderSize(r, 64<<10)
	}
	limit := o.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxSnapshotBytes
	}
	r = bounded.NewReader(r, limit)
	dd := &directoryDecoder{l: newLexer(r), opts: o, ids: make(map[string]int), dir: &model.Directory{}}
	dd.strs.m = make(map[string]string)
	dd.methods.vocab = new([fUnknown]recent)
	return dd
}

// directoryDecoder reads a snapshot from a lexer.
type directoryDecoder struct {
	l        *lexer
	opts     DirectoryOptions
	methods  methodDecoder
	strs     interner // group ids, role names
	keyBuf   []byte   // the key being read
	lang     recent   // preferred languages
	userType recent
	// ids maps each user id read to the user's position, to find repeats.
	ids map[string]int
	// invalidAt is the position of the last user in invalid.
	invalidAt int
	// invalid holds an error for each user left out.
	invalid []error
	// methodErrs holds the errors of the current user's methods.
	methodErrs []error
	// slab holds the methods of many users: each user's Methods is a
	// slice of it, capped, so that a million users' methods are a few
	// hundred allocations rather than a million.
	slab []model.Method
	// dir is the directory read so far.
	dir *model.Directory
	// stream, when set, takes the users a batch at a time as they are
	// read (StreamDirectory) instead of dir holding them all.
	stream *streamState
}

const slabMethods = 4096

func (dd *directoryDecoder) directory() (*model.Directory, error) {
	d, err := dd.document()
	if d != nil && d.Users == nil {
		d.Users = []model.User{} // as for "users": [] or null
	}
	return d, err
}

func (dd *directoryDecoder) document() (*model.Directory, error) {
	l := dd.l
	d := dd.dir
	if null, err := l.isNull(); err != nil || null {
		if null {
			err = errors.New("the snapshot is null, not an object")
		}
		return nil, err
	}
	if err := l.expect('{'); err != nil {
		return nil, err
	}
	var seen fieldSet
	var unknown keySet
	ok, err := l.first('}')
	for ; ok && err == nil; ok, err = l.more('}') {
		key, err := dd.key()
		if err != nil {
			return nil, err
		}
		switch {
		case string(key) == "tenant" || foldEqual(key, "tenant"):
			if err := seen.add(0, key); err != nil {
				return nil, err
			}
			if err := dd.tenant(); err != nil {
				return nil, err
			}
		case string(key) == "exportedAt" || foldEqual(key, "exportedAt"):
			if err := seen.add(2, key); err != nil {
				return nil, err
			}
			raw, err := l.capture(1)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(raw, &d.ExportedAt); err != nil {
				return nil, fmt.Errorf("exportedAt: %w", err)
			}
		case string(key) == "users" || foldEqual(key, "users"):
			if err := seen.add(1, key); err != nil {
				return nil, err
			}
			if err := dd.users(); err != nil {
				return nil, err
			}
		default:
			if err := unknown.add(key); err != nil {
				return nil, err
			}
			if err := l.skip(1); err != nil {
				return nil, err
			}
		}
	}
	return d, err
}

// tenant reads the tenant; a stream starts with it.
func (dd *directoryDecoder) tenant() error {
	raw, err := dd.l.capture(1)
	if err != nil {
		return err
	}
	if err := jsonkeys.Check(raw, true); err != nil {
		return fmt.Errorf("tenant: %w", err)
	}
	if err := json.Unmarshal(raw, &dd.dir.Tenant); err != nil {
		return fmt.Errorf("tenant: %w", err)
	}
	if dd.stream != nil {
		return dd.startStream()
	}
	return nil
}

// key reads an object key and its colon. The key is valid until the next
// call of key.
func (dd *directoryDecoder) key() ([]byte, error) {
	raw, plain, err := dd.l.rawString()
	if err != nil {
		return nil, err
	}
	if !plain {
		s, err := decodeString(raw, plain)
		if err != nil {
			return nil, err
		}
		raw = []byte(s)
	}
	// Reading on to the colon may refill the buffer under raw.
	dd.keyBuf = append(dd.keyBuf[:0], raw...)
	return dd.keyBuf, dd.l.expect(':')
}

func (dd *directoryDecoder) users() error {
	l := dd.l
	if null, err := l.isNull(); err != nil || null {
		if null {
			err = errors.New("users is null, not an array")
		}
		return err
	}
	if err := l.expect('['); err != nil {
		return err
	}
	if dd.stream == nil {
		dd.dir.Users = make([]model.User, 0, min(dd.opts.sizeHint/bytesPerUser+1, 1<<26))
	}
	ok, err := l.first(']')
	for pos := 0; ok && err == nil; ok, err = l.more(']') {
		if err := dd.appendUser(pos); err != nil {
			return err
		}
		pos++
		if dd.stream != nil && len(dd.dir.Users) >= dd.stream.batch {
			if err := dd.flush(false); err != nil {
				return err
			}
		}
	}
	return err
}

// appendUser reads the user at position pos into dir.Users, or leaves it
// out when it cannot be read whole.
func (dd *directoryDecoder) appendUser(pos int) error {
	if dd.dir.Users == nil && dd.stream != nil {
		dd.dir.Users = make([]model.User, 0, dd.stream.batch)
	}
	users := append(dd.dir.Users, model.User{})
	dd.dir.Users = users
	if err := dd.nextUser(&users[len(users)-1], pos); err != nil {
		return err
	}
	if len(dd.invalid) > 0 && dd.invalidAt == pos {
		dd.dir.Users = users[:len(users)-1]
	}
	return nil
}

// nextUser reads the user at position pos of the users array. A user that
// is well-formed JSON but cannot be read whole is recorded in dd.invalid
// (with dd.invalidAt = pos) for the caller to leave out; an error is
// returned only when the snapshot cannot be read on.
func (dd *directoryDecoder) nextUser(u *model.User, pos int) error {
	l := dd.l
	start, err := l.hold()
	if err != nil {
		return fmt.Errorf("user %d: %w", pos, err)
	}
	defer l.release(start.saved)
	err = dd.user(u)
	if err == nil {
		err = dd.checkID(u, pos)
	}
	if err == nil {
		return nil
	}
	if !l.recover(start, 2) {
		return fmt.Errorf("user %d: %w", pos, err)
	}
	who := describe(l.since(start), "id", "userPrincipalName")
	dd.invalid = append(dd.invalid, fmt.Errorf("user %d%s: %w: %s", pos, who, model.ErrInvalidInput, cause(err)))
	dd.invalidAt = pos
	return nil
}

// checkID checks that the user has an id that no user before it has.
func (dd *directoryDecoder) checkID(u *model.User, pos int) error {
	if u.ID == "" {
		return errors.New("no id")
	}
	if j, dup := dd.ids[u.ID]; dup {
		return fmt.Errorf("id repeats user %d", j)
	}
	dd.ids[u.ID] = pos
	return nil
}

// describe names a user or method by the properties of its JSON object
// that identify it: ` (id "u1", userPrincipalName "a@b")`, or nothing when
// it has none. Values are shown as JSON, shortened.
func describe(object []byte, names ...string) string {
	var props map[string]json.RawMessage
	if json.Unmarshal(object, &props) != nil {
		return ""
	}
	var parts []string
	for _, name := range names {
		for k, v := range props {
			if !strings.EqualFold(k, name) || string(v) == "null" {
				continue
			}
			if len(v) > 80 {
				v = append(v[:77:77], "..."...)
			}
			parts = append(parts, name+" "+string(v))
			break
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// The user properties read here; any other goes through encoding/json into
// model.User, so a field added there is read without a change here.
const (
	uID = iota
	uUPN
	uDisplayName
	uMail
	uPreferredLanguage
	uOnPremisesSyncEnabled
	uAccountEnabled
	uRoles
	uGroups
	uMethods
	uMethodsRegistered
	uUserType
	uEligibleRoles
	uOther
)

var userFieldNames = [...]string{
	"id", "userPrincipalName", "displayName", "mail", "preferredLanguage", "onPremisesSyncEnabled",
	"accountEnabled", "roles", "groups", "methods", "methodsRegistered", "userType", "eligibleRoles",
}

func userField(key []byte) int {
	switch string(key) {
	case "id":
		return uID
	case "userPrincipalName":
		return uUPN
	case "displayName":
		return uDisplayName
	case "mail":
		return uMail
	case "preferredLanguage":
		return uPreferredLanguage
	case "onPremisesSyncEnabled":
		return uOnPremisesSyncEnabled
	case "accountEnabled":
		return uAccountEnabled
	case "roles":
		return uRoles
	case "groups":
		return uGroups
	case "methods":
		return uMethods
	case "methodsRegistered":
		return uMethodsRegistered
	case "userType":
		return uUserType
	case "eligibleRoles":
		return uEligibleRoles
	}
	for i, name := range userFieldNames {
		if foldEqual(key, name) {
			return i
		}
	}
	return uOther
}

func (dd *directoryDecoder) user(u *model.User) error {
	l := dd.l
	if null, err := l.isNull(); err != nil || null {
		return err
	}
	if err := l.expect('{'); err != nil {
		return err
	}
	var rest []byte // the other properties, as a JSON object
	var seen fieldSet
	ok, err := l.first('}')
	for ; ok && err == nil; ok, err = l.more('}') {
		key, err := dd.key()
		if err != nil {
			return err
		}
		f := userField(key)
		if f != uOther {
			if err := seen.add(f, key); err != nil {
				return err
			}
		}
		switch f {
		case uID, uUPN, uDisplayName, uMail, uPreferredLanguage, uUserType:
			err = dd.userString(u, f)
		case uOnPremisesSyncEnabled:
			var b opt[bool]
			if err = optBool(l, &b); b.ok {
				u.OnPremisesSyncEnabled = b.v
			}
		case uAccountEnabled:
			var b opt[bool]
			if err = optBool(l, &b); err == nil {
				u.AccountEnabled = nil
				if b.ok {
					u.AccountEnabled = &b.v
				}
			}
		case uRoles:
			u.Roles, err = dd.strings()
		case uGroups:
			u.Groups, err = dd.strings()
		case uMethodsRegistered:
			u.MethodsRegistered, err = dd.strings()
		case uEligibleRoles:
			u.EligibleRoles, err = dd.strings()
		case uMethods:
			err = dd.userMethods(u)
		default:
			rest, err = dd.otherProperty(rest, key)
		}
		if err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if err := otherProperties(u, rest); err != nil {
		return err
	}
	if len(dd.methodErrs) > 0 {
		err := errors.Join(dd.methodErrs...)
		dd.methodErrs = dd.methodErrs[:0]
		return err
	}
	return nil
}

// otherProperty adds the property at key, one the decoder does not read
// itself, to rest: a JSON object of them, for encoding/json.
func (dd *directoryDecoder) otherProperty(rest, key []byte) ([]byte, error) {
	name := string(key) // before the lexer moves on
	raw, err := dd.l.capture(1)
	if err != nil {
		return rest, err
	}
	if rest == nil {
		rest = append(rest, '{')
	} else {
		rest = append(rest, ',')
	}
	rest, _ = appendJSONString(rest, name)
	return append(append(rest, ':'), raw...), nil
}

// otherProperties reads the user's other properties through encoding/json.
func otherProperties(u *model.User, rest []byte) error {
	if rest == nil {
		return nil
	}
	rest = append(rest, '}')
	if err := jsonkeys.Check(rest, true); err != nil {
		return err
	}
	return json.Unmarshal(rest, u)
}

func appendJSONString(dst []byte, s string) ([]byte, error) {
	b, err := json.Marshal(s)
	return append(dst, b...), err
}

// userString reads one of the user's string properties; null leaves it
// as it was, as encoding/json does.
func (dd *directoryDecoder) userString(u *model.User, f int) error {
	var s opt[string]
	var intern stringTable
	switch f {
	case uPreferredLanguage:
		intern = &dd.lang
	case uUserType:
		intern = &dd.userType
	}
	if err := dd.methods.optString(dd.l, &s, intern); err != nil || !s.ok {
		return err
	}
	switch f {
	case uID:
		u.ID = s.v
	case uUPN:
		u.UserPrincipalName = s.v
	case uDisplayName:
		u.DisplayName = s.v
	case uMail:
		u.Mail = s.v
	case uPreferredLanguage:
		u.PreferredLanguage = s.v
	case uUserType:
		u.UserType = s.v
	}
	return nil
}

// strings reads an array of strings (group ids, role names), interned: the
// same few values repeat across the tenant.
func (dd *directoryDecoder) strings() ([]string, error) {
	l := dd.l
	if null, err := l.isNull(); err != nil || null {
		return nil, err
	}
	if err := l.expect('['); err != nil {
		return nil, err
	}
	var buf [8]string
	out := buf[:0]
	ok, err := l.first(']')
	for ; ok && err == nil; ok, err = l.more(']') {
		var s opt[string]
		if err := dd.methods.optString(l, &s, &dd.strs); err != nil {
			return nil, err
		}
		out = append(out, s.v)
	}
	if err != nil {
		return nil, err
	}
	return append([]string{}, out...), nil
}

// userMethods reads the user's methods into the slab.
func (dd *directoryDecoder) userMethods(u *model.User) error {
	l := dd.l
	if null, err := l.isNull(); err != nil || null {
		if null {
			u.Methods = nil
		}
		return err
	}
	if err := l.expect('['); err != nil {
		return err
	}
	if dd.slab == nil {
		dd.slab = make([]model.Method, 0, slabMethods)
	}
	start := len(dd.slab)
	ok, err := l.first(']')
	for ; ok && err == nil; ok, err = l.more(']') {
		if len(dd.slab) == cap(dd.slab) {
			n := len(dd.slab) - start
			next := make([]model.Method, n, max(slabMethods, 2*n))
			copy(next, dd.slab[start:])
			clear(dd.slab[start:])
			dd.slab, start = next[:n], 0
		}
		dd.slab = dd.slab[:len(dd.slab)+1]
		m := &dd.slab[len(dd.slab)-1]
		if err := dd.method(m, len(dd.slab)-1-start); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	end := len(dd.slab)
	u.Methods = dd.slab[start:end:end]
	return nil
}

// method reads the method at position pos of a user's methods into m. A
// method that is well-formed JSON but cannot be read is recorded in
// dd.methodErrs, naming it, and the user's other methods are read on; an
// error is returned only when the snapshot cannot be read on.
func (dd *directoryDecoder) method(m *model.Method, pos int) error {
	l := dd.l
	start, err := l.hold()
	if err != nil {
		return err
	}
	defer l.release(start.saved)
	err = dd.methods.decode(l, m, "", dd.opts.KeepRaw)
	if err == nil {
		return nil
	}
	if !l.recover(start, 3) {
		return methodError(m.ID, err)
	}
	which := describe(l.since(start), "@odata.type", "id")
	dd.methodErrs = append(dd.methodErrs, fmt.Errorf("method %d%s: %s", pos, which, cause(err)))
	return nil
}

// fieldSet holds the known properties read from one object, to find one
// given twice.
type fieldSet uint64

func (s *fieldSet) add(f int, key []byte) error {
	if *s&(1<<f) != 0 {
		return fmt.Errorf("duplicate key %q", key)
	}
	*s |= 1 << f
	return nil
}

// keySet holds the other keys of one object, to find one given twice:
// keys are compared without regard to case, as they are matched.
type keySet struct {
	buf  []byte
	ends []int
}

func (k *keySet) reset() {
	k.buf, k.ends = k.buf[:0], k.ends[:0]
}

func (k *keySet) add(key []byte) error {
	from := 0
	for _, end := range k.ends {
		if bytes.EqualFold(k.buf[from:end], key) {
			return fmt.Errorf("duplicate key %q", key)
		}
		from = end
	}
	k.buf = append(k.buf, key...)
	k.ends = append(k.ends, len(k.buf))
	return nil
}

// cause is the message of an error about a user or a method that was
// well-formed JSON, for a message that names it already: without the
// prefixes that would name it again ("decode method m: invalid input:"),
// and without "invalid JSON", since the lexer's type errors ("'7' where a
// string was expected") were then about a value of the wrong type.
func cause(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "decode method"); ok {
		if _, after, ok := strings.Cut(rest, ": "); ok {
			msg = after
		}
	}
	msg = strings.TrimPrefix(msg, model.ErrInvalidInput.Error()+": ")
	return strings.TrimPrefix(msg, errSyntax.Error()+": ")
}
