package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

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
