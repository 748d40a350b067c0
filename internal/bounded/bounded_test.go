package bounded

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/model"
)

// zeros is /dev/zero: it never ends.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestReadAllStopsAnEndlessReader(t *testing.T) {
	data, err := ReadAll(zeros{}, 1<<20)
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, model.ErrInvalidInput) {
		t.Fatalf("err %v, want too large and invalid input", err)
	}
	if err.Error() != "input larger than 1048576 bytes (1 MiB)" {
		t.Errorf("message %q", err)
	}
	if len(data) != 1<<20 {
		t.Errorf("read %d bytes, want the limit", len(data))
	}
}

func TestReadAllAtTheLimit(t *testing.T) {
	for _, n := range []int{0, 1, 4095, 4096} {
		in := strings.Repeat("x", n)
		data, err := ReadAll(strings.NewReader(in), 4096)
		if err != nil || string(data) != in {
			t.Errorf("%d bytes: %d read, err %v", n, len(data), err)
		}
	}
	if _, err := ReadAll(strings.NewReader(strings.Repeat("x", 4097)), 4096); !errors.Is(err, ErrTooLarge) {
		t.Errorf("4097 bytes: err %v", err)
	}
}

func TestMovingLimit(t *testing.T) {
	r := NewReader(bytes.NewReader(make([]byte, 100)), 10)
	r.What = "document"
	buf := make([]byte, 8)
	total := 0
	for {
		n, err := r.Read(buf)
		total += n
		if err != nil {
			if err == io.EOF {
				break
			}
			if total < 100 && errors.Is(err, ErrTooLarge) {
				if r.Count() != r.Limit {
					t.Fatalf("count %d at limit %d", r.Count(), r.Limit)
				}
				r.Limit += 10
				continue
			}
			t.Fatal(err)
		}
	}
	if total != 100 {
		t.Errorf("read %d", total)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{4 << 30: "4 GiB", 256 << 20: "256 MiB", 64 << 10: "64 KiB", 1500: "1500 bytes", 3<<20 + 1: "3145729 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
