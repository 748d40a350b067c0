package model

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/credres/credres/internal/fill"
)

// TestDecisionCodecKnowsEveryField guards the hand-written codec against a
// field added to the decision message (or to anything it holds) without
// being added to the codec: every field of the type tree is filled by
// reflection, so the generated messages of the agreement test need not
// know the new field for this test to notice it. The fast path must take
// the whole message and write what json.Marshal writes.
func TestDecisionCodecKnowsEveryField(t *testing.T) {
	t.Parallel()
	var m DecisionMessage
	f := filler{}
	f.fill(reflect.ValueOf(&m).Elem())
	m.PolicyChange = nil // a policy-change message is left to encoding/json on purpose

	want, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	e := encoder{}
	if e.message(&m); e.bad {
		t.Fatalf("the encoder leaves a fully filled message to encoding/json:\n%s", want)
	}
	if !bytes.Equal(e.b, want) {
		t.Fatalf("the encoder writes\n%s\nencoding/json writes\n%s\n(a field the codec does not know?)", e.b, want)
	}
	d := decoder{b: want}
	var got DecisionMessage
	if d.message(&got); d.bad {
		t.Fatalf("the decoder leaves a fully filled message to encoding/json:\n%s", want)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("decodes to\n%#v\nwant\n%#v", got, m)
	}
}

// filler sets every field it reaches to a value that is not zero and that
// JSON carries plainly, each different from the last.
type filler struct{ n int }

func (f *filler) fill(v reflect.Value) { fill.Filler{Leaf: f.leaf}.Fill(v) }

func (f *filler) leaf(v reflect.Value) bool {
	f.n++
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 1, 1+f.n%28, f.n%24, 0, 0, 0, time.UTC)))
	case v.Type() == reflect.TypeFor[time.Duration]():
		v.SetInt(int64(f.n) * int64(time.Second))
	default:
		switch v.Kind() {
		case reflect.String:
			v.SetString("v" + strconv.Itoa(f.n))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(int64(f.n))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(uint64(f.n))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Float32, reflect.Float64:
			v.SetFloat(float64(f.n))
		default:
			return false
		}
	}
	return true
}
