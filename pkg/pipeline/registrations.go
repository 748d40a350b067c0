package pipeline

import (
	"context"
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
	// KeepRegistrations keeps rows as read at at, for ttl.
	KeepRegistrations(ctx context.Context, rows []model.Registration, at time.Time, ttl time.Duration) error
	// FreshRegistrations returns the registered method kinds of the users
	// of userIDs whose row was kept at or after since.
	FreshRegistrations(ctx context.Context, userIDs []string, since time.Time) (map[string][]string, error)
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
// a reader that takes no registration rows is counted as if it did).
func (ev *Evaluate) read(ctx context.Context, ids []string) ([]model.UserResult, int) {
	known, ok := ev.Users.(KnownRegistrationReader)
	if ev.RegistrationCache == nil || !ok {
		return ev.Users.ReadUsers(ctx, ids), 2 * len(ids)
	}
	since := ev.Now().Add(-registrationTTL(ev.RegistrationTTL))
	regs, err := ev.RegistrationCache.FreshRegistrations(ctx, ids, since)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("the kept registration rows cannot be read; they are read per user")
		return ev.Users.ReadUsers(ctx, ids), 2 * len(ids)
	}
	return known.ReadUsersKnown(ctx, ids, regs), 2*len(ids) - len(regs)
}
