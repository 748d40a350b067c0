// Package storetest holds the contract every credres store satisfies, as a
// test suite that each implementation runs against itself.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// Store is everything the pipeline asks of a store.
type Store interface {
	pipeline.EvaluationStore
	pipeline.DeliveryStore
	pipeline.SweepStore
	pipeline.UsageStore
	SetSnooze(ctx context.Context, userID string, until time.Time) error
}

// Clock is a settable clock for claim expiry.
type Clock struct{ T time.Time }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.T }

// Run runs the contract. open returns a fresh, empty store whose claims
// expire by clock.
func Run(t *testing.T, open func(t *testing.T, clock *Clock) Store) {
	t.Run("unknown-user-has-zero-state", func(t *testing.T) { unknownUserHasZeroState(t, open) })
	t.Run("older-read-never-overwrites-newer-assessment", func(t *testing.T) { olderReadNeverOverwritesNewerAssessment(t, open) })
	t.Run("since-is-stored-with-the-assessment", func(t *testing.T) { sinceIsStoredWithTheAssessment(t, open) })
	t.Run("history-and-ticket-survive-assessments", func(t *testing.T) { historyAndTicketSurviveAssessments(t, open) })
	t.Run("usage-moves-forward-once-per-method-and-day", func(t *testing.T) { usageMovesForwardOncePerMethodAndDay(t, open) })
	t.Run("claims-make-delivery-idempotent", func(t *testing.T) { claimsMakeDeliveryIdempotent(t, open) })
}

func unknownUserHasZeroState(t *testing.T, open func(t *testing.T, clock *Clock) Store) {
	ctx := context.Background()
	s := open(t, &Clock{t0})
	st, err := s.LoadUser(ctx, "nobody")
	if err != nil || st.Assessment != nil || !st.ObservedAt.IsZero() || len(st.History.Nudges) != 0 {
		t.Fatalf("state %+v, err %v", st, err)
	}

}

func olderReadNeverOverwritesNewerAssessment(t *testing.T, open func(t *testing.T, clock *Clock) Store) {
	ctx := context.Background()
	s := open(t, &Clock{t0})
	newer := model.Assessment{UserID: "u1", Diversity: 2, Violations: []model.Violation{}}
	older := model.Assessment{UserID: "u1", Diversity: 1, Violations: []model.Violation{model.ViolationBelowMinDiversity}}
	if err := s.SaveAssessment(ctx, "u1", newer, t0.Add(time.Minute), time.Time{}); err != nil {
		t.Fatal(err)
	}
	err := s.SaveAssessment(ctx, "u1", older, t0, time.Time{})
	if !errors.Is(err, model.ErrConflict) {
		t.Fatalf("stale write: err %v, want ErrConflict", err)
	}
	if err := s.SaveAssessment(ctx, "u1", older, t0.Add(time.Minute), time.Time{}); !errors.Is(err, model.ErrConflict) {
		t.Fatalf("same-version write: err %v, want ErrConflict", err)
	}
	st, err := s.LoadUser(ctx, "u1")
	if err != nil || st.Assessment == nil || st.Assessment.Diversity != 2 || !st.ObservedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("state %+v, err %v", st, err)
	}
	if err := s.SaveAssessment(ctx, "u1", older, t0.Add(2*time.Minute), time.Time{}); err != nil {
		t.Fatalf("newer write: %v", err)
	}
	at, err := s.ObservedAt(ctx, []string{"u1", "u2"})
	if err != nil || len(at) != 1 || !at["u1"].Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("ObservedAt = %v, %v", at, err)
	}

}

