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
	if len(got) != 30 || !slices.Equal(got["user-101"], rows[101].MethodsRegistered) || got["user-001"] != nil {
		t.Fatalf("fresh since t0+1h: %d rows, user-101 %v, user-001 %v; want the 30 kept at t0+2h", len(got), got["user-101"], got["user-001"])
	}
	got, err = s.FreshRegistrations(ctx, ids, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 130 || got["user-007"] == nil || len(got["user-007"]) != 0 || !slices.Equal(got["user-042"], rows[42].MethodsRegistered) {
		t.Fatalf("fresh since t0: %d rows, user-007 %#v; want all 130, user-007 known empty", len(got), got["user-007"])
	}
}
