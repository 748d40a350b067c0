// Package bounded caps how much of an input credres reads: a reader that
// never ends (/dev/zero, a stream that never closes its JSON) is bad input
// reported as such, never a process out of memory.
package bounded

import (
	"errors"
	"fmt"
	"io"

	"github.com/credres/credres/pkg/model"
)

// ErrTooLarge is wrapped by the error a Reader returns past its limit; the
// error also wraps model.ErrInvalidInput.
var ErrTooLarge = errors.New("input too large")

// Reader reads from R until Limit bytes have been read; reading past them
// fails with an error that names the limit.
type Reader struct {
	R io.Reader
	// Limit is the most bytes that may be read in all; it may be moved on
	// while reading (a limit per document of a stream).
	Limit int64
	// What names the limit in the error ("input", "document").
	What string
	n    int64
	next byte // read past the limit
	held bool
}

// NewReader returns a Reader of at most limit bytes of r.
func NewReader(r io.Reader, limit int64) *Reader {
	return &Reader{R: r, Limit: limit, What: "input"}
}

// Read implements io.Reader.
func (b *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.n >= b.Limit {
		// At the limit, one byte more tells a stream that ends there from
		// one that goes on; it is kept for a limit moved on.
		if !b.held {
			var one [1]byte
			n, err := io.ReadAtLeast(b.R, one[:], 1)
			if n == 0 {
				return 0, err
			}
			b.next, b.held = one[0], true
		}
		return 0, b.err()
	}
	if b.held {
		p[0], b.held = b.next, false
		b.n++
		return 1, nil
	}
	if room := b.Limit - b.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.R.Read(p)
	b.n += int64(n)
	return n, err
}

// Count returns how many bytes were read.
func (b *Reader) Count() int64 { return b.n }

func (b *Reader) err() error {
	return &TooLargeError{What: b.What, Limit: b.Limit}
}

// TooLargeError is an input past its limit.
type TooLargeError struct {
	What  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s larger than %d bytes (%s)", e.What, e.Limit, Size(e.Limit))
}

// Is makes the error match ErrTooLarge and model.ErrInvalidInput.
func (e *TooLargeError) Is(target error) bool {
	return target == ErrTooLarge || target == model.ErrInvalidInput
}

// Size writes n bytes for people: "4 GiB", "256 MiB", "1500 bytes".
func Size(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadAll reads all of r, failing past limit bytes.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(NewReader(r, limit))
}
