package jsonstr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// stdlib is what encoding/json writes for s.
func stdlib(t testing.TB, s string, html bool) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// check fails unless Append agrees with encoding/json on s both ways, and
// Plain is true only of strings written unchanged.
func check(t testing.TB, s string) {
	t.Helper()
	for _, html := range []bool{false, true} {
		want := stdlib(t, s, html)
		if got := Append([]byte("x"), s, html); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("Append(%q, html %v) = %s, encoding/json writes %s", s, html, got, want)
		}
		if m, _ := json.Marshal(s); html && !bytes.Equal(m, want) {
			t.Fatalf("json.Marshal(%q) = %s, the Encoder writes %s", s, m, want)
		}
		if Plain(s) && string(want) != `"`+s+`"` {
			t.Fatalf("Plain(%q) but encoding/json writes %s", s, want)
		}
	}
	if n := PlainPrefix(s); n > len(s) || !Plain(s[:n]) && n > 0 {
		t.Fatalf("PlainPrefix(%q) = %d", s, n)
	}
}

func TestAppendIsEncodingJSON(t *testing.T) {
	t.Parallel()
	cases := []string{
		"", "a", "user@contoso.com", "plain ascii words of some length", `quote " and \ backslash`,
		"<script>&amp;</script>", "tab\tline\nreturn\r", "\b\f\x00\x01\x1f\x7f", "Zoë Çelik 山田",
		"\u2028\u2029 separators", "bad \xff utf-8 \xc3", "ends in escape\"", "emoji 🙂 in the middle",
		strings.Repeat("abcdefgh", 5) + "<" + strings.Repeat("x", 9), strings.Repeat("é", 20),
	}
	for _, s := range cases {
		check(t, s)
	}
	// Every byte in every position of an eight-byte word, and past it.
	for c := range 256 {
		for pos := range 10 {
			b := []byte("abcdefghij")
			b[pos] = byte(c)
			check(t, string(b))
		}
	}
	if !Plain("ok-id_1.2 3") || Plain("a<b") || Plain("naïve") {
		t.Error("Plain answers wrongly on simple strings")
	}
}

func TestAppendStringsIsEncodingJSON(t *testing.T) {
	t.Parallel()
	type kind string
	for _, ss := range [][]kind{nil, {}, {"a"}, {"a", "<b>", "", "naïve \"q\""}} {
		for _, html := range []bool{false, true} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(ss); err != nil {
				t.Fatal(err)
			}
			if got := AppendStrings(nil, ss, html); string(got)+"\n" != want.String() {
				t.Errorf("AppendStrings(%q, html %v) = %s, encoding/json writes %s", ss, html, got, want.String())
			}
		}
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "abc", "<>&", "\u2028", "\xff", "naïve \"q\" \\ \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { check(t, s) })
}

func BenchmarkAppend(b *testing.B) {
	ids := "0f3c5a9e-8d2b-4c1a-9b7e-2a6d4e8f1c3b"
	var buf []byte
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			buf = Append(buf[:0], ids, true)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			buf, _ = json.Marshal(ids)
		}
	})
}
