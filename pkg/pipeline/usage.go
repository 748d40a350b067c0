package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
)

// UsageStore keeps, per user and method, the day each last worked and last
// failed (docs/USAGE.md). RecordUsage moves days forward only, with one
// conditional write per method, and returns what changed; a method with
// nothing newer is not written and not returned.
type UsageStore interface {
	RecordUsage(ctx context.Context, userID string, updates []model.MethodUsage) ([]model.UsageChange, error)
	UsageReader
}

// usageBatch aggregates one batch of sign-ins: per user and method (kind
// and instance), the latest day the method worked and the latest it
// failed. However many sign-ins a batch holds, each user and method is at
// most one write.
type usageBatch struct {
	users map[string]map[string]model.MethodUsage
	// tenant is the tenant of each user's sign-ins, for the requests.
	tenant map[string]string
}

func newUsageBatch() *usageBatch {
	return &usageBatch{users: map[string]map[string]model.MethodUsage{}, tenant: map[string]string{}}
}

// add folds one sign-in in. Steps of methods credres cannot name (kind
// unknown) are counted by the parser and prove nothing here.
func (b *usageBatch) add(si *entralog.SignIn) {
	methods := b.users[si.UserID]
	for _, m := range si.Methods {
		if m.Kind == model.KindUnknown || m.Kind == "" {
			continue
		}
		if methods == nil {
			methods = map[string]model.MethodUsage{}
			b.users[si.UserID] = methods
			b.tenant[si.UserID] = si.TenantID
		}
		use := model.MethodUsage{Kind: m.Kind, Instance: m.Instance}
		day := model.Day(m.Time)
		if m.Succeeded {
			use.LastUsed = day
		} else {
			use.LastFailed = day
		}
		k := use.Key()
		cur, ok := methods[k]
		if !ok {
			cur = model.MethodUsage{Kind: m.Kind, Instance: m.Instance}
		}
		methods[k], _ = cur.Advance(use)
	}
}

// usageMemo remembers, for the life of the process (a warm Lambda
// environment), the days already stored per user and method, so that the
// day's later sign-ins cost no request. It forgets everything when it
// grows past its bound; forgetting only costs a conditional write that
// finds nothing newer.
type usageMemo struct {
	mu   sync.Mutex
	days map[string]model.MethodUsage
}

// usageMemoLimit bounds the memo: about 150 bytes an entry.
const usageMemoLimit = 500_000

func memoKey(userID string, u model.MethodUsage) string { return userID + "\x00" + u.Key() }

// newer returns the updates that say something the memo does not know.
func (m *usageMemo) newer(userID string, updates map[string]model.MethodUsage) []model.MethodUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []model.MethodUsage
	for _, u := range updates {
		known := m.days[memoKey(userID, u)]
		if _, changed := known.Advance(u); changed {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b model.MethodUsage) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// remember notes that the store holds at least updates.
func (m *usageMemo) remember(userID string, updates []model.MethodUsage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.days == nil || len(m.days)+len(updates) > usageMemoLimit {
		m.days = make(map[string]model.MethodUsage, 1024)
	}
	for _, u := range updates {
		k := memoKey(userID, u)
		m.days[k], _ = m.days[k].Advance(u)
	}
}

// recordUsage writes a batch's usage, user by user, and returns an
// evaluation request for each user one of whose methods changed its state
// of proof. It never reads Graph. A write that fails for a reason that
// may pass (throttling, the store unavailable) stops the batch before its
// checkpoint, so it is read again; days only move forward, so writing
// them again is harmless.
func (in *Ingest) recordUsage(ctx context.Context, stats *IngestStats, b *usageBatch) ([]model.EvaluationRequest, error) {
	if in.Usage == nil || len(b.users) == 0 {
		return nil, nil
	}
	users := make([]string, 0, len(b.users))
	for id := range b.users {
		users = append(users, id)
	}
	slices.Sort(users)
	var reqs []model.EvaluationRequest
	for _, id := range users {
		updates := in.memo.newer(id, b.users[id])
		if len(updates) == 0 {
			stats.UsageKnown++
			continue
		}
		changes, err := in.Usage.RecordUsage(ctx, id, updates)
		stats.UsageWrites += len(updates)
		if err != nil {
			if errors.Is(err, model.ErrInvalidInput) {
				zerolog.Ctx(ctx).Warn().Str("userId", id).Err(err).Msg("usage the store refuses is skipped")
				stats.add(SkipUsageRefused, 1)
				continue
			}
			return nil, fmt.Errorf("ingest: %w", err)
		}
		in.memo.remember(id, updates)
		var latest time.Time
		for _, c := range changes {
			if in.ProofWindow > 0 && c.ProofChanged(in.ProofWindow) {
				latest = later(latest, later(c.After.LastUsed, c.After.LastFailed))
			}
		}
		if latest.IsZero() {
			continue
		}
		stats.ProofChanges++
		reqs = append(reqs, model.EvaluationRequest{UserID: id, TenantID: b.tenant[id], Reason: model.ReasonUsage, Time: latest})
	}
	return reqs, nil
}

// SkipUsageRefused counts users whose usage the store refused as invalid.
const SkipUsageRefused = "usage-refused"

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
