package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/explain"
	"github.com/credres/credres/pkg/mask"
	"github.com/credres/credres/pkg/model"
)

// DeliveryStore makes delivery idempotent and keeps the user's nudge
// history and ticket.
type DeliveryStore interface {
	// Claim takes key for lease; a claim that was never completed can be
	// taken again once its lease has run out (the deliverer died).
	Claim(ctx context.Context, key string, lease time.Duration) (model.ClaimResult, error)
	// Complete marks key delivered; it is remembered for retention.
	Complete(ctx context.Context, key string, retention time.Duration) error
	LoadUser(ctx context.Context, userID string) (model.UserState, error)
	RecordNudge(ctx context.Context, userID string, at time.Time) error
	ClearNudges(ctx context.Context, userID string) error
	SetTicket(ctx context.Context, userID string, t *model.Ticket) error
}

// Renderer writes nudges and tickets (package notify's templates).
type Renderer interface {
	RenderNudge(model.DecisionMessage) (model.RenderedNudge, error)
	RenderTicket(model.DecisionMessage, model.TicketRecord) (model.RenderedTicket, error)
}

// DryRunLog keeps every message a dry run would have sent, with its full
// rendered content, in place of sending it.
type DryRunLog interface {
	RecordDryRun(ctx context.Context, kind string, record any) error
}

// NudgeSender delivers nudges (the outbox here; mail and Teams channels
// implement it too).
type NudgeSender interface {
	SendNudge(ctx context.Context, msg model.DecisionMessage, rec model.NudgeRecord) error
}

// TicketSender delivers ticket events to a helpdesk.
type TicketSender interface {
	SendTicket(ctx context.Context, msg model.DecisionMessage, rec model.TicketRecord) error
}

// Delivery timing defaults. The lease is shorter than the delivery queues'
// visibility timeout, so that a redelivery after a crashed deliverer finds
// the claim expired and delivers within SQS's five-minute deduplication
// window.
const (
	DefaultClaimLease = 2 * time.Minute
	DefaultRetention  = 14 * 24 * time.Hour
)

// NudgeStage delivers nudge decisions and stops reminders on resolve.
type NudgeStage struct {
	Store  DeliveryStore
	Sender NudgeSender
	// Render writes the words; nil sends decisions without text.
	Render Renderer
	// DryRun, when set, receives every nudge instead of Sender. The nudge
	// history is kept as if it had been sent, so that a dry run shows the
	// real schedule of reminders and escalations.
	DryRun DryRunLog
	// Dead, when set, takes messages that can never be delivered at once
	// (see Evaluate.Dead).
	Dead DeadLetters
	Now  func() time.Time
}

// TicketStage opens, updates and resolves helpdesk tickets.
type TicketStage struct {
	Store  DeliveryStore
	Sender TicketSender
	Render Renderer
	DryRun DryRunLog
	Dead   DeadLetters
	Now    func() time.Time
	// PolicyChanges, when set, gives a tenant-side ticket about a policy
	// change the counts as they stand when it is delivered, rather than
	// when the threshold was reached.
	PolicyChanges PolicyChangeStore
}

