package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

var _ pipeline.EmergencySetStore = (*DynamoDB)(nil)

// The emergency access set is stored once per judgement, a newer one never
// overwritten by an older; the ticket of the set is a user item apart.
func TestDynamoDBEmergencySet(t *testing.T) {
	t.Parallel()
	s, _ := openDynamoDB(t, fixed)
	ctx := context.Background()
	if data, at, err := s.LoadEmergencySet(ctx); err != nil || data != nil || !at.IsZero() {
		t.Fatalf("nothing stored: %q %v %v", data, at, err)
	}
	if err := s.SaveEmergencySet(ctx, []byte(`{"diversity":1}`), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveEmergencySet(ctx, []byte(`{"diversity":2}`), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{t0.Add(time.Hour), t0.Add(time.Minute)} {
		if err := s.SaveEmergencySet(ctx, []byte(`{"diversity":0}`), at); !errors.Is(err, model.ErrConflict) {
			t.Errorf("a set made at %v over one made at %v: %v, want a conflict", at, t0.Add(time.Hour), err)
		}
	}
	data, at, err := s.LoadEmergencySet(ctx)
	if err != nil || string(data) != `{"diversity":2}` || !at.Equal(t0.Add(time.Hour)) {
		t.Errorf("stored %q at %v (%v)", data, at, err)
	}
	if st, err := s.LoadUser(ctx, "emergency-access"); err != nil || st.Assessment != nil || st.Ticket != nil {
		t.Errorf("the set's user item: %+v %v", st, err)
	}
}
