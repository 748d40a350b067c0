package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// DynamoDB keeps state in two Amazon DynamoDB tables (docs/STATE.md):
//
//	state table   one item per user, pk = user id: the assessment and its
//	              version (observedAt), the nudge history, ticket and snooze
//	claims table  one item per delivery claim, pk = claim key, expired by
//	              DynamoDB's time to live on the ttl attribute
//
// Every write is a single conditional or attribute-scoped request, so that
// any number of Lambda invocations can share the tables: SaveAssessment sets
// only the assessment and its version, and never touches what the delivery
// stages keep in the same item.
type DynamoDB struct {
	client      *dynamodb.Client
	stateTable  string
	claimsTable string
	now         func() time.Time
	// wall is the real clock, which DynamoDB's time to live runs by.
	wall func() time.Time
}

// NewDynamoDB returns a store over the two tables. now is the clock that
// claims expire by.
func NewDynamoDB(client *dynamodb.Client, stateTable, claimsTable string, now func() time.Time) *DynamoDB {
	return &DynamoDB{client: client, stateTable: stateTable, claimsTable: claimsTable, now: now, wall: time.Now}
}

// Attribute names. Expressions always refer to them through placeholders
// (#pk, …): TTL is a DynamoDB reserved word, and placeholders keep every
// expression safe whatever the name.
const (
	attrPK         = "pk"
	attrObservedAt = "observedAt"
	attrAssessment = "assessment"
	attrSince      = "since"
	attrNudges     = "nudges"
	attrTicket     = "ticket"
	attrSnoozed    = "snoozedUntil"
	attrDone       = "done"
	attrExpiresAt  = "expiresAt"
	attrTTL        = "ttl"

	ticketID       = "ticketId"
	ticketStatus   = "status"
	ticketOpened   = "opened"
	ticketUpdated  = "updated"
	ticketReason   = "reason"
	ticketExternal = "external"
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

// throttleCodes are the error codes DynamoDB answers when a request exceeds
// the table's or the account's throughput.
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
}

// fail wraps err once with the operation and the identifying value, and
// classifies throttling as model.ErrThrottled.
func fail(op, id string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && throttleCodes[apiErr.ErrorCode()] {
		return fmt.Errorf("store: %s %s: %w: %w", op, id, model.ErrThrottled, err)
	}
	return fmt.Errorf("store: %s %s: %w", op, id, err)
}

func invalid(op, id, why string) error {
	return fmt.Errorf("store: %s %q: %w: %s", op, id, model.ErrInvalidInput, why)
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: id}}
}

// Times are stored as Unix nanoseconds, so that comparisons in condition
// expressions are exact and numeric. Time.UnixNano is defined from 1678 to
// 2262; anything outside is refused rather than stored wrongly.
var (
	minNanoTime = time.Unix(0, -1<<63)
	maxNanoTime = time.Unix(0, 1<<63-1)
)

func nanoValue(t time.Time) (types.AttributeValue, error) {
	if t.Before(minNanoTime) || t.After(maxNanoTime) {
		return nil, fmt.Errorf("%w: time %s cannot be stored as Unix nanoseconds", model.ErrInvalidInput, t.Format(time.RFC3339))
	}
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixNano(), 10)}, nil
}

func nanoTime(av types.AttributeValue) (time.Time, error) {
	n, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, fmt.Errorf("not a number but %T", av)
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, v).UTC(), nil
}

// ttlSeconds is when DynamoDB may delete a claim that lasts d from now, in
// epoch seconds. DynamoDB deletes by the real clock, so the time to live is
// counted from it, not from the store's clock (they differ only in tests);
// it is rounded up so that the item never goes before its expiresAt.
func (s *DynamoDB) ttlSeconds(d time.Duration) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(ceilSeconds(s.wall().Add(d)), 10)}
}

func ceilSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

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

// update runs an UpdateItem on the user's item with names #<attr> for
// every attribute in names, returning what ret asks for.
func (s *DynamoDB) update(ctx context.Context, op, userID, expr string, names []string, values map[string]types.AttributeValue, ret types.ReturnValue) (*dynamodb.UpdateItemOutput, error) {
	if userID == "" {
		return nil, invalid(op, userID, "empty user id")
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.stateTable),
		Key:                       key(userID),
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  map[string]string{},
		ExpressionAttributeValues: values,
		ReturnValues:              ret,
	}
	for _, n := range names {
		in.ExpressionAttributeNames["#"+n] = n
	}
	out, err := s.client.UpdateItem(ctx, in)
	if err != nil {
		return nil, fail(op, userID, err)
	}
	return out, nil
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
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(id)
	}
	request := map[string]types.KeysAndAttributes{s.stateTable: {
		Keys:                     keys,
		ProjectionExpression:     aws.String("#pk, #obs"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#obs": attrObservedAt},
		ConsistentRead:           aws.Bool(true),
	}}
	delay := unprocessedBackoff
	for attempt := 1; ; attempt++ {
		res, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			return err
		}
		for _, item := range res.Responses[s.stateTable] {
			pk, _ := item[attrPK].(*types.AttributeValueMemberS)
			av, ok := item[attrObservedAt]
			if pk == nil || !ok {
				continue // nudged or ticketed, never assessed
			}
			t, err := nanoTime(av)
			if err != nil {
				return fmt.Errorf("user %s: attribute %s: %w", pk.Value, attrObservedAt, err)
			}
			out[pk.Value] = t
		}
		left := res.UnprocessedKeys[s.stateTable]
		if len(left.Keys) == 0 {
			return nil
		}
		if attempt == unprocessedAttempts {
			return fmt.Errorf("%w: %d keys still unprocessed after %d attempts", model.ErrThrottled, len(left.Keys), attempt)
		}
		request = res.UnprocessedKeys
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		delay = min(2*delay, unprocessedMaxDelay)
	}
}

