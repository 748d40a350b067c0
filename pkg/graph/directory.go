package graph

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// Directory reads a snapshot of the live tenant in the snapshot format, so
// that assess, whatif and reports run on it exactly as on an exported file.
//
// With no userIDs it enumerates every user through the registration report
// (which also gives each user's MethodsRegistered) and reads them all,
// batched; users deleted between the report and their read are left out.
// With userIDs (object ids or user principal names) it reads those users,
// each with their registration-report row. progress, when not nil, is
// called after each user with the count done and the total.
//
// The tenant facts come from Config (PasswordAuth, PHSFallback), as Graph
// v1.0 does not give them to an application; the tenant's own policy is
// read live (TenantPolicy). When some users fail to read,
// the snapshot holds the others and the error joins one *UserError per
// failure; callers decide whether a partial snapshot will do.
func (c *Client) Directory(ctx context.Context, userIDs []string, progress func(done, total int)) (*model.Directory, error) {
	dir := &model.Directory{
		ExportedAt: c.clock.Now().UTC().Truncate(time.Second),
		Tenant:     model.Tenant{ID: c.cfg.TenantID, PasswordAuth: c.cfg.PasswordAuth, PHSFallback: c.cfg.PHSFallback},
	}
	policy, err := c.TenantPolicy(ctx)
	if err != nil {
		return nil, err
	}
	dir.Tenant = dir.Tenant.WithPolicy(policy)
	ids := userIDs
	var rows map[string]RegistrationDetail
	if len(ids) == 0 {
		rows = map[string]RegistrationDetail{}
		err := c.RegistrationDetails(ctx, func(d RegistrationDetail) error {
			if _, dup := rows[d.ID]; !dup {
				ids = append(ids, d.ID)
			}
			rows[d.ID] = d
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var errs []error
	for _, r := range c.readUsers(ctx, ids, rows == nil, progress) {
		switch {
		case r.err == nil:
			if rows != nil {
				r.user.MethodsRegistered = nilIfEmpty(rows[r.user.ID].MethodsRegistered)
				r.user.Registration = rows[r.user.ID].Details()
			}
			dir.Users = append(dir.Users, r.user)
		case rows != nil && errors.Is(r.err, model.ErrNotFound) && ctx.Err() == nil:
			var ue *UserError
			if errors.As(r.err, &ue) {
				zerolog.Ctx(ctx).Info().Str("user", ue.ID).Msg("graph: user in the registration report no longer exists; left out")
			}
		default:
			errs = append(errs, r.err)
		}
	}
	if dir.Users == nil {
		dir.Users = []model.User{}
	}
	return dir, errors.Join(errs...)
}
