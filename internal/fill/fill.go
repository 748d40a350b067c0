// Package fill sets the fields of a value by reflection, for tests that
// compare a hand-written encoder with encoding/json: filled from its type,
// a value also holds the fields added after the test was written.
package fill

import "reflect"

// Filler fills a value and everything it holds.
type Filler struct {
	// Leaf is offered every value first; it sets the values it knows (a
	// string, a number, a time) and reports whether it did. Pointers,
	// slices, maps and structs it leaves are filled element by element.
	Leaf func(v reflect.Value) bool
	// Skip, when set and true, leaves a value zero.
	Skip func() bool
	// Len is a slice's length; nil means 2.
	Len func() int
}

// Fill fills v, which must be settable.
func (f Filler) Fill(v reflect.Value) {
	if f.Skip != nil && f.Skip() {
		return
	}
	if f.Leaf(v) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.Fill(v.Elem())
	case reflect.Slice:
		n := 2
		if f.Len != nil {
			n = f.Len()
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			f.Fill(s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		f.Fill(k)
		f.Fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.Fill(v.Field(i))
			}
		}
	}
}
