package synth

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/credres/credres/pkg/model"
)

// WriteJSON writes d as a directory snapshot, one user per line, without
// holding the whole document in memory. Methods are written as the Graph
// objects they were decoded from, so graphjson.DecodeDirectory reads back the
// same directory.
func WriteJSON(w io.Writer, d *model.Directory) error {
	sw, err := newSnapshotWriter(w, d.Tenant)
	if err != nil {
		return err
	}
	for i := range d.Users {
		if err := sw.user(&d.Users[i]); err != nil {
			return err
		}
	}
	return sw.close()
}

// WriteTenant writes the snapshot of Tenant(users, seed) as WriteJSON does,
// generating one user at a time: a tenant of a million users is written in
// the memory of one.
func WriteTenant(w io.Writer, users int, seed int64) error {
	s := NewStream(users, seed)
	sw, err := newSnapshotWriter(w, s.Tenant)
	if err != nil {
		return err
	}
	for u, ok := s.Next(); ok; u, ok = s.Next() {
		if err := sw.user(&u); err != nil {
			return err
		}
	}
	return sw.close()
}

// snapshotWriter writes a snapshot's users one per line.
type snapshotWriter struct {
	bw    *bufio.Writer
	buf   bytes.Buffer
	enc   *json.Encoder
	users int
}

func newSnapshotWriter(w io.Writer, t model.Tenant) (*snapshotWriter, error) {
	sw := &snapshotWriter{bw: bufio.NewWriterSize(w, 64<<10)}
	sw.enc = json.NewEncoder(&sw.buf)
	// Raw Graph objects are written as they are, "&" and "<" included.
	sw.enc.SetEscapeHTML(false)
	if err := sw.enc.Encode(t); err != nil {
		return nil, fmt.Errorf("synth: write tenant %s: %w", t.ID, err)
	}
	sw.bw.WriteString(`{"tenant":`)
	sw.bw.Write(bytes.TrimSuffix(sw.buf.Bytes(), []byte("\n")))
	sw.bw.WriteString(",\n\"users\":[")
	return sw, nil
}

func (sw *snapshotWriter) user(u *model.User) error {
	sw.buf.Reset()
	if err := sw.enc.Encode(u); err != nil {
		return fmt.Errorf("synth: write user %s: %w", u.ID, err)
	}
	if sw.users > 0 {
		sw.bw.WriteByte(',')
	}
	sw.users++
	sw.bw.WriteByte('\n')
	sw.bw.Write(bytes.TrimSuffix(sw.buf.Bytes(), []byte("\n")))
	return nil
}

func (sw *snapshotWriter) close() error {
	sw.bw.WriteString("\n]}\n")
	if err := sw.bw.Flush(); err != nil {
		return fmt.Errorf("synth: write snapshot: %w", err)
	}
	return nil
}
