package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/pkg/model"
)

// Method usage (docs/STATE.md, Usage item) lives in an item of its own in
// the state table, pk "usage/<user id>", apart from the user's assessment:
// DynamoDB charges a write by the size of the whole item, and usage is
// written far more often than assessments are.
const usagePrefix = "usage/"

// Attribute names of one method's usage: "used/<kind>/<instance>" and
// "failed/<kind>/<instance>", Unix nanoseconds of the UTC day.
const (
	usedPrefix   = "used/"
	failedPrefix = "failed/"
)

// usageAttempts bounds RecordUsage's retries of one method when another
// writer moved the same method in between.
const usageAttempts = 3

// mergeUsage folds the updates into one per method, each day the latest.
func mergeUsage(op, userID string, updates []model.MethodUsage) ([]model.MethodUsage, error) {
	if userID == "" {
		return nil, invalid(op, userID, "empty user id")
	}
	byKey := map[string]int{}
	var out []model.MethodUsage
	for _, u := range updates {
		if u.Kind == "" {
			return nil, invalid(op, userID, "usage without a method kind")
		}
		if strings.ContainsRune(string(u.Kind), '/') {
			return nil, invalid(op, userID, fmt.Sprintf("method kind %q contains a slash", u.Kind))
		}
		for _, t := range []time.Time{u.LastUsed, u.LastFailed} {
			if !t.IsZero() && (t.Before(minNanoTime) || t.After(maxNanoTime)) {
				return nil, invalid(op, userID, "a usage time outside what Unix nanoseconds hold")
			}
		}
		i, ok := byKey[u.Key()]
		if !ok {
			byKey[u.Key()] = len(out)
			out = append(out, model.MethodUsage{Kind: u.Kind, Instance: u.Instance})
			i = len(out) - 1
		}
		out[i], _ = out[i].Advance(u)
	}
	return out, nil
}

// RecordUsage moves each method's lastUsed and lastFailed forward to the
// days in updates, and returns what changed (before and after) for the
// methods it wrote. Each method is one conditional UpdateItem on the
// stored day:
//
//	SET #u = :u  IF attribute_not_exists(#u) OR #u < :u      (and #f alike)
//
// so a day is written at most once per method however many invocations
// see it, and an older day never replaces a newer one. When the condition
// fails because another writer moved the method, the old item returned
// with the failure says what is still newer, and only that is written
// again; a method with nothing newer is left alone and is not a change.
func (s *DynamoDB) RecordUsage(ctx context.Context, userID string, updates []model.MethodUsage) ([]model.UsageChange, error) {
	const op = "record usage"
	want, err := mergeUsage(op, userID, updates)
	if err != nil {
		return nil, err
	}
	var changes []model.UsageChange
	for _, w := range want {
		c, ok, err := s.recordMethod(ctx, userID, w)
		if err != nil {
			return changes, fail(op, userID+" "+w.Key(), err)
		}
		if ok {
			changes = append(changes, c)
		}
	}
	return changes, nil
}

func (s *DynamoDB) recordMethod(ctx context.Context, userID string, w model.MethodUsage) (model.UsageChange, bool, error) {
	for range usageAttempts {
		var sets, conds []string
		names := map[string]string{}
		values := map[string]types.AttributeValue{}
		for _, f := range []struct {
			ph, attr string
			day      time.Time
		}{{"u", usedPrefix + w.Key(), w.LastUsed}, {"f", failedPrefix + w.Key(), w.LastFailed}} {
			if f.day.IsZero() {
				continue
			}
			av, err := nanoValue(model.Day(f.day))
			if err != nil {
				return model.UsageChange{}, false, err
			}
			names["#"+f.ph] = f.attr
			values[":"+f.ph] = av
			sets = append(sets, fmt.Sprintf("#%s = :%s", f.ph, f.ph))
			conds = append(conds, fmt.Sprintf("(attribute_not_exists(#%s) OR #%s < :%s)", f.ph, f.ph, f.ph))
		}
		if len(sets) == 0 {
			return model.UsageChange{}, false, nil
		}
		out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                           aws.String(s.stateTable),
			Key:                                 key(usagePrefix + userID),
			UpdateExpression:                    aws.String("SET " + strings.Join(sets, ", ")),
			ConditionExpression:                 aws.String(strings.Join(conds, " AND ")),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValues:                        types.ReturnValueAllOld,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var ccf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			before, err := storedUsage(out.Attributes, w)
			if err != nil {
				return model.UsageChange{}, false, err
			}
			after, _ := before.Advance(w)
			return model.UsageChange{Before: before, After: after}, true, nil
		case errors.As(err, &ccf):
			// Another writer moved the method (the same day seen by another
			// invocation, or a later one): write only what is still newer.
			stored, derr := storedUsage(ccf.Item, w)
			if derr != nil {
				return model.UsageChange{}, false, derr
			}
			next, changed := stored.Advance(w)
			if !changed {
				return model.UsageChange{}, false, nil
			}
			w = model.MethodUsage{Kind: w.Kind, Instance: w.Instance}
			if !next.LastUsed.Equal(stored.LastUsed) {
				w.LastUsed = next.LastUsed
			}
			if !next.LastFailed.Equal(stored.LastFailed) {
				w.LastFailed = next.LastFailed
			}
		default:
			return model.UsageChange{}, false, err
		}
	}
	return model.UsageChange{}, false, fmt.Errorf("%w: the usage changed under %d attempts", model.ErrConflict, usageAttempts)
}

