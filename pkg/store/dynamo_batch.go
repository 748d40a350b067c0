package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/pkg/model"
)

// batchWriteLimit is the most items one BatchWriteItem request may put.
const batchWriteLimit = 25

// batchGet reads the state-table items of keys (at most batchGetLimit,
// no duplicates) in one BatchGetItem, strongly consistent and projected,
// calls each for every item found, and retries the keys DynamoDB leaves
// unprocessed.
func (s *DynamoDB) batchGet(ctx context.Context, keys []string, projection string, names map[string]string, each func(map[string]types.AttributeValue) error) error {
	avs := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		avs[i] = key(k)
	}
	request := map[string]types.KeysAndAttributes{s.stateTable: {
		Keys: avs, ProjectionExpression: aws.String(projection), ExpressionAttributeNames: names, ConsistentRead: aws.Bool(true),
	}}
	return unprocessed(ctx, func() (int, error) {
		res, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			return 0, err
		}
		for _, item := range res.Responses[s.stateTable] {
			if err := each(item); err != nil {
				return 0, err
			}
		}
		request = res.UnprocessedKeys
		return len(res.UnprocessedKeys[s.stateTable].Keys), nil
	})
}

// batchPut puts items (at most batchWriteLimit) into the state table in
// one BatchWriteItem, and retries the items DynamoDB leaves unprocessed.
func (s *DynamoDB) batchPut(ctx context.Context, items []map[string]types.AttributeValue) error {
	reqs := make([]types.WriteRequest, len(items))
	for i, it := range items {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
	}
	request := map[string][]types.WriteRequest{s.stateTable: reqs}
	return unprocessed(ctx, func() (int, error) {
		res, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: request})
		if err != nil {
			return 0, err
		}
		request = res.UnprocessedItems
		return len(res.UnprocessedItems[s.stateTable]), nil
	})
}

// unprocessed runs a batch request until it leaves nothing unprocessed
// (send returns how much it left), waiting between tries with a doubling
// back-off; it gives up as throttled after unprocessedAttempts.
func unprocessed(ctx context.Context, send func() (left int, err error)) error {
	delay := unprocessedBackoff
	for attempt := 1; ; attempt++ {
		left, err := send()
		if err != nil || left == 0 {
			return err
		}
		if attempt == unprocessedAttempts {
			return fmt.Errorf("%w: %d keys still unprocessed after %d attempts", model.ErrThrottled, left, attempt)
		}
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