// claimAttempts bounds Claim's retries when a claim it found expired is
// deleted by DynamoDB's time to live while Claim looks at it.
const claimAttempts = 3

// Claim takes key for lease unless it is done or held by a live claim. The
// claim is a conditional put that succeeds only if no claim exists or the
// existing one (done or not) has expired, exactly as FileStore decides:
// expired at expiresAt <= now.
func (s *DynamoDB) Claim(ctx context.Context, claimKey string, lease time.Duration) (model.ClaimResult, error) {
	const op = "claim"
	if claimKey == "" {
		return 0, invalid(op, claimKey, "empty key")
	}
	now := s.now()
	nowV, err := nanoValue(now)
	if err != nil {
		return 0, fail(op, claimKey, err)
	}
	item, err := s.claimItem(claimKey, false, now, lease)
	if err != nil {
		return 0, fail(op, claimKey, err)
	}
	for range claimAttempts {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                           aws.String(s.claimsTable),
			Item:                                item,
			ConditionExpression:                 aws.String("attribute_not_exists(#pk) OR #exp <= :now"),
			ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#exp": attrExpiresAt},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":now": nowV},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return model.Claimed, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return 0, fail(op, claimKey, err)
		}
		held := ccf.Item
		if held == nil { // a server that does not return the old item
			got, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String(s.claimsTable), Key: key(claimKey), ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				return 0, fail(op, claimKey, err)
			}
			if got.Item == nil {
				continue // deleted since the put: try again
			}
			held = got.Item
		}
		if done, _ := held[attrDone].(*types.AttributeValueMemberBOOL); done != nil && done.Value {
			return model.AlreadyDone, nil
		}
		return model.InProgress, nil
	}
	return 0, fail(op, claimKey, fmt.Errorf("%w: the claim changed under %d attempts", model.ErrConflict, claimAttempts))
}

// Complete marks key done for retention; DynamoDB deletes it afterwards.
func (s *DynamoDB) Complete(ctx context.Context, claimKey string, retention time.Duration) error {
	const op = "complete"
	if claimKey == "" {
		return invalid(op, claimKey, "empty key")
	}
	item, err := s.claimItem(claimKey, true, s.now(), retention)
	if err != nil {
		return fail(op, claimKey, err)
	}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.claimsTable), Item: item}); err != nil {
		return fail(op, claimKey, err)
	}
	return nil
}

func (s *DynamoDB) claimItem(claimKey string, done bool, now time.Time, d time.Duration) (map[string]types.AttributeValue, error) {
	exp, err := nanoValue(now.Add(d))
	if err != nil {
		return nil, err
	}
	return map[string]types.AttributeValue{
		attrPK:        &types.AttributeValueMemberS{Value: claimKey},
		attrDone:      &types.AttributeValueMemberBOOL{Value: done},
		attrExpiresAt: exp,
		attrTTL:       s.ttlSeconds(d),
	}, nil
}

// tableWait bounds how long CreateTables waits for new tables to be active
// (seconds on DynamoDB, immediate on DynamoDB Local).
const tableWait = 5 * time.Minute

// CreateTables creates both tables if they do not exist (on-demand billing,
// a string hash key pk), waits until they are active, and enables time to
// live on the claims table's ttl attribute. It is idempotent. A server
// without the time-to-live operations (dynalite answers
// UnknownOperationException) still gets its tables; claims then stay until
// deleted by hand, which changes nothing but their number, since Claim
// compares expiresAt itself. DynamoDB Local implements the operations and
// deletes expired items itself, within about ten seconds.
func (s *DynamoDB) CreateTables(ctx context.Context) error {
	for _, table := range []string{s.stateTable, s.claimsTable} {
		_, err := s.client.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(table),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash}},
		})
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fail("create table", table, err)
		}
	}
	waiter := dynamodb.NewTableExistsWaiter(s.client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, 5*time.Second
	})
	for _, table := range []string{s.stateTable, s.claimsTable} {
		if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, tableWait); err != nil {
			return fail("wait for table", table, err)
		}
	}
	return s.enableTTL(ctx)
}

func (s *DynamoDB) enableTTL(ctx context.Context) error {
	const op = "enable time to live on"
	desc, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.claimsTable)})
	if unknownOperation(err) {
		return nil
	}
	if err != nil {
		return fail(op, s.claimsTable, err)
	}
	if d := desc.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attrTTL &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = s.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(s.claimsTable),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true)},
	})
	if err != nil && !unknownOperation(err) {
		return fail(op, s.claimsTable, err)
	}
	return nil
}

// unknownOperation recognises a server that does not implement an
// operation at all, as opposed to one that refused the request.
func unknownOperation(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	code := strings.ToLower(apiErr.ErrorCode())
	msg := strings.ToLower(apiErr.ErrorMessage())
	return strings.Contains(code, "unknownoperation") || strings.Contains(code, "notimplemented") ||
		strings.Contains(msg, "unknown operation") || strings.Contains(msg, "not implemented") || strings.Contains(msg, "not supported")
}