// storedUsage reads one method's usage out of an item (nil: none).
func storedUsage(item map[string]types.AttributeValue, w model.MethodUsage) (model.MethodUsage, error) {
	u := model.MethodUsage{Kind: w.Kind, Instance: w.Instance}
	for attr, dst := range map[string]*time.Time{usedPrefix + w.Key(): &u.LastUsed, failedPrefix + w.Key(): &u.LastFailed} {
		if av, ok := item[attr]; ok {
			t, err := nanoTime(av)
			if err != nil {
				return u, fmt.Errorf("attribute %q: %w", attr, err)
			}
			*dst = t
		}
	}
	return u, nil
}

// LoadUsage returns what the store knows of the user's method usage,
// read consistently, ordered by kind and instance.
func (s *DynamoDB) LoadUsage(ctx context.Context, userID string) ([]model.MethodUsage, error) {
	const op = "load usage"
	if userID == "" {
		return nil, invalid(op, userID, "empty user id")
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.stateTable),
		Key:            key(usagePrefix + userID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fail(op, userID, err)
	}
	us, err := decodeUsage(out.Item)
	if err != nil {
		return nil, fail(op, userID, err)
	}
	return us, nil
}

// decodeUsage reads the usage attributes of an item; other attributes
// (pk) are ignored.
func decodeUsage(item map[string]types.AttributeValue) ([]model.MethodUsage, error) {
	byKey := map[string]*model.MethodUsage{}
	for name, av := range item {
		var rest string
		var used bool
		switch {
		case strings.HasPrefix(name, usedPrefix):
			rest, used = name[len(usedPrefix):], true
		case strings.HasPrefix(name, failedPrefix):
			rest = name[len(failedPrefix):]
		default:
			continue
		}
		kind, instance, ok := strings.Cut(rest, "/")
		if !ok || kind == "" {
			return nil, fmt.Errorf("attribute %q: no method kind", name)
		}
		t, err := nanoTime(av)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		u := byKey[rest]
		if u == nil {
			u = &model.MethodUsage{Kind: model.MethodKind(kind), Instance: instance}
			byKey[rest] = u
		}
		if used {
			u.LastUsed = t
		} else {
			u.LastFailed = t
		}
	}
	out := make([]model.MethodUsage, 0, len(byKey))
	for _, u := range byKey {
		out = append(out, *u)
	}
	sortUsage(out)
	return out, nil
}

func sortUsage(us []model.MethodUsage) {
	slices.SortFunc(us, func(a, b model.MethodUsage) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Instance, b.Instance))
	})
}

// usageFile is one user's usage in the file store.
type usageFile struct {
	UserID string              `json:"userId"`
	Usage  []model.MethodUsage `json:"usage"`
}

func (s *FileStore) usagePath(id string) string { return filepath.Join(s.dir, "usage", fileName(id)) }

// RecordUsage moves each method's lastUsed and lastFailed forward to the
// days in updates, as the DynamoDB store does, and returns what changed.
func (s *FileStore) RecordUsage(_ context.Context, userID string, updates []model.MethodUsage) ([]model.UsageChange, error) {
	const op = "record usage"
	want, err := mergeUsage(op, userID, updates)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var f usageFile
	if _, err := s.readJSON(s.usagePath(userID), &f); err != nil {
		return nil, fmt.Errorf("store: %s %s: %w", op, userID, err)
	}
	f.UserID = userID
	var changes []model.UsageChange
	for _, w := range want {
		i := slices.IndexFunc(f.Usage, func(u model.MethodUsage) bool { return u.Key() == w.Key() })
		if i < 0 {
			f.Usage = append(f.Usage, model.MethodUsage{Kind: w.Kind, Instance: w.Instance})
			i = len(f.Usage) - 1
		}
		before := f.Usage[i]
		after, changed := before.Advance(w)
		if !changed {
			if before.LastUsed.IsZero() && before.LastFailed.IsZero() {
				f.Usage = f.Usage[:i]
			}
			continue
		}
		f.Usage[i] = after
		changes = append(changes, model.UsageChange{Before: before, After: after})
	}
	if len(changes) == 0 {
		return nil, nil
	}
	sortUsage(f.Usage)
	if err := os.MkdirAll(filepath.Dir(s.usagePath(userID)), 0o755); err != nil {
		return nil, fmt.Errorf("store: %s %s: %w", op, userID, err)
	}
	if err := s.writeJSON(s.usagePath(userID), f); err != nil {
		return nil, fmt.Errorf("store: %s %s: %w", op, userID, err)
	}
	return changes, nil
}

// LoadUsage returns what the store knows of the user's method usage.
func (s *FileStore) LoadUsage(_ context.Context, userID string) ([]model.MethodUsage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var f usageFile
	if _, err := s.readJSON(s.usagePath(userID), &f); err != nil {
		return nil, fmt.Errorf("store: load usage %s: %w", userID, err)
	}
	return f.Usage, nil
}
