package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DryRunRetention is how long a dry run's records are kept.
const DryRunRetention = 30 * 24 * time.Hour

// RecordDryRun keeps a message a dry run would have sent, with its full
// content, in the claims table under "dryrun/<kind>/<time>/<random>" with a
// TTL, so that an operator can read what credres would have said before
// turning it on.
func (s *DynamoDB) RecordDryRun(ctx context.Context, kind string, record any) error {
	body, err := json.Marshal(record)
	if err != nil {
		return fmt.Errorf("store: record dry run %s: %w", kind, err)
	}
	now := s.now()
	pk := "dryrun/" + kind + "/" + now.UTC().Format(time.RFC3339Nano) + "/" + randomID()
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.claimsTable),
		Item: map[string]types.AttributeValue{
			"pk":     &types.AttributeValueMemberS{Value: pk},
			"kind":   &types.AttributeValueMemberS{Value: kind},
			"record": &types.AttributeValueMemberS{Value: string(body)},
			"ttl":    &types.AttributeValueMemberN{Value: strconv.FormatInt(s.wall().Add(DryRunRetention).Unix(), 10)},
		},
	})
	if err != nil {
		return fail("record dry run", kind, err)
	}
	return nil
}

// RecordDryRun appends a dry run's message to dry-run.jsonl in the store's
// folder.
func (s *FileStore) RecordDryRun(_ context.Context, kind string, record any) error {
	line, err := json.Marshal(map[string]any{"kind": kind, "time": s.now(), "record": record})
	if err != nil {
		return fmt.Errorf("store: record dry run %s: %w", kind, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(s.dir, "dry-run.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("store: record dry run %s: %w", kind, err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("store: record dry run %s: %w", kind, err)
	}
	return nil
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
