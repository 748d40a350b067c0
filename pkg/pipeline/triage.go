package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// In a storm of events (a bulk registration push) the evaluation backlog
// takes hours to clear at Graph's budget, and in queue order a user who
// dropped below policy waits as long as everyone else. Triage reads them
// first:
//
//   - the sweep, when the backlog's drain estimate is over the storm's
//     threshold, walks the registration report without enqueueing anyone
//     (a page covers hundreds of users for one unit of its own share of
//     the budget), and keeps every row, marking those that lost a
//     registered method kind (KeptRegistration.ShrankAt);
//   - evaluate, while the estimate is over the threshold, defers the users
//     who can wait: every request an audit event on its first delivery and
//     never deferred before, a kept row read after the events that lost no
//     kind since the user's last read, and a stored assessment within
//     policy with nothing pending (no held nudge, no open ticket).
//     Everyone else is read at once.
//
// A deferral puts a copy of the user's requests at the back of the queue
// (marked Deferred, with a deduplication id of its own) and deletes the
// originals: the copy is read when the queue gets back to it, after the
// users who may have dropped, and is never deferred again (deferrable). Nobody is
// skipped, nobody waits longer than the backlog takes to clear, and the
// evaluators never idle while deferred users wait (as they would behind a
// longer visibility timeout, which cannot be cut short once the urgent
// reads are done). A copy that cannot be sent defers nobody: the users are
// read at once. A crash between the send and the delete delivers the
// original again, on a later receive, which is read; the copy then finds
// the user read already (Evaluate.Observed).

// StormTriage sets when evaluate defers the users who can wait.
type StormTriage struct {
	// Threshold is the backlog's drain estimate above which the backlog is
	// a storm (default DefaultStormThreshold).
	Threshold time.Duration
}

// DefaultStormThreshold is the drain estimate above which a backlog is a
// storm: past an hour, reading in queue order keeps a user who dropped
// below policy from their nudge for longer than an event's own delay.
const DefaultStormThreshold = time.Hour

func (t *StormTriage) threshold() time.Duration {
	if t.Threshold > 0 {
		return t.Threshold
	}
	return DefaultStormThreshold
}

// deferWaiting takes out of the batch the users who can wait in a storm
// (see above), with their requests queued again, and returns their
// outcomes. Whatever cannot be read (the estimate, the kept rows, a user's
// state) or sent keeps the users concerned in the batch.
func (ev *Evaluate) deferWaiting(ctx context.Context, b *evalBatch) []Outcome {
	candidates := ev.deferrable(b)
	if len(candidates) == 0 {
		return nil
	}
	backlog, err := ev.backlog(ctx, b)
	if err != nil {
		return nil
	}
	hours := ev.Drain.hours(backlog)
	if hours <= ev.Triage.threshold().Hours() {
		return nil
	}
	kept, err := ev.keptRows(ctx, b)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("the kept registration rows cannot be read; nobody is deferred")
		return nil
	}
	var outcomes []Outcome
	var copies []model.EvaluationRequest
	for _, id := range candidates {
		p := b.users[id]
		row, ok := kept[id]
		if !ok || row.ReadAt.Before(p.latest.Add(CoverLag)) {
			continue // no row read after the events: it cannot tell
		}
		if last, read := b.seen[id]; !row.ShrankAt.IsZero() && (!read || row.ShrankAt.After(last)) {
			continue // lost a kind since the last read: may have dropped
		}
		state, err := ev.Store.LoadUser(ctx, id)
		if err != nil || !settled(state) {
			continue
		}
		for _, r := range p.reqs {
			if !r.Deferred {
				r.Deferred = true
				copies = append(copies, r)
			}
		}
		outcomes = append(outcomes, Outcome{UserID: id, Deferred: true, Decision: model.Decision{Kind: model.DecisionNone, UserID: id}})
	}
	if len(copies) == 0 {
		return nil
	}
	if err := ev.Requeue.SendRequests(ctx, copies); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Int("users", len(outcomes)).Msg("storm: the deferred requests cannot be queued; the users are read now")
		return nil
	}
	for _, o := range outcomes {
		b.deferred += len(b.users[o.UserID].msgs)
		delete(b.users, o.UserID)
	}
	b.order = remaining(b.order, b.users)
	zerolog.Ctx(ctx).Info().Int("users", len(outcomes)).Float64("backlogDrainHours", hours).
		Msg("storm: users whose registration lost nothing go to the back of the queue")
	return outcomes
}

// deferrable returns the batch's users a storm may defer: triage is on,
// every request is an audit event, and those never deferred, of which
// there is one at least, are on their first delivery (a retry is read at
// once). A batch can hold a user's last original requests with the copies
// of their first (the queue keeps a user's messages in order): the copies
// then go with the originals' new copies, which bring the user back later
// and whose read covers the older events too. No request is deferred
// twice, so every user is read within two passes of the queue.
func (ev *Evaluate) deferrable(b *evalBatch) []string {
	if ev.Triage == nil || ev.Drain == nil || ev.Drain.Queue == nil || ev.RegistrationCache == nil || ev.Requeue == nil {
		return nil
	}
	var ids []string
	for _, id := range b.order {
		p := b.users[id]
		first := p.audits
		fresh := false
		for i, m := range p.msgs {
			if !p.reqs[i].Deferred {
				fresh, first = true, first && m.ReceiveCount == 1
			}
		}
		if first && fresh {
			ids = append(ids, id)
		}
	}
	return ids
}

// keptRows reads the batch's kept registration rows that are fresh, once:
// the read of the users that are not deferred takes them from the batch.
func (ev *Evaluate) keptRows(ctx context.Context, b *evalBatch) (map[string]KeptRegistration, error) {
	since := ev.Now().Add(-registrationTTL(ev.RegistrationTTL))
	kept, err := ev.RegistrationCache.FreshRegistrations(ctx, b.order, since)
	if err != nil {
		return nil, fmt.Errorf("storm triage: %w", err)
	}
	b.kept = kept
	return kept, nil
}

// settled reports whether a user's stored state has nothing waiting on
// their next read: assessed within policy (not only through unproven
// methods), no first nudge held, no open ticket. A user with something
// pending is read at once in a storm, since their events may be the fix an
// administrator waits to see resolved.
func settled(st model.UserState) bool {
	a := st.Assessment
	if a == nil || !a.Compliant || a.RestsOnUnproven || !a.HeldUntil.IsZero() {
		return false
	}
	return st.Ticket == nil || st.Ticket.Status != model.TicketOpen
}

// remaining returns the ids of order still in users, in order.
func remaining(order []string, users map[string]*pendingUser) []string {
	keep := order[:0]
	for _, id := range order {
		if users[id] != nil {
			keep = append(keep, id)
		}
	}
	return keep
}
