package jsonkeys

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	many := func(n int, last string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, "%q:%d,", fmt.Sprintf("k%d", i), i)
		}
		b.WriteString(last + "}")
		return b.String()
	}
	for _, tc := range []struct {
		json string
		deep bool
		want string // "" for no duplicate
	}{
		{`{"a":1,"b":2}`, true, ""},
		{`{"a":1,"a":2}`, false, `duplicate key "a"`},
		{`{"id":"x","ID":"y"}`, false, `duplicate key "ID"`},
		{`{"id":"x","\u0069d":"y"}`, false, `duplicate key "id"`},
		{`{"a":{"b":1,"b":2}}`, false, ""},
		{`{"a":{"b":1,"b":2}}`, true, `duplicate key "b" in a`},
		{`{"r":[{"x":1},{"y":{"z":[1,{"q":1,"Q":2}]}}]}`, true, `duplicate key "Q" in r[1].y.z[1]`},
		{`[{"a":1},{"a":1}]`, true, ""},
		{`[{"a":"}{,\"a\"","a":1}]`, true, `duplicate key "a" in [0]`},
		{`{"s":"{\"a\":1,\"a\":2}"}`, true, ""},
		{`{"a":[1,2,{"a":1}],"b":null}`, true, ""},
		{`"a"`, true, ""},
		{`null`, true, ""},
		{many(40, `"k7":1`), false, `duplicate key "k7"`},
		{many(40, `"K39":1`), false, `duplicate key "K39"`},
		{many(40, `"k40":1`), false, ""},
		{many(40, `"ſ":1,"s":2`), false, `duplicate key "s"`},
		{`{"ſ":1,"S":2}`, false, `duplicate key "S"`},
	} {
		if !json.Valid([]byte(tc.json)) {
			t.Fatalf("%s: not JSON", tc.json)
		}
		err := Check([]byte(tc.json), tc.deep)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want none", tc.json, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%s: %v, want %s", tc.json, err, tc.want)
		}
	}
}

// Check agrees with encoding/json on what counts as the same key: where it
// finds none, decoding into a map by folded key loses nothing.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"k":1,"\u212a":2}`, `{"x":{"y":[{"z":1}]}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		_ = Check([]byte(s), true) // never panics on any valid JSON
	})
}
