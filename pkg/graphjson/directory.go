package graphjson

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/credres/credres/pkg/model"
)

// DirectoryOptions say what a snapshot is read for.
type DirectoryOptions struct {
	// KeepRaw keeps each method's Graph object verbatim in Method.Raw, for
	// readers that write methods back (exports, round trips, the Graph test
	// server). Readers that only evaluate leave it false: the raw bytes are
	// most of a snapshot's size.
	KeepRaw bool

	// sizeHint is the snapshot's size when known, to size the users
	// array once instead of growing it.
	sizeHint int64
}

// bytesPerUser is about the smallest size of a user in a snapshot of
// Graph's objects; the users array is sized from it (its unused end is
// never touched, so it costs no memory).
const bytesPerUser = 640

// DecodeDirectory reads a directory snapshot, keeping every method's Graph
// object (DirectoryOptions.KeepRaw). Users whose methods fail to decode make
// the whole snapshot invalid: an assessment over a partial user would be
// wrong, not merely incomplete.
func DecodeDirectory(r io.Reader) (*model.Directory, error) {
	return DecodeDirectoryWith(r, DirectoryOptions{KeepRaw: true})
}

// LoadDirectory reads a directory snapshot from a file, keeping every
// method's Graph object.
func LoadDirectory(path string) (*model.Directory, error) {
	return LoadDirectoryWith(path, DirectoryOptions{KeepRaw: true})
}

// LoadDirectoryWith reads a directory snapshot from a file.
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
	if err != nil {
		return nil, model.PrefixErrors(path, err)
	}
	return d, nil
}

// DecodeDirectoryWith reads a directory snapshot in one pass over the
// stream: users are decoded one at a time as the "users" array is read, and
// each method straight from its bytes, so the reader holds the decoded
// directory and a small window of the input, never the document.
func DecodeDirectoryWith(r io.Reader, o DirectoryOptions) (*model.Directory, error) {
	if _, ok := r.(io.ByteReader); !ok {
		// The lexer reads in large blocks itself; this only spares small
		// reads from readers such as network bodies.
		r = bufio.NewReaderSize(r, 64<<10)
	}
	dd := directoryDecoder{l: newLexer(r), opts: o}
	dd.strs.m = make(map[string]string)
	dd.methods.vocab = new([fUnknown]recent)
	d, err := dd.directory()
	if err == nil {
		err = dd.l.end()
	}
	if err != nil {
		return nil, fmt.Errorf("decode directory: %w: %v", model.ErrInvalidInput, err)
	}
	if err := d.Validate(); err != nil {
		return nil, model.PrefixErrors("decode directory", err)
	}
	return d, nil
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
	// slab holds the methods of many users: each user's Methods is a
	// slice of it, capped, so that a million users' methods are a few
	// hundred allocations rather than a million.
	slab []model.Method
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
	d := &model.Directory{}
	if null, err := l.isNull(); err != nil || null {
		return d, err
	}
	if err := l.expect('{'); err != nil {
		return nil, err
	}
	ok, err := l.first('}')
	for ; ok && err == nil; ok, err = l.more('}') {
		key, err := dd.key()
		if err != nil {
			return nil, err
		}
		switch {
		case string(key) == "tenant" || foldEqual(key, "tenant"):
			raw, err := l.capture(1)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(raw, &d.Tenant); err != nil {
				return nil, fmt.Errorf("tenant: %w", err)
			}
		case string(key) == "users" || foldEqual(key, "users"):
			if d.Users, err = dd.users(); err != nil {
				return nil, err
			}
		default:
			if err := l.skip(1); err != nil {
				return nil, err
			}
		}
	}
	return d, err
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

func (dd *directoryDecoder) users() ([]model.User, error) {
	l := dd.l
	if null, err := l.isNull(); err != nil || null {
		return nil, err
	}
	if err := l.expect('['); err != nil {
		return nil, err
	}
	users := make([]model.User, 0, min(dd.opts.sizeHint/bytesPerUser+1, 1<<26))
	ok, err := l.first(']')
	for ; ok && err == nil; ok, err = l.more(']') {
		users = append(users, model.User{})
		if err := dd.user(&users[len(users)-1]); err != nil {
			return nil, fmt.Errorf("user %d: %w", len(users)-1, err)
		}
	}
	return users, err
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
	ok, err := l.first('}')
	for ; ok && err == nil; ok, err = l.more('}') {
		key, err := dd.key()
		if err != nil {
			return err
		}
		f := userField(key)
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
			name := string(key) // before the lexer moves on
			var raw []byte
			if raw, err = l.capture(1); err == nil {
				if rest == nil {
					rest = append(rest, '{')
				} else {
					rest = append(rest, ',')
				}
				rest, _ = appendJSONString(rest, name)
				rest = append(append(rest, ':'), raw...)
			}
		}
		if err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if rest != nil {
		if err := json.Unmarshal(append(rest, '}'), u); err != nil {
			return err
		}
	}
	return nil
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
		if err := dd.methods.decode(l, m, "", dd.opts.KeepRaw); err != nil {
			return methodError(m.ID, err)
		}
	}
	if err != nil {
		return err
	}
	end := len(dd.slab)
	u.Methods = dd.slab[start:end:end]
	return nil
}
