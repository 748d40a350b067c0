package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/pkg/model"
)

// batchGetLimit is the most keys one BatchGetItem request may name.
const batchGetLimit = 100

// Retries of BatchGetItem's unprocessed keys: the SDK retries throttled
// requests, but a partly served batch succeeds and is ours to finish.
const (
	unprocessedAttempts = 8
	unprocessedBackoff  = 50 * time.Millisecond
	unprocessedMaxDelay = 2 * time.Second
)

// LoadUser returns the user's state, read consistently; a user never seen
// has the zero state.
func (s *DynamoDB) LoadUser(ctx context.Context, userID string) (model.UserState, error) {
	const op = "load user"
	if userID == "" {
		return model.UserState{}, invalid(op, userID, "empty user id")
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.stateTable),
		Key:            key(userID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return model.UserState{}, fail(op, userID, err)
	}
	st, err := decodeUser(out.Item)
	if err != nil {
		return model.UserState{}, fail(op, userID, err)
	}
	return st, nil
}

func decodeUser(item map[string]types.AttributeValue) (model.UserState, error) {
	var st model.UserState
	if av, ok := item[attrObservedAt]; ok {
		t, err := nanoTime(av)
		if err != nil {
			return st, fmt.Errorf("attribute %s: %w", attrObservedAt, err)
		}
		st.ObservedAt = t
	}
	if av, ok := item[attrSince]; ok {
		t, err := nanoTime(av)
		if err != nil {
			return st, fmt.Errorf("attribute %s: %w", attrSince, err)
		}
		st.Since = t
	}
	if av, ok := item[attrAssessment]; ok {
		sv, ok := av.(*types.AttributeValueMemberS)
		if !ok {
			return st, fmt.Errorf("attribute %s: not a string but %T", attrAssessment, av)
		}
		var a model.Assessment
		if err := json.Unmarshal([]byte(sv.Value), &a); err != nil {
			return st, fmt.Errorf("attribute %s: %w", attrAssessment, err)
		}
		st.Assessment = &a
	}
	if av, ok := item[attrNudges]; ok {
		l, ok := av.(*types.AttributeValueMemberL)
		if !ok {
			return st, fmt.Errorf("attribute %s: not a list but %T", attrNudges, av)
		}
		vals := l.Value
		// RecordNudge trims after appending; should the trim have failed,
		// the extra entries are still never seen.
		if len(vals) > maxNudgeHistory {
			vals = vals[len(vals)-maxNudgeHistory:]
		}
		for i, v := range vals {
			t, err := nanoTime(v)
			if err != nil {
				return st, fmt.Errorf("attribute %s[%d]: %w", attrNudges, i, err)
			}
			st.History.Nudges = append(st.History.Nudges, t)
		}
	}
	if av, ok := item[attrTicket]; ok {
		tk, err := decodeTicket(av)
		if err != nil {
			return st, fmt.Errorf("attribute %s: %w", attrTicket, err)
		}
		st.Ticket = tk
		st.History.TicketOpen = tk.Status == model.TicketOpen
	}
	if av, ok := item[attrSnoozed]; ok {
		t, err := nanoTime(av)
		if err != nil {
			return st, fmt.Errorf("attribute %s: %w", attrSnoozed, err)
		}
		st.History.SnoozedUntil = t
	}
	return st, nil
}

// SaveAssessment stores a and since (model.UserState.Since; a zero since
// removes the attribute) when observedAt is newer than the stored version;
// otherwise it returns an error wrapping model.ErrConflict. The condition
// tests observedAt rather than the item's existence because the delivery
// stages may have created the item (a nudge or a ticket) before any
// assessment was stored.
func (s *DynamoDB) SaveAssessment(ctx context.Context, userID string, a model.Assessment, observedAt, since time.Time) error {
	const op = "save assessment"
	if userID == "" {
		return invalid(op, userID, "empty user id")
	}
	if observedAt.IsZero() {
		return invalid(op, userID, "zero observedAt")
	}
	version, err := nanoValue(observedAt)
	if err != nil {
		return fail(op, userID, err)
	}
	data, err := json.Marshal(a)
	if err != nil {
		return fail(op, userID, err)
	}
	values := map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: string(data)}, ":new": version}
	expr := "SET #a = :a, #obs = :new REMOVE #since"
	if !since.IsZero() {
		if values[":since"], err = nanoValue(since); err != nil {
			return fail(op, userID, err)
		}
		expr = "SET #a = :a, #obs = :new, #since = :since"
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.stateTable),
		Key:                                 key(userID),
		UpdateExpression:                    aws.String(expr),
		ConditionExpression:                 aws.String("attribute_not_exists(#obs) OR #obs < :new"),
		ExpressionAttributeNames:            map[string]string{"#a": attrAssessment, "#obs": attrObservedAt, "#since": attrSince},
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		stored := "a version"
		if av, ok := ccf.Item[attrObservedAt]; ok {
			if t, terr := nanoTime(av); terr == nil {
				stored = t.Format(time.RFC3339Nano)
			}
		}
		return fmt.Errorf("store: save assessment %s: %w: stored %s is not older than %s", userID, model.ErrConflict,
			stored, observedAt.UTC().Format(time.RFC3339Nano))
	}
	if err != nil {
		return fail(op, userID, err)
	}
	return nil
}

// ObservedAt returns when each known user was last assessed. It reads in
// BatchGetItem requests of 100 keys, projected to the key and the version,
// and retries the keys DynamoDB leaves unprocessed.
func (s *DynamoDB) ObservedAt(ctx context.Context, userIDs []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(userIDs))
	seen := make(map[string]bool, len(userIDs))
	var ids []string
	for _, id := range userIDs {
		if id == "" {
			return nil, invalid("read assessment times", id, "empty user id")
		}
		if !seen[id] { // BatchGetItem refuses duplicate keys
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for start := 0; start < len(ids); start += batchGetLimit {
		chunk := ids[start:min(start+batchGetLimit, len(ids))]
		if err := s.observedChunk(ctx, chunk, out); err != nil {
			return nil, fail("read assessment times of", fmt.Sprintf("%d users", len(chunk)), err)
		}
	}
	return out, nil
}

func (s *DynamoDB) observedChunk(ctx context.Context, ids []string, out map[string]time.Time) error {
	names := map[string]string{"#pk": attrPK, "#obs": attrObservedAt}
	return s.batchGet(ctx, ids, "#pk, #obs", names, func(item map[string]types.AttributeValue) error {
		pk, _ := item[attrPK].(*types.AttributeValueMemberS)
		av, ok := item[attrObservedAt]
		if pk == nil || !ok {
			return nil // nudged or ticketed, never assessed
		}
		t, err := nanoTime(av)
		if err != nil {
			return fmt.Errorf("user %s: attribute %s: %w", pk.Value, attrObservedAt, err)
		}
		out[pk.Value] = t
		return nil
	})
}