// Handle delivers a batch of decision messages and returns the ones to
// deliver again.
func (n *NudgeStage) Handle(ctx context.Context, msgs []Message) []Failure {
	return deliverAll(ctx, msgs, n.Store, n.Dead, "nudge", func(ctx context.Context, dm model.DecisionMessage) error {
		switch dm.Decision.Kind {
		case model.DecisionNudge:
			rec := model.NudgeRecord{
				DecisionID: dm.ID, UserID: dm.Decision.UserID, Decision: string(dm.Decision.Kind),
				Reminder: dm.Decision.Reminder, Violations: dm.Assessment.UserViolations(),
				Reasons: explain.ReasonsIn(dm.Decision.Reasons, &dm.Assessment), Time: n.Now(), Channel: dm.Decision.Channel, To: mask.Email(dm.User.Mail),
			}
			if rec.Channel == "" {
				rec.Channel = "email"
			}
			// The send and the history entry are two writes to two systems:
			// the send is marked done on its own, so that a delivery whose
			// history entry could not be written is retried without sending
			// again, and the reminder schedule still starts from this nudge.
			sentKey := "nudge/" + dm.ID + "/sent"
			sent, err := n.Store.Claim(ctx, sentKey, DefaultClaimLease)
			if err != nil {
				return fmt.Errorf("claim the send: %w", err)
			}
			switch sent {
			case model.InProgress:
				return fmt.Errorf("another send of this nudge is in progress")
			case model.AlreadyDone:
				// Sent by an earlier attempt. Its history entry may have been
				// written too (the attempt failed after it): a nudge in the
				// history since the decision was made is that entry, and a
				// second one would count towards the escalation twice.
				state, err := n.Store.LoadUser(ctx, dm.Decision.UserID)
				if err != nil {
					return err
				}
				if len(state.History.Nudges) > 0 && !state.History.LastNudge().Before(dm.Time) {
					return nil
				}
			case model.Claimed:
				state, err := n.Store.LoadUser(ctx, dm.Decision.UserID)
				if err != nil {
					return err
				}
				if why := superseded(dm, state); why != "" {
					zerolog.Ctx(ctx).Info().Str("userId", dm.Decision.UserID).Str("decisionId", dm.ID).
						Msg("not sent: the decision is no longer the latest; " + why)
					return nil
				}
				if err := n.send(ctx, dm, &rec); err != nil {
					return err
				}
				if err := n.Store.Complete(ctx, sentKey, DefaultRetention); err != nil {
					// Should the history write fail too, the retry sends again.
					zerolog.Ctx(ctx).Error().Err(err).Str("userId", dm.Decision.UserID).Str("decisionId", dm.ID).
						Msg("nudge sent, but the send could not be marked done")
				}
			}
			if err := n.Store.RecordNudge(ctx, dm.Decision.UserID, rec.Time); err != nil {
				// Retried: the person has the message, the retry only writes
				// the history entry (at the retry's time).
				return fmt.Errorf("nudge sent, but not recorded in the history: %w", err)
			}
			return nil
		case model.DecisionResolve:
			state, err := n.Store.LoadUser(ctx, dm.Decision.UserID)
			if err != nil {
				return err
			}
			if why := superseded(dm, state); why != "" {
				zerolog.Ctx(ctx).Info().Str("userId", dm.Decision.UserID).Str("decisionId", dm.ID).
					Msg("reminders kept: the decision is no longer the latest; " + why)
				return nil
			}
			return n.Store.ClearNudges(ctx, dm.Decision.UserID)
		}
		return fmt.Errorf("%w: the nudge stage does not handle %q decisions", model.ErrInvalidInput, dm.Decision.Kind)
	})
}

// send renders and delivers one nudge (or records it in a dry run).
func (n *NudgeStage) send(ctx context.Context, dm model.DecisionMessage, rec *model.NudgeRecord) error {
	if n.Render != nil {
		r, err := n.Render.RenderNudge(dm)
		if err != nil {
			return fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
		}
		rec.Language, rec.Subject, rec.Text, rec.HTML = r.Language, r.Subject, r.Text, r.HTML
	}
	if n.DryRun != nil {
		rec.DryRun = true
		if err := n.DryRun.RecordDryRun(ctx, "nudge", *rec); err != nil {
			return fmt.Errorf("record dry-run nudge: %w", err)
		}
		return nil
	}
	if err := n.Sender.SendNudge(ctx, dm, *rec); err != nil {
		return fmt.Errorf("send nudge: %w", err)
	}
	return nil
}

// Handle delivers a batch of decision messages and returns the ones to
// deliver again.
func (t *TicketStage) Handle(ctx context.Context, msgs []Message) []Failure {
	return deliverAll(ctx, msgs, t.Store, t.Dead, "ticket", func(ctx context.Context, dm model.DecisionMessage) error {
		userID := dm.Decision.UserID
		if dm.PolicyChange != nil {
			return t.policyTicket(ctx, dm)
		}
		state, err := t.Store.LoadUser(ctx, userID)
		if err != nil {
			return err
		}
		now := t.Now()
		open := state.Ticket != nil && state.Ticket.Status == model.TicketOpen
		why := superseded(dm, state)
		if why != "" && dm.Decision.Kind == model.DecisionResolve && open && state.Ticket.Opened.Before(dm.Time) {
			// The open ticket predates the resolve: it belongs to the
			// episode the resolve ended, whatever came after.
			why = ""
		}
		if why != "" {
			zerolog.Ctx(ctx).Info().Str("userId", userID).Str("decisionId", dm.ID).
				Msg("ticket left as it is: the decision is no longer the latest; " + why)
			return nil
		}
		switch dm.Decision.Kind {
		case model.DecisionTicket:
			tk := state.Ticket
			action := "updated"
			if !open {
				// The id comes from the decision, not the delivery, so that a
				// redelivered decision opens the same ticket.
				tk = &model.Ticket{ID: model.TicketID(userID, dm.Time), Status: model.TicketOpen, Opened: now, Reason: reasonOf(dm.Decision)}
				action = "opened"
			}
			tk.Updated = now
			if err := t.send(ctx, dm, ticketRecord(dm, tk, action, now)); err != nil {
				return err
			}
			return t.Store.SetTicket(ctx, userID, tk)
		case model.DecisionResolve:
			if !open {
				return nil // nothing was ticketed: a nudge-only episode ended
			}
			tk := *state.Ticket
			tk.Status, tk.Updated = model.TicketResolved, now
			if err := t.send(ctx, dm, ticketRecord(dm, &tk, "resolved", now)); err != nil {
				return err
			}
			return t.Store.SetTicket(ctx, userID, &tk)
		}
		return fmt.Errorf("%w: the ticket stage does not handle %q decisions", model.ErrInvalidInput, dm.Decision.Kind)
	})
}

