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
