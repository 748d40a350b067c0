package store

import (
	"context"
	"testing"
	"time"

	"github.com/credres/credres/internal/storetest"
	"github.com/credres/credres/pkg/model"
)

func TestFileStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) storetest.Store {
		s, err := OpenFileStore(t.TempDir(), clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Held changes are the store's state at once and on disk at Flush, each
// user's line written once however many changes the batch made; a fresh
// store reads what was flushed.
func TestFileStoreHoldsABatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	s, err := OpenFileStore(dir, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.Hold()
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := s.SaveAssessment(ctx, "u1", model.Assessment{UserID: "u1", Diversity: i}, at, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordNudge(ctx, "u1", at); err != nil {
			t.Fatal(err)
		}
	}
	if n := journalLines(t, dir, "u1"); n != 0 {
		t.Fatalf("the user was written %d times before Flush", n)
	}
	st, err := s.LoadUser(ctx, "u1")
	if err != nil || st.Assessment == nil || st.Assessment.Diversity != 2 || len(st.History.Nudges) != 3 {
		t.Fatalf("held state: %+v, %v", st, err)
	}
	st.History.Nudges[0] = time.Time{} // a caller's copy, not the store's
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := journalLines(t, dir, "u1"); n != 1 {
		t.Fatalf("Flush wrote the user %d times, want once", n)
	}
	fresh, err := OpenFileStore(dir, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	got, err := fresh.LoadUser(ctx, "u1")
	if err != nil || got.Assessment == nil || got.Assessment.Diversity != 2 || len(got.History.Nudges) != 3 || !got.History.Nudges[0].Equal(t0) {
		t.Fatalf("after Flush, a fresh store reads %+v, %v", got, err)
	}
	// Not holding, changes are written at once.
	if err := s.SetSnooze(ctx, "u2", t0); err != nil {
		t.Fatal(err)
	}
	if n := journalLines(t, dir, "u2"); n != 1 {
		t.Fatalf("without Hold the change is not on disk (%d lines)", n)
	}
}
