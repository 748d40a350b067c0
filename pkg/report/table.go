package report

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// table keeps the row of every user a Builder is given, in the snapshot's
// order, until the report is written. A million rows as UserRow values,
// with their strings and the lists of ids that name them, would be most of
// the report's memory, and the collector would scan them all at every
// cycle; kept here they hold no pointer. A batch's ids, user principal
// names and display names are one string end to end, and the values that
// repeat across a tenant (user types, tiers, default methods, the lists of
// method kinds and of preferred methods) are kept once each.
type table struct {
	rows  chunked[keptRow]
	texts []string
	words interned[string]
	kinds interned[[]model.MethodKind]
	prefs interned[[]string]
	// flags is what the rows' optional flags point to: false, true.
	flags *[2]bool
	// key and kindBuf are scratch space.
	key     []byte
	kindBuf []model.MethodKind
}

// keptRow is one user's row: its strings are texts[text][id:upn] (the
// id), [upn:name] and [name:end]; the other strings and lists are indexes
// into the table's words, kinds and prefs.
type keptRow struct {
	text, id, upn, name, end      uint32
	userType, tier, excluded      uint32
	defaultMethod, methods, prefs uint32
	diversity                     int32
	flags                         rowFlags
}

// rowFlags holds a row's booleans; the optional ones take two bits, known
// and value.
type rowFlags uint16

const (
	flagAdmin rowFlags = 1 << iota
	flagCompliant
	flagPasswordless
	flagPhishingResistant
	flagAccountEnabled // known, then its value one bit up
	_
	flagSystemPreferredEnabled
	_
	flagSSPRRegistered
	_
	// flagListed: some list of the report names the user, who is then in
	// UserPrincipalNames.
	flagListed
)

// maxText is how long a table's string grows before the next rows start
// another, so that offsets stay within 32 bits.
const maxText = 1 << 30

// interned keeps each distinct value once, by a key that tells them
// apart: index 0 is the zero value (an empty string, a nil list).
type interned[T any] struct {
	values []T
	index  map[string]uint32
}

// add keeps v under key, which no value has yet, and returns its index.
func (in *interned[T]) add(key string, v T) uint32 {
	i := uint32(len(in.values))
	in.values = append(in.values, v)
	in.index[key] = i
	return i
}

func newTable() *table {
	t := &table{flags: &[2]bool{false, true}}
	t.words = interned[string]{values: []string{""}, index: map[string]uint32{}}
	t.kinds = interned[[]model.MethodKind]{values: [][]model.MethodKind{nil}, index: map[string]uint32{}}
	t.prefs = interned[[]string]{values: [][]string{nil}, index: map[string]uint32{}}
	return t
}

// add keeps the rows of a batch of users; fs are their facts.
func (t *table) add(users []model.User, fs []facts) {
	for lo := 0; lo < len(users); {
		hi, size := lo, 0
		for hi < len(users) {
			n := rowText(&users[hi])
			if hi > lo && size+n > maxText {
				break
			}
			size += n
			hi++
		}
		var text strings.Builder
		text.Grow(size)
		for i := lo; i < hi; i++ {
			t.addRow(&text, &users[i], &fs[i])
		}
		t.texts = append(t.texts, text.String())
		lo = hi
	}
}

func rowText(u *model.User) int { return len(u.ID) + len(u.UserPrincipalName) + len(u.DisplayName) }

func (t *table) addRow(text *strings.Builder, u *model.User, f *facts) {
	r := keptRow{text: uint32(len(t.texts)), id: uint32(text.Len())}
	text.WriteString(u.ID)
	r.upn = uint32(text.Len())
	text.WriteString(u.UserPrincipalName)
	r.name = uint32(text.Len())
	text.WriteString(u.DisplayName)
	r.end = uint32(text.Len())
	r.userType = t.word(strings.ToLower(u.UserType))
	r.tier, r.excluded = t.word(f.tierName), t.word(f.excluded)
	r.diversity = int32(f.diversity)
	r.flags = flagIf(u.Admin(), flagAdmin) | flagIf(f.compliant, flagCompliant) |
		flagIf(f.passwordless, flagPasswordless) | flagIf(f.phishingResistant, flagPhishingResistant) |
		optional(u.AccountEnabled, flagAccountEnabled)
	r.methods = t.methodKinds(u.Methods)
	if reg := u.Registration; reg != nil {
		r.defaultMethod = t.word(reg.UserPreferredMethodForSecondaryAuthentication)
		r.prefs = t.preferred(reg.SystemPreferredAuthenticationMethods)
		r.flags |= optional(reg.IsSystemPreferredAuthenticationMethodEnabled, flagSystemPreferredEnabled) |
			optional(reg.IsSsprRegistered, flagSSPRRegistered)
	}
	t.rows.add(r)
}

// list notes that a list of the report names user i.
func (t *table) list(i int) { t.rows.at(i).flags |= flagListed }

func flagIf(b bool, f rowFlags) rowFlags {
	if b {
		return f
	}
	return 0
}