func sinceIsStoredWithTheAssessment(t *testing.T, open func(t *testing.T, clock *Clock) Store) {
	ctx := context.Background()
	s := open(t, &Clock{t0})
	must(t, s.SaveAssessment(ctx, "u1", model.Assessment{UserID: "u1"}, t0.Add(time.Minute), t0))
	st, err := s.LoadUser(ctx, "u1")
	must(t, err)
	if !st.Since.Equal(t0) {
		t.Fatalf("since %v, want %v", st.Since, t0)
	}
	// A refused write leaves it; a zero since clears it.
	if err := s.SaveAssessment(ctx, "u1", model.Assessment{UserID: "u1"}, t0, t0.Add(time.Hour)); !errors.Is(err, model.ErrConflict) {
		t.Fatalf("stale write: err %v, want ErrConflict", err)
	}
	if st, _ := s.LoadUser(ctx, "u1"); !st.Since.Equal(t0) {
		t.Fatalf("since %v after a refused write, want %v", st.Since, t0)
	}
	must(t, s.SaveAssessment(ctx, "u1", model.Assessment{UserID: "u1", Compliant: true}, t0.Add(2*time.Minute), time.Time{}))
	if st, _ := s.LoadUser(ctx, "u1"); !st.Since.IsZero() {
		t.Fatalf("since %v, want none", st.Since)
	}
}

func historyAndTicketSurviveAssessments(t *testing.T, open func(t *testing.T, clock *Clock) Store) {
	ctx := context.Background()
	s := open(t, &Clock{t0})
	must(t, s.RecordNudge(ctx, "u1", t0))
	must(t, s.RecordNudge(ctx, "u1", t0.Add(24*time.Hour)))
	must(t, s.SetTicket(ctx, "u1", &model.Ticket{ID: "CR-1", Status: model.TicketOpen, Opened: t0, Updated: t0}))
	must(t, s.SetSnooze(ctx, "u1", t0.Add(48*time.Hour)))
	must(t, s.SaveAssessment(ctx, "u1", model.Assessment{UserID: "u1"}, t0, time.Time{}))
	st, err := s.LoadUser(ctx, "u1")
	must(t, err)
	if len(st.History.Nudges) != 2 || !st.History.Nudges[1].Equal(t0.Add(24*time.Hour)) {
		t.Errorf("nudges %v", st.History.Nudges)
	}
	if !st.History.TicketOpen || st.Ticket == nil || st.Ticket.ID != "CR-1" {
		t.Errorf("ticket %+v open %v", st.Ticket, st.History.TicketOpen)
	}
	if !st.History.SnoozedUntil.Equal(t0.Add(48 * time.Hour)) {
		t.Errorf("snoozed until %v", st.History.SnoozedUntil)
	}
	must(t, s.ClearNudges(ctx, "u1"))
	must(t, s.SetTicket(ctx, "u1", &model.Ticket{ID: "CR-1", Status: model.TicketResolved, Opened: t0, Updated: t0}))
	st, err = s.LoadUser(ctx, "u1")
	must(t, err)
	if len(st.History.Nudges) != 0 || st.History.TicketOpen || st.Ticket.Status != model.TicketResolved || st.Assessment == nil {
		t.Errorf("after clear: %+v", st)
	}

}

