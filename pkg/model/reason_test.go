package model

import (
	"encoding/json"
	"testing"
	"time"
)

func TestReasonRoundTripsAndReadsWords(t *testing.T) {
	t.Parallel()
	in := []Reason{
		{Code: ReasonWorseCooling, Violations: []Violation{ViolationTelephonyOnly}, Age: time.Hour, Cooldown: 7 * 24 * time.Hour},
		{Code: ReasonSnoozed, Until: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out []Reason
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Code != in[0].Code || out[0].Age != in[0].Age || out[0].Violations[0] != ViolationTelephonyOnly || !out[1].Until.Equal(in[1].Until) {
		t.Errorf("round trip: %+v from %s", out, b)
	}
	// A decision queued before reasons had codes carries words.
	if err := json.Unmarshal([]byte(`["newly below policy: no-mfa-path"]`), &out); err != nil || out[0].Code != "newly below policy: no-mfa-path" {
		t.Errorf("words: %+v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`[42]`), &out); err == nil {
		t.Errorf("a number read as a reason")
	}
}

func TestMethodNoteReadsWords(t *testing.T) {
	t.Parallel()
	var ns []MethodNote
	if err := json.Unmarshal([]byte(`["mobile phone +1 ••• ••• 0100",{"kind":"password"}]`), &ns); err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[0].Words != "mobile phone +1 ••• ••• 0100" || ns[1].Kind != KindPassword {
		t.Errorf("notes %+v", ns)
	}
}