func optional(b *bool, f rowFlags) rowFlags {
	if b == nil {
		return 0
	}
	return f | flagIf(*b, f<<1)
}

func (t *table) word(s string) uint32 {
	if s == "" {
		return 0
	}
	if i, ok := t.words.index[s]; ok {
		return i
	}
	s = strings.Clone(s) // not the decoder's memory
	return t.words.add(s, s)
}

// methodKinds keeps the kinds of the methods, each once, in their order.
func (t *table) methodKinds(ms []model.Method) uint32 {
	t.kindBuf, t.key = t.kindBuf[:0], t.key[:0]
	for i := range ms {
		if k := ms[i].Kind; !slices.Contains(t.kindBuf, k) {
			t.kindBuf = append(t.kindBuf, k)
			t.key = appendKey(t.key, string(k))
		}
	}
	if len(t.kindBuf) == 0 {
		t.key = append(t.key, 0) // no methods is [], not the nil list of index 0
	}
	if i, ok := t.kinds.index[string(t.key)]; ok {
		return i
	}
	return t.kinds.add(string(t.key), clone(t.kindBuf))
}

// preferred keeps a list of preferred methods.
func (t *table) preferred(list []string) uint32 {
	if list == nil {
		return 0
	}
	t.key = append(t.key[:0], 1)
	for _, s := range list {
		t.key = appendKey(t.key, s)
	}
	if i, ok := t.prefs.index[string(t.key)]; ok {
		return i
	}
	return t.prefs.add(string(t.key), clone(list))
}

// clone copies a list that is not nil, to its length: never nil, and
// shared by rows that only read it.
func clone[T any](list []T) []T {
	c := make([]T, len(list))
	copy(c, list)
	return c
}

// appendKey appends s with its length first, so that no two lists share a
// key.
func appendKey(key []byte, s string) []byte {
	return append(binary.AppendUvarint(key, uint64(len(s))), s...)
}

// id is the id of user i.
func (t *table) id(i int32) string {
	r := t.rows.at(int(i))
	return t.texts[r.text][r.id:r.upn]
}

// ids are the ids of the users at.
func (t *table) ids(at *places) []string {
	ids := make([]string, at.len())
	at.all(func(k int, i *int32) bool {
		ids[k] = t.id(*i)
		return true
	})
	return ids
}

// row sets u to user i's row. Its lists and flags are shared with the
// other rows: they are for reading.
func (t *table) row(u *UserRow, i int) {
	r := t.rows.at(i)
	text := t.texts[r.text]
	w := t.words.values
	*u = UserRow{
		ID: text[r.id:r.upn], UserPrincipalName: text[r.upn:r.name], DisplayName: text[r.name:r.end],
		UserType: w[r.userType], AccountEnabled: t.flag(r.flags, flagAccountEnabled),
		Admin: r.flags&flagAdmin != 0, Tier: w[r.tier], Excluded: w[r.excluded],
		Diversity: int(r.diversity), Compliant: r.flags&flagCompliant != 0,
		Passwordless: r.flags&flagPasswordless != 0, PhishingResistant: r.flags&flagPhishingResistant != 0,
		Methods: t.kinds.values[r.methods], DefaultMethod: w[r.defaultMethod],
		SystemPreferredMethods: t.prefs.values[r.prefs],
		SystemPreferredEnabled: t.flag(r.flags, flagSystemPreferredEnabled),
		SSPRRegistered:         t.flag(r.flags, flagSSPRRegistered),
	}
}

func (t *table) flag(flags, f rowFlags) *bool {
	if flags&f == 0 {
		return nil
	}
	if flags&(f<<1) != 0 {
		return &t.flags[1]
	}
	return &t.flags[0]
}

// name is a user listed: their id and place.
type name struct {
	id string
	at int32
}

// named are the users listed, in the order of their ids, each id once
// (the last user of an id, as a map from ids to names keeps).
func (t *table) named() []name {
	n := 0
	t.rows.all(func(_ int, r *keptRow) bool {
		if r.flags&flagListed != 0 {
			n++
		}
		return true
	})
	names := make([]name, 0, n)
	t.rows.all(func(i int, r *keptRow) bool {
		if r.flags&flagListed != 0 {
			names = append(names, name{t.texts[r.text][r.id:r.upn], int32(i)})
		}
		return true
	})
	slices.SortFunc(names, func(a, b name) int { return cmp.Or(strings.Compare(a.id, b.id), cmp.Compare(a.at, b.at)) })
	out := names[:0]
	for k := range names {
		if k+1 < len(names) && names[k+1].id == names[k].id {
			continue
		}
		out = append(out, names[k])
	}
	return out
}

// upn is the user principal name of user i.
func (t *table) upn(i int32) string {
	r := t.rows.at(int(i))
	return t.texts[r.text][r.upn:r.name]
}

// names maps the id of every user listed to their user principal name.
func (t *table) names() map[string]string {
	names := t.named()
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n.id] = t.upn(n.at)
	}
	return m
}
