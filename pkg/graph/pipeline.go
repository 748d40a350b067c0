package graph

import (
	"context"
	"fmt"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// ReadUsers reads users for the evaluate stage: results[i] answers ids[i],
// a user or the failure to read them (wrapping model.ErrNotFound for a user
// deleted since the event). ids are matched as asked, not by the id Graph
// returns, so an object id in another case or a user principal name gets its
// user too.
func (c *Client) ReadUsers(ctx context.Context, ids []string) []model.UserResult {
	res := c.readUsers(ctx, ids, !c.cfg.SkipRegistrationDetails, nil)
	// readUsers answers each user once, in the order first asked, ids that
	// differ only in case or spacing being the same user.
	byKey := make(map[string]result, len(res))
	for _, id := range ids {
		k := userKey(id)
		if _, ok := byKey[k]; !ok && len(byKey) < len(res) {
			byKey[k] = res[len(byKey)]
		}
	}
	out := make([]model.UserResult, len(ids))
	for i, id := range ids {
		r, ok := byKey[userKey(id)]
		switch {
		case !ok:
			out[i].Err = fmt.Errorf("graph: read user %s: no result", id)
		case r.err != nil:
			out[i].Err = r.err
		default:
			out[i].User = cloneUser(r.user)
		}
	}
	return out
}

// Registrations walks the registration report for the sweep stage.
func (c *Client) Registrations(ctx context.Context, fn func(model.Registration) error) error {
	return c.RegistrationDetails(ctx, func(d RegistrationDetail) error {
		return fn(model.Registration{UserID: d.ID, MethodsRegistered: d.MethodsRegistered, LastUpdated: d.LastUpdated})
	})
}

var (
	_ pipeline.UserReader         = (*Client)(nil)
	_ pipeline.RegistrationReader = (*Client)(nil)
)
