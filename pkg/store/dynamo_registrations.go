package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// The registration report's rows the sweep read live in the state table,
// one item per user, under keys no Entra object id can be:
//
//	#registration/<user id>  methods (S, the registered method kinds as a
//	                         JSON list), readAt (N, Unix nanoseconds),
//	                         shrankAt (N, Unix nanoseconds: the latest read
//	                         that found a kind gone; absent when none did),
//	                         ttl (N, epoch seconds: DynamoDB's time to live)
//
// Evaluations take a user's registered method kinds from here while the
// row is fresh (readAt within the cache's TTL) instead of reading it from
// Graph; DynamoDB deletes rows the sweep no longer refreshes (deleted
// users) an hour after they went stale. In a storm of events, shrankAt
// tells evaluate whom to read first (pipeline's triage).
const (
	registrationPrefix = "#registration/"
	attrMethods        = "methods"
	attrReadAt         = "readAt"
	attrShrankAt       = "shrankAt"
)

// KeepRegistrations keeps rows as read at at, for ttl, in BatchWriteItem
// requests of 25 items. It reads the rows kept before (100 a BatchGetItem)
// to mark the rows that lost a kind since; the mark of a row that lost
// nothing stays, so that a later read does not hide a drop nobody has
// evaluated yet.
func (s *DynamoDB) KeepRegistrations(ctx context.Context, rows []model.Registration, at time.Time, ttl time.Duration) error {
	const op = "keep registration rows of"
	readAt, err := nanoValue(at)
	if err != nil {
		return fail(op, fmt.Sprintf("%d users", len(rows)), err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.UserID
	}
	before, err := s.keptRegistrations(ctx, ids, time.Time{})
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
		if old, ok := before[r.UserID]; ok && pipeline.Shrank(old.Methods, r.MethodsRegistered) {
			item[attrShrankAt] = readAt
		} else if ok && !old.ShrankAt.IsZero() {
			// The item is already stored, so its time converts.
			item[attrShrankAt], _ = nanoValue(old.ShrankAt)
		}
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

// FreshRegistrations returns the kept rows of the users whose row was kept
// at or after since, reading 100 users a request.
func (s *DynamoDB) FreshRegistrations(ctx context.Context, userIDs []string, since time.Time) (map[string]pipeline.KeptRegistration, error) {
	out, err := s.keptRegistrations(ctx, userIDs, since)
	if err != nil {
		return nil, fail("read registration rows of", fmt.Sprintf("%d users", len(userIDs)), err)
	}
	return out, nil
}

// keptRegistrations reads the rows of userIDs kept at or after since.
func (s *DynamoDB) keptRegistrations(ctx context.Context, userIDs []string, since time.Time) (map[string]pipeline.KeptRegistration, error) {
	out := map[string]pipeline.KeptRegistration{}
	seen := map[string]bool{}
	var keys []string
	for _, id := range userIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, registrationPrefix+id)
		}
	}
	names := map[string]string{"#pk": attrPK, "#m": attrMethods, "#at": attrReadAt, "#sh": attrShrankAt}
	for start := 0; start < len(keys); start += batchGetLimit {
		chunk := keys[start:min(start+batchGetLimit, len(keys))]
		err := s.batchGet(ctx, chunk, "#pk, #m, #at, #sh", names, func(item map[string]types.AttributeValue) error {
			return freshRow(item, since, out)
		})
		if err != nil {
			return nil, fmt.Errorf("%d users: %w", len(chunk), err)
		}
	}
	return out, nil
}

// freshRow adds a kept row read at or after since to out.
func freshRow(item map[string]types.AttributeValue, since time.Time, out map[string]pipeline.KeptRegistration) error {
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
	row := pipeline.KeptRegistration{ReadAt: t}
	if sh, ok := item[attrShrankAt]; ok {
		if row.ShrankAt, err = nanoTime(sh); err != nil {
			return fmt.Errorf("%s: attribute %s: %w", pk.Value, attrShrankAt, err)
		}
	}
	if err := json.Unmarshal([]byte(m.Value), &row.Methods); err != nil {
		return fmt.Errorf("%s: attribute %s: %w", pk.Value, attrMethods, err)
	}
	if row.Methods == nil {
		row.Methods = []string{}
	}
	out[strings.TrimPrefix(pk.Value, registrationPrefix)] = row
	return nil
}
