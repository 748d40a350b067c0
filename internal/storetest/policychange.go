package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// RunPolicyChanges runs the contract of pipeline.PolicyChangeStore. open
// returns a fresh, empty store.
func RunPolicyChanges(t *testing.T, open func(t *testing.T, clock *Clock) pipeline.PolicyChangeStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	change := func(id string, at time.Time) model.PolicyChange {
		return model.PolicyChange{AuditID: id, Activity: "Update conditional access policy", Time: at,
			Kind: model.PolicyConditionalAccess, PolicyID: "p1", PolicyName: "MFA for all users",
			InitiatedBy: model.Initiator{UserPrincipalName: "it.admin@contoso.example"}}
	}

	t.Run("a-change-is-recorded-once", func(t *testing.T) {
		s := open(t, &Clock{t0})
		for i, want := range []bool{true, false, false} {
			added, err := s.AddPolicyChange(ctx, change("A_1", t0), t0.Add(time.Duration(i)*time.Minute))
			if err != nil || added != want {
				t.Fatalf("add %d: %t, %v; want %t", i, added, err, want)
			}
		}
		if _, err := s.AddPolicyChange(ctx, change("B_2", t0.Add(-time.Hour)), t0); err != nil {
			t.Fatal(err)
		}
		cs, err := s.PolicyChanges(ctx)
		if err != nil || len(cs) != 2 || cs[0].Change.AuditID != "B_2" || cs[1].Change != change("A_1", t0) ||
			!cs[1].Recorded.Equal(t0) || !cs[1].Pending() {
			t.Fatalf("changes %+v, %v", cs, err)
		}
		if _, err := s.AddPolicyChange(ctx, model.PolicyChange{Time: t0}, t0); !errors.Is(err, model.ErrInvalidInput) {
			t.Errorf("a change without an id: %v", err)
		}
	})

	t.Run("drops-are-counted-once-per-user-and-the-ticket-claimed-once", func(t *testing.T) {
		s := open(t, &Clock{t0})
		if _, err := s.AddPolicyChange(ctx, change("A_1", t0), t0); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkPolicySwept(ctx, "A_1", t0.Add(time.Minute), 40, false); err != nil {
			t.Fatal(err)
		}
		grace := t0.Add(72 * time.Hour)
		below := []model.Violation{model.ViolationBelowMinDiversity, "single-point-of-failure"}
		for _, u := range []string{"u1", "u2", "u1", "u3"} {
			held := grace
			if u == "u3" {
				held = time.Time{} // a ticket of its own
			}
			if _, err := s.CountPolicyDrop(ctx, "A_1", u, below, held); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := s.ClaimPolicyTicket(ctx, "A_1", 4, t0); ok || err != nil {
			t.Errorf("claimed under the threshold: %t, %v", ok, err)
		}
		st, err := s.LoadPolicyChange(ctx, "A_1")
		if err != nil || st.Dropped != 3 || st.Held != 2 || st.Users != 40 || !st.GraceUntil.Equal(grace) ||
			st.Violations[model.ViolationBelowMinDiversity] != 3 || st.Violations["single-point-of-failure"] != 3 || st.Pending() {
			t.Fatalf("after the drops: %+v, %v", st, err)
		}
		for i, want := range []bool{true, false} {
			if ok, err := s.ClaimPolicyTicket(ctx, "A_1", 3, t0.Add(time.Duration(i)*time.Second)); ok != want || err != nil {
				t.Errorf("claim %d: %t, %v", i, ok, err)
			}
		}
		if st.GraceDue(grace.Add(-time.Second)) || !st.GraceDue(grace) {
			t.Errorf("grace due wrong around %s", grace)
		}
		if err := s.MarkPolicySwept(ctx, "A_1", grace, 40, true); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.LoadPolicyChange(ctx, "A_1"); st.GraceDue(grace.Add(time.Hour)) || st.TicketAt.IsZero() {
			t.Errorf("after the grace-period sweep: %+v", st)
		}
		if _, err := s.CountPolicyDrop(ctx, "nope", "u1", below, grace); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("an unknown change: %v", err)
		}
	})
}
