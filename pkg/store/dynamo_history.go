package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// The delivery stages' part of a user's item: the nudge history, the
// ticket and the snooze. A ticket is a map attribute, its times Unix
// nanoseconds.

func encodeTicket(t *model.Ticket) (types.AttributeValue, error) {
	m := map[string]types.AttributeValue{
		ticketID:     &types.AttributeValueMemberS{Value: t.ID},
		ticketStatus: &types.AttributeValueMemberS{Value: t.Status},
	}
	for name, at := range map[string]time.Time{ticketOpened: t.Opened, ticketUpdated: t.Updated} {
		if at.IsZero() {
			continue
		}
		av, err := nanoValue(at)
		if err != nil {
			return nil, fmt.Errorf("ticket %s: %w", name, err)
		}
		m[name] = av
	}
	if t.Reason != "" {
		m[ticketReason] = &types.AttributeValueMemberS{Value: t.Reason}
	}
	if t.External != "" {
		m[ticketExternal] = &types.AttributeValueMemberS{Value: t.External}
	}
	return &types.AttributeValueMemberM{Value: m}, nil
}

func decodeTicket(av types.AttributeValue) (*model.Ticket, error) {
	m, ok := av.(*types.AttributeValueMemberM)
	if !ok {
		return nil, fmt.Errorf("not a map but %T", av)
	}
	var t model.Ticket
	for name, dst := range map[string]*string{
		ticketID: &t.ID, ticketStatus: &t.Status, ticketReason: &t.Reason, ticketExternal: &t.External,
	} {
		if v, ok := m.Value[name]; ok {
			sv, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return nil, fmt.Errorf("%s: not a string but %T", name, v)
			}
			*dst = sv.Value
		}
	}
	for name, dst := range map[string]*time.Time{ticketOpened: &t.Opened, ticketUpdated: &t.Updated} {
		if v, ok := m.Value[name]; ok {
			at, err := nanoTime(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			*dst = at
		}
	}
	return &t, nil
}

// RecordNudge appends a nudge to the user's history, keeping the last 20.
// The append is atomic (list_append), so concurrent nudges are never lost;
// the trim that follows removes the oldest entries only if the list has not
// changed in between, and LoadUser never shows more than 20 either way.
func (s *DynamoDB) RecordNudge(ctx context.Context, userID string, at time.Time) error {
	const op = "record nudge"
	v, err := nanoValue(at)
	if err != nil {
		return fail(op, userID, err)
	}
	out, err := s.update(ctx, op, userID, "SET #nudges = list_append(if_not_exists(#nudges, :empty), :one)",
		[]string{attrNudges}, map[string]types.AttributeValue{
			":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
			":one":   &types.AttributeValueMemberL{Value: []types.AttributeValue{v}},
		}, types.ReturnValueUpdatedNew)
	if err != nil {
		return err
	}
	l, _ := out.Attributes[attrNudges].(*types.AttributeValueMemberL)
	if l == nil || len(l.Value) <= maxNudgeHistory {
		return nil
	}
	if err := s.trimNudges(ctx, userID, len(l.Value)); err != nil {
		// The nudge is recorded: failing now would send it again.
		zerolog.Ctx(ctx).Warn().Str("userId", userID).Err(err).Msg("nudge history not trimmed; the next nudge trims it")
	}
	return nil
}

func (s *DynamoDB) trimNudges(ctx context.Context, userID string, length int) error {
	drop := make([]string, length-maxNudgeHistory)
	for i := range drop {
		drop[i] = fmt.Sprintf("#nudges[%d]", i)
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.stateTable),
		Key:                       key(userID),
		UpdateExpression:          aws.String("REMOVE " + strings.Join(drop, ", ")),
		ConditionExpression:       aws.String("size(#nudges) = :len"),
		ExpressionAttributeNames:  map[string]string{"#nudges": attrNudges},
		ExpressionAttributeValues: map[string]types.AttributeValue{":len": &types.AttributeValueMemberN{Value: strconv.Itoa(length)}},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // changed meanwhile (another nudge trims, or a clear emptied it)
	}
	return err
}

// ClearNudges ends the user's nudge episode.
func (s *DynamoDB) ClearNudges(ctx context.Context, userID string) error {
	_, err := s.update(ctx, "clear nudges", userID, "REMOVE #nudges", []string{attrNudges}, nil, types.ReturnValueNone)
	return err
}

// SetTicket stores the user's ticket (nil removes it); whether a ticket is
// open is read from its status.
func (s *DynamoDB) SetTicket(ctx context.Context, userID string, t *model.Ticket) error {
	const op = "set ticket"
	if t == nil {
		_, err := s.update(ctx, op, userID, "REMOVE #ticket", []string{attrTicket}, nil, types.ReturnValueNone)
		return err
	}
	av, err := encodeTicket(t)
	if err != nil {
		return fail(op, userID, err)
	}
	_, err = s.update(ctx, op, userID, "SET #ticket = :t", []string{attrTicket}, map[string]types.AttributeValue{":t": av}, types.ReturnValueNone)
	return err
}

// SetSnooze suppresses the user's nudges until the given time; the zero
// time removes the snooze.
func (s *DynamoDB) SetSnooze(ctx context.Context, userID string, until time.Time) error {
	const op = "set snooze"
	if until.IsZero() {
		_, err := s.update(ctx, op, userID, "REMOVE #snoozedUntil", []string{attrSnoozed}, nil, types.ReturnValueNone)
		return err
	}
	v, err := nanoValue(until)
	if err != nil {
		return fail(op, userID, err)
	}
	_, err = s.update(ctx, op, userID, "SET #snoozedUntil = :s", []string{attrSnoozed}, map[string]types.AttributeValue{":s": v}, types.ReturnValueNone)
	return err
}
