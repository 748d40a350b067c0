package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// tableWait bounds how long CreateTables waits for new tables to be active
// (seconds on DynamoDB, immediate on DynamoDB Local).
const tableWait = 5 * time.Minute

// CreateTables creates both tables if they do not exist (on-demand billing,
// a string hash key pk), waits until they are active, and enables time to
// live on both tables' ttl attribute (claims; the state table's kept
// registration rows). It is idempotent. A server
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
	// The claims expire, and so do the state table's kept registration rows.
	for _, table := range []string{s.stateTable, s.claimsTable} {
		if err := s.enableTTL(ctx, table); err != nil {
			return err
		}
	}
	return nil
}

// enableTTL turns on time to live, which only deletes what has expired:
// claims and kept registration rows are judged by their own expiry and
// read times, never by their deletion. A DynamoDB-compatible server
// without time to live therefore keeps expired items, with the same answers.
func (s *DynamoDB) enableTTL(ctx context.Context, table string) error {
	const op = "enable time to live on"
	desc, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if unknownOperation(err) {
		return nil
	}
	if err != nil {
		return fail(op, table, err)
	}
	if d := desc.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attrTTL &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = s.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true)},
	})
	if err != nil && !unknownOperation(err) {
		return fail(op, table, err)
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
