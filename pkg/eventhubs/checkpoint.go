package eventhubs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/pkg/model"
)

// CheckpointStore keeps the receivers' checkpoints and partition claims. It
// is azeventhubs's own interface, so DynamoDBCheckpointStore also serves the
// SDK's Processor, and the SDK's stores serve the receivers.
type CheckpointStore = azeventhubs.CheckpointStore

// Item layout of DynamoDBCheckpointStore.
const (
	attrPK           = "pk"
	attrSK           = "sk"
	attrOffset       = "offset"
	attrSequence     = "sequenceNumber"
	attrOwner        = "ownerId"
	attrLastModified = "lastModified"
	attrETag         = "etag"

	prefixCheckpoint = "checkpoint/"
	prefixOwnership  = "ownership/"
)

// DynamoDBCheckpointStore is a CheckpointStore on a DynamoDB table whose
// key is the string pair pk (partition key) and sk (sort key):
//
//	pk = <namespace>/<hub>/<consumer group>
//	sk = checkpoint/<partition>   offset (S), sequenceNumber (N)
//	sk = ownership/<partition>    ownerId (S, absent when released),
//	                              lastModified (S, RFC 3339), etag (S)
//
// Claims are compare-and-swap on etag through conditional writes; reads are
// strongly consistent. Checkpoints are written without a condition: the
// claim on the partition is what keeps two writers apart, as with the SDK's
// blob store.
type DynamoDBCheckpointStore struct {
	client *dynamodb.Client
	table  string
	now    func() time.Time
}

// NewDynamoDBCheckpointStore returns a store on table (which must exist,
// with the key above) through client.
func NewDynamoDBCheckpointStore(client *dynamodb.Client, table string) *DynamoDBCheckpointStore {
	return &DynamoDBCheckpointStore{client: client, table: table, now: time.Now}
}

var _ CheckpointStore = (*DynamoDBCheckpointStore)(nil)

func partitionKey(namespace, hub, group string) (string, error) {
	if namespace == "" || hub == "" || group == "" {
		return "", fmt.Errorf("%w: namespace, event hub and consumer group are all required", model.ErrInvalidInput)
	}
	return namespace + "/" + hub + "/" + group, nil
}

// ClaimOwnership claims each ownership whose ETag still matches the stored
// one (or, with a nil ETag, that nobody has claimed yet) and returns the
// claimed ones with their new ETag and LastModifiedTime. A claim lost to a
// concurrent writer is left out of the result, not an error, as the
// interface's other implementations do.
//
// When a write fails, the claims already made by the call are given back
// before the error returns: the caller never learns of them, and they would
// keep their partitions from every run until they expire.
func (s *DynamoDBCheckpointStore) ClaimOwnership(ctx context.Context, ownerships []azeventhubs.Ownership, _ *azeventhubs.ClaimOwnershipOptions) ([]azeventhubs.Ownership, error) {
	claimed, err := s.claim(ctx, ownerships)
	if err == nil {
		return claimed, nil
	}
	if len(claimed) > 0 {
		give := make([]azeventhubs.Ownership, len(claimed))
		for i, o := range claimed {
			o.OwnerID = ""
			give[i] = o
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		if _, rerr := s.claim(rctx, give); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return nil, err
}

// claim makes the claims in order; on an error it returns those made so far
// with it.
func (s *DynamoDBCheckpointStore) claim(ctx context.Context, ownerships []azeventhubs.Ownership) ([]azeventhubs.Ownership, error) {
	var claimed []azeventhubs.Ownership
	for _, o := range ownerships {
		pk, err := partitionKey(o.FullyQualifiedNamespace, o.EventHubName, o.ConsumerGroup)
		if err != nil || o.PartitionID == "" {
			return claimed, fmt.Errorf("eventhubs: claim ownership of partition %q: %w: incomplete ownership", o.PartitionID, model.ErrInvalidInput)
		}
		etag, err := newETag()
		if err != nil {
			return claimed, fmt.Errorf("eventhubs: claim ownership of partition %s: %w", o.PartitionID, err)
		}
		now := s.now().UTC()
		item := map[string]types.AttributeValue{
			attrPK:           &types.AttributeValueMemberS{Value: pk},
			attrSK:           &types.AttributeValueMemberS{Value: prefixOwnership + o.PartitionID},
			attrLastModified: &types.AttributeValueMemberS{Value: now.Format(time.RFC3339Nano)},
			attrETag:         &types.AttributeValueMemberS{Value: etag},
		}
		if o.OwnerID != "" {
			item[attrOwner] = &types.AttributeValueMemberS{Value: o.OwnerID}
		}
		in := &dynamodb.PutItemInput{
			TableName:           aws.String(s.table),
			Item:                item,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}
		if o.ETag != nil {
			in.ConditionExpression = aws.String("attribute_not_exists(pk) OR etag = :old")
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":old": &types.AttributeValueMemberS{Value: string(*o.ETag)}}
		}
		if _, err := s.client.PutItem(ctx, in); err != nil {
			var ccf *types.ConditionalCheckFailedException
			if errors.As(err, &ccf) {
				continue // another run claimed it first
			}
			return claimed, fmt.Errorf("eventhubs: claim ownership of partition %s: %w", o.PartitionID, err)
		}
		got := o
		tag := azcore.ETag(etag)
		got.ETag = &tag
		got.LastModifiedTime = now
		claimed = append(claimed, got)
	}
	return claimed, nil
}

// ListCheckpoints lists the checkpoints of a consumer group.
func (s *DynamoDBCheckpointStore) ListCheckpoints(ctx context.Context, namespace, hub, group string, _ *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	return listItems(ctx, s, namespace, hub, group, prefixCheckpoint, "checkpoints", func(partition string, it map[string]types.AttributeValue) (azeventhubs.Checkpoint, error) {
		cp := azeventhubs.Checkpoint{
			FullyQualifiedNamespace: namespace, EventHubName: hub, ConsumerGroup: group, PartitionID: partition,
		}
		if v, ok := it[attrOffset].(*types.AttributeValueMemberS); ok {
			off := v.Value
			cp.Offset = &off
		}
		if v, ok := it[attrSequence].(*types.AttributeValueMemberN); ok {
			n, err := strconv.ParseInt(v.Value, 10, 64)
			if err != nil {
				return cp, fmt.Errorf("sequence number %q: %w", v.Value, err)
			}
			cp.SequenceNumber = &n
		}
		return cp, nil
	})
}

// ListOwnership lists the partition claims of a consumer group, released
// ones with an empty OwnerID.
func (s *DynamoDBCheckpointStore) ListOwnership(ctx context.Context, namespace, hub, group string, _ *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	return listItems(ctx, s, namespace, hub, group, prefixOwnership, "ownership", func(partition string, it map[string]types.AttributeValue) (azeventhubs.Ownership, error) {
		o := azeventhubs.Ownership{
			FullyQualifiedNamespace: namespace, EventHubName: hub, ConsumerGroup: group, PartitionID: partition,
			OwnerID: stringAttr(it, attrOwner),
		}
		if v := stringAttr(it, attrLastModified); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return o, fmt.Errorf("last modified %q: %w", v, err)
			}
			o.LastModifiedTime = t
		}
		if v := stringAttr(it, attrETag); v != "" {
			tag := azcore.ETag(v)
			o.ETag = &tag
		}
		return o, nil
	})
}

