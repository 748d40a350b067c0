package graphjson

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/credres/credres/internal/bounded"
	"github.com/credres/credres/pkg/model"
)

// snapshotWith writes a snapshot of n users, user i with the methods
// methods(i) gives (a JSON array), or the whole user object user(i) gives.
func snapshotWith(n int, user func(i int) string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"tenant":{"id":"t"},"users":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(user(i))
	}
	b.WriteString("]}")
	return b.Bytes()
}

func plainUser(i int) string {
	return fmt.Sprintf(`{"id":"u%d","userPrincipalName":"user%d@contoso.example","methods":[{"@odata.type":"#microsoft.graph.passwordAuthenticationMethod","id":"28c10230-6103-485e-b985-444c60001490"}]}`, i, i)
}

// One bad method in user 29 leaves that user out, names the user and the
// method, and every other user is read.
func TestBadMethodLeavesOnlyItsUserOut(t *testing.T) {
	t.Parallel()
	data := snapshotWith(40, func(i int) string {
		if i != 29 {
			return plainUser(i)
		}
		return `{"id":"u29","methods":[{"@odata.type":"#microsoft.graph.passwordAuthenticationMethod","id":"p"},` +
			`{"@odata.type":"#microsoft.graph.fido2AuthenticationMethod","id":"k1","createdDateTime":"yesterday","model":"YubiKey 5"},` +
			`{"@odata.type":"#microsoft.graph.phoneAuthenticationMethod","id":"ph","phoneType":7}],"userPrincipalName":"pat@contoso.example"}`
	})
	for _, read := range []struct {
		name string
		fn   func() (*model.Directory, error)
	}{
		{"whole", func() (*model.Directory, error) { return DecodeDirectory(bytes.NewReader(data)) }},
		{"byte-by-byte", func() (*model.Directory, error) {
			return DecodeDirectoryWith(iotest.OneByteReader(bytes.NewReader(data)), DirectoryOptions{})
		}},
		{"in-odd-chunks", func() (*model.Directory, error) { return DecodeDirectory(&chunkReader{data: data}) }},
	} {
		d, err := read.fn()
		if d == nil {
			t.Fatalf("%s: no directory: %v", read.name, err)
		}
		if len(d.Users) != 39 {
			t.Fatalf("%s: %d users, want 39", read.name, len(d.Users))
		}
		for i, u := range d.Users {
			want := i
			if i >= 29 {
				want++
			}
			if u.ID != fmt.Sprintf("u%d", want) || len(u.Methods) != 1 {
				t.Fatalf("%s: user %d is %s with %d methods", read.name, i, u.ID, len(u.Methods))
			}
		}
		var lines []string
		joined, ok := err.(interface{ Unwrap() []error })
		if !ok {
			t.Fatalf("%s: error %v", read.name, err)
		}
		for _, e := range joined.Unwrap() {
			lines = append(lines, e.Error())
		}
		want := `decode directory: user 29 (id "u29", userPrincipalName "pat@contoso.example"): invalid input: ` +
			`method 1 (@odata.type "#microsoft.graph.fido2AuthenticationMethod", id "k1"): created time "yesterday"` + "\n" +
			`method 2 (@odata.type "#microsoft.graph.phoneAuthenticationMethod", id "ph"): '7' where a string was expected at offset `
		if got := strings.Join(lines, "\n"); !strings.HasPrefix(got, want) || !errors.Is(err, model.ErrInvalidInput) {
			t.Errorf("%s: error\n%s\nwant\n%s…", read.name, got, want)
		}
	}
}

