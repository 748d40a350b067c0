package synth_test

import (
	"reflect"
	"testing"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/entralog"
)

// A generated stream reads as Entra's: every record parses, every relevant
// one names a user of the tenant, the everyday traffic and the reviews are
// skipped for what they are, and the same seed gives the same stream.
func TestAuditBodiesParse(t *testing.T) {
	t.Parallel()
	d := synth.Tenant(500, 3)
	s := synth.AuditStream{Events: 1_000, PerBody: 64, Users: 200, Seed: 9}
	bodies, err := synth.AuditBodies(d, s)
	if err != nil {
		t.Fatal(err)
	}
	if want := (s.Events + s.PerBody - 1) / s.PerBody; len(bodies) != want {
		t.Fatalf("%d bodies, want %d", len(bodies), want)
	}
	inStorm := map[string]bool{}
	for _, u := range d.Users[:s.Users] {
		inStorm[u.ID] = true
	}
	records, events, skipped := 0, 0, 0
	for i, body := range bodies {
		b, err := entralog.ParseAudit(body)
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		records += b.Records
		events += len(b.Events)
		for _, ev := range b.Events {
			if !inStorm[ev.UserID] {
				t.Errorf("body %d: event for %s, not one of the first %d users", i, ev.UserID, s.Users)
			}
		}
		for reason, n := range b.Skipped {
			if reason != entralog.SkipIrrelevantActivity && reason != entralog.SkipNoChangeReviewed {
				t.Errorf("body %d: %d records skipped as %s", i, n, reason)
			}
			skipped += n
		}
	}
	if records != s.Events || events+skipped != s.Events || events < s.Events*7/10 {
		t.Errorf("%d records, %d events, %d skipped, of %d", records, events, skipped, s.Events)
	}
	again, err := synth.AuditBodies(d, s)
	if err != nil || !reflect.DeepEqual(again, bodies) {
		t.Errorf("the same seed gave another stream (%v)", err)
	}
}
