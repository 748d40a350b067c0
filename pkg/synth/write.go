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
	bw := bufio.NewWriterSize(w, 64<<10)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Raw Graph objects are written as they are, "&" and "<" included.
	enc.SetEscapeHTML(false)

	if err := enc.Encode(d.Tenant); err != nil {
		return fmt.Errorf("synth: write tenant %s: %w", d.Tenant.ID, err)
	}
	bw.WriteString(`{"tenant":`)
	bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	bw.WriteString(",\n\"users\":[")
	for i := range d.Users {
		buf.Reset()
		if err := enc.Encode(&d.Users[i]); err != nil {
			return fmt.Errorf("synth: write user %s: %w", d.Users[i].ID, err)
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	bw.WriteString("\n]}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("synth: write snapshot: %w", err)
	}
	return nil
}