func usageMovesForwardOncePerMethodAndDay(t *testing.T, open func(t *testing.T, clock *Clock) Store) {
	ctx := context.Background()
	s := open(t, &Clock{t0})
	day := model.Day(t0)
	key := model.MethodUsage{Kind: model.KindFIDO2, Instance: "YubiKey 5"}
	use := func(used, failed time.Time) model.MethodUsage {
		u := key
		u.LastUsed, u.LastFailed = used, failed
		return u
	}
	got, err := s.RecordUsage(ctx, "u1", []model.MethodUsage{use(t0, time.Time{}), use(t0.Add(time.Hour), time.Time{})})
	must(t, err)
	if len(got) != 1 || !got[0].Before.LastUsed.IsZero() || !got[0].After.LastUsed.Equal(day) {
		t.Fatalf("first use: %+v", got)
	}
	if got[0].Before.Proof(t0, 0) != model.ProofNone || got[0].After.Proof(t0, 0) != model.ProofWorking || !got[0].ProofChanged(0) {
		t.Errorf("first use proof: %+v", got[0])
	}
	// The same day again, and an older day: nothing to write.
	for _, at := range []time.Time{t0.Add(5 * time.Hour), t0.Add(-48 * time.Hour)} {
		got, err = s.RecordUsage(ctx, "u1", []model.MethodUsage{use(at, time.Time{})})
		if err != nil || len(got) != 0 {
			t.Fatalf("use at %s: %+v, %v", at, got, err)
		}
	}
	// A failure the next day moves only lastFailed, and the proof.
	got, err = s.RecordUsage(ctx, "u1", []model.MethodUsage{use(time.Time{}, t0.Add(24*time.Hour))})
	must(t, err)
	if len(got) != 1 || !got[0].Before.LastUsed.Equal(day) || !got[0].After.LastFailed.Equal(day.Add(24*time.Hour)) ||
		got[0].After.Proof(t0, 0) != model.ProofFailing || !got[0].ProofChanged(0) {
		t.Fatalf("failure: %+v", got)
	}
	// Another method and a phone without an instance are their own.
	_, err = s.RecordUsage(ctx, "u1", []model.MethodUsage{{Kind: model.KindMobilePhone, LastUsed: t0}})
	must(t, err)
	us, err := s.LoadUsage(ctx, "u1")
	must(t, err)
	want := []model.MethodUsage{
		{Kind: model.KindFIDO2, Instance: "YubiKey 5", LastUsed: day, LastFailed: day.Add(24 * time.Hour)},
		{Kind: model.KindMobilePhone, LastUsed: day},
	}
	if len(us) != len(want) {
		t.Fatalf("usage %+v", us)
	}
	for i := range want {
		if us[i].Key() != want[i].Key() || !us[i].LastUsed.Equal(want[i].LastUsed) || !us[i].LastFailed.Equal(want[i].LastFailed) {
			t.Errorf("usage[%d] = %+v, want %+v", i, us[i], want[i])
		}
	}
	// Usage leaves the assessment alone, and the other way round.
	must(t, s.SaveAssessment(ctx, "u1", model.Assessment{UserID: "u1"}, t0, time.Time{}))
	st, err := s.LoadUser(ctx, "u1")
	if err != nil || st.Assessment == nil {
		t.Fatalf("state %+v, %v", st, err)
	}
	if us, err := s.LoadUsage(ctx, "u1"); err != nil || len(us) != 2 {
		t.Fatalf("usage after assessment: %+v, %v", us, err)
	}
	if us, err := s.LoadUsage(ctx, "nobody"); err != nil || len(us) != 0 {
		t.Fatalf("usage of nobody: %+v, %v", us, err)
	}
	if _, err := s.RecordUsage(ctx, "", []model.MethodUsage{use(t0, time.Time{})}); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("empty user id: %v", err)
	}

}

func claimsMakeDeliveryIdempotent(t *testing.T, open func(t *testing.T, clock *Clock) Store) {
	ctx := context.Background()
	clock := &Clock{t0}
	s := open(t, clock)
	got, err := s.Claim(ctx, "nudge/d1", time.Minute)
	if err != nil || got != model.Claimed {
		t.Fatalf("first claim: %v %v", got, err)
	}
	if got, _ := s.Claim(ctx, "nudge/d1", time.Minute); got != model.InProgress {
		t.Fatalf("second claim while held: %v", got)
	}
	clock.T = t0.Add(2 * time.Minute)
	if got, _ := s.Claim(ctx, "nudge/d1", time.Minute); got != model.Claimed {
		t.Fatalf("claim after the lease ran out: %v", got)
	}
	must(t, s.Complete(ctx, "nudge/d1", time.Hour))
	if got, _ := s.Claim(ctx, "nudge/d1", time.Minute); got != model.AlreadyDone {
		t.Fatalf("claim after completion: %v", got)
	}
	if got, _ := s.Claim(ctx, "ticket/d1", time.Minute); got != model.Claimed {
		t.Fatalf("another key: %v", got)
	}

}

// t0 is the contract's first instant.
var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