// listItems reads the consumer group's items whose sort key begins with
// prefix and decodes each, given its partition id; what names the items
// in errors.
func listItems[T any](ctx context.Context, s *DynamoDBCheckpointStore, namespace, hub, group, prefix, what string,
	decode func(partition string, item map[string]types.AttributeValue) (T, error)) ([]T, error) {
	items, err := s.query(ctx, namespace, hub, group, prefix)
	if err != nil {
		return nil, fmt.Errorf("eventhubs: list %s of %s/%s/%s: %w", what, namespace, hub, group, err)
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		partition := strings.TrimPrefix(stringAttr(it, attrSK), prefix)
		v, err := decode(partition, it)
		if err != nil {
			return nil, fmt.Errorf("eventhubs: list %s of %s/%s/%s: partition %s: %w", what, namespace, hub, group, partition, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// SetCheckpoint stores a partition's checkpoint, replacing the previous one.
func (s *DynamoDBCheckpointStore) SetCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint, _ *azeventhubs.SetCheckpointOptions) error {
	pk, err := partitionKey(cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup)
	if err != nil || cp.PartitionID == "" {
		return fmt.Errorf("eventhubs: set checkpoint of partition %q: %w: incomplete checkpoint", cp.PartitionID, model.ErrInvalidInput)
	}
	if cp.Offset == nil && cp.SequenceNumber == nil {
		return fmt.Errorf("eventhubs: set checkpoint of partition %s: %w: neither offset nor sequence number", cp.PartitionID, model.ErrInvalidInput)
	}
	item := map[string]types.AttributeValue{
		attrPK:           &types.AttributeValueMemberS{Value: pk},
		attrSK:           &types.AttributeValueMemberS{Value: prefixCheckpoint + cp.PartitionID},
		attrLastModified: &types.AttributeValueMemberS{Value: s.now().UTC().Format(time.RFC3339Nano)},
	}
	if cp.Offset != nil {
		item[attrOffset] = &types.AttributeValueMemberS{Value: *cp.Offset}
	}
	if cp.SequenceNumber != nil {
		item[attrSequence] = &types.AttributeValueMemberN{Value: strconv.FormatInt(*cp.SequenceNumber, 10)}
	}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("eventhubs: set checkpoint of partition %s: %w", cp.PartitionID, err)
	}
	return nil
}

// query reads every item of the group whose sort key starts with prefix.
func (s *DynamoDBCheckpointStore) query(ctx context.Context, namespace, hub, group, prefix string) ([]map[string]types.AttributeValue, error) {
	pk, err := partitionKey(namespace, hub, group)
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: pk},
			":prefix": &types.AttributeValueMemberS{Value: prefix},
		},
		ConsistentRead: aws.Bool(true),
	}
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
	}
	return items, nil
}

func stringAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func newETag() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random etag: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