// policyTicket opens the one tenant-side ticket about a change of the
// tenant's own policy: the change and how many users it dropped, by
// violation. Its delivery claim makes it once, however often the decision
// comes; it is never resolved by credres (the users' own episodes are).
func (t *TicketStage) policyTicket(ctx context.Context, dm model.DecisionMessage) error {
	st := *dm.PolicyChange
	if t.PolicyChanges != nil {
		cur, err := t.PolicyChanges.LoadPolicyChange(ctx, st.Change.AuditID)
		if err != nil {
			return err
		}
		st = cur
	}
	now := t.Now()
	userID := dm.Decision.UserID
	tk := &model.Ticket{ID: model.TicketID(userID, dm.Time), Status: model.TicketOpen, Opened: now, Updated: now, Reason: "policy-change"}
	rec := ticketRecord(dm, tk, "opened", now)
	rec.UserPrincipalName = ""
	c := st.Change
	by := c.InitiatedBy.AppDisplayName
	if c.InitiatedBy.UserPrincipalName != "" {
		by = mask.Email(c.InitiatedBy.UserPrincipalName)
	}
	violations := st.Violations
	if violations == nil {
		violations = map[model.Violation]int{}
	}
	rec.PolicyChange = &model.PolicyChangeTicket{
		AuditID: c.AuditID, Activity: c.Activity, Kind: c.Kind, PolicyID: c.PolicyID, PolicyName: c.PolicyName,
		Time: c.Time, By: by, Evaluated: st.Users, Dropped: st.Dropped, Held: st.Held,
		Violations: violations, GraceUntil: st.GraceUntil,
	}
	dm.PolicyChange = &st
	if err := t.send(ctx, dm, rec); err != nil {
		return err
	}
	return t.Store.SetTicket(ctx, userID, tk)
}

// send renders and delivers one ticket event (or records it in a dry run).
func (t *TicketStage) send(ctx context.Context, dm model.DecisionMessage, rec model.TicketRecord) error {
	if t.Render != nil {
		r, err := t.Render.RenderTicket(dm, rec)
		if err != nil {
			return fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
		}
		rec.Title, rec.Description = r.Title, r.Description
	}
	if t.DryRun != nil {
		rec.DryRun = true
		if err := t.DryRun.RecordDryRun(ctx, "ticket", rec); err != nil {
			return fmt.Errorf("record dry-run ticket %s: %w", rec.Action, err)
		}
		return nil
	}
	if err := t.Sender.SendTicket(ctx, dm, rec); err != nil {
		return fmt.Errorf("send ticket %s: %w", rec.Action, err)
	}
	return nil
}

// superseded says why dm is no longer the user's latest decision, or "" when
// it is. Decisions can be delivered late: redriven from a dead-letter queue
// days on, or retried behind a failure. Evaluate publishes a decision before
// it stores the assessment it came from, so a stored assessment that is not
// newer than the decision (or none) says nothing against it; a newer one
// supersedes it when it says the opposite about compliance: no nudge or
// ticket for a user within policy by now, no resolve for a user below
// policy again. A nudge is superseded, too, once the user has been nudged
// after it was decided.
func superseded(dm model.DecisionMessage, state model.UserState) string {
	newer := state.Assessment != nil && state.ObservedAt.After(dm.Time)
	switch dm.Decision.Kind {
	case model.DecisionNudge, model.DecisionTicket:
		if newer && state.Assessment.Compliant {
			return "the user is within policy since " + state.ObservedAt.UTC().Format(time.RFC3339)
		}
		if dm.Decision.Kind == model.DecisionNudge && state.History.LastNudge().After(dm.Time) {
			return "the user was nudged after it, at " + state.History.LastNudge().UTC().Format(time.RFC3339)
		}
	case model.DecisionResolve:
		if newer && !state.Assessment.Compliant {
			return "the user is below policy again since " + state.ObservedAt.UTC().Format(time.RFC3339)
		}
	}
	return ""
}