// Each kind of bad user is left out and named; the rest are read.
func TestBadUsersAreNamedAndLeftOut(t *testing.T) {
	t.Parallel()
	bad := map[int]string{
		1: `{"id":"u1","accountEnabled":"yes"}`,
		2: `{"userPrincipalName":"nobody@contoso.example"}`,
		3: `{"id":"u0","userPrincipalName":"again@contoso.example"}`,
		4: `{"id":"u4","id":"u44"}`,
		5: `{"id":"u5","usage":{"fido2":1}}`,
		6: `null`,
		7: `{"id":"u7","methods":[{"displayName":"no id"}]}`,
	}
	data := snapshotWith(10, func(i int) string {
		if u, ok := bad[i]; ok {
			return u
		}
		return plainUser(i)
	})
	d, err := DecodeDirectory(bytes.NewReader(data))
	if d == nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range d.Users {
		ids = append(ids, u.ID)
	}
	if got := strings.Join(ids, ","); got != "u0,u8,u9" {
		t.Errorf("users %s, want u0,u8,u9", got)
	}
	for _, want := range []string{
		`user 1 (id "u1"): invalid input: '"' where a boolean was expected at offset`,
		`user 2 (userPrincipalName "nobody@contoso.example"): invalid input: no id`,
		`user 3 (id "u0", userPrincipalName "again@contoso.example"): invalid input: id repeats user 0`,
		`user 4 (id "u44"): invalid input: duplicate key "id"`,
		`user 5 (id "u5"): invalid input: json: cannot unmarshal`,
		`user 6: invalid input: no id`,
		`user 7 (id "u7"): invalid input: method 0: no id`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// Invalid JSON, even inside one user, ends the snapshot: nothing after it
// can be trusted to line up.
func TestInvalidJSONInAUserEndsTheSnapshot(t *testing.T) {
	t.Parallel()
	data := snapshotWith(5, func(i int) string {
		if i == 2 {
			return `{"id":"u2","methods":[{"id":"m","x":tru}]}`
		}
		return plainUser(i)
	})
	d, err := DecodeDirectory(bytes.NewReader(data))
	if d != nil || err == nil || !strings.Contains(err.Error(), "invalid input: user 2: decode method m: invalid input: invalid JSON: invalid literal") {
		t.Errorf("%v, %v", d, err)
	}
}

// endlessUsers is a snapshot that never ends: a users array with a new
// user for every read.
type endlessUsers struct{ n int }

func (e *endlessUsers) Read(p []byte) (int, error) {
	var chunk string
	if e.n == 0 {
		chunk = `{"users":[`
	} else {
		chunk = plainUser(e.n) + ","
	}
	e.n++
	return copy(p, chunk), nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A snapshot larger than the limit is invalid input, however it goes on.
func TestSnapshotLimit(t *testing.T) {
	t.Parallel()
	d, err := DecodeDirectoryWith(&endlessUsers{}, DirectoryOptions{MaxBytes: 1 << 20})
	if d != nil || !errors.Is(err, model.ErrInvalidInput) || !strings.HasPrefix(err.Error(), "decode directory: invalid input: user ") ||
		!strings.HasSuffix(err.Error(), ": input larger than 1048576 bytes (1 MiB)") {
		t.Errorf("endless users: %v, %v", d, err)
	}
	_, err = DecodeDirectory(zeros{})
	if !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), `'\x00' where '{' was expected at offset 0`) {
		t.Errorf("zeros: %v", err)
	}
	// At the limit exactly, a snapshot is read.
	data := snapshotWith(3, plainUser)
	if _, err := DecodeDirectoryWith(bytes.NewReader(data), DirectoryOptions{MaxBytes: int64(len(data))}); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	_, err = DecodeDirectoryWith(bytes.NewReader(data), DirectoryOptions{MaxBytes: int64(len(data) - 1)})
	if !errors.Is(err, bounded.ErrTooLarge) && !strings.Contains(err.Error(), "input larger than") {
		t.Errorf("one byte over: %v", err)
	}
	if DefaultMaxSnapshotBytes < 1000*1000*1000 {
		t.Errorf("the default limit %d does not take a million users (914 MB)", DefaultMaxSnapshotBytes)
	}
}
