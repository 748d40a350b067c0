package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

var _ pipeline.RegistrationCache = (*DynamoDB)(nil)

// Kept rows come back while fresh, by the id they were kept under, with an
// empty registration as known-empty; rows older than since, and users
// never kept, do not.
func TestDynamoDBKeptRegistrations(t *testing.T) {
	t.Parallel()
	s, _ := openDynamoDB(t, fixed)
	ctx := context.Background()
	var rows []model.Registration
	var ids []string
	for i := range 130 { // more than one BatchWriteItem and one BatchGetItem
		id := fmt.Sprintf("user-%03d", i)
		ids = append(ids, id)
		rows = append(rows, model.Registration{UserID: id, MethodsRegistered: []string{"mobilePhone", fmt.Sprint("k", i%3)}})
	}
	rows[7].MethodsRegistered = nil
	if err := s.KeepRegistrations(ctx, rows[:100], t0, 26*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.KeepRegistrations(ctx, rows[100:], t0.Add(2*time.Hour), 26*time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := s.FreshRegistrations(ctx, append(ids, "never-kept", "user-001"), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, old := got["user-001"]; len(got) != 30 || !slices.Equal(got["user-101"].Methods, rows[101].MethodsRegistered) || old {
		t.Fatalf("fresh since t0+1h: %d rows, user-101 %v, user-001 %v; want the 30 kept at t0+2h", len(got), got["user-101"], got["user-001"])
	}
	got, err = s.FreshRegistrations(ctx, ids, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 130 || got["user-007"].Methods == nil || len(got["user-007"].Methods) != 0 || !slices.Equal(got["user-042"].Methods, rows[42].MethodsRegistered) {
		t.Fatalf("fresh since t0: %d rows, user-007 %#v; want all 130, user-007 known empty", len(got), got["user-007"])
	}
}

// A row read without a kind the kept one had is marked as shrunk at that
// read; the mark stays through later reads that lose nothing, and moves to
// a later read that loses a kind again. A row kept for the first time, or
// one that gained kinds, is not marked.
func TestDynamoDBMarksRegistrationsThatShrank(t *testing.T) {
	t.Parallel()
	s, _ := openDynamoDB(t, fixed)
	ctx := context.Background()
	keep := func(at time.Time, rows ...model.Registration) {
		t.Helper()
		if err := s.KeepRegistrations(ctx, rows, at, 26*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	row := func(id string, kinds ...string) model.Registration {
		return model.Registration{UserID: id, MethodsRegistered: kinds}
	}
	t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	keep(t0, row("same", "a", "b"), row("drops", "a", "b"), row("grows", "a"), row("swaps", "a"))
	keep(t1, row("same", "b", "a"), row("drops", "a"), row("grows", "a", "b"), row("swaps", "b"), row("new"))
	keep(t2, row("same", "a", "b"), row("drops", "a"), row("grows", "a", "b"), row("swaps", "b"), row("new"))
	got, err := s.FreshRegistrations(ctx, []string{"same", "drops", "grows", "swaps", "new"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"same": {}, "drops": t1, "grows": {}, "swaps": t1, "new": {}}
	for id, at := range want {
		if r := got[id]; !r.ShrankAt.Equal(at) || !r.ReadAt.Equal(t2) {
			t.Errorf("%s: read %s, shrank %s; want read %s, shrank %s", id, r.ReadAt, r.ShrankAt, t2, at)
		}
	}
	keep(t3, row("drops"))
	if got, err = s.FreshRegistrations(ctx, []string{"drops"}, t0); err != nil || !got["drops"].ShrankAt.Equal(t3) {
		t.Errorf("drops after losing its last kind: %+v, %v; want shrank at %s", got["drops"], err, t3)
	}
}