func reasonOf(d model.Decision) string {
	switch {
	case d.AdminOnly:
		return "tenant-side"
	case d.Escalated:
		return "escalated"
	}
	return "policy"
}

func ticketRecord(dm model.DecisionMessage, tk *model.Ticket, action string, now time.Time) model.TicketRecord {
	a := dm.Assessment
	rec := model.TicketRecord{
		DecisionID: dm.ID, TicketID: tk.ID, Status: tk.Status, Action: action,
		// Ticket systems are no place for addresses: the user is named by
		// object id, the user principal name only masked.
		UserID: dm.Decision.UserID, UserPrincipalName: mask.Email(dm.User.UserPrincipalName),
		Decision: string(dm.Decision.Kind), Tier: a.Tier, Diversity: a.Diversity,
		Violations: dm.Decision.Violations, TenantSide: a.TenantSide, Reasons: explain.ReasonsIn(dm.Decision.Reasons, &dm.Assessment),
		Methods: explain.MethodNotes(dm.User.Methods), Escalated: dm.Decision.Escalated, AdminOnly: dm.Decision.AdminOnly,
		Time: now,
	}
	for _, r := range a.Recommendations {
		rec.Recommendations = append(rec.Recommendations, explain.Recommendation(r))
	}
	return rec
}

// deliverAll decodes, claims, delivers and completes each message; a failed
// message is returned for redelivery and the others proceed. Once a message
// of a user (a FIFO message group) failed, the user's later messages in the
// batch are returned undelivered, so that they are delivered after it, in
// order: a resolve must never overtake the ticket it resolves.
//
// A message that can never be delivered (malformed, or a delivery failing
// with model.ErrInvalidInput) goes to dead at once and holds nothing back;
// a throttled delivery is retried after ThrottledRetry.
func deliverAll(ctx context.Context, msgs []Message, store DeliveryStore, dead DeadLetters, stage string, deliver func(context.Context, model.DecisionMessage) error) []Failure {
	log := zerolog.Ctx(ctx)
	var failures []Failure
	groups := fifoGroups{}
	for _, m := range msgs {
		var dm model.DecisionMessage
		if err := model.DecodeDecisionMessage(m.Body, &dm); err != nil || dm.ID == "" || dm.Decision.UserID == "" {
			reason := fmt.Sprintf("malformed decision message: %v", orMissing(err))
			log.Error().Str("messageId", m.ID).Str("reason", reason).Msg("message rejected")
			if deadLetterNow(ctx, dead, m, reason) {
				continue
			}
			failures = append(failures, Failure{MessageID: m.ID, Reason: reason})
			groups.fail(m.GroupID)
			continue
		}
		group := m.GroupID
		if group == "" {
			group = dm.Decision.UserID
		}
		if groups.held(group) {
			failures = append(failures, Failure{MessageID: m.ID, Reason: heldBackReason})
			continue
		}
		fail := func(reason string, err error) {
			failures = append(failures, failure(m.ID, reason, err))
			groups.fail(group)
		}
		ulog := log.With().Str("userId", dm.Decision.UserID).Str("decisionId", dm.ID).Str("decision", string(dm.Decision.Kind)).Logger()
		key := stage + "/" + dm.ID
		claim, err := store.Claim(ctx, key, DefaultClaimLease)
		if err != nil {
			ulog.Error().Err(err).Msg("claim failed; retried")
			fail(err.Error(), err)
			continue
		}
		switch claim {
		case model.AlreadyDone:
			ulog.Info().Msg("already delivered; duplicate ignored")
			continue
		case model.InProgress:
			fail("another delivery of this decision is in progress", nil)
			continue
		}
		if err := deliver(ctx, dm); err != nil {
			reason := fmt.Sprintf("%s %s: %v", stage, dm.ID, err)
			if errors.Is(err, model.ErrInvalidInput) && deadLetterNow(ctx, dead, m, reason) {
				// Its lease runs out on its own, so that the decision can
				// be delivered once an operator redrives it.
				continue
			}
			ulog.Error().Err(err).Msg("delivery failed; retried")
			fail(reason, err)
			continue
		}
		if err := store.Complete(ctx, key, DefaultRetention); err != nil {
			// Delivered but not marked: not retried, since a retry after the
			// lease would deliver twice. The claim expires on its own.
			ulog.Error().Err(err).Msg("delivered, but the delivery could not be marked done")
			continue
		}
		ulog.Info().Msg("delivered")
	}
	return failures
}

func orMissing(err error) string {
	if err != nil {
		return err.Error()
	}
	return "no id or user id"
}
