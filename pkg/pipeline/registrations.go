package pipeline

import (
	"context"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// RegistrationCache keeps the registration report's rows the sweep read
// (docs/STATE.md), so that an evaluation takes a user's registered method
// kinds from it rather than from a per-user read of the report, which
// costs a second unit of Graph's budget. The registration row is what
// tells passwordless phone sign-in (model.User.PasswordlessPhoneSignIn).
type RegistrationCache interface {
	// KeepRegistrations keeps rows as read at at, for ttl. A row that
	// lacks a kind the row kept before it had is marked as shrunk at at
	// (KeptRegistration.ShrankAt); a row that lost nothing keeps the mark
	// it had.
	KeepRegistrations(ctx context.Context, rows []model.Registration, at time.Time, ttl time.Duration) error
	// FreshRegistrations returns the kept rows of the users of userIDs
	// that were kept at or after since.
	FreshRegistrations(ctx context.Context, userIDs []string, since time.Time) (map[string]KeptRegistration, error)
}

// KeptRegistration is a registration row as the cache keeps it.
type KeptRegistration struct {
	// Methods are the registered method kinds (empty, not nil, when none).
	Methods []string
	// ReadAt is when the row was read from the report.
	ReadAt time.Time
	// ShrankAt is the latest read that found the row without a kind the
	// row kept before had: the user may have dropped below policy then.
	// Zero when no read did.
	ShrankAt time.Time
}

// Shrank reports whether after lacks a kind before has.
func Shrank(before, after []string) bool {
	for _, k := range before {
		if !slices.Contains(after, k) {
			return true
		}
	}
	return false
}

// KnownRegistrationReader reads users as UserReader does, but takes the
// registered method kinds of the users in registered as given instead of
// reading their registration rows.
type KnownRegistrationReader interface {
	ReadUsersKnown(ctx context.Context, ids []string, registered map[string][]string) []model.UserResult
}

// DefaultRegistrationTTL is how long a kept registration row stands for a
// per-user read: a day, and the two hours a daily sweep may take to reach
// a row of a large tenant again. A change of registration (passwordless
// phone sign-in enabled or removed) is seen by the next sweep, or by the
// first evaluation after the row is older than this.
const DefaultRegistrationTTL = 26 * time.Hour

func registrationTTL(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return DefaultRegistrationTTL
}

// read reads the batch's users live: with the registration rows the cache
// holds fresh, when there is a cache and the reader can take them; the
// others' rows are read per user. A cache that cannot be read costs
// budget, not the evaluation: the rows are read per user. It also returns
// the units of Graph's reports budget the reads cost (for the drain gauge;
// a reader that takes no registration rows is counted as if it did). regs,
// when not nil, are the fresh rows already read for the batch.
func (ev *Evaluate) read(ctx context.Context, ids []string, regs map[string]KeptRegistration) ([]model.UserResult, int) {
	known, ok := ev.Users.(KnownRegistrationReader)
	if ev.RegistrationCache == nil || !ok {
		return ev.Users.ReadUsers(ctx, ids), 2 * len(ids)
	}
	if regs == nil {
		since := ev.Now().Add(-registrationTTL(ev.RegistrationTTL))
		var err error
		if regs, err = ev.RegistrationCache.FreshRegistrations(ctx, ids, since); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("the kept registration rows cannot be read; they are read per user")
			return ev.Users.ReadUsers(ctx, ids), 2 * len(ids)
		}
	}
	kinds := make(map[string][]string, len(ids))
	for _, id := range ids {
		if r, ok := regs[id]; ok {
			kinds[id] = r.Methods
		}
	}
	return known.ReadUsersKnown(ctx, ids, kinds), 2*len(ids) - len(kinds)
}
