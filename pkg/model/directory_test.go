package model

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The index answers as FindUser does, for ids, names in any case, names
// that fold only under Unicode rules, users missing, and after the users
// change.
func TestUserIndexAgreesWithFindUser(t *testing.T) {
	t.Parallel()
	d := &Directory{}
	for i := range 50 {
		d.Users = append(d.Users, User{ID: fmt.Sprintf("id-%02d", i), UserPrincipalName: fmt.Sprintf("user%02d@contoso.example", i)})
	}
	d.Users[7].UserPrincipalName = "Kelvin.ſmith@contoso.example" // the Kelvin sign and a long s
	d.Users[8].UserPrincipalName = "id-03"                        // a name that is another user's id
	d.Users[9].UserPrincipalName = "user10@contoso.example"       // two users, one name
	x := d.Index()
	queries := []string{"id-00", "id-49", "USER05@CONTOSO.EXAMPLE", "kelvin.smith@contoso.example", "KELVIN.SMITH@CONTOSO.EXAMPLE",
		"id-03", "user10@contoso.example", "nobody", ""}
	check := func(stage string) {
		t.Helper()
		for _, q := range queries {
			want, wantOK := d.FindUser(q)
			got, ok := x.Find(q)
			if ok != wantOK || got != want {
				t.Errorf("%s: Find(%q) = %v, %v; FindUser gives %v, %v", stage, q, got, ok, want, wantOK)
			}
		}
	}
	check("built")
	d.Users[0].ID = "renamed"
	queries = append(queries, "renamed")
	check("after an id changed")
	d.Users = append(d.Users, User{ID: "new", UserPrincipalName: "new@contoso.example"})
	queries = append(queries, "new", "NEW@contoso.example")
	check("after a user was added")
}

// TestFoldKeyIsEqualFold: two one-letter strings share a key exactly when
// strings.EqualFold matches them, for every letter of the Basic
// Multilingual Plane with a case variant, and lower-case ASCII is its own
// key.
func TestFoldKeyIsEqualFold(t *testing.T) {
	t.Parallel()
	for r := rune(0); r < 0x10000; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		key := FoldKey(string(r))
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if FoldKey(string(f)) != key {
				t.Fatalf("FoldKey(%q) = %q, FoldKey(%q) = %q, yet EqualFold matches them", r, key, f, FoldKey(string(f)))
			}
		}
		if k := []rune(key); len(k) != 1 || !strings.EqualFold(string(k[0]), string(r)) {
			t.Fatalf("FoldKey(%q) = %q, which EqualFold does not match with it", r, key)
		}
	}
	if s := "user.name-1@contoso.example"; FoldKey(s) != s {
		t.Errorf("FoldKey(%q) = %q, want it unchanged", s, FoldKey(s))
	}
}
