package pipeline

import (
	"context"

	"github.com/credres/credres/pkg/model"
)

// UsageStore keeps, per user and method, the day each last worked and last
// failed (docs/USAGE.md). RecordUsage moves days forward only, with one
// conditional write per method, and returns what changed; a method with
// nothing newer is not written and not returned.
type UsageStore interface {
	RecordUsage(ctx context.Context, userID string, updates []model.MethodUsage) ([]model.UsageChange, error)
	LoadUsage(ctx context.Context, userID string) ([]model.MethodUsage, error)
}
