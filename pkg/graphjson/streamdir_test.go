package graphjson

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/model"
)

// usersThen writes a snapshot of n plain users with the tenant before or
// after them, and tail after the document.
func usersThen(n int, tenantFirst bool, tail string) []byte {
	var b bytes.Buffer
	tenant := `"tenant":{"id":"t","passwordAuth":"phs"}`
	b.WriteString("{")
	if tenantFirst {
		b.WriteString(tenant + ",")
	}
	b.WriteString(`"users":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(plainUser(i))
	}
	b.WriteString("]")
	if !tenantFirst {
		b.WriteString("," + tenant)
	}
	b.WriteString(`,"exportedAt":"2026-12-07T10:00:00Z"}` + tail)
	return b.Bytes()
}

// A tenant first lets users go out a batch at a time as they are read;
// a tenant after the users holds them until it comes, and every user is
// still judged with it. Either way the last batch goes out only once the
// snapshot is known whole.
func TestStreamDirectoryOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		tenantFirst bool
		tail        string
		batches     int // handed on
		err         bool
	}{
		{"tenant-first", true, "", 4, false},
		{"tenant-after-users", false, "", 4, false},
		{"tenant-first-then-garbage", true, "{}", 3, true},
		{"tenant-after-users-then-garbage", false, "{}", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var head *model.Directory
			var batches, users int
			invalid, err := StreamDirectory(bytes.NewReader(usersThen(10, tc.tenantFirst, tc.tail)), DirectoryOptions{}, Stream{
				Head: func(d *model.Directory) error { head = d; return nil },
				Users: func(us []model.User) error {
					if head == nil || head.Tenant.PasswordAuth != model.PasswordPHS {
						return errors.New("users before the tenant")
					}
					for i, u := range us {
						if want := fmt.Sprintf("u%d", users+i); u.ID != want {
							return fmt.Errorf("user %s, want %s", u.ID, want)
						}
					}
					batches++
					users += len(us)
					return nil
				},
				Batch: 3,
			})
			if invalid != nil || (err != nil) != tc.err || (err != nil && !errors.Is(err, model.ErrInvalidInput)) {
				t.Fatalf("invalid %v, err %v", invalid, err)
			}
			if batches != tc.batches {
				t.Fatalf("%d batches handed on, want %d", batches, tc.batches)
			}
			if !tc.err && (users != 10 || head.ExportedAt.IsZero() || head.Users != nil) {
				t.Fatalf("%d users; head %+v", users, head)
			}
		})
	}
}

// An error of Head or Users stops the reading and is returned as it is;
// an invalid tenant is invalid input and no user goes out; users left out
// are named as DecodeDirectory names them.
func TestStreamDirectoryErrors(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	calls := 0
	_, err := StreamDirectory(bytes.NewReader(usersThen(10, true, "")), DirectoryOptions{}, Stream{
		Head:  func(*model.Directory) error { return nil },
		Users: func([]model.User) error { calls++; return stop },
		Batch: 2,
	})
	if err != stop || calls != 1 {
		t.Fatalf("err %v after %d calls, want the callback's error after 1", err, calls)
	}

	bad := strings.Replace(string(usersThen(4, false, "")), `"phs"`, `"ldap"`, 1)
	_, err = StreamDirectory(strings.NewReader(bad), DirectoryOptions{}, Stream{
		Head:  func(*model.Directory) error { return errors.New("head called") },
		Users: func([]model.User) error { return errors.New("users called") },
	})
	if !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), "ldap") {
		t.Fatalf("invalid tenant: %v", err)
	}

	data := snapshotWith(5, func(i int) string {
		if i == 2 {
			return `{"id":"u2","methods":[{"@odata.type":7}]}`
		}
		return plainUser(i)
	})
	var ids []string
	invalid, err := StreamDirectory(bytes.NewReader(data), DirectoryOptions{}, Stream{
		Head: func(*model.Directory) error { return nil },
		Users: func(us []model.User) error {
			for _, u := range us {
				ids = append(ids, u.ID)
			}
			return nil
		},
	})
	_, want := DecodeDirectory(bytes.NewReader(data))
	if err != nil || invalid == nil || invalid.Error() != want.Error() || strings.Join(ids, ",") != "u0,u1,u3,u4" {
		t.Fatalf("users %v, invalid %v (want %v), err %v", ids, invalid, want, err)
	}
}
