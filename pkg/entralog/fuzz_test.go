package entralog_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
)

// FuzzParseAudit feeds arbitrary bytes to the normaliser, seeded with the
// audit corpus: it must never panic, every error must be classifiable as
// invalid input, and every event must name a record, a user, a time and at
// least one change.
func FuzzParseAudit(f *testing.F) {
	for _, in := range auditInputs(f) {
		f.Add(readFile(f, in))
	}
	f.Add([]byte(`{"records":[42,"x",null,{"properties":"{}"}]}`))
	f.Add([]byte(`{"value":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		batch, err := entralog.ParseAudit(data)
		for _, e := range splitErrors(err) {
			if !errors.Is(e, model.ErrInvalidInput) {
				t.Fatalf("error %q does not wrap ErrInvalidInput", e)
			}
		}
		if batch.Skipped == nil {
			t.Fatal("Skipped is nil")
		}
		skipped := 0
		for _, n := range batch.Skipped {
			skipped += n
		}
		if len(batch.Events)+skipped > batch.Records {
			t.Fatalf("%d events and %d skips from %d records", len(batch.Events), skipped, batch.Records)
		}
		for i, ev := range batch.Events {
			if ev.AuditID == "" || ev.UserID == "" || ev.Time.IsZero() || len(ev.Changes) == 0 {
				t.Fatalf("event %d is incomplete: %+v", i, ev)
			}
		}
	})
}

// BenchmarkParseAudit normalises one Event Hubs body of 100 records of the
// kinds a busy tenant sends: auth-method changes, "Update user" records with
// and without authentication properties, and skips.
func BenchmarkParseAudit(b *testing.B) {
	registered := envelope(authRecord("User registered security info", "User registered Fido2 Authentication Method"))
	reviewed := envelope(authRecord("User reviewed security info", "User successfully reviewed security info."))
	strong := envelope(updateUser(
		prop("StrongAuthenticationMethod", sam(6, true, 7, false), sam(7, false, 6, true, 0, false, 5, false)),
		prop("Included Updated Properties", nil, enc("StrongAuthenticationMethod"))))
	other := envelope(updateUser(prop("DisplayName", enc([]string{"A"}), enc([]string{"B"}))))
	kinds := []any{registered, strong, other, reviewed}
	records := make([]any, 100)
	for i := range records {
		records[i] = kinds[i%len(kinds)]
	}
	data := []byte(js(body(records...)))
	if !bytes.Contains(data, []byte(`"records"`)) {
		b.Fatal("benchmark body is not an Event Hubs body")
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		batch, err := entralog.ParseAudit(data)
		if err != nil || len(batch.Events) != 50 {
			b.Fatalf("got %d events, err %v", len(batch.Events), err)
		}
	}
}
