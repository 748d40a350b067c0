package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

var _ pipeline.SweepCheckpoints = (*DynamoDB)(nil)

// The sweep's lease admits one holder until it expires; only the holder
// keeps a cursor or releases; a finished sweep leaves no cursor.
func TestDynamoDBSweepLease(t *testing.T) {
	t.Parallel()
	s, _ := openDynamoDB(t, fixed)
	ctx := context.Background()
	const lease = 16 * time.Minute
	cur, ok, err := s.AcquireSweep(ctx, "a", t0, lease)
	if err != nil || !ok || cur != nil {
		t.Fatalf("first acquire: %q %v %v; want the lease and no cursor", cur, ok, err)
	}
	if _, ok, err := s.AcquireSweep(ctx, "b", t0.Add(lease-time.Second), lease); err != nil || ok {
		t.Fatalf("b took a live lease: %v %v", ok, err)
	}
	big := strings.Repeat(`{"i":"00000000-0000-0000-0000-000000000000","m":["mobilePhone"]},`, 1000)
	if err := s.SaveSweep(ctx, "a", []byte(big), t0.Add(time.Minute), lease); err != nil {
		t.Fatal(err)
	}
	// Saved at t0+1m, the lease lasts to t0+17m.
	if _, ok, _ := s.AcquireSweep(ctx, "b", t0.Add(lease), lease); ok {
		t.Fatal("the save did not extend the lease")
	}
	// a crashed: its lease expires and b takes the sweep over, cursor and all.
	cur, ok, err = s.AcquireSweep(ctx, "b", t0.Add(time.Minute+lease), lease)
	if err != nil || !ok || string(cur) != big {
		t.Fatalf("b after expiry: %d bytes, %v, %v; want a's cursor", len(cur), ok, err)
	}
	if err := s.SaveSweep(ctx, "a", []byte("{}"), t0.Add(20*time.Minute), lease); !errors.Is(err, model.ErrConflict) {
		t.Errorf("a saved after losing the lease: %v", err)
	}
	if err := s.ReleaseSweep(ctx, "a", true); !errors.Is(err, model.ErrConflict) {
		t.Errorf("a released b's lease: %v", err)
	}
	if err := s.ReleaseSweep(ctx, "b", false); err != nil {
		t.Fatal(err)
	}
	cur, ok, err = s.AcquireSweep(ctx, "c", t0.Add(lease+2*time.Minute), lease)
	if err != nil || !ok || string(cur) != big {
		t.Fatalf("c after b released: %d bytes, %v, %v; want the cursor kept", len(cur), ok, err)
	}
	if err := s.ReleaseSweep(ctx, "c", true); err != nil {
		t.Fatal(err)
	}
	if cur, ok, err := s.AcquireSweep(ctx, "d", t0.Add(lease+3*time.Minute), lease); err != nil || !ok || cur != nil {
		t.Fatalf("after the sweep finished: %q %v %v; want no cursor", cur, ok, err)
	}
}
