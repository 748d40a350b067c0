package report

import (
	"strings"
	"testing"
)

// TestPlainWords puts every byte at every place of strings of plain bytes
// and checks that plainWords never passes over a byte that is not plain.
func TestPlainWords(t *testing.T) {
	for n := range 20 {
		for at := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a~ Z", 5)[:n])
				b[at] = byte(c)
				s := string(b)
				i := plainWords(s)
				if i%8 != 0 || i > len(s) {
					t.Fatalf("plainWords(%q) = %d", s, i)
				}
				if !plain[c] && i > at {
					t.Fatalf("plainWords(%q) = %d, past byte %#x at %d", s, i, c, at)
				}
				if plain[c] && i != n/8*8 {
					t.Fatalf("plainWords(%q) = %d, want %d", s, i, n/8*8)
				}
			}
		}
	}
}
