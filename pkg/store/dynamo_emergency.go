package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/pkg/model"
)

// The emergency access set's last assessment lives in the state table
// under a key no Entra object id can be (it begins with '#'):
//
//	#emergency-access  set: the set's assessment as JSON (opaque here);
//	                   observedAt: when it was made (Unix nanoseconds)
//
// The set's ticket is kept like a user's, in the item of the set's
// decisions' user id (emergency-access), by the ticket stage.
const (
	emergencyKey = "#emergency-access"
	attrSet      = "set"
)

// LoadEmergencySet returns the stored set and when it was made; nil data
// when none was ever stored.
func (s *DynamoDB) LoadEmergencySet(ctx context.Context) ([]byte, time.Time, error) {
	const op = "load"
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.stateTable), Key: key(emergencyKey), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, time.Time{}, fail(op, emergencyKey, err)
	}
	set, ok := out.Item[attrSet].(*types.AttributeValueMemberS)
	if !ok {
		return nil, time.Time{}, nil
	}
	at, err := nanoTime(out.Item[attrObservedAt])
	if err != nil {
		return nil, time.Time{}, fail(op, emergencyKey, fmt.Errorf("attribute %s: %w", attrObservedAt, err))
	}
	return []byte(set.Value), at, nil
}

// SaveEmergencySet stores the set made at at, in one conditional write:
// unless the stored one was made at or after at (model.ErrConflict), so
// that a late run never overwrites a newer judgement.
func (s *DynamoDB) SaveEmergencySet(ctx context.Context, data []byte, at time.Time) error {
	const op = "save"
	atV, err := nanoValue(at)
	if err != nil {
		return fail(op, emergencyKey, err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.stateTable),
		Key:                       key(emergencyKey),
		UpdateExpression:          aws.String("SET #set = :set, #at = :at"),
		ConditionExpression:       aws.String("attribute_not_exists(#at) OR #at < :at"),
		ExpressionAttributeNames:  map[string]string{"#set": attrSet, "#at": attrObservedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":set": &types.AttributeValueMemberS{Value: string(data)}, ":at": atV},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("store: save %s: %w: a set made at or after %s is stored", emergencyKey, model.ErrConflict, at.UTC().Format(time.RFC3339Nano))
	}
	if err != nil {
		return fail(op, emergencyKey, err)
	}
	return nil
}
