package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/pkg/model"
)

// The registration report's rows the sweep read live in the state table,
// one item per user, under keys no Entra object id can be:
//
//	#registration/<user id>  methods (S, the registered method kinds as a
//	                         JSON list), readAt (N, Unix nanoseconds), ttl
//	                         (N, epoch seconds: DynamoDB's time to live)
//
// Evaluations take a user's registered method kinds from here while the
// row is fresh (readAt within the cache's TTL) instead of reading it from
// Graph; DynamoDB deletes rows the sweep no longer refreshes (deleted
// users) an hour after they went stale.
const (
	registrationPrefix = "#registration/"
	attrMethods        = "methods"
	attrReadAt         = "readAt"
)

// KeepRegistrations keeps rows as read at at, for ttl, in BatchWriteItem
// requests of 25 items.
func (s *DynamoDB) KeepRegistrations(ctx context.Context, rows []model.Registration, at time.Time, ttl time.Duration) error {
	const op = "keep registration rows of"
	readAt, err := nanoValue(at)
	if err != nil {
		return fail(op, fmt.Sprintf("%d users", len(rows)), err)
	}
	expires := s.ttlSeconds(ttl + time.Hour)
	items := make([]map[string]types.AttributeValue, 0, batchWriteLimit)
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		if r.UserID == "" || seen[r.UserID] { // BatchWriteItem refuses duplicate keys
			continue
		}
		seen[r.UserID] = true
		methods, err := json.Marshal(r.MethodsRegistered)
		if err != nil {
			return fail(op, r.UserID, err)
		}
		item := key(registrationPrefix + r.UserID)
		item[attrMethods] = &types.AttributeValueMemberS{Value: string(methods)}
		item[attrReadAt], item[attrTTL] = readAt, expires
		if items = append(items, item); len(items) == batchWriteLimit {
			if err := s.batchPut(ctx, items); err != nil {
				return fail(op, fmt.Sprintf("%d users", len(items)), err)
			}
			items = items[:0]
		}
	}
	if len(items) > 0 {
		if err := s.batchPut(ctx, items); err != nil {
			return fail(op, fmt.Sprintf("%d users", len(items)), err)
		}
	}
	return nil
}

// FreshRegistrations returns the registered method kinds of the users
// whose row was kept at or after since, reading 100 users a request.
func (s *DynamoDB) FreshRegistrations(ctx context.Context, userIDs []string, since time.Time) (map[string][]string, error) {
	out := map[string][]string{}
	seen := map[string]bool{}
	var keys []string
	for _, id := range userIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, registrationPrefix+id)
		}
	}
	names := map[string]string{"#pk": attrPK, "#m": attrMethods, "#at": attrReadAt}
	for start := 0; start < len(keys); start += batchGetLimit {
		chunk := keys[start:min(start+batchGetLimit, len(keys))]
		err := s.batchGet(ctx, chunk, "#pk, #m, #at", names, func(item map[string]types.AttributeValue) error {
			return freshRow(item, since, out)
		})
		if err != nil {
			return nil, fail("read registration rows of", fmt.Sprintf("%d users", len(chunk)), err)
		}
	}
	return out, nil
}

// freshRow adds a kept row read at or after since to out.
func freshRow(item map[string]types.AttributeValue, since time.Time, out map[string][]string) error {
	pk, _ := item[attrPK].(*types.AttributeValueMemberS)
	m, _ := item[attrMethods].(*types.AttributeValueMemberS)
	at, ok := item[attrReadAt]
	if pk == nil || m == nil || !ok {
		return nil
	}
	t, err := nanoTime(at)
	if err != nil || t.Before(since) {
		return err
	}
	var kinds []string
	if err := json.Unmarshal([]byte(m.Value), &kinds); err != nil {
		return fmt.Errorf("%s: attribute %s: %w", pk.Value, attrMethods, err)
	}
	if kinds == nil {
		kinds = []string{}
	}
	out[strings.TrimPrefix(pk.Value, registrationPrefix)] = kinds
	return nil
}
