package graphjson_test

import (
	"bytes"
	"testing"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/graphjson"
)

// Large snapshots make the lexer refill, move and grow its buffer under
// every kind of token: generated tenants, read whole, byte by byte and in
// odd chunks, agree with encoding/json.
func TestStreamingLargeSnapshots(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2} {
		var buf bytes.Buffer
		if err := synth.WriteTenant(&buf, 3000, seed); err != nil {
			t.Fatal(err)
		}
		graphjson.CheckAgreement(t, buf.Bytes())
	}
}
