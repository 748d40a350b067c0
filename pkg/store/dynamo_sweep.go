package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/pkg/model"
)

// A resumable sweep keeps one item in the state table, under a key no Entra
// object id can be (it begins with '#'):
//
//	#sweep  owner and leaseUntil: the invocation holding the sweep and until
//	        when (Unix nanoseconds); cursor: the unfinished sweep's cursor,
//	        JSON compressed with gzip (binary), absent when none is
//	        unfinished
//
// The cursor (the sweep's, opaque here) holds at most one report
// page's rows still to evaluate, which gzip keeps well under DynamoDB's
// 400 KB item limit.
const (
	sweepKey        = "#sweep"
	attrOwner       = "owner"
	attrLeaseUntil  = "leaseUntil"
	attrSweepCursor = "cursor"
)

// maxCursorBytes is the largest compressed cursor stored: DynamoDB's item
// limit with room for the other attributes.
const maxCursorBytes = 380 << 10

// AcquireSweep takes the sweep's lease for owner until now+lease, unless
// another owner's lease has not expired by now, and returns the cursor of
// an unfinished sweep. The lease is one conditional update.
func (s *DynamoDB) AcquireSweep(ctx context.Context, owner string, now time.Time, lease time.Duration) ([]byte, bool, error) {
	const op = "take the sweep lease as"
	nowV, err := nanoValue(now)
	if err != nil {
		return nil, false, fail(op, owner, err)
	}
	until, err := nanoValue(now.Add(lease))
	if err != nil {
		return nil, false, fail(op, owner, err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.stateTable),
		Key:                       key(sweepKey),
		UpdateExpression:          aws.String("SET #owner = :owner, #until = :until"),
		ConditionExpression:       aws.String("attribute_not_exists(#until) OR #until <= :now OR #owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": attrOwner, "#until": attrLeaseUntil},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": &types.AttributeValueMemberS{Value: owner}, ":until": until, ":now": nowV},
		ReturnValues:              types.ReturnValueAllNew,
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fail(op, owner, err)
	}
	av, ok := out.Attributes[attrSweepCursor].(*types.AttributeValueMemberB)
	if !ok {
		return nil, true, nil
	}
	cur, err := decodeCursor(av.Value)
	if err != nil {
		return nil, false, fail("read the sweep cursor of", owner, err)
	}
	return cur, true, nil
}

// SaveSweep keeps cur and extends owner's lease to now+lease, if owner
// still holds the lease.
func (s *DynamoDB) SaveSweep(ctx context.Context, owner string, cursor []byte, now time.Time, lease time.Duration) error {
	const op = "keep the sweep cursor of"
	data, err := encodeCursor(cursor)
	if err != nil {
		return fail(op, owner, err)
	}
	until, err := nanoValue(now.Add(lease))
	if err != nil {
		return fail(op, owner, err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.stateTable),
		Key:                       key(sweepKey),
		UpdateExpression:          aws.String("SET #cursor = :cursor, #until = :until"),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": attrOwner, "#until": attrLeaseUntil, "#cursor": attrSweepCursor},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": &types.AttributeValueMemberS{Value: owner}, ":until": until, ":cursor": &types.AttributeValueMemberB{Value: data}},
	})
	return s.leaseResult(op, owner, err)
}

// ReleaseSweep gives owner's lease up and, when done, removes the cursor.
func (s *DynamoDB) ReleaseSweep(ctx context.Context, owner string, done bool) error {
	const op = "release the sweep lease of"
	expr := "REMOVE #owner, #until"
	names := map[string]string{"#owner": attrOwner, "#until": attrLeaseUntil}
	if done {
		expr += ", #cursor"
		names["#cursor"] = attrSweepCursor
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.stateTable),
		Key:                       key(sweepKey),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": &types.AttributeValueMemberS{Value: owner}},
	})
	return s.leaseResult(op, owner, err)
}

// leaseResult names a lost lease (another invocation took it over after it
// expired) as a conflict.
func (s *DynamoDB) leaseResult(op, owner string, err error) error {
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return fmt.Errorf("store: %s %s: %w: the lease expired and another run holds it", op, owner, model.ErrConflict)
	}
	if err != nil {
		return fail(op, owner, err)
	}
	return nil
}

func encodeCursor(cursor []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(cursor); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > maxCursorBytes {
		return nil, fmt.Errorf("%w: the sweep cursor takes %d bytes compressed, more than %d", model.ErrInvalidInput, buf.Len(), maxCursorBytes)
	}
	return buf.Bytes(), nil
}

func decodeCursor(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, 64<<20))
}
